// Every compiled instance of the attention kernels, in one place, and the measured-best
// defaults that decide which of them a product build compiles. A/B variants are compiled only
// with INT8ATTN_KERNEL_TUNING (cmake -DINT8ATTN_KERNEL_TUNING=ON, kernel_bench). Plain C++:
// X-macro lists read by the dispatchers (fused_attention.cu, int8_fa_ws.cu). Add a head_dim or
// an option here and nowhere else.
#pragma once

#include "common/kernel_id.h"

namespace int8attn::kernels::fa {

// The kernel an instance computes: the identity the model, the GPU session and the CPU
// emulation share (int8-fa, int8-qk, fp16-fa).
using Variant = KernelId;

// ---- mma.sync kernels (int8_flash_attn.cuh; every architecture from sm_80) ----------------
// X(variant, head_dim, warps per CTA, u8 P, l from quantized P), each compiled in the register
// schedules of launch_schedule (fused_attention.cu).
#define INT8ATTN_INT8FULL_INSTANCES(X, D, W)                                                      \
  X(Variant::Int8Full, D, W, true, false) X(Variant::Int8Full, D, W, true, true)                  \
  X(Variant::Int8Full, D, W, false, false) X(Variant::Int8Full, D, W, false, true)
#define INT8ATTN_INT8QK_INSTANCES(X, D, W)                                                        \
  X(Variant::Int8QK, D, W, false, false) X(Variant::Int8QK, D, W, false, true)
#define INT8ATTN_FP16_INSTANCES(X, D, W) X(Variant::Fp16Flash, D, W, false, false)
#if INT8ATTN_KERNEL_TUNING
// Every warps-per-CTA choice and every register schedule, selectable at run time.
#define INT8ATTN_HEAD_DIM_INSTANCES(X, D, W) \
  INT8ATTN_INT8FULL_INSTANCES(X, D, W) INT8ATTN_INT8QK_INSTANCES(X, D, W) INT8ATTN_FP16_INSTANCES(X, D, W)
#define INT8ATTN_FUSED_INSTANCES(X)                                                               \
  INT8ATTN_HEAD_DIM_INSTANCES(X, 64, 4) INT8ATTN_HEAD_DIM_INSTANCES(X, 128, 4)                    \
  INT8ATTN_HEAD_DIM_INSTANCES(X, 64, 8) INT8ATTN_HEAD_DIM_INSTANCES(X, 128, 8)                    \
  INT8ATTN_INT8FULL_INSTANCES(X, 256, 4)
inline constexpr bool kAllSchedules = true;
#else
// Only what default_warps_per_cta() and default_schedule() pick.
#define INT8ATTN_FUSED_INSTANCES(X)                                                               \
  INT8ATTN_INT8FULL_INSTANCES(X, 64, 4) INT8ATTN_INT8QK_INSTANCES(X, 64, 4)                       \
  INT8ATTN_FP16_INSTANCES(X, 64, 4) INT8ATTN_INT8FULL_INSTANCES(X, 128, 4)                        \
  INT8ATTN_INT8QK_INSTANCES(X, 128, 8) INT8ATTN_FP16_INSTANCES(X, 128, 8)                        \
  INT8ATTN_INT8FULL_INSTANCES(X, 256, 4)
inline constexpr bool kAllSchedules = false;
#endif

// Warps per CTA (docs/perf-log.md v3): two 4-warp CTAs per SM beat one 8-warp CTA for int8-fa
// everywhere and for every variant at head_dim 64; FP16 P·V at head_dim 128 prefers 8 warps.
// int8-fa at head_dim 256 (its only instance there, common/attn_types.h kInt8FaHeadDims) has 4
// warps: 80.5 KB of shared memory a CTA with its two ring slots (Shape::kStages), two CTAs an SM
// on sm_80 and sm_90, one on sm_86 and sm_89.
constexpr int default_warps_per_cta(Variant variant, int head_dim) {
  return variant == Variant::Int8Full || head_dim == 64 ? 4 : 8;
}
// The register schedule (int8_flash_attn.cuh's kSchedules): 0, except for int8-qk and fp16-fa
// at head_dim 64, where schedule 1 (three CTAs per SM, no spills) is faster (docs/perf-log.md
// v5, where it is schedule 4).
constexpr int default_schedule(Variant variant, int head_dim) {
  return variant != Variant::Int8Full && head_dim == 64 ? 1 : 0;
}

// ---- the wgmma int8-fa kernel (int8_fa_wgmma.cuh; the sm_90a image only) -------------------
// X(head_dim, u8 P, l from quantized P). head_dim 64 stays on the mma.sync kernel, which
// measured faster there (docs/perf-log.md v6-v12); tuning builds have it, run when forced.
#define INT8ATTN_WGMMA_OPTIONS(X, D) X(D, true, false) X(D, true, true) X(D, false, false) X(D, false, true)
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WGMMA_INSTANCES(X) INT8ATTN_WGMMA_OPTIONS(X, 128) INT8ATTN_WGMMA_OPTIONS(X, 64)
#else
#define INT8ATTN_WGMMA_INSTANCES(X) INT8ATTN_WGMMA_OPTIONS(X, 128)
#endif

// ---- the warp-specialized Hopper kernels (sm90/int8_fa_ws.cuh; the sm_90a image only) ------
// The schedule a launch takes for schedule -1 (int8_fa_ws.cuh's WsSchedule), the measured best
// (docs/perf-log.md v22-v25, s20): int8-fa the one of its P block, the deferred merge (2) at 64
// keys and the serial schedule on three consumers (3) at 128 (keys: int8-fa's P block, unused
// by the others), and at head_dim 256 P·V in channel parts on two consumers (4, its only one:
// ws_consume_fa_pv_parts); the others ping-pong (1: the two consumers take turns to issue; fp16-fa
// +3-10%, int8-qk +3-6% at head_dim 128), but int8-qk at head_dim 64 runs the serial schedule
// on three consumers (3: +4-8% over its two overlapped ones, s41).
constexpr int ws_default_schedule(Variant variant, int head_dim, int keys = 0) {
  if (variant == Variant::Int8Full) return head_dim == 256 ? 4 : keys == 128 ? 3 : 2;
  if (variant == Variant::Int8QK && head_dim == 64) return 3;
  return 1;
}
// int8-fa: X(head_dim, u8 P, l from quantized P, schedule, keys, K's scales), keys the P-code
// block (QuantConfig::kv_block): 64, or 128 with V scaled per the same blocks (v_block 128; head
// dims 64 and 128); K's scales as the serial kernel's kKScales (sm90/int8_fa_ws.cuh): 0 per token.
// Per-thread K (KGranularity::PerThread, the scales stored per token, 1): the serial kernel's own
// form for the default P options (u8 P, l from the exact P); every other kernel reads those
// scales per token as they are. Grouped K (KGranularity::Grouped, 4): the same options at head_dim
// 128 alone (at 64 its step measured 22% slower than per-thread K's, docs/perf-log.md s73).
#define INT8ATTN_WS_OPTIONS(X, D, S, K)                                                            \
  X(D, true, false, S, K, 0) X(D, true, true, S, K, 0) X(D, false, false, S, K, 0)     \
  X(D, false, true, S, K, 0)
#define INT8ATTN_WS_INSTANCES(X)                                                                   \
  INT8ATTN_WS_OPTIONS(X, 128, 2, 64) INT8ATTN_WS_OPTIONS(X, 64, 2, 64) INT8ATTN_WS_OPTIONS(X, 64, 3, 128) \
  INT8ATTN_WS_OPTIONS(X, 128, 3, 128) X(64, true, false, 3, 128, 1) X(128, true, false, 3, 128, 1)      \
  X(128, true, false, 3, 128, 4) INT8ATTN_WS_OPTIONS(X, 256, 4, 64)
// int8-qk: X(head_dim, l from the FP16-rounded P, schedule); tuning builds add the other schedule.
#define INT8ATTN_WS_QK_OPTIONS(X, D, S) X(D, false, S) X(D, true, S)
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WS_QK_INSTANCES(X) \
  INT8ATTN_WS_QK_OPTIONS(X, 128, 0) INT8ATTN_WS_QK_OPTIONS(X, 128, 1) INT8ATTN_WS_QK_OPTIONS(X, 64, 3)
#else
#define INT8ATTN_WS_QK_INSTANCES(X) INT8ATTN_WS_QK_OPTIONS(X, 128, 1) INT8ATTN_WS_QK_OPTIONS(X, 64, 3)
#endif
// fp16-fa: X(head_dim, schedule).
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WS_FP16_INSTANCES(X) X(128, 0) X(64, 0) X(128, 1) X(64, 1)
#else
#define INT8ATTN_WS_FP16_INSTANCES(X) X(128, 1) X(64, 1)
#endif

}  // namespace int8attn::kernels::fa
