// Entry points of the warp-specialized Hopper int8-fa and int8-qk kernels (kernels/sm90/int8_fa_ws.cuh),
// for the dispatcher in fused_attention.cu. Plain C++ apart from cudaError_t/cudaStream_t.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace int8attn::kernels::fa {

struct Params;

// THE list of compiled instantiations: X(head_dim, u8 P, l from quantized P, schedule), the
// schedule a WsSchedule of int8_fa_ws.cuh (int8-fa has one: 2, the deferred O merge).
#define INT8ATTN_WS_OPTIONS(X, D, S) \
  X(D, true, false, S) X(D, true, true, S) X(D, false, false, S) X(D, false, true, S)
#define INT8ATTN_WS_INSTANCES(X) INT8ATTN_WS_OPTIONS(X, 128, 2) INT8ATTN_WS_OPTIONS(X, 64, 2)
// int8-qk's: X(head_dim, l from the FP16-rounded P, schedule: 0 overlap, 1 ping-pong); the
// product builds ws_default_schedule()'s.
#define INT8ATTN_WS_QK_OPTIONS(X, D, S) X(D, false, S) X(D, true, S)
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WS_QK_INSTANCES(X) \
  INT8ATTN_WS_QK_OPTIONS(X, 128, 0) INT8ATTN_WS_QK_OPTIONS(X, 128, 1) INT8ATTN_WS_QK_OPTIONS(X, 64, 0) INT8ATTN_WS_QK_OPTIONS(X, 64, 1)
#else
#define INT8ATTN_WS_QK_INSTANCES(X) INT8ATTN_WS_QK_OPTIONS(X, 128, 1) INT8ATTN_WS_QK_OPTIONS(X, 64, 0)
#endif

// Whether the warp-specialized kernels take a problem of these sizes (the one rule the launches
// and int8qk_softmax_keys() share): TMA coordinates are 32-bit, and the K scales arrive as one
// TMA box of per-key values, so per-block Q/K scales (group_tokens > 1) take the other kernels.
inline bool ws_supports(int64_t seq_q, int64_t padded_seq_kv, int64_t batch_heads, int64_t group_tokens) {
  return seq_q <= INT32_MAX && padded_seq_kv <= INT32_MAX && batch_heads <= INT32_MAX && group_tokens == 1;
}

// fp16-fa's: X(head_dim, schedule: 0 overlap, 1 ping-pong); the product builds ping-pong.
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WS_FP16_INSTANCES(X) X(128, 0) X(64, 0) X(128, 1) X(64, 1)
#else
#define INT8ATTN_WS_FP16_INSTANCES(X) X(128, 1) X(64, 1)
#endif

// The schedule a launch takes for schedule -1 (int8_fa_ws.cuh's WsSchedule), the measured best
// (docs/perf-log.md v22-v23): int8-fa its one, the deferred merge; the others ping-pong (the two
// consumers take turns to issue: fp16-fa +3-10%, int8-qk +3-6% at head_dim 128), but int8-qk
// at head_dim 64 overlaps (ping-pong 3% slower there).
constexpr int ws_default_schedule(bool int8_pv, bool fp16_qk, int head_dim) {
  return int8_pv ? 2 : (fp16_qk || head_dim == 128) ? 1 : 0;
}

// int8-fa with the quantized tensors of `base` (attn_kernels.h layouts); cudaErrorNotSupported
// for an instantiation this build lacks, per-block K scales, or a problem beyond the TMA's
// 32-bit coordinates. schedule: -1 or 2 (the deferred O merge, its one schedule).
cudaError_t launch_int8fa_ws(const Params& base, int head_dim, int64_t batch_heads, bool p_u8, bool l_from_q,
                             int schedule, cudaStream_t stream);

// int8-qk (FP16 V, `base.v` as it lies in memory) on the same skeleton; cudaErrorNotSupported
// as above. schedule: 0 overlap, 1 ping-pong, -1 ws_default_schedule().
cudaError_t launch_int8qk_ws(const Params& base, int head_dim, int64_t batch_heads, bool l_from_q, int schedule,
                             cudaStream_t stream);

// fp16-fa (FP16 Q, K, V as they lie in memory) on the same skeleton: FP16 S by wgmma, no K
// scales; cudaErrorNotSupported as above. schedule: 0 overlap, 1 ping-pong, -1 ws_default_schedule().
cudaError_t launch_fp16_ws(const Params& base, int head_dim, int64_t batch_heads, int schedule, cudaStream_t stream);

}  // namespace int8attn::kernels::fa
