// Retiling of a small grid's last round (int8-fa's serial 128-key kernel at head_dim 128):
// plain C++, so that the CPU tests check the plan and the mapping.
//
// The grid deals 192-row tiles (three consumer warpgroups of 64 rows) round robin. Where the
// tiles are not a multiple of the CTAs, the last round runs whole tiles on some CTAs while the
// others idle: at 4K keys, batch 1 and 16 heads, 352 tiles on 132 SMs last three tile times for
// 2.6 tiles of work a CTA, and at 1K keys 96 tiles leave 36 SMs idle for the whole launch. The
// split (ws_split.h) cuts a tile's keys into parts and merges them, which costs a part's
// switch, store and merge, and it can spread only the last round's leading tiles over the idle
// CTAs. Retiling cuts the last heads' rows instead: items of one or two 64-row groups, which
// the tile's consumers work as they work a head's short last tile (a consumer without rows
// passes the blocks), so nothing is merged. An item of a groups costs about (a + 1) / 4 of a
// full tile (ws_short_tile_cost: measured 0.58 / 0.77 for one / two consumers at head_dim 128),
// so the 4K grid above ends in 2 + 0.75 tile times instead of 3, and the 1K one in 0.75.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/sm90/ws_tile_order.h"

namespace int8attn::kernels::fa {

// Grids of more rounds keep the split: their tail is a smaller share of the launch.
inline constexpr int64_t kWsRetileMaxRounds = 8;
// An item's rows come in groups of a consumer's 64.
inline constexpr int kWsRetileGroupRows = 64;

// The walk with its last `heads` heads retiled: head-major whole tiles [0, first) (first =
// (batch_heads - heads) * n_qblocks), then items of `groups` 64-row groups over the rows of
// heads batch_heads - heads, ..., batch_heads - 1, head by head. groups 0: no retiling.
struct WsRetilePlan {
  int64_t first = 0, heads = 0;
  int groups = 0;
  bool retiles() const { return groups > 0 && heads > 0; }
};

// Items a retiled head is walked in.
INT8ATTN_HOST_DEVICE inline int64_t ws_retile_items_per_head(int64_t seq_q, int groups) {
  const int64_t rows = static_cast<int64_t>(kWsRetileGroupRows) * groups;
  return (seq_q + rows - 1) / rows;
}
inline int64_t ws_retile_items(const WsRetilePlan& plan, int64_t seq_q) {
  return plan.retiles() ? plan.first + plan.heads * ws_retile_items_per_head(seq_q, plan.groups) : plan.first;
}

// Retiled item j (counted from the plan's first): its head among the retiled ones and its
// first row. by_per_head divides by per_head (ws_retile_items_per_head): the kernel's WsFastDiv,
// or WsPlainDiv on the host.
template <class UInt, class Div>
INT8ATTN_HOST_DEVICE inline void ws_retile_item(UInt j, const Div& by_per_head, UInt per_head, UInt item_rows,
                                                UInt& head, UInt& first_row) {
  head = by_per_head.div(j);
  first_row = (j - head * per_head) * item_rows;
}

// The busiest CTA's time, in full tiles, of the plan's walk dealt round robin on min(items,
// sms) CTAs: whole tiles cost 1 (a head's short last tile short_cost), an item of a working
// groups (a + 1) / (consumers + 1). O(ctas + batch_heads): every CTA's whole tiles and full
// items by counting, then each head's cheaper last tile or item. The launch plans on the host
// before every kernel, and a deal of every item (up to a thousand, tens of candidate plans) cost
// 20-90 us there, more than the kernels it planned at 1K-4K x batch 1 (s46).
inline double ws_retile_makespan(const WsRetilePlan& plan, int64_t batch_heads, int64_t n_qblocks, int64_t seq_q,
                                 int consumers, double short_cost, int64_t sms) {
  const int64_t items = ws_retile_items(plan, seq_q);
  if (items <= 0 || sms <= 0 || n_qblocks <= 0 || batch_heads <= 0) return 0.0;
  const int64_t ctas = std::min(items, sms);
  const int64_t first = plan.retiles() ? plan.first : items;
  const double share = plan.retiles() ? static_cast<double>(plan.groups + 1) / (consumers + 1) : 0.0;
  // Of items [0, n), CTA c takes n / ctas, and one more where c < n % ctas.
  const int64_t tiles_each = first / ctas, tiles_rest = first % ctas, all_each = items / ctas, all_rest = items % ctas;
  std::vector<double> load(static_cast<size_t>(ctas), 0.0);
  for (int64_t c = 0; c < ctas; ++c) {
    const int64_t tiles = tiles_each + (c < tiles_rest ? 1 : 0), all = all_each + (c < all_rest ? 1 : 0);
    load[static_cast<size_t>(c)] = static_cast<double>(tiles) + share * static_cast<double>(all - tiles);
  }
  for (int64_t t = n_qblocks - 1; t < first; t += n_qblocks) load[static_cast<size_t>(t % ctas)] -= 1.0 - short_cost;
  if (plan.retiles()) {
    const int64_t per_head = ws_retile_items_per_head(seq_q, plan.groups);
    const int64_t last_rows = seq_q - (per_head - 1) * kWsRetileGroupRows * plan.groups;
    const int64_t idle = plan.groups - (last_rows + kWsRetileGroupRows - 1) / kWsRetileGroupRows;
    for (int64_t last = first + per_head - 1; idle > 0 && last < items; last += per_head)
      load[static_cast<size_t>(last % ctas)] -= static_cast<double>(idle) / (consumers + 1);
  }
  return *std::max_element(load.begin(), load.end());
}

struct WsRetileChoice {
  WsRetilePlan plan;
  double makespan = 0.0;
};

// The retiling for a grid of batch_heads heads of n_qblocks tiles of `consumers` 64-row
// groups, or none: full rows (causal tiles differ in length, and their deal is the dynamic
// walk's), grids of at most kWsRetileMaxRounds rounds, the last heads in items of one or two
// groups (forced_groups 1 or 2: those only, kept wherever the grid has a head to retile), as
// many heads as cover the last round and at most one round more; kept where the model ends the
// grid at least 1% before `walk_makespan` (the split's or the plain walk's). forced_groups:
// FusedTuning::retile_groups, -1 the rule, 0 never.
inline WsRetileChoice ws_retile_choice(bool causal, int64_t batch_heads, int64_t n_qblocks, int64_t seq_q,
                                       int consumers, double short_cost, int64_t sms, double walk_makespan,
                                       int forced_groups = -1) {
  const WsRetileChoice none{WsRetilePlan{batch_heads * n_qblocks, 0, 0}, walk_makespan};
  const int64_t tiles = batch_heads * n_qblocks;
  if (causal || forced_groups == 0 || tiles <= 0 || sms <= 0 || seq_q <= 0 || consumers < 2) return none;
  if (forced_groups < 0 && tiles > kWsRetileMaxRounds * sms) return none;
  const int64_t last = tiles % sms == 0 && tiles >= sms ? 0 : tiles % sms;
  if (forced_groups < 0 && last == 0) return none;  // the rounds are full
  const int64_t fewest = std::max<int64_t>(1, (last + n_qblocks - 1) / n_qblocks);
  const int64_t most = std::min(batch_heads, fewest + (sms + n_qblocks - 1) / n_qblocks);
  // Of plans the model ties, the fewest and largest items: each reloads Q, refills the key
  // pipeline and stores O, which the model does not charge (s46, H200: 2K x b1 x 16 heads 64.3
  // us in items of two groups, 68.5 in items of one, both 1.5 tiles in the model).
  WsRetileChoice best{WsRetilePlan{}, 0.0};
  for (int groups = consumers - 1; groups >= 1; --groups) {
    if (forced_groups > 0 && groups != forced_groups) continue;
    for (int64_t heads = fewest; heads <= most; ++heads) {
      const WsRetilePlan plan{(batch_heads - heads) * n_qblocks, heads, groups};
      const double time = ws_retile_makespan(plan, batch_heads, n_qblocks, seq_q, consumers, short_cost, sms);
      if (!best.plan.retiles() || time < best.makespan) best = {plan, time};
    }
  }
  if (!best.plan.retiles()) return none;
  if (forced_groups > 0) return best;
  return best.makespan < 0.99 * walk_makespan ? best : none;
}

}  // namespace int8attn::kernels::fa
