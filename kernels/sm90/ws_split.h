// Split-KV of the persistent grid's last round (int8-fa's serial 128-key kernel at head_dim
// 128): plain C++,
// so that the CPU tests check the plan and the mapping.
//
// The grid deals tiles round robin (CTA c takes tiles c, c + ctas, ...). When the tiles are not
// a multiple of the CTAs, the last round runs a few whole tiles while the other CTAs idle: at
// 16K keys (16 heads, head_dim 128: 1,376 tiles on 132 SMs) 56 tiles run alone for the last
// eleventh of the kernel. Splitting those tiles' key blocks into parts spreads them over the
// idle CTAs. Each part ends with its rows' unnormalized O, l and log2 scale u in a workspace;
// the last part of a tile to finish (a counter per consumer warp) merges them in part order,
// so the result does not depend on which part finished last, and stores O. This is
// flash-decoding's split-KV (Dao et al., 2023), used only where the deal leaves CTAs idle.
// docs/perf-log.md s27.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/sm90/ws_tile_order.h"

namespace int8attn::kernels::fa {

// The most parts a tile is split into, and the fewest 128-key blocks a part may have.
inline constexpr int kWsSplitMaxParts = 4;
inline constexpr int kWsSplitMinBlocks = 2;
// What a part costs beyond its blocks (its tile switch, the store of O / l and its wait, the
// count, the merge), in 128-key blocks (2.3 us at head_dim 128): s27 call 3 measured 25-45 us
// with a merge that loaded a row at a time; with every row's loads in flight, an estimate.
inline constexpr double kWsSplitOverheadBlocks = 4.0;

// Tiles [first, first + tiles) are split into `parts` parts each. The work items the grid
// deals are tiles [0, first), then the parts part-major (part 0 of every split tile, then part
// 1, ...), so that the parts of one tile fall on different CTAs of the same round, then the
// tiles after them.
struct WsSplitPlan {
  int64_t first = 0, tiles = 0;
  int parts = 1;
  bool splits() const { return parts > 1 && tiles > 0; }
  int64_t items(int64_t n_tiles) const { return splits() ? n_tiles + (parts - 1) * tiles : n_tiles; }
};

// Work item `item` of a plan: its tile, its part, and the tile's index among the split ones
// (-1 for a whole tile). 32-bit on the device: the launch refuses 2^31 items or more.
template <class UInt>
INT8ATTN_HOST_DEVICE inline void ws_split_item(UInt item, UInt first, UInt tiles, UInt parts, UInt& tile, UInt& part,
                                               int& split) {
  const UInt j = item - first;
  if (item < first) {
    tile = item, part = 0, split = -1;
  } else if (j < parts * tiles) {
    part = j / tiles;
    tile = first + (j - part * tiles);
    split = static_cast<int>(tile - first);
  } else {
    tile = item - (parts - 1) * tiles, part = 0, split = -1;
  }
}

// The key blocks [begin, end) of part `part` of `parts` of a tile's n_blocks (parts of
// n_blocks / parts blocks, one more for some).
INT8ATTN_HOST_DEVICE inline void ws_split_blocks(int n_blocks, int part, int parts, int& begin, int& end) {
  begin = part * n_blocks / parts;
  end = (part + 1) * n_blocks / parts;
}

// The workspace of a split: per part slot (a split tile's part: slot split * parts + part) the
// tile's rows of O / l (FP16, as the output) and each row's 1 / l and u (log2 of O's scale);
// per split tile, consumer and warp one counter of finished parts.
inline constexpr int kWsSplitConsumers = 3;
inline constexpr int kWsSplitRows = 64 * kWsSplitConsumers;  // a tile's query rows
inline constexpr int64_t ws_split_o_bytes(int64_t slots, int head_dim) { return slots * kWsSplitRows * head_dim * 2; }
inline constexpr int64_t ws_split_lu_bytes(int64_t slots) { return slots * kWsSplitRows * 8; }
inline constexpr int64_t ws_split_counters(int64_t slots) { return slots * kWsSplitConsumers * 4; }
// The warp-specialized int8-fa's counters (QuantizedQKV::ws_counters): the dynamic tile walk's
// (WsParams::tile_counter), then the split's.
inline constexpr int64_t ws_counter_words(int64_t slots) { return 1 + ws_split_counters(slots); }

namespace detail {
// Whether tile t of the order is a head's short last query block (short_cost < 1 only):
// head-major (order_heads 0) every n_qblocks-th; query-block-major and short-last the last heads.
inline bool ws_is_short_tile(int64_t t, int64_t batch_heads, int64_t n_qblocks, int64_t order_heads) {
  return order_heads == 0 ? t % n_qblocks == n_qblocks - 1 : t >= (n_qblocks - 1) * batch_heads;
}
}  // namespace detail

// The busiest CTA's time, in full tiles, when the tiles (in the order of order_heads, as
// WsParams::tile_order_heads) are dealt as the plan's items on `ctas` CTAs: a short tile costs
// short_cost, a part its tile's cost times (ceil(n_blocks / parts) + kWsSplitOverheadBlocks) /
// n_blocks.
inline double ws_split_makespan(const WsSplitPlan& plan, int64_t batch_heads, int64_t n_qblocks, int64_t order_heads,
                                double short_cost, int64_t ctas, int n_blocks) {
  const int64_t tiles = batch_heads * n_qblocks;
  if (tiles <= 0 || ctas <= 0 || n_blocks <= 0) return 0.0;
  const bool shorts = short_cost < 1.0;
  std::vector<double> load(static_cast<size_t>(ctas), 0.0);
  const double part_share =
      plan.splits() ? ((n_blocks + plan.parts - 1) / plan.parts + kWsSplitOverheadBlocks) / n_blocks : 1.0;
  const int64_t items = plan.items(tiles);
  // Whole tiles before the split ones: every CTA's rounds in O(ctas), then their short tiles.
  const int64_t before = plan.splits() ? plan.first : tiles;
  for (int64_t c = 0; c < ctas; ++c) load[c] = c < before ? static_cast<double>((before - c + ctas - 1) / ctas) : 0.0;
  if (shorts) {
    for (int64_t h = 0; h < batch_heads; ++h) {
      const int64_t t = order_heads == 0 ? h * n_qblocks + n_qblocks - 1 : (n_qblocks - 1) * batch_heads + h;
      if (t < before) load[t % ctas] -= 1.0 - short_cost;
    }
  }
  for (int64_t item = before; item < items; ++item) {
    uint64_t tile = 0, part = 0;
    int split = -1;
    ws_split_item<uint64_t>(item, plan.first, plan.tiles, plan.parts, tile, part, split);
    const bool is_short =
        shorts && detail::ws_is_short_tile(static_cast<int64_t>(tile), batch_heads, n_qblocks, order_heads);
    load[item % ctas] += (is_short ? short_cost : 1.0) * (split >= 0 ? part_share : 1.0);
  }
  return *std::max_element(load.begin(), load.end());
}

// A split plan and the busiest CTA's time the model gives it (ws_split_makespan; for no split
// the deal's own).
struct WsSplitChoice {
  WsSplitPlan plan;
  double makespan = 0.0;
};

// The split of the last round for a kernel of `ctas` CTAs (the SMs), or none:
// - only non-causal tiles (every tile has n_blocks blocks), none when the tiles fill the rounds;
// - the last round's leading full tiles (short tiles are cheaper already; a round of short
//   tiles alone, e.g. seq_q of a few rows, splits those), each into k parts, k up to
//   kWsSplitMaxParts with parts of kWsSplitMinBlocks blocks at least, as many tiles as fit the
//   round in the grid and the workspace's `slots`: the k and tiles the model finds fastest;
// - kept where the model ends the grid at least 1% sooner.
// forced (FusedTuning::split_parts): -1 the rule, 0 or 1 never, k >= 2 k parts wherever they fit.
inline WsSplitChoice ws_split_choice(bool causal, int64_t batch_heads, int64_t n_qblocks, int64_t order_heads,
                                     double short_cost, int64_t ctas, int n_blocks, int64_t slots, int forced = -1) {
  const WsSplitPlan none{};
  const double unsplit = ws_split_makespan(none, batch_heads, n_qblocks, order_heads, short_cost, ctas, n_blocks);
  const WsSplitChoice whole{none, unsplit};
  const int64_t tiles = batch_heads * n_qblocks;
  if (causal || forced == 0 || forced == 1 || tiles <= 0 || ctas <= 1 || n_blocks <= 1 || slots < 2) return whole;
  const int64_t last = tiles % ctas, first = tiles - last;
  if (last == 0) return whole;  // the rounds are full (tiles < ctas: last == tiles, first 0)
  auto is_short = [&](int64_t t) {
    return short_cost < 1.0 && detail::ws_is_short_tile(t, batch_heads, n_qblocks, order_heads);
  };
  int64_t leading = 0;  // tiles at the start of the last round that cost as much as its first
  while (leading < last && is_short(first + leading) == is_short(first)) ++leading;
  if (leading == 0) return whole;
  WsSplitChoice best = whole;
  const int max_parts = forced >= 2 ? std::min(forced, n_blocks) : std::min(kWsSplitMaxParts, n_blocks / kWsSplitMinBlocks);
  for (int parts = forced >= 2 ? max_parts : 2; parts <= max_parts; ++parts) {
    // parts * split + (last - split) <= ctas and parts * split <= slots
    const int64_t fit = std::min((ctas - last) / (parts - 1), slots / parts);
    const int64_t split = std::min(leading, fit);
    if (split <= 0) continue;
    const WsSplitPlan plan{first, split, parts};
    const double time = ws_split_makespan(plan, batch_heads, n_qblocks, order_heads, short_cost, ctas, n_blocks);
    if (forced >= 2 || time < best.makespan) best = {plan, time};
  }
  if (forced >= 2) return best;
  return best.makespan < 0.99 * unsplit ? best : whole;
}
inline WsSplitPlan ws_split_plan(bool causal, int64_t batch_heads, int64_t n_qblocks, int64_t order_heads,
                                 double short_cost, int64_t ctas, int n_blocks, int64_t slots, int forced = -1) {
  return ws_split_choice(causal, batch_heads, n_qblocks, order_heads, short_cost, ctas, n_blocks, slots, forced).plan;
}

// The walk of a kernel that can split (WsShape::kSplitKeys): the tile order and its split.
// order_heads: the order's rule (ws_tile_order_heads), or the forced one (order_forced). Where
// the rule keeps head-major but the short tiles last would leave the last round room to split
// the full tiles it holds (4K keys: 24 full tiles and 64 short ones), the order with the short
// tiles last and its split, if that ends the grid at least 1% sooner.
struct WsWalk {
  int64_t order_heads = 0;  // WsParams::tile_order_heads
  WsSplitPlan plan;
};
inline WsWalk ws_walk_plan(bool causal, int64_t batch_heads, int64_t n_qblocks, double short_cost, int64_t ctas,
                           bool short_last, int64_t order_heads, bool order_forced, int n_blocks, int64_t slots,
                           int forced_parts) {
  if (causal) return {order_heads, WsSplitPlan{}};  // ws_split_choice splits no causal rows
  const WsSplitChoice rule =
      ws_split_choice(causal, batch_heads, n_qblocks, order_heads, short_cost, ctas, n_blocks, slots, forced_parts);
  const int64_t shorts_last = short_last ? -batch_heads : batch_heads;
  if (order_forced || !(short_cost < 1.0) || order_heads == shorts_last) return {order_heads, rule.plan};
  const WsSplitChoice other =
      ws_split_choice(causal, batch_heads, n_qblocks, shorts_last, short_cost, ctas, n_blocks, slots, forced_parts);
  if (other.makespan < 0.99 * rule.makespan) return {shorts_last, other.plan};
  return {order_heads, rule.plan};
}

}  // namespace int8attn::kernels::fa
