// Split-KV of the persistent grid's last round (kernels/sm90/ws_split.h): the item mapping, the
// model against a deal of every item, and the plan on the shapes it was made for.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "kernels/sm90/ws_split.h"
#include "kernels/sm90/ws_tile_order.h"

namespace {

using int8attn::kernels::fa::kWsSplitMaxParts;
using int8attn::kernels::fa::kWsSplitOverheadBlocks;
using int8attn::kernels::fa::ws_short_last_tile;
using int8attn::kernels::fa::ws_short_tile_cost;
using int8attn::kernels::fa::ws_split_blocks;
using int8attn::kernels::fa::ws_split_item;
using int8attn::kernels::fa::ws_split_makespan;
using int8attn::kernels::fa::ws_split_plan;
using int8attn::kernels::fa::ws_tile_order_heads;
using int8attn::kernels::fa::ws_walk_plan;
using int8attn::kernels::fa::WsSplitPlan;
using int8attn::kernels::fa::WsWalk;

// The walk of the serial kernel at head_dim 128 (short-last built) on 132 SMs as the launch
// plans it, the order's rule first, with a workspace of 132 slots.
WsWalk walk_of(int64_t batch_heads, int64_t n_qblocks, double short_cost, int n_blocks) {
  const int64_t order = ws_tile_order_heads(false, batch_heads, n_qblocks, short_cost, 132, true);
  return ws_walk_plan(false, batch_heads, n_qblocks, short_cost, 132, true, order, false, n_blocks, 132, -1);
}

// Every (tile, part) once; a split tile's parts in the last round on distinct CTAs; the parts'
// key blocks cover the tile's blocks once, none empty.
TEST(WsSplit, ItemsCoverEveryTileAndPartOnce) {
  for (const WsSplitPlan plan : {WsSplitPlan{0, 5, 2}, WsSplitPlan{264, 40, 2}, WsSplitPlan{1320, 55, 2},
                                 WsSplitPlan{0, 33, 4}, WsSplitPlan{132, 12, 3}, WsSplitPlan{}}) {
    const int64_t tiles = plan.first + plan.tiles + 17;
    const int64_t ctas = plan.splits() ? plan.tiles * plan.parts + 17 : 50;
    std::set<std::pair<uint64_t, uint64_t>> seen;
    std::vector<std::set<int64_t>> ctas_of(static_cast<size_t>(tiles));
    for (int64_t item = 0; item < plan.items(tiles); ++item) {
      uint64_t tile = 0, part = 0;
      int split = -1;
      ws_split_item<uint64_t>(item, plan.first, plan.tiles, plan.parts, tile, part, split);
      ASSERT_LT(tile, static_cast<uint64_t>(tiles));
      EXPECT_TRUE(seen.insert({tile, part}).second) << "item " << item;
      const bool in_split = static_cast<int64_t>(tile) >= plan.first && static_cast<int64_t>(tile) < plan.first + plan.tiles;
      EXPECT_EQ(split >= 0, plan.splits() && in_split) << "item " << item;
      if (split >= 0) {
        EXPECT_EQ(static_cast<int64_t>(tile), plan.first + split);
        EXPECT_GE(item, plan.first);
        EXPECT_LT(item - plan.first, ctas) << "a part outside the last round";
        ctas_of[tile].insert((item - plan.first) % ctas);
      }
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), plan.items(tiles));
    for (int64_t t = plan.first; plan.splits() && t < plan.first + plan.tiles; ++t)
      EXPECT_EQ(static_cast<int>(ctas_of[t].size()), plan.parts) << "tile " << t << ": parts on one CTA";
  }
  for (int n_blocks : {2, 3, 7, 128, 129})
    for (int parts = 2; parts <= std::min(n_blocks, kWsSplitMaxParts); ++parts) {
      int next = 0;
      for (int part = 0; part < parts; ++part) {
        int begin = 0, end = 0;
        ws_split_blocks(n_blocks, part, parts, begin, end);
        EXPECT_EQ(begin, next);
        EXPECT_GT(end, begin) << n_blocks << " blocks, part " << part << " of " << parts;
        next = end;
      }
      EXPECT_EQ(next, n_blocks);
    }
}

// The order's tiles dealt item by item, each cost found from its (head, query block).
double dealt_makespan(const WsSplitPlan& plan, int64_t batch_heads, int64_t n_qblocks, int64_t order_heads,
                      double short_cost, int64_t ctas, int n_blocks) {
  std::vector<double> busy(static_cast<size_t>(ctas), 0.0);
  const double part_share = ((n_blocks + plan.parts - 1) / plan.parts + kWsSplitOverheadBlocks) / n_blocks;
  const int64_t tiles = batch_heads * n_qblocks;
  for (int64_t item = 0; item < plan.items(tiles); ++item) {
    uint64_t tile = 0, part = 0;
    int split = -1;
    ws_split_item<uint64_t>(item, plan.first, plan.tiles, plan.parts, tile, part, split);
    uint64_t qblk = 0, bh = 0;
    if (order_heads == 0) qblk = tile % n_qblocks;
    else if (order_heads > 0) qblk = tile / batch_heads;
    else ws_short_last_tile<uint64_t>(tile, batch_heads, n_qblocks, bh, qblk);
    const double cost = static_cast<int64_t>(qblk) == n_qblocks - 1 ? short_cost : 1.0;
    busy[static_cast<size_t>(item % ctas)] += split >= 0 ? cost * part_share : cost;
  }
  return *std::max_element(busy.begin(), busy.end());
}

TEST(WsSplit, MakespanMatchesDealingEveryItem) {
  for (int64_t batch_heads : {1, 16, 64, 100}) {
    for (int64_t n_qblocks : {1, 6, 11, 22, 86}) {
      for (int64_t order : {int64_t{0}, batch_heads, -batch_heads}) {
        const int64_t tiles = batch_heads * n_qblocks, ctas = 132;
        for (const WsSplitPlan plan : {WsSplitPlan{}, WsSplitPlan{tiles - tiles % ctas, std::min<int64_t>(tiles % ctas, 20), 2},
                                       WsSplitPlan{tiles - tiles % ctas, std::min<int64_t>(tiles % ctas, 10), 4}}) {
          EXPECT_NEAR(ws_split_makespan(plan, batch_heads, n_qblocks, order, 0.5, ctas, 32),
                      dealt_makespan(plan, batch_heads, n_qblocks, order, 0.5, ctas, 32), 1e-9)
              << "heads " << batch_heads << " qblocks " << n_qblocks << " order " << order << " split " << plan.tiles
              << "x" << plan.parts;
        }
      }
    }
  }
}

// int8-targets at head_dim 128 (16 heads, b·s = 16K, 132 SMs), the rule's order and split.
TEST(WsSplit, TheLastRoundSplitsAtFourToSixteenK) {
  struct Case {
    int64_t seq, batch_heads;
    int64_t order;  // the walk's: 0 head-major, -batch_heads short-last
    int64_t split_tiles;
    int parts;
    double makespan;  // against 11 full tiles unsplit
  };
  // 16K: 1,376 tiles, 56 in the last round, the last one short: 55 full tiles in two parts.
  // 4K: head-major's last round holds 63 full and 4 short tiles among 88; with the short tiles
  // last it holds 24 full and 64 short ones, and the 24 split.
  // 8K: 43 query blocks (the last of 128 rows) on 32 heads' 1,376 tiles, 56 in the last round:
  // with the short tiles last, 24 full tiles split beside 32 short ones (0.75 of a tile).
  for (const Case c : {Case{16384, 16, 0, 55, 2, 10.5 + kWsSplitOverheadBlocks / 128},
                       Case{4096, 64, -64, 24, 2, 10.5 + kWsSplitOverheadBlocks / 32},
                       Case{8192, 32, -32, 24, 2, 10.75}}) {
    const int64_t n_qblocks = (c.seq + 191) / 192;
    const double cost = ws_short_tile_cost(c.seq, 192, 3, true);
    const WsWalk walk = walk_of(c.batch_heads, n_qblocks, cost, static_cast<int>(c.seq / 128));
    EXPECT_EQ(walk.order_heads, c.order) << c.seq;
    EXPECT_EQ(walk.plan.first, c.batch_heads * n_qblocks / 132 * 132) << c.seq;
    EXPECT_EQ(walk.plan.tiles, c.split_tiles) << c.seq;
    EXPECT_EQ(walk.plan.parts, c.parts) << c.seq;
    EXPECT_NEAR(ws_split_makespan(walk.plan, c.batch_heads, n_qblocks, walk.order_heads, cost, 132,
                                  static_cast<int>(c.seq / 128)),
                c.makespan, 1e-9)
        << c.seq;
  }
}

// A forced order (FusedTuning::tile_order) stays, split or not: at 4K the rule's head-major
// turns short-last for its split, head-major forced keeps head-major.
TEST(WsSplit, ForcedOrderStays) {
  const double cost = ws_short_tile_cost(4096, 192, 3, true);
  EXPECT_EQ(walk_of(64, 22, cost, 32).order_heads, -64);
  const WsWalk forced = ws_walk_plan(false, 64, 22, cost, 132, true, 0, true, 32, 132, -1);
  EXPECT_EQ(forced.order_heads, 0);
  EXPECT_EQ(forced.plan.first, ws_split_plan(false, 64, 22, 0, cost, 132, 32, 132).first);
}

TEST(WsSplit, NoSplitWhereItGainsNothingOrCannot) {
  // 1K (batch 16): the last round holds 84 short tiles of 8 blocks; split in two they would
  // save less than a part's overhead (s27 call 3 split them with a smaller estimate: -7.6%).
  EXPECT_FALSE(walk_of(256, 6, ws_short_tile_cost(1024, 192, 3, true), 8).plan.splits());
  const double cost = ws_short_tile_cost(32768, 192, 3, true);
  // 32K: 171 query blocks (the last of 128 rows), 16 heads: 2,736 tiles, 96 in the last round;
  // at most 36 of its full tiles fit in two parts, the other 59 would still run whole.
  EXPECT_FALSE(ws_split_plan(false, 16, 171, 0, cost, 132, 256, 132).splits());
  EXPECT_FALSE(ws_split_plan(true, 16, 86, 16, 0.5, 132, 128, 132).splits());    // causal rows
  EXPECT_FALSE(ws_split_plan(false, 66, 2, 0, 1.0, 132, 128, 132).splits());     // the rounds are full
  EXPECT_FALSE(ws_split_plan(false, 16, 86, 0, 0.5, 132, 128, 132, 1).splits()); // turned off
  EXPECT_FALSE(ws_split_plan(false, 16, 86, 0, 0.5, 132, 128, 0).splits());      // no workspace
  EXPECT_FALSE(ws_split_plan(false, 16, 86, 0, 0.5, 132, 3, 132).splits());      // parts under two blocks
  // Forced: four parts where they fit (56 tiles: 19 of them, the rest whole), capped by the slots.
  const WsSplitPlan forced = ws_split_plan(false, 16, 86, 0, 0.5, 132, 128, 132, 4);
  EXPECT_EQ(forced.parts, 4);
  EXPECT_EQ(forced.tiles, 25);  // 4 * 25 + 31 whole = 131 items in the last round
  EXPECT_EQ(ws_split_plan(false, 16, 86, 0, 0.5, 132, 128, 40, 4).tiles, 10);
  // Decoding (seq_q 1, one short tile a head): the short tiles split, the most parts.
  const WsSplitPlan decode = ws_split_plan(false, 16, 1, 0, 0.5, 132, 64, 132);
  EXPECT_EQ(decode.tiles, 16);
  EXPECT_EQ(decode.parts, kWsSplitMaxParts);
  // A small grid of a few tiles splits them over the idle SMs: 8 heads of one tile each.
  const WsSplitPlan small = ws_split_plan(false, 8, 1, 0, 1.0, 132, 64, 132);
  EXPECT_EQ(small.first, 0);
  EXPECT_EQ(small.tiles, 8);
  EXPECT_EQ(small.parts, kWsSplitMaxParts);
}

}  // namespace
