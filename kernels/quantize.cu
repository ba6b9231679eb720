// FP16 Q/K/V -> the INT8 layouts of attn_kernels.h. Every rounding is common/numerics.h's (the
// codes by its quantize_s8_in_range_bits, which equals quantize_s8 wherever |x| <= amax), and every
// reduction whose order matters runs in the CPU emulation's order (src/cpu/quantize.cpp), so
// codes and scales match quantize_qkv_host bit for bit:
//   K mean: per channel, the mean of at most 128 sampled tokens of the head, FP32 sums in 16 row
//           groups, pairs of groups, then the pairs (common/numerics.h k_mean_sample_token)
//   amax:   max of |x| (order-free), scales int8_scale(amax); Q's multiplier on the FP16 grid
//           (q_inv_scale), its scale that multiplier's reciprocal folded with sm_scale*log2e
//   rotation (QuantConfig::rotation): each Q/K row, after K's mean is subtracted, times the
//           Hadamard matrix in common/hadamard.h's butterfly order: a thread's 8 channels in
//           registers, then across the row's lanes by warp shuffles; Q's scale takes 1/d.
//           Same pass, same loads: no extra global traffic
// Every code comes from one launch (codes_kernel), which reads Q, K and V once (V per channel:
// launch 1 reads V too); the launches before it exist only for what must see a whole head
// first, and each launch after the first is a programmatic dependent of the one before
// (launch_quantizer), no memset:
//   1 stats:    K's mean, a CTA a kv head (smoothing: k_mean); V per channel: per 128-token chunk
//               V's channel amax -> scratch at the start of the k8 buffer (launch 3 overwrites it)
//   2 finalize: V per channel: per kv-head channel, V's amax (in v_scale)
//   3 codes:    Q's codes, V^T's (V per 128-key block: each tile its own channel amax), then K's
//               (smoothed); only K's items and V per channel's tiles wait for the launches
//               before, so without V per channel the mean is made while Q's and V's tiles run
//   4 v scale:  V per channel: v_scale = int8_scale(amax), after every V tile of launch 3 has
//               read the amax
// Grouped K (common/k_groups.h): a codes CTA per 128-key block ranks its keys, writes K's codes
// into the permuted rows with k_order, then stages its block's V rows in that order and
// quantizes them as a V tile (no V tiles of their own): V's rows move with K's.
#include <cuda_fp16.h>

#include <utility>

#include "common/hadamard.h"
#include "common/k_groups.h"
#include "common/numerics.h"
#include "kernels/attn_kernels.h"
#include "kernels/ptx.cuh"
#include "kernels/sm90/int8_fa_ws_launch.h"

namespace int8attn::kernels {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kMeanChunk = 128;  // also the V tile
// Tokens per CTA of the per-token Q/K quantizer: 32 KB of FP16 staged by cp.async (128 tokens at
// head_dim 128, 256 at 64; in flight a CTA without holding registers; 64 tokens loaded into
// registers measured 4% faster than 128 that way, which cost 80 registers and a CTA per SM:
// docs/perf-log.md q3). K scaled per thread group keeps 128: its groups span 128 keys.
// K's scales: per token (or per group of tokens, QuantConfig::qk_granularity), per thread group
// of a 128-key span (KGranularity::PerThread), or per group of 8 keys led by a 128-key block's
// largest (KGranularity::Grouped, common/k_groups.h). The last two stage a span whole.
enum class KTile { Token, Thread, Grouped };
constexpr bool whole_span(KTile k) { return k != KTile::Token; }
static_assert(kKThreadSpan == kKGroupSpan, "the span tiles of per-thread and grouped K are one size");
constexpr int token_tile(int64_t d, bool k_thread) { return k_thread ? kKThreadSpan : static_cast<int>(128 * 128 / d); }
template <int kD, bool kKThread = false>
constexpr int kTokenTile = token_tile(kD, kKThread);
static_assert(kTokenTile<128> == 128 && kTokenTile<64> == 256 && kTokenTile<64, true> == kKThreadSpan, "32 KB a tile");
static_assert(kKvPad % kMeanChunk == 0, "chunks and V tiles must tile padded_seq_kv exactly");
// The shared memory of one CTA's work item, whichever it is: a token tile, K's mean's pairs (the
// statistics launch's mean CTA), a V statistics chunk (the warps' amax) or a V tile (and its
// channel amax past it).
// V's channels a codes CTA quantizes of a kMeanChunk-key tile: all of them up to head_dim 128; at
// 256 the tile's two halves are two CTAs (V's codes and scales are per channel, so the halves
// are independent), which keeps a CTA's staged FP16 at 32 KB.
template <int kD>
constexpr int kVTileChannels = kD < 128 ? kD : 128;
template <int kD>
constexpr int kVTileSlices = kD / kVTileChannels<kD>;
template <int kD>
constexpr int kStagedHalves = kTokenTile<kD> * kD > kMeanChunk * kVTileChannels<kD> ? kTokenTile<kD> * kD
                                                                                       : kMeanChunk * kVTileChannels<kD>;
template <int kD>
constexpr int kItemSmemBytes = kStagedHalves<kD> * 2 + kWarps * kD * 4;
static_assert(kItemSmemBytes<64> == 256 * 64 * 2 + kWarps * 64 * 4 && kItemSmemBytes<128> == 128 * 128 * 2 + kWarps * 128 * 4,
              "head_dim 64 and 128 stage as before");
static_assert(kItemSmemBytes<256> <= 48 * 1024, "static shared memory");

using fa::cp_async16;  // the PTX wrappers: kernels/ptx.cuh
using fa::cp_async_commit;
using fa::cp_async_wait;
using fa::pack_low_bytes;
using fa::pdl_launch_dependents;
using fa::pdl_wait;
using fa::smem_addr;

struct GroupQuantArgs {
  const __half* src;      // [n_heads, seq, d]
  int64_t seq;            // valid tokens per head
  int64_t out_rows;       // rows written per head (>= seq; the rest are zero codes)
  int64_t d;
  int64_t group;          // tokens per scale
  int64_t n_groups;       // groups per head over out_rows
  int64_t heads_total;
  const float* shift;     // [n_heads, d] subtracted first (K smoothing) or nullptr
  float fold;             // > 0: scale folded with this (sm_scale for Q), else plain
  bool rotate;            // rows times the Hadamard matrix before their scales
  int8_t* codes;          // [n_heads, out_rows, d]
  float* scales;          // [n_heads, n_groups]
  uint8_t* order;         // grouped K: [n_heads, out_rows], each row's key's offset in its block; else nullptr
  bool after_stats;       // waits for the launches before (pdl_wait): K, whose shift they make and whose
                          // codes overwrite their scratch; not Q
};

// The stored scale of a group whose largest magnitude is amax (Q's folded with sm_scale).
__device__ __forceinline__ float group_scale(const GroupQuantArgs& a, float amax) {
  if (a.fold <= 0.f) return int8_scale(amax);
  const float folded = fold_softmax_scale(q_scale_of_inv(q_inv_scale(int8_inv_scale(amax))), a.fold);
  return a.rotate ? hadamard_q_scale(folded, a.d) : folded;
}

// The multiplier of a group of largest magnitude amax: Q's (a.fold > 0) on the FP16 grid
// (numerics.h q_inv_scale, what the Hopper kernel's Q-quantizing warps code with), K's exact.
__device__ __forceinline__ float group_inv_scale(const GroupQuantArgs& a, float amax) {
  const float inv = int8_inv_scale(amax);
  return a.fold > 0.f ? q_inv_scale(inv) : inv;
}

// Rotates one row held by `lanes` consecutive lanes (aligned to `lanes`), 8 channels each,
// `chunk` = this lane's position in the row: the stages inside a thread's 8 channels, then
// one shuffle stage per remaining bit of the channel index (common/hadamard.h's order).
// Every lane of the warp must call it (full-mask shuffles).
__device__ __forceinline__ void hadamard_row8(float (&x)[8], int chunk, int lanes) {
  hadamard_stages_within(x);
  for (int m = 1; m < lanes; m *= 2) {
    const bool own_is_hi = (chunk & m) != 0;  // bit (8·m) of this lane's channels is set
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const float partner = __shfl_xor_sync(0xffffffffu, x[e], m);
      x[e] = hadamard_butterfly_side(x[e], partner, own_is_hi);
    }
  }
}

// CTAs per head of the Q/K quantizer: kTokenTile tokens each, or one group per warp.
int64_t qk_items(const GroupQuantArgs& a, bool k_thread = false) {
  const int64_t tile = token_tile(a.d, k_thread);
  return a.group == 1 ? (a.out_rows + tile - 1) / tile : (a.n_groups + kWarps - 1) / kWarps;
}

// The codes of 8 consecutive channels, one 8-byte store.
__device__ __forceinline__ void store_codes8(int8_t* dst, const float (&x)[8], float inv_scale) {
  uint32_t c[8];
#pragma unroll
  for (int e = 0; e < 8; ++e) c[e] = quantize_s8_in_range_bits(x[e], inv_scale);
  *reinterpret_cast<uint2*>(dst) =
      make_uint2(pack_low_bytes(c[0], c[1], c[2], c[3]), pack_low_bytes(c[4], c[5], c[6], c[7]));
}

// One warp per scale group: amax over the group's valid tokens, then the codes.
__device__ void quantize_group_warp(const GroupQuantArgs& a, int64_t head, int64_t grp) {
  if (a.after_stats) pdl_wait();
  if (grp >= a.n_groups) return;
  const int lane = threadIdx.x % 32;
  const int64_t t0 = grp * a.group;
  const int64_t t_out = min(a.group, a.out_rows - t0);     // rows this group writes
  const int64_t t_valid = max(int64_t{0}, min(a.group, a.seq - t0));
  const int64_t chunks_per_row = a.d / 8;
  const __half* src = a.src + (head * a.seq + t0) * a.d;
  const float* shift = a.shift ? a.shift + head * a.d : nullptr;

  auto load8 = [&](int64_t idx, float (&x)[8]) {
    const int64_t row = idx / chunks_per_row, c0 = (idx % chunks_per_row) * 8;
    const uint4 raw = *reinterpret_cast<const uint4*>(src + row * a.d + c0);
    const __half* h = reinterpret_cast<const __half*>(&raw);
#pragma unroll
    for (int e = 0; e < 8; ++e) x[e] = shift ? __half2float(h[e]) - shift[c0 + e] : __half2float(h[e]);
  };
  // A row's chunks sit in chunks_per_row consecutive lanes (it divides 32), so a rotation
  // shuffles inside the row; every lane runs every iteration for the full-mask shuffles.
  const int64_t n_valid = t_valid * chunks_per_row, n_out = t_out * chunks_per_row;
  auto load_row8 = [&](int64_t idx, float (&x)[8]) {
    if (idx < n_valid) {
      load8(idx, x);
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) x[e] = 0.f;
    }
    if (a.rotate) hadamard_row8(x, lane % static_cast<int>(chunks_per_row), static_cast<int>(chunks_per_row));
  };
  float amax = 0.f;
#pragma unroll 4
  for (int64_t base = 0; base < n_valid; base += 32) {
    float x[8];
    load_row8(base + lane, x);
#pragma unroll
    for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const float inv = group_inv_scale(a, amax);
  int8_t* codes = a.codes + (head * a.out_rows + t0) * a.d;
  for (int64_t base = 0; base < n_out; base += 32) {
    const int64_t idx = base + lane;
    float x[8];
    load_row8(idx, x);
    if (idx < n_valid) {
      store_codes8(codes + idx * 8, x, inv);
    } else if (idx < n_out) {
      *reinterpret_cast<uint2*>(codes + idx * 8) = make_uint2(0, 0);  // padded rows: zero codes
    }
  }
  if (lane == 0) {
    a.scales[head * a.n_groups + grp] = group_scale(a, amax);
  }
}

// Row `row` of a staged tile as the quantizer scales it: minus the shift (K smoothing; padded
// rows, zero-filled by cp.async, stay 0 rather than -shift: zero codes, scale 0), then rotated.
// One FFMA an element instead of a subtraction and a select. Every lane of the warp must call it
// (the rotation's full-mask shuffles).
template <int kD, int kTileRows>
__device__ __forceinline__ void tile_row8(const __half (&tile)[kTileRows][kD], int row, int c0, bool valid,
                                          const float (&shift)[8], bool rotate, float (&x)[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(&tile[row][c0]);
  const __half* h = reinterpret_cast<const __half*>(&raw);
  const float keep = valid ? 1.f : 0.f;
#pragma unroll
  for (int e = 0; e < 8; ++e) x[e] = fmaf(-shift[e], keep, __half2float(h[e]));  // - 0.f: exact
  if (rotate) hadamard_row8(x, c0 / 8, kD / 8);  // a zero row stays zero
}

// KGranularity::PerThread's codes of a staged tile (kTokenTile = kKThreadSpan keys from a span's
// start): a thread's rows lie kRowStep apart, a multiple of 8, so they share row % 8 and hence
// their k_thread_group. The group's amax (order-free: the max of each row's, in shared memory by
// an integer max on the non-negative floats' bits), then every row's codes with it; padded rows
// keep zero codes and scale 0.
template <int kD, bool kOptions>
__device__ void quantize_thread_group_tile(const GroupQuantArgs& a, int64_t head, int64_t row0,
                                           const __half (&tile)[kTokenTile<kD, true>][kD], const float (&shift)[8]) {
  constexpr int kLanes = kD / 8, kRowStep = kThreads / kLanes, kRows = kTokenTile<kD, true> / kRowStep;
  static_assert(kRowStep % 8 == 0 && kTokenTile<kD, true> == kKThreadSpan, "a thread's rows share a thread group");
  __shared__ unsigned group_amax_bits[kKThreadGroups];
  const int c0 = (threadIdx.x % kLanes) * 8, row_base = static_cast<int>(threadIdx.x) / kLanes;
  const int group = static_cast<int>(k_thread_group(row_base));
  if (threadIdx.x < kKThreadGroups) group_amax_bits[threadIdx.x] = 0u;
  __syncthreads();
  float amax = 0.f;
#pragma unroll 2
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    float x[8];
    tile_row8(tile, row, c0, row0 + row < a.seq, shift, kOptions && a.rotate, x);
#pragma unroll
    for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
  }
  atomicMax(&group_amax_bits[group], __float_as_uint(amax));
  __syncthreads();
  const float group_amax = __uint_as_float(group_amax_bits[group]);
  const float inv = int8_inv_scale(group_amax);
#pragma unroll 2
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    const int64_t j = row0 + row;
    float x[8];
    tile_row8(tile, row, c0, j < a.seq, shift, kOptions && a.rotate, x);
    if (j >= a.out_rows) continue;  // after the rotation's shuffles: every lane took part
    store_codes8(a.codes + (head * a.out_rows + j) * kD + c0, x, inv);
    if (c0 == 0) a.scales[head * a.out_rows + j] = j < a.seq ? int8_scale(group_amax) : 0.f;
  }
}

// What a grouped-K tile keeps in shared memory besides its staged rows (a few hundred bytes; the
// V tile that follows in the same CTA reads `order`).
struct KGroupTileSmem {
  float amax[kKGroupSpan];            // each staged row's (key's) largest magnitude
  uint16_t rank[kKGroupSpan];         // each key's rank in its block (0: the largest)
  uint16_t rank_part[kKGroupSpan];    // the count of larger keys among the block's second half
  float amax_by_rank[kKGroupSpan];
  uint8_t level_by_rank[kKGroupSpan];  // the proxy's size levels in rank order
  uint8_t column[kKGroupSpan];        // each key's column in the block
  uint8_t order[kKGroupSpan];         // each column's key: k_order's bytes
  uint64_t cost[kKGroups + 1];        // the proxy of 0..16 leaders
  uint64_t pow6_before[kKGroupSpan + 1];  // Σ k_group_pow6 of the levels ranked before r
  unsigned group_amax_bits[kKGroups];
};

// The proxy of each leader count (g.cost) from the amax in rank order, by warp 0: the keys'
// size levels against rank 0's amax (four ranks a lane), the prefix sums of their terms (a scan
// of the lanes' sums), then each of 17 lanes prices its count's 16 runs by differences, not by
// 128 terms of its own.
__device__ void price_key_group_layouts(KGroupTileSmem& g) {
  constexpr int kPerLane = kKGroupSpan / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  uint8_t* levels = &g.level_by_rank[lane * kPerLane];
  const float top = g.amax_by_rank[0];
  uint64_t sum = 0;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    levels[i] = static_cast<uint8_t>(k_group_level(g.amax_by_rank[lane * kPerLane + i], top));
    sum += k_group_pow6(levels[i]);
  }
  uint64_t inclusive = sum;
#pragma unroll
  for (int off = 1; off < 32; off *= 2) {
    const uint64_t below = __shfl_up_sync(0xffffffffu, inclusive, off);
    if (lane >= off) inclusive += below;
  }
  uint64_t before = inclusive - sum;
  if (lane == 0) g.pow6_before[0] = 0;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) g.pow6_before[lane * kPerLane + i + 1] = before += k_group_pow6(levels[i]);
  __syncwarp();
  if (lane <= kKGroups)
    g.cost[lane] = k_group_cost_of_runs(g.level_by_rank, lane, [&g](int first, int count) {
      return g.pow6_before[first + count] - g.pow6_before[first];
    });
}

// KGranularity::Grouped's codes of a staged tile (kKGroupSpan keys from a block's start row0):
// the keys' amax, their ranks, the leaders the proxy picks and so each key's column
// (common/k_groups.h; a partial block keeps its order), each group's amax (an integer max on
// the non-negative floats' bits, order-free), then every key's codes into its column's row with
// its group's scale, the scales per column and k_order. The same numbers as the CPU quantizer's
// quantize_key_groups (src/cpu/quantize.cpp), which shares k_groups.h's functions. g.order stays
// for the block's V tile.
template <int kD, bool kOptions>
__device__ void quantize_key_group_tile(const GroupQuantArgs& a, int64_t head, int64_t row0,
                                        const __half (&tile)[kKGroupSpan][kD], const float (&shift)[8],
                                        KGroupTileSmem& g) {
  constexpr int kLanes = kD / 8, kRowStep = kThreads / kLanes, kRows = kKGroupSpan / kRowStep;
  static_assert(kRows * kRowStep == kKGroupSpan && 32 % kLanes == 0 && kThreads >= kKGroupSpan, "whole rows a warp");
  const int c0 = (threadIdx.x % kLanes) * 8, row_base = static_cast<int>(threadIdx.x) / kLanes;
  const int key = static_cast<int>(threadIdx.x);  // the rank's and the layout's thread (< kKGroupSpan)
  if (threadIdx.x < kKGroups) g.group_amax_bits[threadIdx.x] = 0u;
#pragma unroll 2
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    float x[8], amax = 0.f;
    tile_row8(tile, row, c0, row0 + row < a.seq, shift, kOptions && a.rotate, x);
#pragma unroll
    for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
#pragma unroll
    for (int off = kLanes / 2; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    if (c0 == 0) g.amax[row] = amax;  // a padded row's is 0
  }
  __syncthreads();
  const int64_t keys = min(int64_t{kKGroupSpan}, a.seq - row0);
  const bool full = keys == kKGroupSpan;
  // Each key's rank counted in two halves by two threads.
  constexpr int kHalf = kKGroupSpan / 2;
  static_assert(kThreads >= 2 * kKGroupSpan, "two threads a key");
  const int half = key / kKGroupSpan, ranked = key % kKGroupSpan;
  if (full && half < 2) {
    const int part = k_group_rank(g.amax, ranked, half * kHalf, (half + 1) * kHalf);
    (half == 0 ? g.rank : g.rank_part)[ranked] = static_cast<uint16_t>(part);
  }
  __syncthreads();
  if (full && key < kKGroupSpan) {
    g.rank[key] = static_cast<uint16_t>(g.rank[key] + g.rank_part[key]);
    g.amax_by_rank[g.rank[key]] = g.amax[key];
  }
  __syncthreads();
  if (full && threadIdx.x < 32) price_key_group_layouts(g);
  __syncthreads();
  if (key < kKGroupSpan) {
    int column = key;  // a partial block keeps its order
    if (full) {
      const KGroupPlace place = k_group_place(g.rank[key], k_group_cheapest(g.cost));
      column = k_group_column(place.group, place.slot);
    }
    g.column[key] = static_cast<uint8_t>(column);
    g.order[column] = static_cast<uint8_t>(key);
    atomicMax(&g.group_amax_bits[k_group_of_column(column)], __float_as_uint(g.amax[key]));
  }
  __syncthreads();
#pragma unroll 2
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep, column = g.column[row];
    const int64_t j = row0 + column;
    float x[8];
    tile_row8(tile, row, c0, row0 + row < a.seq, shift, kOptions && a.rotate, x);
    if (j >= a.out_rows) continue;  // after the rotation's shuffles: every lane took part
    const float group_amax = __uint_as_float(g.group_amax_bits[k_group_of_column(column)]);
    store_codes8(a.codes + (head * a.out_rows + j) * kD + c0, x, int8_inv_scale(group_amax));
    if (c0 == 0) a.order[head * a.out_rows + j] = static_cast<uint8_t>(row);
  }
  // The block's scale slot (fa::kGroupedOrderOffset, the attention kernel's layout): its 16 group
  // scales, its order bytes four a float, then zeros.
  if (threadIdx.x < kKGroupSpan) {
    const int i = static_cast<int>(threadIdx.x);
    constexpr int kOrderFloats = kKGroupSpan / 4, kOrderFirst = fa::kGroupedOrderOffset / 4;
    static_assert(kOrderFirst == kKGroups, "the order bytes follow the group scales");
    float value = 0.f;
    if (i < kKGroups) {
      value = int8_scale(__uint_as_float(g.group_amax_bits[i]));  // a group of padded keys alone: 0
    } else if (i < kOrderFirst + kOrderFloats) {
      value = __uint_as_float(*reinterpret_cast<const uint32_t*>(&g.order[4 * (i - kOrderFirst)]));
    }
    a.scales[head * a.out_rows + row0 + i] = value;
  }
}

// One row group's sum of its samples, in order (common/numerics.h): row group g sums samples
// g, g + kKMeanGroups, ..., every sample in flight at once (one memory latency).
template <int kD>
__device__ __forceinline__ void k_mean_group_sum(const __half* head, int64_t seq, int64_t n, int g, int c0,
                                                 float (&part)[8]) {
  constexpr int kPerGroup = static_cast<int>(kKMeanSamples / kKMeanGroups);
  uint4 raw[kPerGroup];
#pragma unroll
  for (int p = 0; p < kPerGroup; ++p) {
    const int64_t i = g + p * kKMeanGroups;
    raw[p] = i < n ? *reinterpret_cast<const uint4*>(head + k_mean_sample_token(seq, i) * kD + c0)
                   : make_uint4(0, 0, 0, 0);
  }
#pragma unroll
  for (int e = 0; e < 8; ++e) part[e] = 0.f;
#pragma unroll
  for (int p = 0; p < kPerGroup; ++p) {
    if (g + p * kKMeanGroups >= n) continue;  // added nothing, as the CPU does
    const __half* x = reinterpret_cast<const __half*>(&raw[p]);
#pragma unroll
    for (int e = 0; e < 8; ++e) part[e] += __half2float(x[e]);
  }
}

// K's mean of one head as common/numerics.h defines it, made by one CTA from the head's
// k_mean_samples tokens into `store` (kD floats): row group g (kD/8 lanes, 8 channels each) sums
// its samples (k_mean_group_sum), the pairs of neighbouring groups (2w, 2w + 1) are added, and
// one thread a channel adds the pairs in order through `pairs`. Up to head_dim 128 a pair shares
// a warp and adds by a shuffle; at 256 a group is a whole warp, the CTA holds 8 of the 16 at a
// time, and the odd group adds its sum to the even one's in shared memory (the same two floats
// added: the same bits).
template <int kD>
__device__ void sampled_k_mean(const __half* head, int64_t seq, float (&pairs)[kKMeanGroups / 2][kD], float* store) {
  constexpr int kLanes = kD / 8, kGroupsAtOnce = kThreads / kLanes;
  static_assert(kKMeanGroups % kGroupsAtOnce == 0 || kGroupsAtOnce >= kKMeanGroups, "whole passes of row groups");
  const int slot = static_cast<int>(threadIdx.x) / kLanes, lane_c0 = (static_cast<int>(threadIdx.x) % kLanes) * 8;
  const int64_t n = k_mean_samples(seq);
  float part[8];
  if constexpr (2 * kLanes <= 32) {
    static_assert(kKMeanGroups * kLanes <= kThreads && 32 % (2 * kLanes) == 0, "the row groups fit the CTA, a pair a warp");
    const int g = slot;
    if (g < kKMeanGroups) {  // warp-uniform: whole warps of groups
      k_mean_group_sum<kD>(head, seq, n, g, lane_c0, part);
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) part[e] = 0.f;
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) part[e] += __shfl_xor_sync(0xffffffffu, part[e], kLanes);  // 2w + (2w + 1)
    if (g < kKMeanGroups && g % 2 == 0) {
#pragma unroll
      for (int e = 0; e < 8; ++e) pairs[g / 2][lane_c0 + e] = part[e];
    }
  } else {
    static_assert(kLanes == 32 && kGroupsAtOnce % 2 == 0, "a row group a warp, whole pairs a pass");
#pragma unroll 1
    for (int g = slot; g < kKMeanGroups; g += kGroupsAtOnce) {
      k_mean_group_sum<kD>(head, seq, n, g, lane_c0, part);
      if (g % 2 == 0) {
#pragma unroll
        for (int e = 0; e < 8; ++e) pairs[g / 2][lane_c0 + e] = part[e];
      }
      __syncthreads();
      if (g % 2 == 1) {
#pragma unroll
        for (int e = 0; e < 8; ++e) pairs[g / 2][lane_c0 + e] += part[e];
      }
    }
  }
  __syncthreads();
  const int c = static_cast<int>(threadIdx.x);
  if (c < kD) {
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < kKMeanGroups / 2; ++w) total += pairs[w][c];  // pair order, from 0.f
    store[c] = total / static_cast<float>(n);
  }
}

// The product's per-token tile (codes_kernel without kOptions: no rotation, no K per thread
// group): kD/16 lanes a token, 16 channels each, in two 8-channel chunks kD/2 apart (chunks l
// and l + kD/16 of the row, so that a quarter warp's 16-byte shared loads fall in distinct
// banks). Against 8 channels a lane, a row's fixed work (the max's shuffles, its inverse scale,
// addresses, the scale's store) is spread over twice the elements: about 11 SASS an element
// instead of 14 (s44, static: 171-179 a row of 16 against 221 for two rows of 8). The same
// arithmetic a code, and the row's max is order-free: the same codes and scales bit for bit.
template <int kD>
__device__ void quantize_token_tile16(const GroupQuantArgs& a, int64_t head, int64_t row0, char* smem) {
  constexpr int kLanes = kD / 16, kRowStep = kThreads / kLanes, kRows = kTokenTile<kD, false> / kRowStep;
  static_assert(kRows * kRowStep == kTokenTile<kD, false> && 32 % kLanes == 0, "whole rows a warp");
  using Tile = __half[kTokenTile<kD, false>][kD];
  auto& tile = *reinterpret_cast<Tile*>(smem);
  const int lane = static_cast<int>(threadIdx.x) % kLanes, row_base = static_cast<int>(threadIdx.x) / kLanes;
  // At head_dim 64 a quarter warp spans two rows: odd rows take their chunks in the other order,
  // so that the two rows' 64 bytes fall in different banks.
  const int half = kD == 64 ? (row_base % 2) * (kD / 2) : 0;  // the lane's chunks: first, then second
  const int c_first = lane * 8 + half, c_second = lane * 8 + (kD / 2 - half);
  const __half* const src = a.src + head * a.seq * kD;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    const int64_t j = row0 + row;
    const __half* const src_row = src + (j < a.seq ? j : 0) * kD;
    cp_async16(smem_addr(&tile[row][c_first]), src_row + c_first, j < a.seq ? 16 : 0);
    cp_async16(smem_addr(&tile[row][c_second]), src_row + c_second, j < a.seq ? 16 : 0);
  }
  cp_async_commit();
  if (a.after_stats) pdl_wait();  // the tile loads while K's shift (the launch before) completes
  // K's shift (0 for Q) past the tile, where each row reads it: in registers beside a row's 16
  // values it spilled 40-64 B at the launch's 48 registers. The first row's lanes write it (their
  // chunks cover the row once), then a barrier.
  float(&shift)[kD] = *reinterpret_cast<float(*)[kD]>(smem + sizeof(Tile));
  static_assert(sizeof(Tile) + sizeof(shift) <= kItemSmemBytes<kD>, "the shift fits past the tile");
  if (row_base == 0) {
    for (const int c0 : {c_first, c_second}) {
      float4 v0 = make_float4(0.f, 0.f, 0.f, 0.f), v1 = v0;
      if (a.shift) {
        const float4* const from = reinterpret_cast<const float4*>(a.shift + head * kD + c0);
        v0 = from[0], v1 = from[1];
      }
      *reinterpret_cast<float4*>(&shift[c0]) = v0;
      *reinterpret_cast<float4*>(&shift[c0 + 4]) = v1;
    }
  }
  __syncthreads();  // the shift written
  cp_async_wait<0>();
  int8_t* const codes = a.codes + head * a.out_rows * kD;
#pragma unroll 1
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    const int64_t j = row0 + row;
    float x[16], amax = 0.f;
    tile_row8(tile, row, c_first, j < a.seq, reinterpret_cast<const float(&)[8]>(shift[c_first]), false,
              reinterpret_cast<float(&)[8]>(x[0]));
    tile_row8(tile, row, c_second, j < a.seq, reinterpret_cast<const float(&)[8]>(shift[c_second]), false,
              reinterpret_cast<float(&)[8]>(x[8]));
#pragma unroll
    for (int e = 0; e < 16; ++e) amax = fmaxf(amax, fabsf(x[e]));
#pragma unroll
    for (int off = kLanes / 2; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    if (j >= a.out_rows) continue;  // after the shuffles: every lane took part in them
    const float inv = group_inv_scale(a, amax);
    store_codes8(codes + j * kD + c_first, reinterpret_cast<const float(&)[8]>(x[0]), inv);
    store_codes8(codes + j * kD + c_second, reinterpret_cast<const float(&)[8]>(x[8]), inv);
    if (lane == 0) a.scales[head * a.out_rows + j] = group_scale(a, amax);
  }
}

// Per-token scales for kTokenTile tokens from row0: kD/8 lanes per token, 8 channels each.
// Every thread copies the rows it will quantize into shared memory (cp.async, zero-filled past
// seq) and waits for its own copies only: no barrier, and the whole tile is in flight at once.
// kK: KTile::Thread, K with KGranularity::PerThread (each key the scale of its k_thread_group,
// stored per token); KTile::Grouped, K with KGranularity::Grouped (g: its shared memory). A
// template argument, not a flag: as a run-time branch per-thread K's code cost the per-token
// launches 10-14% (kernel_bench, H200, docs/perf-log.md s25). kOptions: codes_kernel's.
template <int kD, KTile kK, bool kOptions>
__device__ void quantize_token_tile(const GroupQuantArgs& a, int64_t head, int64_t row0, char* smem,
                                    KGroupTileSmem* g = nullptr) {
  constexpr bool kKThread = whole_span(kK);
  constexpr int kLanes = kD / 8, kRowStep = kThreads / kLanes, kRows = kTokenTile<kD, kKThread> / kRowStep;
  using Tile = __half[kTokenTile<kD, kKThread>][kD];
  auto& tile = *reinterpret_cast<Tile*>(smem);
  const int c0 = (threadIdx.x % kLanes) * 8, row_base = static_cast<int>(threadIdx.x) / kLanes;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    const int64_t j = row0 + row;
    cp_async16(smem_addr(&tile[row][c0]), a.src + (head * a.seq + (j < a.seq ? j : 0)) * kD + c0, j < a.seq ? 16 : 0);
  }
  cp_async_commit();
  if (a.after_stats) pdl_wait();  // the tile loads while K's shift (the launch before) completes
  float shift[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  if (a.shift) {
    const float4* s = reinterpret_cast<const float4*>(a.shift + head * kD + c0);
    const float4 s0 = s[0], s1 = s[1];
    shift[0] = s0.x, shift[1] = s0.y, shift[2] = s0.z, shift[3] = s0.w;
    shift[4] = s1.x, shift[5] = s1.y, shift[6] = s1.z, shift[7] = s1.w;
  }
  cp_async_wait<0>();
  if constexpr (kK == KTile::Grouped) {  // a thread reads only the rows it copied, as below
    quantize_key_group_tile<kD, kOptions>(a, head, row0, tile, shift, *g);
  } else if constexpr (kK == KTile::Thread) {
    quantize_thread_group_tile<kD, kOptions>(a, head, row0, tile, shift);
  } else {
#pragma unroll 2
    for (int r = 0; r < kRows; ++r) {
      const int row = row_base + r * kRowStep;
      const int64_t j = row0 + row;
      float x[8], amax = 0.f;
      tile_row8(tile, row, c0, j < a.seq, shift, kOptions && a.rotate, x);
#pragma unroll
      for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
#pragma unroll
      for (int off = kLanes / 2; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
      if (j >= a.out_rows) continue;  // after the shuffles: every lane took part in them
      store_codes8(a.codes + (head * a.out_rows + j) * kD + c0, x, group_inv_scale(a, amax));
      if (c0 == 0) {
        a.scales[head * a.out_rows + j] = group_scale(a, amax);
      }
    }
  }
}

// CTA `item` of one head (see qk_items). kOptions: codes_kernel's.
template <int kD, KTile kK, bool kOptions>
__device__ void quantize_qk_item(const GroupQuantArgs& a, int64_t head, int64_t item, char* smem,
                                 KGroupTileSmem* g = nullptr) {
  if (!kOptions && kK == KTile::Token)
    quantize_token_tile16<kD>(a, head, item * kTokenTile<kD, false>, smem);
  else if (!kOptions || a.group == 1)
    quantize_token_tile<kD, kK, kOptions>(a, head, item * kTokenTile<kD, whole_span(kK)>, smem, g);
  else
    quantize_group_warp(a, head, item * kWarps + threadIdx.x / 32);
}

// V's whole-head amax (V per channel): launch 1's chunk partials, reduced by launch 2.
struct KvStatsArgs {
  const __half* v;  // nullptr: no V amax (V per 128 keys, or not quantized)
  int64_t seq, n_chunks;
  float* v_part;    // [kv heads, n_chunks, d] per-chunk channel amax of V
};

// The chunks launch 1 reads per kv head for V's amax.
__host__ __device__ inline int64_t stats_chunks(const KvStatsArgs& s) { return s.v ? s.n_chunks : 0; }

// V's |x| max over one kMeanChunk-token chunk of one kv head, per channel, from registers.
template <int kD>
__device__ void v_chunk_amax(const KvStatsArgs& s, int64_t bk, int64_t chunk, char* smem) {
  constexpr int kLanes = kD / 8, kRowStep = kThreads / kLanes, kRows = kMeanChunk / kRowStep;
  auto& warp_amax = *reinterpret_cast<float(*)[kWarps][kD]>(smem);
  const int64_t j0 = chunk * kMeanChunk, rows = min(int64_t{kMeanChunk}, s.seq - j0);
  const int c0 = (threadIdx.x % kLanes) * 8, row_base = threadIdx.x / kLanes;
  const int64_t head_off = bk * s.seq * kD;
  uint4 raw[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int row = row_base + r * kRowStep;
    const __half* src = s.v + head_off + (j0 + row) * kD + c0;
    raw[r] = row < rows ? *reinterpret_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
  }
  float amax[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const __half* h = reinterpret_cast<const __half*>(&raw[r]);
#pragma unroll
    for (int e = 0; e < 8; ++e) amax[e] = fmaxf(amax[e], fabsf(__half2float(h[e])));
  }
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    for (int off = kLanes; off < 32; off *= 2) amax[e] = fmaxf(amax[e], __shfl_xor_sync(0xffffffffu, amax[e], off));
    if (threadIdx.x % 32 < kLanes) warp_amax[threadIdx.x / 32][c0 + e] = amax[e];
  }
  __syncthreads();
  if (threadIdx.x >= kD) return;
  const int c = threadIdx.x;
  float m = 0.f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) m = fmaxf(m, warp_amax[w][c]);
  s.v_part[(bk * s.n_chunks + chunk) * kD + c] = m;
}

// Launch 2 (V per channel only), one CTA per (kv head, 32 channels): the chunk amax -> v_amax.
// All warps stage up to kFinalizeChunks chunks' partials in shared memory with their loads in
// flight together, then warp 1 takes their max. (One thread per channel walking the chunks, 16
// loads in flight at a time on a few SMs, was latency-bound: docs/perf-log.md q1.)
constexpr int kFinalizeChunks = 128;
__global__ void __launch_bounds__(kThreads) finalize_v_amax_kernel(const KvStatsArgs s, int d, float* v_amax) {
  __shared__ float v_stage[kFinalizeChunks][32];
  pdl_launch_dependents();
  pdl_wait();  // the partials of launch 1
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, groups = d / 32;
  const int64_t head = blockIdx.x / groups, channel = (blockIdx.x % groups) * 32 + lane;
  const int64_t first = head * s.n_chunks * d + channel;  // chunk 0 of this lane's channel
  float amax = 0.f;
  for (int64_t base = 0; base < s.n_chunks; base += kFinalizeChunks) {
    const int n = static_cast<int>(s.n_chunks - base < kFinalizeChunks ? s.n_chunks - base : kFinalizeChunks);
#pragma unroll 4
    for (int ch = warp; ch < n; ch += kWarps) v_stage[ch][lane] = s.v_part[first + (base + ch) * d];
    __syncthreads();
    if (warp == 1)
#pragma unroll 8
      for (int ch = 0; ch < n; ++ch) amax = fmaxf(amax, v_stage[ch][lane]);
    __syncthreads();  // the stage is read before the next round overwrites it
  }
  if (warp == 1) v_amax[head * d + channel] = amax;
}

struct VCodeArgs {
  const __half* v;      // [kv heads, seq, d]; nullptr: no V
  int64_t seq, padded;
  const float* amax;    // [kv heads, d] channel amax; nullptr: each tile's own (V per 128-key block)
  int8_t* v8;           // [kv heads, d, padded], keys permuted (attn_kernels.h)
  float* tile_scale;    // V per 128-key block: [kv heads, padded / kMeanChunk, d] scales; else nullptr
};

// V's kMeanChunk-key tiles per kv head: a codes CTA each (0 without V).
__host__ __device__ inline int64_t v_tiles_per_head(const VCodeArgs& a) { return a.v ? a.padded / kMeanChunk : 0; }

// V^T codes of kMeanChunk keys from j0, channels [c_base, c_base + kVTileChannels): position p of
// each 32-key group holds key v8_key_of_position(p) (attn_kernels.h). The tile is staged in shared memory; padded keys
// load as 0.0 and so get code 0. A lane reads one channel pair of one key (a warp: 32
// consecutive words, no bank conflicts), and the codes are staged again so that every
// channel row's 128 bytes leave as one full line. kOrdered (grouped K): staged row r is key j0 +
// row_order[r] (shared memory: its block's k_order, quantize_key_group_tile's), V's rows in K's order.
template <int kD, bool kOrdered = false>
__device__ void quantize_v_tile(const VCodeArgs& a, int64_t bk, int64_t j0, int c_base, char* smem,
                                const uint8_t* row_order = nullptr) {
  constexpr int kC = kVTileChannels<kD>;  // this CTA's channels; channel indices below are from c_base
  constexpr int kPairGroups = kC / 64, kWarpTasks = kPairGroups * (kMeanChunk / 16), kTasks = kWarpTasks / kWarps;
  auto& tile = *reinterpret_cast<__half(*)[kMeanChunk][kC]>(smem);
  // A thread's copies: one 16-byte chunk of every kRowStep-th row, the addresses stepped (64-bit
  // index arithmetic a copy took 24 SASS of the loop, s44).
  constexpr int kChunks = kC / 8, kRowStep = kThreads / kChunks, kCopies = kMeanChunk / kRowStep;
  static_assert(kRowStep * kChunks == kThreads && kCopies * kRowStep == kMeanChunk, "whole rows a pass");
  const int copy_row = static_cast<int>(threadIdx.x) / kChunks, copy_c0 = (static_cast<int>(threadIdx.x) % kChunks) * 8;
  const __half* const head = a.v + bk * a.seq * kD;
  const __half* src = head + (j0 + copy_row) * kD + c_base + copy_c0;
  const int64_t valid_rows = a.seq - j0 - copy_row;  // this thread's copy r is valid if r * kRowStep < it
  if constexpr (kOrdered) {  // each copy its own row's address: at head_dim 128 two at a time (all at once spilled)
    constexpr int kOrderedUnroll = kD == 128 ? 2 : kCopies;
#pragma unroll kOrderedUnroll
    for (int r = 0; r < kCopies; ++r) {
      const int row = copy_row + r * kRowStep;
      const bool valid = r * kRowStep < valid_rows;
      const __half* from = head + (j0 + row_order[row]) * kD + c_base + copy_c0;
      cp_async16(smem_addr(&tile[row][copy_c0]), valid ? from : head, valid ? 16 : 0);
    }
  } else {
#pragma unroll
    for (int r = 0; r < kCopies; ++r, src += kRowStep * kD) {
      const bool valid = r * kRowStep < valid_rows;
      cp_async16(smem_addr(&tile[copy_row + r * kRowStep][copy_c0]), valid ? src : head, valid ? 16 : 0);
    }
  }
  cp_async_commit();
  if (a.amax) pdl_wait();  // V per channel: its amax comes from the launch before (per block: nothing)
  cp_async_wait<0>();
  __syncthreads();
  // V per 128-key block: the tile's own channel amax (padded keys are 0.0), in the staging
  // area past the tile; its scales go out with the codes.
  float* tile_amax = reinterpret_cast<float*>(smem + sizeof(tile));  // kSplit rows of kC partials, then row 0 the amax
  if (!a.amax) {
    // A channel pair a thread over a part of the rows: |x| maxima in FP16 pairs (exact: the float
    // max of the converted values, and from 0 as fmaxf's; a word a load, no bank conflicts).
    constexpr int kSplit = kThreads / (kC / 2), kRowsEach = kMeanChunk / kSplit;
    static_assert(sizeof(tile) + kSplit * kC * sizeof(float) <= kItemSmemBytes<kD>, "the partials fit past the tile");
    const int pair = threadIdx.x % (kC / 2), part = threadIdx.x / (kC / 2);
    __half2 m2 = __float2half2_rn(0.f);
#pragma unroll 8
    for (int r = part * kRowsEach; r < (part + 1) * kRowsEach; ++r)
      m2 = __hmax2(m2, __habs2(*reinterpret_cast<const __half2*>(&tile[r][2 * pair])));
    tile_amax[part * kC + 2 * pair] = __low2float(m2);
    tile_amax[part * kC + 2 * pair + 1] = __high2float(m2);
    __syncthreads();
    const int c = threadIdx.x % kC;
    float m = tile_amax[c];
    if (threadIdx.x < kC) {
      for (int p = 1; p < kSplit; ++p) m = fmaxf(m, tile_amax[p * kC + c]);
      a.tile_scale[(bk * (a.padded / kMeanChunk) + j0 / kMeanChunk) * kD + c_base + c] = int8_scale(m);
    }
    __syncthreads();  // every partial is read before the final amax overwrites row 0
    if (threadIdx.x < kC) tile_amax[c] = m;
    __syncthreads();
  }
  auto channel_amax = [&](int c) { return a.amax ? a.amax[bk * kD + c_base + c] : tile_amax[c]; };
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  uint4 q[kTasks][2];  // a task's 16 positions' codes for each of its two channels
#pragma unroll
  for (int t = 0; t < kTasks; ++t) {
    const int wt = warp + t * kWarps, pair = (wt % kPairGroups) * 32 + lane, p0 = (wt / kPairGroups) * 16;
    const float inv0 = int8_inv_scale(channel_amax(2 * pair));
    const float inv1 = int8_inv_scale(channel_amax(2 * pair + 1));
    uint32_t c[2][16];
#pragma unroll
    for (int e = 0; e < 16; ++e) {
      const int p = p0 + e, key = (p & ~31) + v8_key_of_position(p & 31);
      const __half2 x = *reinterpret_cast<const __half2*>(&tile[key][2 * pair]);
      c[0][e] = quantize_s8_in_range_bits(__low2float(x), inv0);
      c[1][e] = quantize_s8_in_range_bits(__high2float(x), inv1);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h)
      q[t][h] = make_uint4(pack_low_bytes(c[h][0], c[h][1], c[h][2], c[h][3]),
                           pack_low_bytes(c[h][4], c[h][5], c[h][6], c[h][7]),
                           pack_low_bytes(c[h][8], c[h][9], c[h][10], c[h][11]),
                           pack_low_bytes(c[h][12], c[h][13], c[h][14], c[h][15]));
  }
  __syncthreads();  // every read of the tile is done: it now holds the codes
  // [kC][kMeanChunk] codes; the 16-byte chunk k of row c sits at k ^ ((c / 2) % 8), so the
  // 32 rows a warp writes at once spread over all banks.
  int8_t* staged = reinterpret_cast<int8_t*>(&tile[0][0]);
#pragma unroll
  for (int t = 0; t < kTasks; ++t) {
    const int wt = warp + t * kWarps, pair = (wt % kPairGroups) * 32 + lane, k = (wt / kPairGroups);
#pragma unroll
    for (int h = 0; h < 2; ++h)
      *reinterpret_cast<uint4*>(staged + (2 * pair + h) * kMeanChunk + (k ^ (pair % 8)) * 16) = q[t][h];
  }
  __syncthreads();
  // A thread's stores: chunk k of every kStoreStep-th channel row, the address stepped.
  constexpr int kRowChunks = kMeanChunk / 16, kStoreStep = kThreads / kRowChunks, kStores = kC / kStoreStep;
  static_assert(kStoreStep * kRowChunks == kThreads && kStores * kStoreStep == kC, "whole rows a pass");
  const int store_c = static_cast<int>(threadIdx.x) / kRowChunks, k = static_cast<int>(threadIdx.x) % kRowChunks;
  int8_t* dst = a.v8 + (bk * kD + c_base + store_c) * a.padded + j0 + k * 16;
#pragma unroll
  for (int i = 0; i < kStores; ++i, dst += kStoreStep * a.padded) {
    const int c = store_c + i * kStoreStep;
    *reinterpret_cast<uint4*>(dst) =
        *reinterpret_cast<const uint4*>(staged + c * kMeanChunk + (k ^ ((c / 2) % 8)) * 16);
  }
}

// Launch 1 (when there is something to wait for): K's mean, a CTA a kv head (when smoothing),
// then V's (kv head, chunk) amax partials (V per channel).
template <int kD>
__global__ void __launch_bounds__(kThreads)
    stats_kernel(const GroupQuantArgs k, float* k_mean, const KvStatsArgs s) {
  const int64_t i = blockIdx.x, mean_ctas = k_mean ? k.heads_total : 0;
  __shared__ __align__(16) char smem[kItemSmemBytes<kD>];
  pdl_launch_dependents();  // the next launch's CTAs start at once: most of them wait for nothing
  static_assert(sizeof(float[kKMeanGroups / 2][kD]) <= kItemSmemBytes<kD>, "the mean's pairs fit");
  if (i < mean_ctas) {
    sampled_k_mean<kD>(k.src + i * k.seq * kD, k.seq, *reinterpret_cast<float(*)[kKMeanGroups / 2][kD]>(smem),
                       k_mean + i * kD);
  } else {
    const int64_t c = i - mean_ctas;
    v_chunk_amax<kD>(s, c / stats_chunks(s), c % stats_chunks(s), smem);
  }
}

// The codes launch (launch 3, or the only one): Q's items, then V's tiles, then K's items, V's
// and K's each kv head's in turn from the last head (with V per channel, the heads launch 1 read
// last are the likeliest to still be in L2). Q and V per 128-key block need nothing from the
// launches before, so their tiles run while K's mean is made (a CTA a head, its samples in one
// round of loads; 5.3 us at 16 heads in s35's two rounds, ncu, H200); K's items wait for it
// (pdl_wait) after issuing their loads, and V per channel for its amax. Against launch 1
// holding Q and every K tile making the mean itself: the quantizer -4 to -11% at 16 heads,
// within +-3 us on Llama-3-8B's one-wave grids (docs/perf-log.md s35). Five CTAs an SM (48
// registers): against four, 1% faster at 16 heads and head_dim 128, 3-4% at 64, 5-14% on
// Llama-3-8B's GQA shapes (s15).
// kOptions: every QuantConfig option (the Hadamard rotation, scale groups of several tokens;
// 9.2K SASS at head_dim 128, 28 B spilled); without it per-token scales and no rotation only,
// the product's form: 2.0K SASS and no spill, end to end 1K x b1 x 16 heads 41.4 -> 37.3 us
// (s45: the attention kernel, a dependent launch, starts sooner after a smaller codes kernel).
// kK: K's scales (KTile). Grouped K's items quantize their block's V tile too, after K's codes,
// its rows in K's order (V's rows move with K's), so there are no V items of their own.
template <int kD, KTile kK, bool kOptions>
__global__ void __launch_bounds__(kThreads, 5)
    codes_kernel(const GroupQuantArgs q, int64_t q_items, const GroupQuantArgs k, int64_t k_items, const VCodeArgs v) {
  constexpr bool kVWithK = kK == KTile::Grouped;
  static_assert(!kVWithK || (kVTileSlices<kD> == 1 && kMeanChunk == kKGroupSpan), "a K block's V tile is one CTA's");
  const int64_t q_ctas = q.heads_total * q_items, v_items = kVWithK ? 0 : v_tiles_per_head(v) * kVTileSlices<kD>,
                v_ctas = k.heads_total * v_items;
  __shared__ __align__(16) char smem[kItemSmemBytes<kD>];
  pdl_launch_dependents();  // the attention kernel after us may start during our last wave
  if (const int64_t i = blockIdx.x; i < q_ctas) {
    quantize_qk_item<kD, KTile::Token, kOptions>(q, i / q_items, i % q_items, smem);
  } else if (const int64_t t = i - q_ctas; t < v_ctas) {  // none with grouped K
    if constexpr (!kVWithK) {
      const int64_t item = t % v_items;  // the tile's channel slices in turn
      quantize_v_tile<kD>(v, k.heads_total - 1 - t / v_items, item / kVTileSlices<kD> * kMeanChunk,
                          static_cast<int>(item % kVTileSlices<kD>) * kVTileChannels<kD>, smem);
    }
  } else {
    const int64_t head = k.heads_total - 1 - (t - v_ctas) / k_items, item = (t - v_ctas) % k_items;
    if constexpr (kVWithK) {
      __shared__ KGroupTileSmem groups;
      quantize_qk_item<kD, kK, kOptions>(k, head, item, smem, &groups);
      if (v.v) {
        __syncthreads();  // K's rows are read (and groups.order written) before V's tile replaces them
        quantize_v_tile<kD, true>(v, head, item * kKGroupSpan, 0, smem, groups.order);
      }
    } else {
      quantize_qk_item<kD, kK, kOptions>(k, head, item, smem);
    }
  }
}

__global__ void v_scale_finalize_kernel(float* v_scale, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  pdl_wait();  // every V tile of launch 3 has read the amax
  if (i < n) v_scale[i] = int8_scale(v_scale[i]);  // the buffer held the amax until here
}

// The current device's compute-capability major.
cudaError_t device_major(int& major) {
  int device = 0;
  const cudaError_t err = cudaGetDevice(&device);
  return err == cudaSuccess ? cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) : err;
}

// A quantizer launch: `dependent` (after another launch of the same quantization, on sm_90+)
// makes it a programmatic dependent (fa::launch_kernel) that starts during the last wave of the
// launch before; otherwise a plain launch. Each dependent waits (pdl_wait) before it reads the
// launch before's results or writes what that launch may still read. int8-fa's
// warp-specialized kernels launch so after the quantizer too (FusedTuning::dependent_launch);
// int8-qk's kernels do not (as a dependent, measured 1-2% slower end to end at 4K and 16K on an
// H200: docs/perf-log.md q5).
template <class... Params, class... Args>
cudaError_t launch_quantizer(bool dependent, void (*kernel)(Params...), unsigned grid, cudaStream_t stream,
                             Args&&... args) {
  return fa::launch_kernel(kernel, grid, kThreads, 0, dependent, stream, std::forward<Args>(args)...);
}

unsigned blocks_for(int64_t n, int64_t per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

template <int kD>
cudaError_t quantize_all(const GroupQuantArgs& qa, const GroupQuantArgs& ka, KTile k_tile,
                         const KvStatsArgs& stats, const VCodeArgs& va, float* k_mean, float* v_scale,
                         cudaStream_t stream) {
  // qa.src nullptr: no Q (the attention kernel quantizes it). k_mean nullptr: no smoothing.
  // Launch 1 makes K's mean and V's chunk amax; launches 2-4 are dependents, each starting at
  // once or during the last wave of the one before: V's amax (V per channel), the codes, V's
  // scales (V per channel). With neither K's mean nor V per channel, the codes launch alone.
  const int64_t bk = ka.heads_total, q_items = qa.src ? qk_items(qa) : 0,
                k_items = qk_items(ka, whole_span(k_tile));
  const int64_t stats_ctas = (k_mean ? bk : 0) + bk * stats_chunks(stats);
  int major = 0;  // programmatic dependents from sm_90: asked once a call
  cudaError_t err = device_major(major);
  if (err != cudaSuccess) return err;
  const bool pdl = major >= 9;
  if (stats_ctas > 0) {
    stats_kernel<kD><<<blocks_for(stats_ctas, 1), kThreads, 0, stream>>>(ka, k_mean, stats);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
  }
  if (stats.v) {
    err = launch_quantizer(pdl, finalize_v_amax_kernel, blocks_for(bk * kD, 32), stream, stats,
                           static_cast<int>(kD), v_scale);
    if (err != cudaSuccess) return err;
  }
  const int64_t v_items = k_tile == KTile::Grouped ? 0 : v_tiles_per_head(va) * kVTileSlices<kD>;  // grouped: K's
  const int64_t ctas = qa.heads_total * q_items + bk * (k_items + v_items);
  const bool options = qa.rotate || ka.rotate || qa.group != 1 || ka.group != 1;
  auto* codes = options ? codes_kernel<kD, KTile::Token, true> : codes_kernel<kD, KTile::Token, false>;
  // K's 128-key spans staged whole: compiled up to kKThreadMaxHeadDim (quantize_qkv refuses
  // per-thread and grouped K above it).
  if constexpr (kD <= kKThreadMaxHeadDim) {
    if (k_tile == KTile::Thread)
      codes = options ? codes_kernel<kD, KTile::Thread, true> : codes_kernel<kD, KTile::Thread, false>;
    if (k_tile == KTile::Grouped)
      codes = options ? codes_kernel<kD, KTile::Grouped, true> : codes_kernel<kD, KTile::Grouped, false>;
  }
  err = launch_quantizer(pdl && stats_ctas > 0, codes, blocks_for(ctas, 1), stream, qa, q_items, ka, k_items, va);
  if (err != cudaSuccess || !va.v || va.tile_scale) return err;  // per-tile V scales: written by the codes
  return launch_quantizer(pdl, v_scale_finalize_kernel, blocks_for(bk * kD, kThreads), stream, v_scale, bk * kD);
}

}  // namespace

cudaError_t quantize_qkv(const AttnDims& dims, const QuantConfig& cfg, const __half* q, const __half* k,
                         const __half* v, bool quantize_v_too, const QuantizedQKV& out, cudaStream_t stream,
                         bool quantize_q) {
  const int64_t d = dims.head_dim;
  if (!fused_head_dim(KernelId::Int8Full, d)) return cudaErrorNotSupported;  // int8-fa's head dims, int8-qk's among them
  if (cfg.k_granularity != KGranularity::AsQ && d > kKThreadMaxHeadDim) return cudaErrorNotSupported;
  if (cfg.k_granularity == KGranularity::Grouped && out.k_order == nullptr) return cudaErrorInvalidValue;
  if (cfg.qk_granularity == QkGranularity::PerBlock && cfg.qk_block <= 0) return cudaErrorInvalidValue;
  if (cfg.v_block != 0 && cfg.v_block != kMeanChunk) return cudaErrorNotSupported;  // V per channel or per 128 keys
  const bool v_tiles = quantize_v_too && cfg.v_block == kMeanChunk;  // each V tile its own scales
  const int64_t group = cfg.qk_granularity == QkGranularity::PerBlock ? cfg.qk_block : 1;
  const int64_t bk = dims.batch * dims.kv_heads, padded = padded_seq_kv(dims.seq_kv);
  const int64_t n_chunks = padded / kMeanChunk;

  const bool rotate = cfg.rotation == QkRotation::Hadamard;  // 64, 128 and 256 are powers of two
  const KTile k_tile = cfg.k_granularity == KGranularity::PerThread  ? KTile::Thread
                       : cfg.k_granularity == KGranularity::Grouped ? KTile::Grouped
                                                                    : KTile::Token;
  if (whole_span(k_tile) && group != 1) return cudaErrorInvalidValue;  // per-thread, grouped K: per-token Q
  const GroupQuantArgs qa{quantize_q ? q : nullptr, dims.seq_q, dims.seq_q, d, group, qk_groups(dims.seq_q, cfg),
                          dims.batch * dims.heads,
                          nullptr, effective_sm_scale(dims), rotate, out.q8, out.q_scale, nullptr, false};
  const GroupQuantArgs ka{k, dims.seq_kv, padded, d, group, qk_groups(padded, cfg), bk,
                          cfg.smooth_k ? out.k_mean : nullptr, 0.f, rotate, out.k8, out.k_scale,
                          cfg.k_granularity == KGranularity::Grouped ? out.k_order : nullptr, true};
  // Scratch: V's chunk partials (V per channel), bk * n_chunks * d floats = k8's bytes / 32, live
  // in the k8 buffer until launch 3 writes K's codes over them.
  const KvStatsArgs stats{quantize_v_too && !v_tiles ? v : nullptr, dims.seq_kv, n_chunks,
                          reinterpret_cast<float*>(out.k8)};
  const VCodeArgs va{quantize_v_too ? v : nullptr, dims.seq_kv, padded, v_tiles ? nullptr : out.v_scale, out.v8,
                     v_tiles ? out.v_scale : nullptr};
  float* k_mean = cfg.smooth_k ? out.k_mean : nullptr;
  if (d == 64) return quantize_all<64>(qa, ka, k_tile, stats, va, k_mean, out.v_scale, stream);
  if (d == 256) return quantize_all<256>(qa, ka, k_tile, stats, va, k_mean, out.v_scale, stream);
  return quantize_all<128>(qa, ka, k_tile, stats, va, k_mean, out.v_scale, stream);
}

}  // namespace int8attn::kernels
