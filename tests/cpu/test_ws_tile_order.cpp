// The warp-specialized kernels' tile order (kernels/sm90/ws_tile_order.h): the closed-form
// makespan against a deal of every tile, and the rule on the shapes it was made for.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernels/sm90/ws_tile_order.h"

namespace {

using int8attn::kernels::fa::ws_causal_lead_rows;
using int8attn::kernels::fa::ws_dynamic_tiles;
using int8attn::kernels::fa::ws_fast_div;
using int8attn::kernels::fa::WsFastDiv;
using int8attn::kernels::fa::ws_round_robin_makespan;
using int8attn::kernels::fa::ws_short_last_tile;
using int8attn::kernels::fa::ws_short_tile_cost;
using int8attn::kernels::fa::ws_tile_order_heads;

// CtaWork's two orders dealt tile by tile: tile t goes to CTA t % ctas; its query block is
// t % n_qblocks head-major, t / batch_heads query-block-major.
double dealt_makespan(int64_t batch_heads, int64_t n_qblocks, double short_cost, int64_t ctas, bool qblock_major) {
  std::vector<double> busy(static_cast<size_t>(ctas), 0.0);
  for (int64_t t = 0; t < batch_heads * n_qblocks; ++t) {
    const int64_t qblk = qblock_major ? t / batch_heads : t % n_qblocks;
    busy[static_cast<size_t>(t % ctas)] += qblk == n_qblocks - 1 ? short_cost : 1.0;
  }
  return *std::max_element(busy.begin(), busy.end());
}

TEST(WsTileOrder, MakespanMatchesDealingEveryTile) {
  for (int64_t ctas : {1, 7, 12, 132}) {
    for (int64_t batch_heads : {1, 3, 16, 64, 256, 300}) {
      for (int64_t n_qblocks : {1, 2, 5, 6, 11, 22, 86, 171}) {
        for (bool qblock_major : {false, true}) {
          const int64_t grid = std::min(ctas, batch_heads * n_qblocks);
          EXPECT_NEAR(ws_round_robin_makespan(batch_heads, n_qblocks, 0.5, grid, qblock_major),
                      dealt_makespan(batch_heads, n_qblocks, 0.5, grid, qblock_major), 1e-9)
              << "ctas " << grid << " heads " << batch_heads << " qblocks " << n_qblocks << " qblock-major "
              << qblock_major;
        }
      }
    }
  }
}

TEST(WsTileOrder, ShortTileCostFollowsTheActiveConsumers) {
  EXPECT_DOUBLE_EQ(ws_short_tile_cost(1024, 192, 3, true), 0.5);   // 64 rows: one of three
  EXPECT_DOUBLE_EQ(ws_short_tile_cost(2048, 192, 3, true), 0.75);  // 128 rows: two
  EXPECT_DOUBLE_EQ(ws_short_tile_cost(1000, 192, 3, true), 0.5);   // 1000 % 192 = 40 rows: one
  EXPECT_DOUBLE_EQ(ws_short_tile_cost(1100, 192, 3, true), 1.0);   // 140 rows: all three
  EXPECT_DOUBLE_EQ(ws_short_tile_cost(1024, 192, 3, false), 1.0);  // idle consumers compute anyway
  EXPECT_DOUBLE_EQ(ws_short_tile_cost(3072, 192, 3, true), 1.0);   // no short tile
}

// CtaWork's short-last walk: every (head, query block) once, full blocks head-major, then the
// short ones by head; and its deal lasts as long as query-block-major's.
TEST(WsTileOrder, ShortLastWalksEveryTileOnce) {
  for (uint32_t heads : {1u, 5u, 256u}) {
    for (uint32_t qblocks : {1u, 2u, 6u, 11u}) {
      std::vector<int> seen(heads * qblocks, 0);
      std::vector<double> busy(132, 0.0);
      for (uint32_t t = 0; t < heads * qblocks; ++t) {
        uint32_t bh = 0, qblk = 0;
        ws_short_last_tile<uint32_t>(t, heads, qblocks, bh, qblk);
        ASSERT_LT(bh, heads);
        ASSERT_LT(qblk, qblocks);
        ++seen[bh * qblocks + qblk];
        const bool last = qblk == qblocks - 1;
        EXPECT_EQ(last, t >= heads * (qblocks - 1)) << "tile " << t;
        if (!last) EXPECT_EQ(bh * (qblocks - 1) + qblk, t);  // head-major over the full blocks
        busy[t % 132] += last ? 0.5 : 1.0;
      }
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(heads * qblocks));
      const int64_t ctas = std::min<int64_t>(132, heads * qblocks);
      EXPECT_DOUBLE_EQ(*std::max_element(busy.begin(), busy.end()),
                       ws_round_robin_makespan(heads, qblocks, 0.5, ctas, true));
      uint64_t bh64 = 0, q64 = 0;  // the 64-bit walk agrees
      ws_short_last_tile<uint64_t>(heads * qblocks - 1, heads, qblocks, bh64, q64);
      EXPECT_EQ(bh64, heads - 1);
      EXPECT_EQ(q64, qblocks - 1);
    }
  }
}

// int8-targets at 1K: 16 heads, batch 16, six query blocks of 192 rows (the last 64) on 132
// SMs. Head-major deals every sixth CTA only short tiles and the others twelve full ones.
TEST(WsTileOrder, ShortTilesThatPileUpTurnTheOrder) {
  const double cost = ws_short_tile_cost(1024, 192, 3, true);
  EXPECT_DOUBLE_EQ(ws_round_robin_makespan(256, 6, cost, 132, false), 12.0);
  EXPECT_DOUBLE_EQ(ws_round_robin_makespan(256, 6, cost, 132, true), 11.0);
  EXPECT_EQ(ws_tile_order_heads(false, 256, 6, cost, 132, true), -256);
  EXPECT_EQ(ws_tile_order_heads(false, 256, 6, cost, 132, false), 256);  // without short-last: query-block-major
  // 2K (batch 8): eleven query blocks, the last of 128 rows.
  EXPECT_EQ(ws_tile_order_heads(false, 128, 11, ws_short_tile_cost(2048, 192, 3, true), 132, true), -128);
}

TEST(WsTileOrder, HeadMajorStaysWhereTheOrderGainsNothing) {
  // 4K (batch 4): 22 query blocks; either order leaves some CTA eleven full tiles.
  EXPECT_EQ(ws_tile_order_heads(false, 64, 22, ws_short_tile_cost(4096, 192, 3, true), 132, true), 0);
  EXPECT_EQ(ws_tile_order_heads(false, 256, 6, 1.0, 132, true), 0);  // a kernel without the pass
  EXPECT_EQ(ws_tile_order_heads(false, 16, 16, 1.0, 132, true), 0);  // whole query blocks
  EXPECT_EQ(ws_tile_order_heads(false, 1, 6, 0.5, 6, true), 0);      // one head: the same deal
  // head_dim 64 at 4K (32 heads, batch 4): 22 query blocks; head-major 22 full tiles, short-last 21.5.
  EXPECT_EQ(ws_tile_order_heads(false, 128, 22, ws_short_tile_cost(4096, 192, 3, true), 132, true), -128);
}

TEST(WsTileOrder, CausalAndForcedOrders) {
  EXPECT_EQ(ws_tile_order_heads(true, 64, 22, 1.0, 132, true), 64);  // longest first across heads
  EXPECT_EQ(ws_tile_order_heads(false, 64, 22, 1.0, 132, false, 1), 64);
  EXPECT_EQ(ws_tile_order_heads(true, 64, 22, 1.0, 132, true, 0), 0);
  EXPECT_EQ(ws_tile_order_heads(false, 64, 22, 1.0, 132, true, 2), -64);
  EXPECT_EQ(ws_tile_order_heads(false, 64, 22, 1.0, 132, false, 2), 0);  // not built: head-major
  EXPECT_EQ(ws_tile_order_heads(false, 256, 6, 0.5, 132, true, -1), -256);
}

// Causal tiles differ in length, so they are claimed one at a time; full rows' are alike and
// keep round robin (and with it the last round's split) unless forced. A walk of one round
// (no more items than CTAs) has nothing to balance and claims only when forced.
TEST(WsTileOrder, DynamicTilesOnCausalRows) {
  EXPECT_TRUE(ws_dynamic_tiles(true, -1, true));
  EXPECT_FALSE(ws_dynamic_tiles(false, -1, true));
  EXPECT_FALSE(ws_dynamic_tiles(true, 0, true));
  EXPECT_TRUE(ws_dynamic_tiles(false, 1, true));
  EXPECT_FALSE(ws_dynamic_tiles(false, 7, true));  // not a setting: the rule
  EXPECT_FALSE(ws_dynamic_tiles(true, -1, false));
  EXPECT_TRUE(ws_dynamic_tiles(true, 1, false));
}

// The narrow walk's divisions (WsFastDiv): every dividend below 2^31 against the hardware
// division, for divisors of every magnitude, the powers of two and their neighbours included.
TEST(WsTileOrder, FastDivisionMatchesDivision) {
  std::vector<uint32_t> divisors = {1, 2, 3, 5, 6, 7, 11, 22, 31, 32, 33, 128, 171, 192, 1000, 65535, 65536, 65537,
                                    (1u << 30) - 1, 1u << 30, (1u << 30) + 1, 0x7fffffffu};
  for (uint32_t k = 1; k < 31; ++k) divisors.insert(divisors.end(), {(1u << k) - 1, 1u << k, (1u << k) + 1});
  std::vector<uint32_t> dividends = {0, 1, 2, 3, 191, 192, 193, 65535, 65536, 0x7ffffffeu, 0x7fffffffu};
  uint64_t state = 12345;  // a fixed LCG: the same dividends every run
  for (int i = 0; i < 2000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    dividends.push_back(static_cast<uint32_t>(state >> 33));  // below 2^31
  }
  for (uint32_t d : divisors) {
    const WsFastDiv fast = ws_fast_div(d);
    for (uint32_t n : dividends) {
      for (uint32_t m : {n, n / d * d, n / d * d + d - 1}) {  // and the edges of n's quotient
        if (m > 0x7fffffffu) continue;
        ASSERT_EQ(fast.div(m), m / d) << m << " / " << d;
        ASSERT_EQ(fast.mod(m), m % d) << m << " % " << d;
      }
    }
  }
  EXPECT_EQ(ws_fast_div(0).div(7), 7u);  // a divisor the walk never uses divides by 1
}

// The narrow CtaWork's short-last walk (by a WsFastDiv) visits the tiles as the 64-bit one does.
TEST(WsTileOrder, ShortLastWalkByFastDivisionMatches) {
  for (uint32_t heads : {1u, 3u, 16u, 256u}) {
    for (uint32_t qblocks : {1u, 2u, 6u, 22u, 171u}) {
      const WsFastDiv full = ws_fast_div(qblocks - 1);
      for (uint32_t t = 0; t < heads * qblocks; ++t) {
        uint64_t bh64, q64;
        uint32_t bh32, q32;
        ws_short_last_tile<uint64_t>(t, heads, qblocks, bh64, q64);
        ws_short_last_tile(t, heads, qblocks, full, bh32, q32);
        ASSERT_EQ(bh32, bh64) << "tile " << t;
        ASSERT_EQ(q32, q64) << "tile " << t;
      }
    }
  }
}

// The causal lead moves whole 64-row consumers' groups of the last block's idle rows to the
// first block, only on causal rows and only where the grid walks more than one round.
TEST(WsTileOrder, CausalLeadInWholeConsumerGroups) {
  const int64_t sms = 132;
  // 1K rows: six blocks of 192, the last with 128 past seq_q; 192 tiles (32 heads) on 132 SMs
  EXPECT_EQ(ws_causal_lead_rows(true, 1024, 192, 64, 192, sms), 128);
  EXPECT_EQ(ws_causal_lead_rows(false, 1024, 192, 64, 192, sms), 0);  // full rows: none
  EXPECT_EQ(ws_causal_lead_rows(true, 1024, 192, 64, 132, sms), 0);   // one round: none
  EXPECT_EQ(ws_causal_lead_rows(true, 512, 192, 64, 96, sms), 0);     // Llama-3-8B 512: one round
  // 77 rows: 115 past seq_q, of which one whole group; 3000: 72 past, one group; 808: 152, two
  EXPECT_EQ(ws_causal_lead_rows(true, 77, 192, 64, 1000, sms), 64);
  EXPECT_EQ(ws_causal_lead_rows(true, 3000, 192, 64, 1000, sms), 64);
  EXPECT_EQ(ws_causal_lead_rows(true, 808, 192, 64, 1000, sms), 128);
  // fewer than a group past seq_q, or none: no lead
  EXPECT_EQ(ws_causal_lead_rows(true, 1500, 192, 64, 1000, sms), 0);
  EXPECT_EQ(ws_causal_lead_rows(true, 4 * 192, 192, 64, 1000, sms), 0);
  for (int64_t seq = 1; seq < 2000; ++seq) {
    const int64_t lead = ws_causal_lead_rows(true, seq, 192, 64, 1000, sms);
    const int64_t past = (seq + 191) / 192 * 192 - seq;
    EXPECT_EQ(lead % 64, 0) << seq;
    EXPECT_LE(lead, past) << seq;
    EXPECT_LT(past - lead, 64) << seq;
  }
}

}  // namespace
