// The fused flash-attention kernel body, templated on the head dim and on the variant:
//   Int8Full: INT8 Q·K^T (m16n8k32 s8), P quantized to u8/s8, INT8 P·V (m16n8k32 u8.s8/s8.s8)
//   Int8QK:   INT8 Q·K^T, P in FP16, FP16 V (m16n8k16 f16, FP32 accumulate)
//   Fp16:     FP16 Q·K^T and P·V with the same tiling (the like-for-like FP16 baseline)
// Tiling (FlashAttention-2 style): a CTA owns kWarps x 16 query rows (a warp: 16 rows);
// the warp's Q fragments live in registers for the whole KV loop; K/V tiles of kBlockN = 64
// keys (== QuantConfig::kv_block) stream through a Shape::kStages-deep cp.async ring in swizzled
// shared memory and are read with ldmatrix. The online softmax runs once per 64-key block
// (numerics.h). Included by fused_attention.cu and, for WarpTile, the wgmma kernels
// (int8_fa_wgmma.cuh, sm90/int8_fa_ws.cuh).
#pragma once
#include <cuda_fp16.h>
#include <cfloat>
#include <cstdint>
#include <type_traits>

#include "common/numerics.h"
#include "kernels/instances.h"
#include "kernels/ptx.cuh"
#include "kernels/sm90/ws_tile_order.h"

namespace int8attn::kernels::fa {


constexpr int kBlockN = kGpuKvBlock;  // int8-fa's P-code block and the mma.sync kernels' KV tile
// The Hopper int8-qk kernel's KV block and online-softmax step (sm90/int8_fa_ws.cuh). Its P is
// relative to the running max, so the step changes only P's FP16 rounding.
constexpr int kWsQkKeys = 128;
// int8-fa's other P-code block (QuantConfig::kv_block), on the Hopper kernel only, with V
// scaled per the same 128 keys (QuantConfig::v_block): half the merges and per-step work of 64
// keys, and no less accurate than 64-key blocks with V per channel (docs/perf-log.md V blocks).
constexpr int kWsFaWideKeys = 128;

// Consumer warpgroups of a kernel (keys: its KV block): 2 (128 query rows a CTA at 240
// registers), or 3 (192 rows at 160 registers: a third warp a scheduler hides more of the
// softmax's latency) where they fit without spilling:
// - fp16-fa at head_dim 64, FlashAttention-3's shape there: +6-21% on the H200 (docs/perf-log.md s13);
// - int8-fa's 128-key kernels, whose consumers run each block one product at a time (the serial
//   schedule, ws_consume_fa_serial): +12-16% at head_dim 128 from 16K keys, +11-15% at 64
//   (docs/perf-log.md s20);
// - int8-qk at head_dim 64 in the same serial schedule (ws_consume_qk_serial): +4-8% over its
//   two overlapped consumers (docs/perf-log.md s41).
// int8-qk at head_dim 128 keeps two: serial on three it measured 20-31% slower (its FP16 P·V is
// twice as long; s41), and overlapped it spills at 160 registers, as int8-fa's 64-key kernel in
// its overlapped schedule does (110 B). Tuning builds may set INT8ATTN_WS_CONSUMERS_D64 (2 or 3)
// for the head_dim-64 kernels but the serial ones.
constexpr int ws_consumers(Variant variant, int head_dim, int keys) {
  if (variant == Variant::Int8Full && keys == kWsFaWideKeys) return 3;
  if (variant == Variant::Int8QK && head_dim == 64) return 3;
#ifdef INT8ATTN_WS_CONSUMERS_D64
  static_assert(INT8ATTN_WS_CONSUMERS_D64 == 2 || INT8ATTN_WS_CONSUMERS_D64 == 3, "2 or 3 consumer warpgroups");
  if (head_dim == 64) return INT8ATTN_WS_CONSUMERS_D64;
#endif
  return variant == Variant::Fp16Flash && head_dim == 64 ? 3 : 2;
}
// A warp-specialized kernel's query rows a tile: 64 a consumer warpgroup (the host's tile
// counts, fused_attention.cu, read it here rather than repeat it).
constexpr int ws_tile_rows(Variant variant, int head_dim, int keys) { return 64 * ws_consumers(variant, head_dim, keys); }

constexpr int kStages = 3;  // the mma.sync kernels' ring up to head_dim 128 (Shape::kStages)
// 1.5 * 2^23: for |i| < 2^22, the float with bits (kMagicBits + i) equals kMagic + i, so an
// INT32 MMA started from C = kMagicBits yields float(acc) with one FADD (no I2F), and
// rint(t) for t in [0, 255] is the low byte of the bits of t + kMagic (no F2I).
constexpr float kMagic = 12582912.0f;
constexpr int32_t kMagicBits = 0x4B400000;

struct Params {
  const void* q;             // int8 q8 or FP16 Q, BHSD
  const void* k;             // int8 k8 (padded) or FP16 K
  const void* v;             // int8 v8 (transposed, permuted) or FP16 V
  const float* q_scale;      // int8 Q·K^T only
  const float* k_scale;      // int8 Q·K^T only (padded groups)
  const float* v_scale;      // Int8Full only
  __half* out;
  int64_t heads, kv_heads, seq_q, seq_kv;
  int64_t k_rows, v_rows;    // key rows stored per kv head (padded for int8 K/V)
  int64_t n_q_groups, n_k_groups;  // scale groups per (batch, head)
  int32_t group_tokens;      // tokens per Q/K scale group (1 = per token)
  int32_t n_qblocks;         // ceil(seq_q / rows per CTA)
  float fp16_score_scale;    // sm_scale * log2(e), Fp16 only
  bool causal;
  // INT8 Q·K^T on Hopper's warp-specialized kernels: non-null, FP16 Q (BHSD) that the kernel
  // quantizes itself, per token as the quantizer does (q and q_scale unused); q_fold is the
  // softmax scale folded into Q's scales (quantize.cu's GroupQuantArgs::fold).
  const __half* q_half;
  float q_fold;
};

// The Q scale the softmax uses from a stored (folded) one, 0 for a row past seq_q: a zero Q row
// scores 0 everywhere, and the floor keeps -inf * scale = -inf.
__device__ __forceinline__ float usable_q_scale(float stored) { return fmaxf(stored, FLT_MIN); }

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// Byte offset of 16-byte chunk `chunk` of row `row` in a tile of kRowBytes-byte rows, XOR
// swizzled so that the 8 rows an ldmatrix phase reads hit 8 different bank groups.
template <int kRowBytes>
__device__ __forceinline__ uint32_t swizzle(int row, int chunk) {
  static_assert(kRowBytes == 64 || kRowBytes % 128 == 0, "row bytes: 64 or a multiple of 128");
  if constexpr (kRowBytes == 64) return row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4);
  else return row * kRowBytes + ((chunk ^ (row & 7)) << 4);
}

// cp.async a kRows x kRowBytes tile (global row stride in bytes) into swizzled smem; rows at
// or past rows_valid are zero-filled (their source is never read).
template <int kThreads, int kRows, int kRowBytes>
__device__ __forceinline__ void load_tile(uint32_t smem, const char* src, int64_t stride, int rows_valid) {
  constexpr int kChunks = kRowBytes / 16, kTotal = kRows * kChunks;
#pragma unroll
  for (int it = 0; it < (kTotal + kThreads - 1) / kThreads; ++it) {
    const int idx = it * kThreads + static_cast<int>(threadIdx.x);
    if (kTotal % kThreads == 0 || idx < kTotal) {
      const int row = idx / kChunks, chunk = idx % kChunks;
      const bool ok = row < rows_valid;
      cp_async16(smem + swizzle<kRowBytes>(row, chunk), src + (ok ? row * stride : 0) + chunk * 16, ok ? 16 : 0);
    }
  }
}

// Register schedules of one kernel shape, picked at run time (FusedTuning::schedule). ncu:
// latency-bound at 2 warps per scheduler with 255 registers. Schedule 0 is the default;
// schedule 1 (perf-log v5's schedule 4) is faster for int8-qk and fp16-fa at head_dim 64 (three
// CTAs per SM without spills) and slower for int8-fa (numbers: docs/perf-log.md v5).
struct Schedule {
  int ctas_per_sm;    // __launch_bounds__ minimum for 4-warp CTAs: 2 -> 255 registers, 3 -> 168
  bool q_from_smem;   // Q fragments re-read with ldmatrix every block (-16 live registers)
  bool fused_weight;  // int8-fa: the block weight folded into the INT32->float FFMA (one path, no vote)
  bool tree_reduce;   // row max and row sum as 4-deep trees instead of 16-deep chains
};
constexpr Schedule kSchedules[] = {
    {2, false, false, false},  // 0: v4's loop
    {3, true, true, true},     // 1: three CTAs per SM
};
constexpr int kNumSchedules = sizeof(kSchedules) / sizeof(kSchedules[0]);

// v[0] op v[1] op ... op v[N-1]: as a balanced tree (kTree) or a left-to-right chain.
template <bool kTree, int N, typename Op>
__device__ __forceinline__ float reduce_row(float (&v)[N], Op op) {
  if constexpr (kTree && N > 1) {
#pragma unroll
    for (int i = 0; i < N / 2; ++i) v[i] = op(v[i], v[i + N / 2]);
    return reduce_row<kTree>(reinterpret_cast<float(&)[N / 2]>(v), op);
  } else {
    float acc = v[0];
#pragma unroll
    for (int i = 1; i < N; ++i) acc = op(acc, v[i]);
    return acc;
  }
}

// cp.async of a tile stored contiguously in global memory (kRows rows of kRowBytes) into
// swizzled smem: this thread's chunk i is the 16 bytes at tid*16 + i*kThreads*16 of both
// (the swizzle repeats every 8 rows), so every copy is base + immediate and no per-chunk
// address stays live across the KV loop. With kMasked, rows at or past rows_valid are
// zero-filled (their source is never read).
template <int kThreads, int kRows, int kRowBytes, bool kMasked>
__device__ __forceinline__ void load_contiguous_tile(uint32_t dst, const char* src, int rows_valid) {
  constexpr int kChunks = kRowBytes / 16, kPer = kRows * kChunks / kThreads, kRowsPerStep = kThreads / kChunks;
  static_assert(kRows * kChunks % kThreads == 0 && kRowsPerStep % 8 == 0, "whole swizzle periods per step");
  const int tid = static_cast<int>(threadIdx.x), row = tid / kChunks;
  const uint32_t d = dst + swizzle<kRowBytes>(row, tid % kChunks);
  const char* s = src + tid * 16;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const bool ok = !kMasked || row + i * kRowsPerStep < rows_valid;
    cp_async16(d + i * kThreads * 16, ok ? s + i * kThreads * 16 : src, ok ? 16 : 0);
  }
}

// Compile-time shape of one instantiation. kKeysPerBlock: keys per KV block, the online
// softmax's step (the mma.sync kernels: kBlockN; the Hopper int8-qk kernel: 128).
template <Variant kV, int kD, int kWarps, int kKeysPerBlock = kBlockN>
struct Shape {
  static constexpr int kKeys = kKeysPerBlock;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kBlockM = kWarps * 16;                 // query rows per CTA
  static constexpr bool kInt8QK = kV != Variant::Fp16Flash;
  static constexpr bool kInt8PV = kV == Variant::Int8Full;
  // int8-fa's 128-key P blocks (Hopper only) come with V scaled per the same blocks: the
  // merges apply V's scales, the output none.
  static constexpr bool kVPerBlock = kInt8PV && kKeys == kWsFaWideKeys;
  static constexpr bool kPCodesFp16 = kInt8PV && p_codes_through_fp16(kKeys);  // P's codes through FP16
  static constexpr int kQRowBytes = kD * (kInt8QK ? 1 : 2);   // Q and K rows
  static constexpr int kKSteps = kQRowBytes / 32;             // 32-byte k steps of Q·K^T
  static constexpr int kNTilesS = kKeys / 8;                  // score n-tiles per warp
  static constexpr int kNTilesO = kD / 8;                     // output n-tiles per warp
  static constexpr int kQBytes = kBlockM * kQRowBytes;
  static constexpr int kKBytes = kKeys * kQRowBytes;
  static constexpr int kVBytes = kKeys * kD * (kInt8PV ? 1 : 2);
  static constexpr int kScaleBytes = kInt8QK ? kKeys * 4 : 0;
  static constexpr int kStageBytes = kKBytes + kVBytes + kScaleBytes;
  // Three slots of a ring; two at head_dim 256, where three (113 KB a CTA for int8-fa) pass the
  // 99 KB a block can have on sm_86 and sm_89. Two still overlap block blk's math with blk + 1's copies.
  static constexpr int kStages = kD > 128 ? 2 : fa::kStages;
  static constexpr int smem_bytes(int slots) { return kQBytes + slots * kStageBytes; }
  static constexpr int kSmemBytes = smem_bytes(kStages);
  static_assert(kKSteps % 2 == 0, "K fragments are loaded two k-steps at a time");
};

// The least shared memory a block may opt into on the GPUs the mma.sync kernels run on: 99 KB
// on sm_86, sm_87, sm_89 and sm_120 (164 KB on sm_80, 227 KB on sm_90).
constexpr int kSmallestBlockSmem = 99 * 1024;
// An instance whose ring passes kSmallestBlockSmem is also compiled with two slots, the form a
// launch takes where the device cannot hold three (fp16-fa at head_dim 128 on 8 warps: 128 KB
// with three, 96 KB with two). Other GPUs keep the three-slot form they were measured with.
template <Variant kV, int kD, int kWarps>
constexpr bool has_two_slot_form() {
  using S = Shape<kV, kD, kWarps>;
  return S::kStages > 2 && S::kSmemBytes > kSmallestBlockSmem && S::smem_bytes(2) <= kSmallestBlockSmem;
}

// Issues the cp.async copies of KV block `blk` (keys [64 blk, 64 blk + 64)) into one ring slot:
// the K tile, the V tile (V^T for INT8) and, for INT8 Q·K^T, the 64 per-key K scales.
template <Variant kV, int kD, int kWarps>
__device__ __forceinline__ void load_kv_block(const Params& p, uint32_t slot, const char* k_head,
                                              const char* v_head, const float* k_scale_head, int blk) {
  using S = Shape<kV, kD, kWarps>;
  constexpr int kThreads = S::kThreads;
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t j0 = static_cast<int64_t>(blk) * kBlockN;
  // FP16 K/V are unpadded: rows past seq_kv are zero-filled. INT8 K/V are padded.
  const int rows_valid = static_cast<int>(min64(kBlockN, p.seq_kv - j0));
  load_contiguous_tile<kThreads, kBlockN, S::kQRowBytes, !S::kInt8QK>(slot, k_head + j0 * S::kQRowBytes, rows_valid);
  if constexpr (S::kInt8PV) {  // V^T tile: kD channel rows of 64 key positions (row stride v_rows)
    constexpr int kPer = kD * 4 / kThreads;
    static_assert(kD * 4 % kThreads == 0 && (kThreads / 4) % 8 == 0, "V tile chunks per thread");
    const uint32_t dst = slot + S::kKBytes + swizzle<kBlockN>(tid / 4, tid % 4);
    const char* src = v_head + j0 + (tid / 4) * p.v_rows + (tid % 4) * 16;
    const int64_t step = (kThreads / 4) * p.v_rows;
#pragma unroll
    for (int i = 0; i < kPer; ++i) cp_async16(dst + i * kThreads * 16, src + i * step, 16);
  } else {
    load_contiguous_tile<kThreads, kBlockN, kD * 2, true>(slot + S::kKBytes, v_head + j0 * kD * 2, rows_valid);
  }
  if constexpr (S::kInt8QK) {
    if (tid < kBlockN) {
      const uint32_t key = static_cast<uint32_t>(j0) + tid;
      const uint32_t group = p.group_tokens == 1 ? key : key / static_cast<uint32_t>(p.group_tokens);
      cp_async4(slot + S::kKBytes + S::kVBytes + tid * 4, k_scale_head + group);
    }
  }
}

// -inf for the scores of a thread's S fragment that its rows do not see: row g + 8r sees
// seen[r] keys counted from the thread's first column 2t (n-tile n holds columns n * 8 + 2t and
// + 1), so each element costs one compare against a constant.
template <int kNTiles>
__device__ __forceinline__ void mask_unseen(const int (&seen)[2], float (&x)[kNTiles][4]) {
#pragma unroll
  for (int n = 0; n < kNTiles; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      if (n * 8 + (e & 1) >= seen[e >> 1]) x[n][e] = -INFINITY;
}

// Per-warp state and the two halves of one KV step: scores() (S = Q·K^T, scaled, masked)
// and softmax_pv() (online softmax, P, O = O*alpha + P·V). (Running half of the warps one
// half-step out of phase was measured slower: docs/perf-log.md v2.)
template <Variant kV, int kD, int kWarps, bool kPU8, bool kLFromQ, int kSched, int kKeysPerBlock = kBlockN>
struct WarpTile {
  using S = Shape<kV, kD, kWarps, kKeysPerBlock>;
  static constexpr Schedule kSch = kSchedules[kSched];
  static constexpr int kQFragRegs = kSch.q_from_smem ? 1 : S::kKSteps;
  static constexpr float kLevels = S::kInt8PV ? (kPU8 ? 255.f : 127.f) : 1.f;
  // A block's P terms (exponentials), row g in elements 0-1 of each n-tile, g + 8 in 2-3:
  // int8-fa's code carriers, the FP32 levels * p + kPCodeMagic (the code in the low byte) or,
  // for 128-key P blocks (numerics.h p_codes_through_fp16), one FP16 pair a row, half(levels *
  // p) + 1024 (the codes in bytes 0 and 2); int8-qk's and fp16-fa's FP32 P.
  using PTerms = std::conditional_t<S::kPCodesFp16, uint32_t[S::kNTilesS][2], float[S::kNTilesS][4]>;
  static constexpr float kRefWindow = 12.f;  // see softmax_pv
  // softmax<.., kLazyRef>: how far a block's max may pass P's reference before it is raised
  // (log2 units: P up to 2^8 = 256, FlashAttention-4's threshold).
  static constexpr float kLazyRefLog2 = 8.f;

  const Params& p;
  int lane, g, t;
  int64_t row0, rows[2], offset;
  float q_scale[2];
  uint32_t q_frag[kQFragRegs][4];  // unused (size 1) when Q is re-read from smem
  uint32_t q_smem;                 // this lane's ldmatrix row in the Q tile (q_from_smem)
  int q_row;
  float o[S::kNTilesO][4];
  float m[2], ref[2], l[2];
  float log2_levels;
  // The first KV block that some row of this warp does not see whole (past the keys, or past
  // the diagonal of the warp's first row): mask<..., true>() checks this one int instead of
  // the 64-bit bounds (the warp-specialized kernels: int8-fa at head_dim 128 spilled 138 bytes
  // with the bounds, none with the int). The other kernels keep the bounds: with the int,
  // fp16-fa's mma.sync kernel at 128 spilled 20 bytes on sm_80, reloaded in its loop.
  int32_t mask_from;

  __device__ __forceinline__ WarpTile(const Params& params, int warp_lane, int64_t first_row, int64_t kv_offset)
      : p(params), lane(warp_lane), g(warp_lane / 4), t(warp_lane % 4), row0(first_row), offset(kv_offset) {
    rows[0] = row0 + g;
    rows[1] = row0 + g + 8;
    set_mask_from();
#pragma unroll
    for (int n = 0; n < S::kNTilesO; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    m[0] = m[1] = ref[0] = ref[1] = -INFINITY;
    l[0] = l[1] = 0.f;
    log2_levels = log2f(kLevels);
  }

  // Block blk ends past the keys iff blk >= seq_kv / kKeys; past the diagonal of the warp's
  // first row (it sees row0 + offset + 1 keys, none when that is <= 0) likewise.
  __device__ __forceinline__ void set_mask_from() {
    int64_t whole = p.seq_kv / S::kKeys;
    if (p.causal) whole = min64(whole, max64(0, row0 + offset + 1) / S::kKeys);
    mask_from = static_cast<int32_t>(min64(whole, INT32_MAX));
  }

  __device__ __forceinline__ bool skips(int blk) const {  // every key of the block masked
    return p.causal && static_cast<int64_t>(blk) * S::kKeys > row0 + 15 + offset;
  }

  // The score scale of each of this thread's rows: Q's (folded) scale for INT8 Q·K^T.
  __device__ __forceinline__ void load_q_scales(int64_t bh) { q_scales_of(bh, row0, q_scale); }
  // The scales of the rows from first_row of head bh (another tile's: read before they are needed).
  // kRowsBeforeZero: first_row may be negative (CtaWork's kCausalLead), whose rows read none.
  template <bool kRowsBeforeZero = false>
  __device__ __forceinline__ void q_scales_of(int64_t bh, int64_t first_row, float (&scale)[2]) const {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if constexpr (S::kInt8QK) {
        const int64_t row = first_row + g + 8 * r;
        const uint32_t group = p.group_tokens == 1 ? static_cast<uint32_t>(row)
                                                   : static_cast<uint32_t>(row) / static_cast<uint32_t>(p.group_tokens);
        const bool stored =
            kRowsBeforeZero ? static_cast<uint64_t>(row) < static_cast<uint64_t>(p.seq_q) : row < p.seq_q;
        const float s = stored ? p.q_scale[bh * p.n_q_groups + group] : 0.f;
        scale[r] = usable_q_scale(s);
      } else {
        scale[r] = p.fp16_score_scale;
      }
    }
  }
  // The rows from first_row, with an empty softmax state (a persistent kernel's next tile);
  // O is left to the caller, which stores it first.
  __device__ __forceinline__ void restart(int64_t first_row, const float (&scale)[2]) {
    row0 = first_row;
    rows[0] = row0 + g;
    rows[1] = row0 + g + 8;
    set_mask_from();
    m[0] = m[1] = ref[0] = ref[1] = -INFINITY;
    l[0] = l[1] = 0.f;
    q_scale[0] = scale[0];
    q_scale[1] = scale[1];
  }

  // x = Q·K^T of the block in `slot`, scaled by the K scales (INT8); not yet masked.
  __device__ __forceinline__ void scores(uint32_t slot, const char* slot_ptr, float (&x)[S::kNTilesS][4]) {
    const uint32_t magic[4] = {kMagicBits, kMagicBits, kMagicBits, kMagicBits};
    uint32_t acc[S::kNTilesS][4];
    float facc[S::kNTilesS][4];
    // acc[n] += Q(k steps 2kc, 2kc+1) · K(n-tile n)^T
    auto qk_step = [&](int n, int kc, const uint32_t (&qa)[4], const uint32_t (&qb)[4]) {
      uint32_t b[4];
      ldmatrix_x4(b, slot + swizzle<S::kQRowBytes>(n * 8 + (lane & 7), 4 * kc + (lane >> 3)));
      if constexpr (S::kInt8QK) {
        if (kc == 0) mma_i8<false>(acc[n], qa, b[0], b[1], magic);
        else mma_i8<false>(acc[n], qa, b[0], b[1], acc[n]);
        mma_i8<false>(acc[n], qb, b[2], b[3], acc[n]);
      } else {
        mma_f16(facc[n], qa, b[0], b[1]);
        mma_f16(facc[n], qb, b[2], b[3]);
      }
    };
    if constexpr (!S::kInt8QK)
#pragma unroll
      for (int n = 0; n < S::kNTilesS; ++n) facc[n][0] = facc[n][1] = facc[n][2] = facc[n][3] = 0.f;
    if constexpr (kSch.q_from_smem) {
#pragma unroll
      for (int kc = 0; kc < S::kKSteps / 2; ++kc) {
        uint32_t qa[4], qb[4];
        ldmatrix_x4(qa, q_smem + swizzle<S::kQRowBytes>(q_row, 4 * kc + (lane >> 4)));
        ldmatrix_x4(qb, q_smem + swizzle<S::kQRowBytes>(q_row, 4 * kc + 2 + (lane >> 4)));
#pragma unroll
        for (int n = 0; n < S::kNTilesS; ++n) qk_step(n, kc, qa, qb);
      }
    } else {
#pragma unroll
      for (int n = 0; n < S::kNTilesS; ++n)
#pragma unroll
        for (int kc = 0; kc < S::kKSteps / 2; ++kc) qk_step(n, kc, q_frag[2 * kc], q_frag[2 * kc + 1]);
    }
    if constexpr (S::kInt8QK) {
      scale_scores(&acc[0][0], reinterpret_cast<const float*>(slot_ptr + S::kKBytes + S::kVBytes), x);
    } else {
#pragma unroll
      for (int n = 0; n < S::kNTilesS; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) x[n][e] = facc[n][e];
    }
  }

  // x = float(acc) * k_scale of each key; acc: the INT32 scores in the accumulator layout
  // (n-tile n, element e at acc[4n + e]), started at kMagicBits (kRaw false) or at 0 (kRaw:
  // converted with cvt.rn.f32.s32, an ALU-pipe I2FP on Hopper; exact below 2^24 either way).
  template <bool kRaw = false>
  __device__ __forceinline__ void scale_scores(const uint32_t* acc, const float* k_scale_tile,
                                               float (&x)[S::kNTilesS][4]) const {
    float2 ks[S::kNTilesS];
    load_k_scales(k_scale_tile, ks);
    scale_scores<kRaw>(acc, ks, x);
  }
  // This thread's K scales of the block: keys n*8 + 2t and n*8 + 2t + 1 of n-tile n.
  // (Those of n-tiles [kFirst, kEnd) only: the rest read earlier or later.)
  template <int kFirst = 0, int kEnd = S::kNTilesS>
  __device__ __forceinline__ void load_k_scales(const float* k_scale_tile, float2 (&ks)[S::kNTilesS]) const {
#pragma unroll
    for (int n = kFirst; n < kEnd; ++n) ks[n] = *reinterpret_cast<const float2*>(k_scale_tile + n * 8 + 2 * t);
  }
  template <bool kRaw = false>
  __device__ __forceinline__ void scale_scores(const uint32_t* acc, const float2 (&ks)[S::kNTilesS],
                                               float (&x)[S::kNTilesS][4]) const {
#pragma unroll
    for (int n = 0; n < S::kNTilesS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) x[n][e] = int_score(acc[4 * n + e], kRaw) * (e & 1 ? ks[n].y : ks[n].x);
  }
  // scale_scores<true>() less this thread's first score of each row (x_offset[r], which then
  // reads 0), each in one rounding (FFMA): a row's thread-local scores are then >= +0 at one key at
  // least, so their max is block_max_offset()'s integer max of their bits.
  __device__ __forceinline__ void scale_scores_offset(const uint32_t* acc, const float2 (&ks)[S::kNTilesS],
                                                      float (&x)[S::kNTilesS][4], float (&x_offset)[2]) const {
#pragma unroll
    for (int r = 0; r < 2; ++r) x_offset[r] = int_score(acc[2 * r], true) * ks[0].x;
#pragma unroll
    for (int n = 0; n < S::kNTilesS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        x[n][e] = n == 0 && (e & 1) == 0
                      ? 0.f
                      : fmaf(int_score(acc[4 * n + e], true), e & 1 ? ks[n].y : ks[n].x, -x_offset[e >> 1]);
  }
  static __device__ __forceinline__ float int_score(uint32_t acc, bool raw) {
    return raw ? static_cast<float>(static_cast<int32_t>(acc)) : __int_as_float(static_cast<int32_t>(acc)) - kMagic;
  }
  // x = float(acc), the INT32 scores unscaled (per-thread K groups: the thread's one K scale
  // goes into the row max and the exponent's factor instead: block_max_group_scaled).
  static __device__ __forceinline__ void raw_scores(const uint32_t* acc, float (&x)[S::kNTilesS][4]) {
#pragma unroll
    for (int n = 0; n < S::kNTilesS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) x[n][e] = int_score(acc[4 * n + e], true);
  }

  // Masks the keys of block blk that do not exist or that the row may not see (-inf).
  // kBranchFree: every block goes through the compares, with no branch around them (where the
  // branch made the compiler spill: sm90/int8_fa_ws.cuh).
  // kIntBound: whether the block needs the compares comes from mask_from.
  template <bool kBranchFree = false, bool kIntBound = false>
  __device__ __forceinline__ void mask(int blk, float (&x)[S::kNTilesS][4]) const {
    const int64_t j0 = static_cast<int64_t>(blk) * S::kKeys;
    const bool masked = kIntBound ? blk >= mask_from
                                  : j0 + S::kKeys > p.seq_kv || (p.causal && j0 + S::kKeys - 1 > row0 + offset);
    if (kBranchFree || masked) {  // tails, diagonal
      // Row r sees the block's keys [0, seen[r]) (they exist, and causal: at most its own
      // position), counted from this thread's first column 2t: one compare per element
      // against a constant (fewer live registers than the bounds themselves).
      const int64_t kv_left = min64(p.seq_kv - j0, S::kKeys);
      int seen[2];
#pragma unroll
      for (int r = 0; r < 2; ++r)
        seen[r] = static_cast<int>(
                      p.causal ? max64(0, min64(rows[r] + offset - j0 + 1, kv_left)) : kv_left) - 2 * t;
      mask_unseen(seen, x);
    }
  }

  // int8-fa follows numerics.h's block-relative P: codes c = rint(levels * exp2(s - bm)) with
  // bm the block's own max, and the block's INT32 P·V enters O with weight exp2(bm - m).
  // O and l are kept relative to ref = max(bm, m - kRefWindow) (usually bm itself, so the
  // weight is exactly 1 and costs nothing): rescaling by exp2(ref_old - ref_new) equals the
  // contract's alpha/weight product up to FP32 rounding, and the clamp bounds how far O can
  // grow between blocks (2^kRefWindow) whatever the scores. int8-qk and fp16-fa use the
  // standard form (P relative to the running max m).
  __device__ __forceinline__ void softmax_pv(uint32_t slot, const float (&x)[S::kNTilesS][4]) {
    float alpha[2], beta[2];
    bool unit_beta;
    PTerms tp;
    softmax<!kCodeRowSum>(x, tp, alpha, beta, unit_beta);
    pv(slot, tp, alpha, beta, unit_beta);
  }

  // The online-softmax step of one block: updates m, ref and l; tp = levels * p (held as
  // the bits of tp + kMagic when P is quantized); O must then become O * alpha + beta * P·V.
  // unit_beta: beta is 1 for both of this thread's rows.
  template <bool kRowSum = true>
  __device__ __forceinline__ void softmax(const float (&x)[S::kNTilesS][4], PTerms& tp,
                                          float (&alpha)[2], float (&beta)[2], bool& unit_beta) {
    float bmax[2];
    block_max(x, bmax);
    softmax<kRowSum>(x, bmax, tp, alpha, beta, unit_beta);
  }

  // The block's max score of each of this thread's rows (log2 domain; -inf: no visible key).
  __device__ __forceinline__ void block_max(const float (&x)[S::kNTilesS][4], float (&bmax)[2]) const {
    block_max_of<false>(x, 1.f, bmax);
  }
  // block_max() of x = the raw INT32 scores (raw_scores), the thread's keys in G groups of its
  // n-tiles (G = 1: per-thread K, attn_types.h k_thread_group; G = 4: its n-tile quarters,
  // grouped K, common/k_groups.h), k_group[g] > 0 the scale of group g: applied to each group's
  // max before their max and the quad's shuffles, whose four threads hold the row's other keys.
  // A masked key's -inf stays -inf: each scale is at least FLT_MIN.
  template <int G>
  __device__ __forceinline__ void block_max_group_scaled(const float (&x)[S::kNTilesS][4], const float (&k_group)[G],
                                                         float (&bmax)[2]) const {
    if constexpr (G == 1) {
      block_max_of<true>(x, k_group[0], bmax);
    } else {
      constexpr int kGroupTiles = S::kNTilesS / G;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float xmax = -INFINITY;
#pragma unroll
        for (int g = 0; g < G; ++g) {
          float group_max = -INFINITY;
#pragma unroll
          for (int n = g * kGroupTiles; n < (g + 1) * kGroupTiles; ++n)
            group_max = fmaxf(group_max, fmaxf(x[n][2 * r], x[n][2 * r + 1]));
          xmax = fmaxf(xmax, group_max * k_group[g]);
        }
        finish_block_max(xmax, r, bmax);
      }
    }
  }
  // block_max_group_scaled() of a block whose keys every row sees (no mask), from the INT32
  // scores themselves: each group's max of a row by three-input integer max (VIMNMX3 on sm_90,
  // 16 a row instead of 31 FMNMX at G = 1). The same bmax bit for bit: converting to float is
  // exact and monotonic below 2^24, which a score (at most 127 * 127 * head_dim) stays under.
  template <int G>
  __device__ __forceinline__ void block_max_raw_group_scaled(const uint32_t* acc, const float (&k_group)[G],
                                                             float (&bmax)[2]) const {
    constexpr int kGroupTiles = S::kNTilesS / G;
    static_assert(kGroupTiles * G == S::kNTilesS, "whole n-tiles a group");
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float xmax = static_cast<float>(row_max3_chain(acc, r, 0, kGroupTiles)) * k_group[0];
#pragma unroll
      for (int g = 1; g < G; ++g)
        xmax = fmaxf(xmax, static_cast<float>(row_max3_chain(acc, r, g * kGroupTiles, (g + 1) * kGroupTiles)) * k_group[g]);
      finish_block_max(xmax, r, bmax);
    }
  }
  // block_max() of scale_scores_offset()'s x, a block whose keys every row sees: the thread's
  // max of a row by three-input integer max of the scores' bits (VIMNMX3; 16 a row instead of 31
  // FMNMX). Signed-integer order is float order among floats >= +0, and a negative float's bits
  // are a negative integer, so with one score at +0 the integer max is the float max.
  __device__ __forceinline__ void block_max_offset(const float (&x)[S::kNTilesS][4], const float (&x_offset)[2],
                                                   float (&bmax)[2]) const {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int32_t bits = row_max3_chain(x, r);
      finish_block_max(__int_as_float(bits) + x_offset[r], r, bmax);
    }
  }
  template <bool kThreadScaled>
  __device__ __forceinline__ void block_max_of(const float (&x)[S::kNTilesS][4], float k_thread,
                                               float (&bmax)[2]) const {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float row_x[2 * S::kNTilesS];
#pragma unroll
      for (int n = 0; n < S::kNTilesS; ++n) row_x[2 * n] = x[n][2 * r], row_x[2 * n + 1] = x[n][2 * r + 1];
      float xmax = reduce_row<kSch.tree_reduce>(row_x, [](float a, float b) { return fmaxf(a, b); });
      if constexpr (kThreadScaled) xmax *= k_thread;
      finish_block_max(xmax, r, bmax);
    }
  }
  // The row's max over the quad's four threads (each holds a quarter of its keys), to the log2 domain.
  __device__ __forceinline__ void finish_block_max(float xmax, int r, float (&bmax)[2]) const {
    xmax = fmaxf(xmax, __shfl_xor_sync(0xffffffffu, xmax, 1));
    xmax = fmaxf(xmax, __shfl_xor_sync(0xffffffffu, xmax, 2));
    bmax[r] = xmax * q_scale[r];  // q_scale > 0: the max commutes with it
  }
  // The max of row r's values in the S accumulator's layout (element i = 4n + e, row e / 2: i =
  // 4n + 2r and 4n + 2r + 1), as INT32 from at(i), by a chain of three-input maxima, a pair a link
  // (of the n-tiles [first, end): constants once the callers' loops are unrolled).
  static __device__ __forceinline__ int32_t row_max3_chain(const uint32_t* acc, int r, int first = 0,
                                                           int end = S::kNTilesS) {
    int32_t best = max(static_cast<int32_t>(acc[4 * first + 2 * r]), static_cast<int32_t>(acc[4 * first + 2 * r + 1]));
#pragma unroll
    for (int n = first + 1; n < end; ++n)
      best = __vimax3_s32(best, static_cast<int32_t>(acc[4 * n + 2 * r]), static_cast<int32_t>(acc[4 * n + 2 * r + 1]));
    return best;
  }
  static __device__ __forceinline__ int32_t row_max3_chain(const float (&x)[S::kNTilesS][4], int r) {
    int32_t best = max(__float_as_int(x[0][2 * r]), __float_as_int(x[0][2 * r + 1]));
#pragma unroll
    for (int n = 1; n < S::kNTilesS; ++n)
      best = __vimax3_s32(best, __float_as_int(x[n][2 * r]), __float_as_int(x[n][2 * r + 1]));
    return best;
  }

  // softmax() with the block max already known (block_max()). kRowSum false: l is left alone,
  // for add_code_sums once the codes are packed (kCodeRowSum). kLazyRef (FP16 P; fp16-fa's
  // Hopper kernel at head_dim 128): m is P's reference rather than the running max, raised only
  // when a block's max passes it by more than kLazyRefLog2, so that alpha is exactly 1 on most
  // steps and O's rescale can be skipped (FlashAttention-4's trick); P (up to 2^kLazyRefLog2)
  // keeps FP16's relative precision, so only P's FP16 rounding changes: a row's largest P is
  // no longer exactly 1 (rel L2 0.00028 -> 0.00029 for fp16-fa, docs/accuracy.md).
  template <bool kRowSum = true, bool kLazyRef = false>
  __device__ __forceinline__ void softmax(const float (&x)[S::kNTilesS][4], const float (&bmax)[2],
                                          PTerms& tp, float (&alpha)[2], float (&beta)[2],
                                          bool& unit_beta) {
    float shift[2];
    unit_beta = true;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float block_max = bmax[r];
      const float m_new = fmaxf(m[r], block_max);
      alpha[r] = 1.f;  // defaults: no visible key in this block for this row, nothing changes
      beta[r] = 0.f;
      shift[r] = 0.f;  // t = exp2(-inf) = 0 for every masked key
      if constexpr (S::kInt8PV) {
        if (block_max != -INFINITY) {
          const float ref_new = fmaxf(block_max, m_new - kRefWindow);
          alpha[r] = fast_exp2(ref[r] - ref_new);  // ref = -inf before the first block: 0
          beta[r] = ref_new == block_max ? 1.f : fast_exp2(block_max - ref_new);
          shift[r] = block_max - log2_levels;  // t = levels * exp2(s - bm) in one ex2
          ref[r] = ref_new;
        }
        unit_beta = unit_beta && beta[r] == 1.f;
      } else if constexpr (kLazyRef) {
        // The reference stays unless the block passes it by more than kLazyRefLog2 (-inf
        // before the first visible key: any visible block passes it). Selects, no branch.
        const float ref_new = block_max > m[r] + kLazyRefLog2 ? m_new : m[r];
        const bool visible = ref_new != -INFINITY;
        const float moved = fast_exp2(m[r] - ref_new);
        alpha[r] = visible && ref_new != m[r] ? moved : 1.f;
        beta[r] = visible ? 1.f : 0.f;
        shift[r] = visible ? ref_new : 0.f;
        m[r] = ref_new;
        continue;
      } else if (m_new != -INFINITY) {
        alpha[r] = fast_exp2(m[r] - m_new);
        beta[r] = 1.f;
        shift[r] = m_new;
      }
      m[r] = m_new;
    }
    float l_block[2];
    exponentials<kRowSum>(x, shift, tp, l_block);
    if constexpr (kRowSum) {
#pragma unroll
      for (int r = 0; r < 2; ++r) l[r] = fmaf(l[r], alpha[r], beta[r] * l_block[r]);
    }
  }

  // int8-fa's step for a kernel that keeps O divided by the weight of the last block with a
  // visible key (the deferred merge of kernels/sm90): the bookkeeping of softmax() in the log2
  // domain. log2_o_scale: log2 of that weight, exp2(bm - ref) with ref as in softmax() and
  // raised to 2^-64 (a contribution below FP32 resolution either way; it bounds O's growth);
  // merge_scale: the factor that brings O (and l, kept divided the same way) from the last
  // block's weight to this one's: O = O * merge_scale + P·V. One ex2 a row instead of
  // softmax()'s alpha, beta and a division; l is the same up to FP32 rounding.
  // kRowSum false: l is left alone, for add_code_sums once the codes are packed.
  // exp_scale: x's factor in the exponent, q_scale (or times the thread's K scale, per-thread K
  // groups: block_max_group_scaled).
  template <bool kRowSum = true, bool kHalfPairSum = false, class ExpScale>
  __device__ __forceinline__ void softmax_rescaled(const float (&x)[S::kNTilesS][4], const float (&bmax)[2],
                                                   PTerms& tp, float (&log2_o_scale)[2],
                                                   float (&merge_scale)[2], const ExpScale& exp_scale) {
    static_assert(S::kInt8PV, "block-relative P only");
    float shift[2], log2_merge[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float block_max = bmax[r];
      const float m_new = fmaxf(m[r], block_max);
      const bool visible = block_max != -INFINITY;
      const float ref_new = visible ? fmaxf(block_max, m_new - kRefWindow) : ref[r];
      const float log2_weight = visible ? fmaxf(block_max - ref_new, -64.f) : log2_o_scale[r];
      // ref = -inf before the first visible block: exp2(-inf) = 0 (O and l hold nothing yet)
      log2_merge[r] = visible ? (log2_o_scale[r] - log2_weight) + (ref[r] - ref_new) : 0.f;
      shift[r] = visible ? block_max - log2_levels : 0.f;  // masked keys: exp2(-inf) = 0
      ref[r] = ref_new;
      log2_o_scale[r] = log2_weight;
      m[r] = m_new;
    }
    rescaled_exponentials<kRowSum, kHalfPairSum>(x, shift, log2_merge, tp, merge_scale, exp_scale);
  }

  // The common end of softmax_rescaled() and softmax_folded(): tp from the shifts, merge_scale
  // from its log2, and (kRowSum) l rescaled with the block's sum added.
  template <bool kRowSum, bool kHalfPairSum = false, class ExpScale>
  __device__ __forceinline__ void rescaled_exponentials(const float (&x)[S::kNTilesS][4], const float (&shift)[2],
                                                        const float (&log2_merge)[2], PTerms& tp,
                                                        float (&merge_scale)[2], const ExpScale& exp_scale) {
    float l_block[2];
    exponentials<kRowSum, kHalfPairSum>(x, shift, tp, l_block, exp_scale);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      merge_scale[r] = fast_exp2(log2_merge[r]);
      if constexpr (kRowSum) l[r] = fmaf(l[r], merge_scale[r], l_block[r]);
    }
  }

  // softmax_rescaled() with its state folded: ref[r] holds u = ref + log2 of O's scale, the only
  // sum of the two that the merge needs (log2 merge_scale = u_old - u_new), so no log2_o_scale is
  // kept. With ref_new = max(bm, m_new - kRefWindow), a visible block's u = ref_new + max(bm -
  // ref_new, -64) = max(bm, m_new - kRefWindow - 64); a block with no visible key leaves u (-inf
  // before the first one: merge_scale 0). The same merge up to FP32 rounding (rel L2 unchanged).
  // int8-fa's serial consumer at head_dim 128: 834 SASS a step against 857, 52 spilled bytes
  // against 84, +0.5-1.3% (kernel_bench); at 64 it measured 2-3% slower (docs/perf-log.md s21).
  // kHalfPairSum: l's block terms summed as FP16 pairs (exponentials).
  template <bool kRowSum = true, bool kHalfPairSum = false, class ExpScale>
  __device__ __forceinline__ void softmax_folded(const float (&x)[S::kNTilesS][4], const float (&bmax)[2],
                                                 PTerms& tp, float (&merge_scale)[2], const ExpScale& exp_scale) {
    static_assert(S::kInt8PV, "block-relative P only");
    float shift[2], log2_merge[2];
    fold_state(bmax, shift, log2_merge);
    rescaled_exponentials<kRowSum, kHalfPairSum>(x, shift, log2_merge, tp, merge_scale, exp_scale);
  }
  __device__ __forceinline__ void fold_state(const float (&bmax)[2], float (&shift)[2], float (&log2_merge)[2]) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float block_max = bmax[r];
      const float m_new = fmaxf(m[r], block_max);
      const bool visible = block_max != -INFINITY;
      const float u_new = fmaxf(block_max, m_new - (kRefWindow + 64.f));
      log2_merge[r] = visible ? ref[r] - u_new : 0.f;
      shift[r] = visible ? block_max - log2_levels : 0.f;  // masked keys: exp2(-inf) = 0
      ref[r] = visible ? u_new : ref[r];
      m[r] = m_new;
    }
  }
  // The same for x = the scores less x_offset (scale_scores_offset), a block whose keys every row sees.
  template <bool kRowSum = true>
  __device__ __forceinline__ void softmax_folded(const float (&x)[S::kNTilesS][4], const float (&bmax)[2],
                                                 PTerms& tp, float (&merge_scale)[2], const float (&exp_scale)[2],
                                                 const float (&x_offset)[2]) {
    static_assert(S::kInt8PV, "block-relative P only");
    float shift[2], log2_merge[2];
    fold_state(bmax, shift, log2_merge);
#pragma unroll
    for (int r = 0; r < 2; ++r) shift[r] = fmaf(-x_offset[r], exp_scale[r], shift[r]);
    rescaled_exponentials<kRowSum>(x, shift, log2_merge, tp, merge_scale, exp_scale);
  }

  // int8-fa with l from the quantized P: its row sum comes from the packed codes (add_code_sums)
  // instead of a float sum of the codes' values in exponentials.
  static constexpr bool kCodeRowSum = S::kInt8PV && kLFromQ;

  // l from the quantized P (kCodeRowSum) of a block whose codes are packed (pack_p_codes): l =
  // l * scale + weight * the sum of this thread's codes of each row, four codes per IDP.4A. The
  // codes are integers and their sum (<= 64 * 255) is exact in FP32, so this is the same l as
  // softmax's and softmax_rescaled's float sum of p_code_value, bit for bit (the emulation's).
  __device__ __forceinline__ void add_code_sums(const uint32_t (&pa)[S::kKeys / 32][4], const float (&scale)[2],
                                                const float (&weight)[2] = {1.f, 1.f}) {
    static_assert(kCodeRowSum, "the sum of the quantized P");
#pragma unroll
    for (int r = 0; r < 2; ++r) {  // pa[kk][r], pa[kk][2 + r]: row g + 8r (pack_p_codes)
      unsigned sum = 0;
#pragma unroll
      for (int kk = 0; kk < S::kKeys / 32; ++kk) {
        sum = __dp4a(pa[kk][r], 0x01010101u, sum);
        sum = __dp4a(pa[kk][2 + r], 0x01010101u, sum);
      }
      l[r] = fmaf(l[r], scale[r], weight[r] * static_cast<float>(sum));
    }
  }

  // tp = levels * exp2(x * q_scale - shift) per key (as P code carriers for INT8 P·V), and the
  // block's sum of each row's terms of l.
  // kRowSum false: no l_block (add_code_sums adds the block to l instead).
  template <bool kRowSum = true>
  __device__ __forceinline__ void exponentials(const float (&x)[S::kNTilesS][4], const float (&shift)[2],
                                               PTerms& tp, float (&l_block)[2]) const {
    exponentials<kRowSum>(x, shift, tp, l_block, q_scale);
  }
  // x's factor in the exponent for n-tile n of row r: exp_scale[r], or with the thread's keys in
  // G groups of its n-tiles (grouped K) exp_scale[n's group][r].
  static __device__ __forceinline__ float exp_factor(const float (&exp_scale)[2], int, int r) { return exp_scale[r]; }
  template <int G>
  static __device__ __forceinline__ float exp_factor(const float (&exp_scale)[G][2], int n, int r) {
    return exp_scale[n / (S::kNTilesS / G)][r];
  }
  // The same with exp_scale for q_scale (softmax_rescaled, softmax_folded; exp_factor).
  // kHalfPairSum (codes through FP16; int8-fa's per-thread-K kernel): l's terms are the FP16
  // pairs the codes are made from, added by HADD2 in four chains a row (n-tiles n = c, c + 4,
  // c + 8, c + 12), the chains as a tree, the pair's two halves once in FP32: 22-25 fewer SASS a
  // step than 62 FADD. numerics.h l_terms_as_half_pairs is the contract and half_pair_block_sum
  // the emulation's same sum.
  template <bool kRowSum = true, bool kHalfPairSum = false, class ExpScale>
  __device__ __forceinline__ void exponentials(const float (&x)[S::kNTilesS][4], const float (&shift)[2],
                                               PTerms& tp, float (&l_block)[2], const ExpScale& exp_scale) const {
    static_assert(!(S::kPCodesFp16 && kLFromQ && kRowSum), "l from the quantized P: add_code_sums, not these terms");
    static_assert(!kHalfPairSum || (S::kPCodesFp16 && kRowSum && S::kNTilesS % kHalfPairChains == 0),
                  "the FP16 row sum adds the codes' FP16 pairs");
    float l_terms[2][2 * S::kNTilesS];  // per row, the block's terms of l
    __half2 chains[2][kHalfPairChains];  // kHalfPairSum: per row
#pragma unroll
    for (int n = 0; n < S::kNTilesS; ++n) {
      float tv[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        tv[e] = fast_exp2(fmaf(x[n][e], exp_factor(exp_scale, n, r), -shift[r]));
        float& term = l_terms[r][2 * n + (e & 1)];
        if constexpr (S::kPCodesFp16) {
          term = tv[e];  // (kLFromQ: add_code_sums sums the codes instead)
        } else if constexpr (S::kInt8PV) {
          tp[n][e] = p_code_carrier(tv[e]);  // rint(tv) in the low byte (numerics.h)
          term = kLFromQ ? p_code_value(tp[n][e]) : tv[e];
        } else {
          tp[n][e] = tv[e];
          term = kLFromQ ? __half2float(__float2half_rn(tv[e])) : tv[e];
        }
      }
      if constexpr (S::kPCodesFp16) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const __half2 t = __floats2half2_rn(tv[2 * r], tv[2 * r + 1]);
          tp[n][r] = p_code_pair_of_half2(t);
          if constexpr (kHalfPairSum) {
            __half2& chain = chains[r][n % kHalfPairChains];
            chain = n < kHalfPairChains ? t : __hadd2(chain, t);
          }
        }
      }
    }
    if constexpr (kHalfPairSum) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
#pragma unroll
        for (int w = kHalfPairChains / 2; w > 0; w /= 2)  // the chains as a tree: c + w into c
#pragma unroll
          for (int c = 0; c < w; ++c) chains[r][c] = __hadd2(chains[r][c], chains[r][c + w]);
        const float2 pair = __half22float2(chains[r][0]);
        l_block[r] = pair.x + pair.y;
      }
    } else if constexpr (kRowSum) {
#pragma unroll
      for (int r = 0; r < 2; ++r)
        l_block[r] = reduce_row<kSch.tree_reduce>(l_terms[r], [](float a, float b) { return a + b; });
    }
  }

  // A fragments of the u8/s8 P codes (the low bytes of tp's carriers): the S accumulator layout
  // of 32 keys becomes one k32 A fragment because v8 permutes its keys (v8_key_of_position).
  static __device__ __forceinline__ void pack_p_codes(const PTerms& tp,
                                                      uint32_t (&pa)[S::kKeys / 32][4]) {
#pragma unroll
    for (int kk = 0; kk < S::kKeys / 32; ++kk)
#pragma unroll
      for (int h = 0; h < 2; ++h) {  // h = 0: row g, h = 1: row g + 8
        if constexpr (S::kPCodesFp16) {  // bytes 0 and 2 of two pairs' carriers
          pa[kk][h] = __byte_perm(tp[4 * kk + 0][h], tp[4 * kk + 1][h], 0x6420);
          pa[kk][2 + h] = __byte_perm(tp[4 * kk + 2][h], tp[4 * kk + 3][h], 0x6420);
        } else {
          const float* a = tp[4 * kk + 0];
          const float* b = tp[4 * kk + 1];
          const float* c = tp[4 * kk + 2];
          const float* d = tp[4 * kk + 3];
          pa[kk][h] = pack_low_bytes(__float_as_uint(a[2 * h]), __float_as_uint(a[2 * h + 1]),
                                     __float_as_uint(b[2 * h]), __float_as_uint(b[2 * h + 1]));
          pa[kk][2 + h] = pack_low_bytes(__float_as_uint(c[2 * h]), __float_as_uint(c[2 * h + 1]),
                                         __float_as_uint(d[2 * h]), __float_as_uint(d[2 * h + 1]));
        }
      }
  }

  // A fragments (m16 x k16, FP16) of P for int8-qk and fp16-fa: two 8-key n-tiles of the S
  // accumulator layout are one k16 fragment as they are.
  static __device__ __forceinline__ void pack_p_half(const float (&tp)[S::kNTilesS][4],
                                                     uint32_t (&pa)[S::kKeys / 16][4]) {
#pragma unroll
    for (int kk = 0; kk < S::kKeys / 16; ++kk) {
      pa[kk][0] = pack_half2(tp[2 * kk][0], tp[2 * kk][1]);
      pa[kk][1] = pack_half2(tp[2 * kk][2], tp[2 * kk][3]);
      pa[kk][2] = pack_half2(tp[2 * kk + 1][0], tp[2 * kk + 1][1]);
      pa[kk][3] = pack_half2(tp[2 * kk + 1][2], tp[2 * kk + 1][3]);
    }
  }

  // O[n] = O[n] * alpha + beta * float(acc), acc the block's INT32 P·V started at kMagicBits
  // or at 0 (kRaw; see scale_scores). kWeighted false: beta is 1 for both rows.
  template <bool kWeighted, bool kRaw = false>
  __device__ __forceinline__ void add_block_pv(int n, const uint32_t* acc, const float (&alpha)[2],
                                               const float (&beta)[2]) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float pv = int_score(acc[e], kRaw);
      o[n][e] = fmaf(o[n][e], alpha[e >> 1], kWeighted ? pv * beta[e >> 1] : pv);
    }
  }

  // add_block_pv over every output n-tile of a warpgroup product (wgmma kernels: kRaw INT32
  // accumulators, n-tile n at acc[4n..4n+3]); the unweighted form when beta is 1 for the warp.
  __device__ __forceinline__ void add_pv_tiles(const uint32_t* acc, const float (&alpha)[2], const float (&beta)[2],
                                               bool unit_beta) {
    if (__all_sync(0xffffffffu, unit_beta)) {
#pragma unroll
      for (int n = 0; n < S::kNTilesO; ++n) add_block_pv<false, true>(n, &acc[4 * n], alpha, beta);
    } else {
#pragma unroll
      for (int n = 0; n < S::kNTilesO; ++n) add_block_pv<true, true>(n, &acc[4 * n], alpha, beta);
    }
  }

  // O = O * alpha + beta * P·V with P from tp (softmax()) and V from the block's smem slot.
  __device__ __forceinline__ void pv(uint32_t slot, const PTerms& tp, const float (&alpha)[2],
                                     const float (&beta)[2], bool unit_beta) {
    static_assert(S::kKeys == kBlockN, "the mma.sync kernels' block");
    const uint32_t v_tile = slot + S::kKBytes;
    if constexpr (S::kInt8PV) {
      const uint32_t magic[4] = {kMagicBits, kMagicBits, kMagicBits, kMagicBits};
      uint32_t pa[kBlockN / 32][4];
      pack_p_codes(tp, pa);
      if constexpr (kCodeRowSum) add_code_sums(pa, alpha, beta);
      // acc = the block's INT32 P·V of output n-tile n, started at kMagicBits.
      auto block_pv = [&](int n, uint32_t (&acc)[4]) {
        uint32_t b[4];
        ldmatrix_x4(b, v_tile + swizzle<kBlockN>(n * 8 + (lane & 7), lane >> 3));
        mma_i8<kPU8>(acc, pa[0], b[0], b[1], magic);
        mma_i8<kPU8>(acc, pa[1], b[2], b[3], acc);
      };
      // beta is 1 for every row of the warp almost always.
      auto accumulate = [&](auto weighted) {
#pragma unroll
        for (int n = 0; n < S::kNTilesO; ++n) {
          uint32_t acc[4];
          block_pv(n, acc);
          add_block_pv<decltype(weighted)::value>(n, acc, alpha, beta);
        }
      };
      if constexpr (kSch.fused_weight) {
        // beta * (bits - kMagic) in one FFMA: exact when beta == 1; otherwise off by at most
        // half an INT32 unit (the rounding of kMagic * beta), far below P's code step.
        float neg_magic_beta[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) neg_magic_beta[r] = -kMagic * beta[r];
#pragma unroll
        for (int n = 0; n < S::kNTilesO; ++n) {
          uint32_t acc[4];
          block_pv(n, acc);
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const float pv = fmaf(__int_as_float(static_cast<int32_t>(acc[e])), beta[e >> 1], neg_magic_beta[e >> 1]);
            o[n][e] = fmaf(o[n][e], alpha[e >> 1], pv);
          }
        }
      } else if (__all_sync(0xffffffffu, unit_beta)) {
        accumulate(std::false_type{});
      } else {
        accumulate(std::true_type{});
      }
    } else {
      uint32_t pa[kBlockN / 16][4];
      pack_p_half(tp, pa);
#pragma unroll
      for (int n = 0; n < S::kNTilesO; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[n][e] *= alpha[e >> 1];
#pragma unroll
      for (int np = 0; np < S::kNTilesO / 2; ++np)
#pragma unroll
        for (int kk = 0; kk < kBlockN / 16; ++kk) {
          uint32_t b[4];
          ldmatrix_x4_trans(b, v_tile + swizzle<kD * 2>(kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8,
                                                        2 * np + (lane >> 4)));
          mma_f16(o[2 * np], pa[kk], b[0], b[1]);
          mma_f16(o[2 * np + 1], pa[kk], b[2], b[3]);
        }
    }
  }

  // out = O / l (* v_scale, per channel; V per block: in the merges); rows with no visible key get 0.
  __device__ __forceinline__ void store(int64_t bh, int64_t kv_index) { store(finish(), bh, kv_index); }

  // A finished tile's rows and 1 / l, kept while the next tile's softmax starts (restart()).
  struct Finished {
    int64_t rows[2];
    float inv_l[2];
  };
  __device__ __forceinline__ Finished finish() const { return finish(l, row0); }
  // The same for a tile whose l and first row were saved before restart().
  __device__ __forceinline__ Finished finish(const float (&l_final)[2], int64_t first_row) const {
    Finished f{{first_row + g, first_row + g + 8}, {0.f, 0.f}};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = l_final[r] + __shfl_xor_sync(0xffffffffu, l_final[r], 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      f.inv_l[r] = sum > 0.f ? 1.f / sum : 0.f;
    }
    return f;
  }
  // int8-fa with V per channel multiplies the output by V's scales (V per block: in the merges).
  static constexpr bool kOutVScales = S::kInt8PV && !S::kVPerBlock;
  // Those scales of this thread's channels, n-tile n's in vs[n] (unused elsewhere).
  __device__ __forceinline__ void load_out_v_scales(int64_t kv_index, float2 (&vs)[S::kNTilesO]) const {
    if constexpr (kOutVScales) {
#pragma unroll
      for (int n = 0; n < S::kNTilesO; ++n)
        vs[n] = *reinterpret_cast<const float2*>(p.v_scale + kv_index * kD + n * 8 + 2 * t);
    }
  }
  // O times those scales in place, for a kernel that does not hold them until its store (at
  // head_dim 256, 64 registers a thread); it then stores with unit scales.
  __device__ __forceinline__ void scale_o_by_v_scales(int64_t kv_index) {
    static_assert(kOutVScales, "V per channel");
#pragma unroll
    for (int n = 0; n < S::kNTilesO; ++n) {
      const float2 vs = *reinterpret_cast<const float2*>(p.v_scale + kv_index * kD + n * 8 + 2 * t);
#pragma unroll
      for (int e = 0; e < 4; ++e) o[n][e] *= e % 2 == 0 ? vs.x : vs.y;
    }
  }
  // The stored values of row r's channels n * 8 + 2t and + 1: O / l, times vs[n] where
  // kOutVScales (every store of O, the warp-specialized kernels' through shared memory too).
  __device__ __forceinline__ __half2 out_pair(const Finished& f, int n, int r, const float2 (&vs)[S::kNTilesO]) const {
    if constexpr (kOutVScales)
      return __floats2half2_rn((o[n][2 * r] * f.inv_l[r]) * vs[n].x, (o[n][2 * r + 1] * f.inv_l[r]) * vs[n].y);
    else
      return __floats2half2_rn(o[n][2 * r] * f.inv_l[r], o[n][2 * r + 1] * f.inv_l[r]);
  }
  // int8-fa with V per channel: V's scales are all loaded before the first store, so their
  // latencies overlap, and each row's address is formed once, the n-tiles being its immediate
  // offsets (kernel_bench burst at 1K, d128: +25% with the quantizer's Q, +3.5% with Q fused;
  // docs/perf-log.md s13b). The other kernels keep the n-tile-outer store: with this one
  // ptxas rescheduled their step loops, 3-7% slower.
  __device__ __forceinline__ void store(const Finished& f, int64_t bh, int64_t kv_index) const {
    float2 vs[S::kNTilesO];
    load_out_v_scales(kv_index, vs);
    if constexpr (kOutVScales) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        if (f.rows[r] >= p.seq_q) continue;
        __half2* const row_out = reinterpret_cast<__half2*>(p.out + (bh * p.seq_q + f.rows[r]) * kD + 2 * t);
#pragma unroll
        for (int n = 0; n < S::kNTilesO; ++n) row_out[4 * n] = out_pair(f, n, r, vs);  // channels n * 8 + 2t, + 1
      }
    } else {
#pragma unroll
      for (int n = 0; n < S::kNTilesO; ++n) {
        const int c = n * 8 + 2 * t;
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          if (f.rows[r] >= p.seq_q) continue;
          *reinterpret_cast<__half2*>(p.out + (bh * p.seq_q + f.rows[r]) * kD + c) = out_pair(f, n, r, vs);
        }
      }
    }
  }
};

// What one CTA of kBlockM query rows works on. CTAs of one (batch, head) are adjacent in
// the grid so they share K/V in L2; causal problems start with the longest query blocks.
// kNarrow: the persistent walk's divisions in 32 bits (the launches refuse 2^31 tiles or more,
// so tile, batch*heads and heads fit), where a 64-bit division's subroutine call costs
// registers: Hopper's int8-fa with Q quantized in the kernel, whose producer warps have 24
// (20 bytes spilled with 64-bit ones). The other kernels keep 64-bit ones: their schedules
// moved with the narrow ones, int8-qk's 3-5% slower (docs/perf-log.md s10).
// kShortLast: batch_heads < 0 walks the short-last order of -batch_heads heads
// (kernels/sm90/ws_tile_order.h; int8-fa's serial kernel at head_dim 128 only, so that the
// others' SASS stays as measured).
// kCausalLead: the query blocks start lead_rows before row 0 (the launch's ws_causal_lead_rows:
// whole consumers' groups of rows, none on full rows or in one round of tiles), so that the idle rows of a causal head's short block come in its first block,
// whose rows see the fewest keys, instead of its last, whose rows see them all while its idle
// consumers wait. Rows before 0 are read as zeros by TMA and never stored. Warp-specialized
// kernels only: the others address Q's rows without TMA.
template <int kBlockM, int kKeys = kBlockN, bool kNarrow = false, bool kShortLast = false, bool kCausalLead = false>
struct CtaWork {
  int64_t bh, kv_index, m0, offset;
  int64_t row_end = INT64_MAX;  // a retiled item's rows end here (the warp-specialized walk's); else seq_q's
  int n_blocks;  // KV blocks with a key some row of the CTA may see
  __device__ __forceinline__ explicit CtaWork(const Params& p) : CtaWork(p, blockIdx.x, 0) {}
  // Work tile `tile` (a persistent CTA walks several). batch_heads == 0: (batch, head)-major,
  // causal query blocks longest first within a head. Otherwise query-block-major, longest
  // first, heads innermost: a persistent grid's round-robin over it balances causal work (a
  // stride of #SMs through the head-major order keeps hitting the same query blocks).
  __device__ __forceinline__ CtaWork(const Params& p, int64_t tile, int64_t batch_heads)
      : CtaWork(p, tile, batch_heads, WsWalkDivs{}) {
    static_assert(!kNarrow, "the narrow walk divides by the launch's ws_walk_divs");
  }
  // Rows [first_row, first_row + rows) of (batch * heads + head) bh, every key block: a retiled item of the
  // warp-specialized walk (kernels/sm90/ws_retile.h; full rows only). divs: the launch's
  // ws_walk_divs, whose heads and group divisors it uses in any walk.
  __device__ __forceinline__ CtaWork(const Params& p, WsRowsOf, uint32_t bh32, uint32_t first_row, uint32_t rows,
                                     const WsWalkDivs& divs)
      : bh(bh32), m0(first_row), offset(p.seq_kv - p.seq_q), row_end(first_row + rows) {
    const uint32_t batch = divs.heads.div(bh32), head = bh32 - batch * static_cast<uint32_t>(p.heads);
    kv_index = static_cast<int64_t>(batch) * p.kv_heads + divs.group.div(head);
    n_blocks = static_cast<int>((p.seq_kv + kKeys - 1) / kKeys);
  }
  // divs (kNarrow): ws_walk_divs of this launch's order, query blocks and heads; lead_rows
  // (kCausalLead): the launch's ws_causal_lead_rows.
  __device__ __forceinline__ CtaWork(const Params& p, int64_t tile, int64_t batch_heads, const WsWalkDivs& divs,
                                     int64_t lead_rows = 0) {
    int qblk;
    if constexpr (kNarrow) {
      const uint32_t t = static_cast<uint32_t>(tile), n = static_cast<uint32_t>(batch_heads);
      const uint32_t qblocks = static_cast<uint32_t>(p.n_qblocks);
      uint32_t bh32, q32;
      if (kShortLast && batch_heads < 0) {
        ws_short_last_tile(t, 0u - n, qblocks, divs.full_qblocks, bh32, q32);
      } else if (n > 0) {
        q32 = divs.order_heads.div(t);
        bh32 = t - q32 * n;
      } else {
        bh32 = divs.qblocks.div(t);
        q32 = t - bh32 * qblocks;
      }
      qblk = static_cast<int>(q32);
      const uint32_t batch = divs.heads.div(bh32);
      bh = bh32;
      const uint32_t head = bh32 - batch * static_cast<uint32_t>(p.heads);
      kv_index = static_cast<int64_t>(batch) * p.kv_heads + divs.group.div(head);
      if (p.causal) qblk = p.n_qblocks - 1 - qblk;
    } else {
      if (kShortLast && batch_heads < 0) {
        uint64_t bh64, q64;
        ws_short_last_tile<uint64_t>(static_cast<uint64_t>(tile), static_cast<uint64_t>(-batch_heads),
                                     static_cast<uint64_t>(p.n_qblocks), bh64, q64);
        bh = static_cast<int64_t>(bh64);
        qblk = static_cast<int>(q64);
      } else if (batch_heads > 0) {
        bh = tile % batch_heads;
        qblk = static_cast<int>(tile / batch_heads);
      } else {
        bh = tile / p.n_qblocks;
        qblk = static_cast<int>(tile % p.n_qblocks);
      }
      if (p.causal) qblk = p.n_qblocks - 1 - qblk;
      const int64_t batch = bh / p.heads, head = bh % p.heads;
      kv_index = batch * p.kv_heads + head / (p.heads / p.kv_heads);
    }
    m0 = static_cast<int64_t>(qblk) * kBlockM;
    if (kCausalLead) m0 -= lead_rows;
    offset = p.seq_kv - p.seq_q;  // bottom-right causal alignment
    int64_t kv_end = p.seq_kv;
    if (p.causal) kv_end = max64(0, min64(p.seq_kv, min64(m0 + kBlockM, p.seq_q) + offset));
    n_blocks = static_cast<int>((kv_end + kKeys - 1) / kKeys);
  }
};

// CTAs resident per SM: 8 warps -> one CTA (255 registers a thread); 4 warps -> two or three
// CTAs that do not share barriers, as the schedule says (three: 168 registers a thread).
template <int kWarps, int kSched>
constexpr int ctas_per_sm() {
  return kWarps == 8 ? 1 : kSchedules[kSched].ctas_per_sm;
}

// kSlots: the ring's slots, the instance's Shape::kStages or two (has_two_slot_form).
template <Variant kV, int kD, int kWarps, bool kPU8, bool kLFromQ, int kSched, int kSlots>
__global__ void __launch_bounds__(kWarps * 32, ctas_per_sm<kWarps, kSched>())
    flash_attention_kernel(const __grid_constant__ Params p) {
  using S = Shape<kV, kD, kWarps>;
  static_assert(kSlots >= 2, "block blk + 1's copies overlap block blk's math");
  constexpr int kBlockM = S::kBlockM;
  extern __shared__ __align__(128) char smem[];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;

  const CtaWork<kBlockM> work(p);
  const int64_t bh = work.bh, kv_index = work.kv_index, m0 = work.m0, offset = work.offset;
  const int n_blocks = work.n_blocks;

  const char* k_head = static_cast<const char*>(p.k) + kv_index * p.k_rows * S::kQRowBytes;
  const char* v_head = static_cast<const char*>(p.v) + kv_index * p.v_rows * kD * (S::kInt8PV ? 1 : 2);
  const float* k_scale_head = S::kInt8QK ? p.k_scale + kv_index * p.n_k_groups : nullptr;
  const uint32_t smem_q = smem_addr(smem);
  const uint32_t smem_kv = smem_q + S::kQBytes;
  load_tile<S::kThreads, kBlockM, S::kQRowBytes>(smem_q, static_cast<const char*>(p.q) + (bh * p.seq_q + m0) * S::kQRowBytes,
                                    S::kQRowBytes, static_cast<int>(min64(kBlockM, p.seq_q - m0)));
  cp_async_commit();
#pragma unroll
  for (int b = 0; b < kSlots - 1; ++b) {
    if (b < n_blocks) load_kv_block<kV, kD, kWarps>(p, smem_kv + b * S::kStageBytes, k_head, v_head, k_scale_head, b);
    cp_async_commit();
  }

  WarpTile<kV, kD, kWarps, kPU8, kLFromQ, kSched> tile(p, lane, m0 + warp * 16, offset);
  tile.load_q_scales(bh);
  cp_async_wait<kSlots - 1>();
  __syncthreads();
  tile.q_smem = smem_q;
  tile.q_row = warp * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
  if constexpr (!kSchedules[kSched].q_from_smem)
#pragma unroll
    for (int ks = 0; ks < S::kKSteps; ++ks)
      ldmatrix_x4(tile.q_frag[ks], smem_q + swizzle<S::kQRowBytes>(tile.q_row, 2 * ks + (lane >> 4)));

  auto slot_addr = [&](int blk) { return smem_kv + (blk % kSlots) * S::kStageBytes; };
  auto slot_ptr = [&](int blk) { return smem + S::kQBytes + (blk % kSlots) * S::kStageBytes; };
  auto issue_loads = [&](int blk) {  // copies of block blk + kSlots - 1 into the slot of blk - 1
    if (blk + kSlots - 1 < n_blocks)
      load_kv_block<kV, kD, kWarps>(p, slot_addr(blk + kSlots - 1), k_head, v_head, k_scale_head,
                                    blk + kSlots - 1);
    cp_async_commit();
  };
  for (int blk = 0; blk < n_blocks; ++blk) {
    cp_async_wait<kSlots - 2>();
    __syncthreads();  // block `blk` landed for all; the slot of block blk-1 is free
    issue_loads(blk);
    if (tile.skips(blk)) continue;
    float x[S::kNTilesS][4];  // the block's scores
    tile.scores(slot_addr(blk), slot_ptr(blk), x);
    tile.mask(blk, x);
    tile.softmax_pv(slot_addr(blk), x);
  }
  cp_async_wait<0>();  // no copy may land in smem after the CTA exits
  tile.store(bh, kv_index);
}

// Launches a fused kernel whose CTAs own block_m query rows of one (batch, head) each.
template <class Kernel>
cudaError_t launch_fused(Kernel kernel, Params p, int block_m, int threads, int smem_bytes, int64_t batch_heads,
                         cudaStream_t stream) {
  p.n_qblocks = static_cast<int32_t>((p.seq_q + block_m - 1) / block_m);
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
  if (err != cudaSuccess) return err;
  const int64_t ctas = batch_heads * p.n_qblocks;
  if (ctas <= 0) return cudaSuccess;
  if (ctas > 0x7fffffff) return cudaErrorInvalidConfiguration;
  kernel<<<static_cast<unsigned>(ctas), threads, smem_bytes, stream>>>(p);
  return cudaGetLastError();
}

// Host launcher of one instantiation (defined here so the instance list stays in one file).
// two_slots: the two-slot form (has_two_slot_form); an instance with a three-slot ring and no
// such form answers cudaErrorNotSupported.
template <Variant kV, int kD, int kWarps, bool kPU8, bool kLFromQ, int kSched>
cudaError_t launch_flash_attention(const Params& p, int64_t batch_heads, bool two_slots, cudaStream_t stream) {
  using S = Shape<kV, kD, kWarps>;
  if constexpr (has_two_slot_form<kV, kD, kWarps>()) {
    if (two_slots)
      return launch_fused(flash_attention_kernel<kV, kD, kWarps, kPU8, kLFromQ, kSched, 2>, p, S::kBlockM,
                          S::kThreads, S::smem_bytes(2), batch_heads, stream);
  } else if (two_slots && S::kStages != 2) {
    return cudaErrorNotSupported;
  }
  return launch_fused(flash_attention_kernel<kV, kD, kWarps, kPU8, kLFromQ, kSched, S::kStages>, p, S::kBlockM,
                      S::kThreads, S::kSmemBytes, batch_heads, stream);
}

}  // namespace int8attn::kernels::fa
