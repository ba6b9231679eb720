// Retiling of a small grid's last heads (kernels/sm90/ws_retile.h): the item mapping covers
// every row once, the model against a deal of every item, and the plan on the shapes it was
// made for (132 SMs, head_dim 128's 192-row tiles of three 64-row groups).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernels/sm90/ws_retile.h"
#include "kernels/sm90/ws_split.h"
#include "kernels/sm90/ws_tile_order.h"

namespace {

using int8attn::kernels::fa::kWsRetileGroupRows;
using int8attn::kernels::fa::kWsRetileMaxRounds;
using int8attn::kernels::fa::ws_fast_div;
using int8attn::kernels::fa::ws_retile_choice;
using int8attn::kernels::fa::ws_retile_item;
using int8attn::kernels::fa::ws_retile_items;
using int8attn::kernels::fa::ws_retile_items_per_head;
using int8attn::kernels::fa::ws_retile_makespan;
using int8attn::kernels::fa::ws_short_tile_cost;
using int8attn::kernels::fa::ws_split_makespan;
using int8attn::kernels::fa::ws_tile_order_heads;
using int8attn::kernels::fa::ws_walk_plan;
using int8attn::kernels::fa::WsPlainDiv;
using int8attn::kernels::fa::WsRetileChoice;
using int8attn::kernels::fa::WsRetilePlan;
using int8attn::kernels::fa::WsWalk;

constexpr int64_t kSms = 132;
constexpr int kConsumers = 3;

int64_t qblocks_of(int64_t seq_q) { return (seq_q + 191) / 192; }

// The launch's choice (int8_fa_ws.cu plan_retile): the rule's walk with its split (132 slots),
// its makespan, then the retiling against it.
WsRetileChoice choice_of(int64_t batch_heads, int64_t seq_q, int forced = -1, bool causal = false) {
  const int64_t n_qblocks = qblocks_of(seq_q);
  const double cost = ws_short_tile_cost(seq_q, 192, kConsumers, true);
  const int n_blocks = static_cast<int>((seq_q + 127) / 128);
  const int64_t order =
      ws_tile_order_heads(causal, batch_heads, n_qblocks, cost, std::min(batch_heads * n_qblocks, kSms), true);
  const WsWalk walk = ws_walk_plan(causal, batch_heads, n_qblocks, cost, kSms, true, order, false, n_blocks, kSms, -1);
  const double walk_time = ws_split_makespan(walk.plan, batch_heads, n_qblocks, walk.order_heads, cost, kSms, n_blocks);
  return ws_retile_choice(causal, batch_heads, n_qblocks, seq_q, kConsumers, cost, kSms, walk_time, forced);
}

// Every row of the retiled heads in exactly one item, each item's rows inside its head, the
// same heads and rows by the kernel's fast division as by the host's.
TEST(WsRetile, ItemsCoverEveryRowOnce) {
  for (const int64_t seq_q : {1, 63, 64, 65, 300, 1000, 1024, 4096}) {
    for (const int groups : {1, 2}) {
      const int64_t heads = 5, per_head = ws_retile_items_per_head(seq_q, groups);
      const uint32_t item_rows = static_cast<uint32_t>(kWsRetileGroupRows * groups);
      std::vector<int> seen(static_cast<size_t>(heads * seq_q), 0);
      const auto fast = ws_fast_div(static_cast<uint32_t>(per_head));
      for (uint32_t j = 0; j < static_cast<uint32_t>(heads * per_head); ++j) {
        uint32_t head = 0, row = 0, fast_head = 0, fast_row = 0;
        ws_retile_item<uint32_t>(j, WsPlainDiv<uint32_t>{static_cast<uint32_t>(per_head)},
                                 static_cast<uint32_t>(per_head), item_rows, head, row);
        ws_retile_item<uint32_t>(j, fast, static_cast<uint32_t>(per_head), item_rows, fast_head, fast_row);
        ASSERT_EQ(head, fast_head) << "item " << j;
        ASSERT_EQ(row, fast_row) << "item " << j;
        ASSERT_LT(head, heads) << "item " << j;
        ASSERT_LT(row, seq_q) << "item " << j << ": an item without rows";
        EXPECT_EQ(row % kWsRetileGroupRows, 0u) << "item " << j << ": whole consumers' groups";
        for (int64_t r = row; r < std::min<int64_t>(seq_q, row + item_rows); ++r) ++seen[head * seq_q + r];
      }
      EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }))
          << "seq_q " << seq_q << ", " << groups << " groups an item";
    }
  }
}

// The model against dealing every item round robin and charging each its consumers' share.
TEST(WsRetile, MakespanMatchesDealingEveryItem) {
  for (const int64_t batch_heads : {1, 16, 32, 72}) {
    for (const int64_t seq_q : {1, 300, 1000, 1024, 2048, 4096}) {
      const int64_t n_qblocks = qblocks_of(seq_q);
      const double cost = ws_short_tile_cost(seq_q, 192, kConsumers, true);
      for (int64_t heads = 1; heads <= batch_heads; heads += 7) {
        for (const int groups : {1, 2}) {
          const WsRetilePlan plan{(batch_heads - heads) * n_qblocks, heads, groups};
          const int64_t items = ws_retile_items(plan, seq_q), ctas = std::min(items, kSms);
          std::vector<double> load(static_cast<size_t>(ctas), 0.0);
          for (int64_t item = 0; item < items; ++item) {
            double c = 0.0;
            if (item < plan.first) {
              c = (item % n_qblocks == n_qblocks - 1) ? cost : 1.0;
            } else {
              const int64_t per_head = ws_retile_items_per_head(seq_q, groups);
              const int64_t row = (item - plan.first) % per_head * kWsRetileGroupRows * groups;
              int active = 0;
              for (int g = 0; g < groups; ++g) active += row + g * kWsRetileGroupRows < seq_q ? 1 : 0;
              c = (active + 1.0) / (kConsumers + 1.0);
            }
            load[static_cast<size_t>(item % ctas)] += c;
          }
          EXPECT_NEAR(ws_retile_makespan(plan, batch_heads, n_qblocks, seq_q, kConsumers, cost, kSms),
                      *std::max_element(load.begin(), load.end()), 1e-9)
              << "heads " << batch_heads << " seq_q " << seq_q << " retiled " << heads << " x" << groups;
        }
      }
    }
  }
}

// The rule's plan for a grid: its retiled heads, their items' groups and the model's time.
struct RetiledGrid {
  int64_t batch_heads, seq_q, heads;
  int groups;
  double makespan;  // in full tiles' times
};
void expect_rule_retiles(const RetiledGrid& g) {
  const WsRetileChoice choice = choice_of(g.batch_heads, g.seq_q);
  EXPECT_EQ(choice.plan.heads, g.heads) << g.seq_q << " x " << g.batch_heads;
  EXPECT_EQ(choice.plan.groups, g.groups) << g.seq_q << " x " << g.batch_heads;
  EXPECT_EQ(choice.plan.first, (g.batch_heads - g.heads) * qblocks_of(g.seq_q)) << g.seq_q;
  EXPECT_NEAR(choice.makespan, g.makespan, 1e-9) << g.seq_q << " x " << g.batch_heads;
}

// The rule: grids of one round (16 heads at batch 1 and 1K keys: 96 tiles on 132 SMs) in one
// round of items of two or one 64-row groups, every CTA's only item.
TEST(WsRetile, OneRoundGridsRetileEveryHead) {
  // 1K: 96 tiles on 96 of 132 SMs (1.0): 16 heads in 128 items of two groups (0.75). 8 heads:
  // 48 tiles, 128 items of one group (0.5). 300 rows: 32 tiles of 192 and 108 rows, 80 items.
  for (const RetiledGrid g : {RetiledGrid{16, 1024, 16, 2, 0.75}, RetiledGrid{8, 1024, 8, 1, 0.5},
                              RetiledGrid{16, 300, 16, 1, 0.5}})
    expect_rule_retiles(g);
}

// Grids of more rounds (2K and 4K keys at batch 1, Llama-3-8B's 32 heads at 1K, 8K): the last
// heads retiled, as many as end the grid soonest, against the split's or the plain walk's 1.75 /
// 3.0 / 1.875 / 5.75 tiles. (s45 measured these walks 1.3-4x slower: the launch's host-side
// planning, then a deal of every item, not the kernel; s46.) At 2K and 8K the model ties items
// of one and two groups (4 heads x 1 and 16 x 2; 1 x 1 and 4 x 2), and the rule takes the
// larger items.
TEST(WsRetile, GridsOfMoreRoundsRetileTheirLastHeads) {
  for (const RetiledGrid g : {RetiledGrid{16, 2048, 16, 2, 1.5}, RetiledGrid{16, 4096, 4, 2, 2.75},
                              RetiledGrid{32, 1024, 32, 2, 1.5}, RetiledGrid{16, 8192, 4, 2, 5.5}})
    expect_rule_retiles(g);
}

TEST(WsRetile, NoRetilingWhereItGainsNothingOrCannot) {
  EXPECT_FALSE(choice_of(16, 4096, -1, true).plan.retiles());  // causal rows
  EXPECT_FALSE(choice_of(16, 4096, 0).plan.retiles());         // turned off
  EXPECT_FALSE(choice_of(16, 1).plan.retiles());               // decoding: the split's parts are faster
  EXPECT_FALSE(choice_of(64, 1024).plan.retiles());            // 384 tiles: no cut ends sooner
  EXPECT_FALSE(choice_of(66, 384).plan.retiles());             // 132 tiles: the round is full
  const WsRetileChoice two_k = choice_of(16, 2048, 1);
  EXPECT_EQ(two_k.plan.heads, 4);
  EXPECT_NEAR(two_k.makespan, 1.5, 1e-9);
  // More rounds than kWsRetileMaxRounds keep the split (16K: 1,376 tiles).
  EXPECT_GT(16 * qblocks_of(16384), kWsRetileMaxRounds * kSms);
  EXPECT_FALSE(choice_of(16, 16384).plan.retiles());
  // Forced: the groups asked for, wherever a head can be retiled (16K: at least its last round).
  const WsRetileChoice forced = choice_of(16, 16384, 1);
  EXPECT_TRUE(forced.plan.retiles());
  EXPECT_EQ(forced.plan.groups, 1);
  EXPECT_EQ(choice_of(16, 1, 2).plan.groups, 2);
}

}  // namespace
