// K scales a group of 8 keys led by each block's largest keys (KGranularity::Grouped): the
// layout that the CPU quantizer and the GPU's compute alike, bit for bit.
//
// Why: a thread of the S accumulators' layout holds the columns 2t, 2t + 1 of every 8-key
// n-tile of a 128-key block (32 keys). With one K scale for them (KGranularity::PerThread) the
// step scales a row's max and the exponent's argument once, not every score, and ran 12% faster
// (docs/perf-log.md s55), but 6-15% less accurately: the block's few largest keys, the ones
// attention weights most, set the scale of 31 others. Here a thread's 32 keys are four groups of
// 8 (its n-tile quarters), and the quantizer permutes each full 128-key block's keys so that
// its L largest keys lead groups of their own and the rest are ranked and dealt in runs. L
// (0 to 16) is the block's choice by a proxy of the scale error that attention sees:
// Σ over groups of amax_g² · Σ of its keys' amax_j⁶ (FP64 study: within 1-3% of per-token K,
// research/k_scale_granularity.py, docs/perf-log.md s72). Attention is invariant to a key
// permutation inside a block when V's rows move alike and the mask reads each key's original
// position, so the quantizer writes K, V and those positions (k_order) in the permuted order.
// The last block, when partial, keeps its order with its columns' groups.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/hd.h"
#include "common/numerics.h"

namespace int8attn {

inline constexpr int kKGroupSpan = 128;  // keys a permuted block: the kernels' 128-key step
inline constexpr int kKGroups = 16;      // groups a block: four a quad thread
inline constexpr int kKGroupKeys = kKGroupSpan / kKGroups;
inline constexpr int kKGroupLevels = 127;  // the proxy's key sizes: integers 0..127

// The block column of slot `slot` (0..7) of group `group` (0..15): quad thread t = group / 4
// holds columns 2t, 2t + 1 of each n-tile; the group is that thread's n-tiles
// 4q .. 4q + 3, q = group % 4.
I8A_HD constexpr int k_group_column(int group, int slot) {
  return 32 * (group % 4) + 8 * (slot / 2) + 2 * (group / 4) + slot % 2;
}
// The group of block column c in an unpermuted block (k_group_column's inverse, group part).
I8A_HD constexpr int k_group_of_column(int c) { return 4 * ((c % 8) / 2) + c / 32; }

// The group and slot of the key ranked `rank` (0: the largest) in a block with `leaders`
// leaders: ranks below `leaders` lead groups 0, 1, ... (slot 0); the next ranks fill the led
// groups' other 7 slots from the smallest leader's group down, then the free groups from 15
// down, 8 each, so the smallest leader takes the largest run.
struct KGroupPlace {
  int group, slot;
};
I8A_HD constexpr KGroupPlace k_group_place(int rank, int leaders) {
  if (rank < leaders) return {rank, 0};
  int run = rank - leaders;
  constexpr int kLedRun = kKGroupKeys - 1;
  if (run < kLedRun * leaders) return {leaders - 1 - run / kLedRun, 1 + run % kLedRun};
  run -= kLedRun * leaders;
  return {kKGroups - 1 - run / kKGroupKeys, run % kKGroupKeys};
}

// The rank of key j among a block's kKGroupSpan keys by amax (0: the largest; equal amax by
// position). The amax are compared as bits, which order non-negative floats by value and keep
// the ranks a permutation even with a NaN among them. [first, end): the keys compared, so that
// the GPU quantizer's threads can each count a part of them and add the parts.
I8A_HD int k_group_rank(const float* amax, int j, int first = 0, int end = kKGroupSpan) {
  const uint32_t mine = float_bits(amax[j]);
  int rank = 0;
  for (int i = first; i < end; ++i) {
    const uint32_t other = float_bits(amax[i]);
    rank += other > mine || (other == mine && i < j);
  }
  return rank;
}

// A key's size level for the proxy: its amax against the block's largest, amax_max, as an
// integer rint(amax · (127 / amax_max)) in 0..127 (one IEEE division and one product on both
// sides; amax_max itself is 127, also when it is infinite).
I8A_HD int k_group_level(float amax, float amax_max) {
  if (!(amax < amax_max)) return kKGroupLevels;
  const float multiplier = amax_max > 0.f ? static_cast<float>(kKGroupLevels) / amax_max : 0.f;
  return static_cast<int>(rintf(amax * multiplier));
}

// A key's term of the proxy: its size level to the sixth power (below 2^43).
I8A_HD uint64_t k_group_pow6(uint64_t level) { return level * level * level * level * level * level; }

// The proxy of `leaders` leaders over the block's levels in rank order (level_by_rank[r] of
// the key ranked r, non-increasing in r as the amax are), in integers: Σ_g level_max(g)² ·
// Σ_{j in g} level_j⁶ (below 2^63). Group by group over k_group_place's runs, a group's largest
// level being its first rank's: no array indexed by a computed group (local memory on the GPU).
// run_pow6(first, count): Σ k_group_pow6 of the levels ranked first .. first + count - 1 (a
// loop on the CPU, a difference of prefix sums in the GPU quantizer: the same integers).
template <typename RunPow6>
I8A_HD uint64_t k_group_cost_of_runs(const uint8_t* level_by_rank, int leaders, const RunPow6& run_pow6) {
  uint64_t cost = 0;
  for (int g = 0; g < kKGroups; ++g) {
    const bool led = g < leaders;
    // A led group's run follows the leaders, the smallest leader's first; the free groups' runs
    // follow every led run, group 15's first.
    const int first = led ? leaders + (kKGroupKeys - 1) * (leaders - 1 - g)
                          : kKGroupKeys * leaders + kKGroupKeys * (kKGroups - 1 - g);
    const int count = led ? kKGroupKeys - 1 : kKGroupKeys;
    const uint64_t top = level_by_rank[led ? g : first];
    cost += top * top * ((led ? k_group_pow6(top) : 0) + run_pow6(first, count));
  }
  return cost;
}

I8A_HD uint64_t k_group_cost(const uint8_t* level_by_rank, int leaders) {
  return k_group_cost_of_runs(level_by_rank, leaders, [level_by_rank](int first, int count) {
    uint64_t sum = 0;
    for (int i = first; i < first + count; ++i) sum += k_group_pow6(level_by_rank[i]);
    return sum;
  });
}

// The leader count of the smallest proxy among cost[0..16] (the fewest on a tie): the GPU
// quantizer's threads price the counts in parallel, then each takes this.
I8A_HD int k_group_cheapest(const uint64_t* cost) {
  int best = 0;
  for (int leaders = 1; leaders <= kKGroups; ++leaders)
    if (cost[leaders] < cost[best]) best = leaders;
  return best;
}

// The block's leaders: the count of 0..16 with the smallest proxy.
I8A_HD int k_group_leaders(const uint8_t* level_by_rank) {
  uint64_t cost[kKGroups + 1];
  for (int leaders = 0; leaders <= kKGroups; ++leaders) cost[leaders] = k_group_cost(level_by_rank, leaders);
  return k_group_cheapest(cost);
}

}  // namespace int8attn
