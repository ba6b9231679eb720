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
// int8-qk's: X(head_dim, l from the FP16-rounded P, schedule: 0 overlap, 1 ping-pong).
#define INT8ATTN_WS_QK_OPTIONS(X, S) X(128, false, S) X(128, true, S) X(64, false, S) X(64, true, S)
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WS_QK_INSTANCES(X) INT8ATTN_WS_QK_OPTIONS(X, 0) INT8ATTN_WS_QK_OPTIONS(X, 1)
#else
#define INT8ATTN_WS_QK_INSTANCES(X) INT8ATTN_WS_QK_OPTIONS(X, 0)
#endif

// Whether the warp-specialized kernels take a problem of these sizes (the one rule the launches
// and int8qk_softmax_keys() share): TMA coordinates are 32-bit, and the K scales arrive as one
// TMA box of per-key values, so per-block Q/K scales (group_tokens > 1) take the other kernels.
inline bool ws_supports(int64_t seq_q, int64_t padded_seq_kv, int64_t batch_heads, int64_t group_tokens) {
  return seq_q <= INT32_MAX && padded_seq_kv <= INT32_MAX && batch_heads <= INT32_MAX && group_tokens == 1;
}

// fp16-fa's: X(head_dim, schedule: 0 overlap, 1 ping-pong). The product's: ping-pong at head_dim
// 128 (+7-10% over overlap), overlap at 64 (2% faster there): fp16_ws_schedule().
#if INT8ATTN_KERNEL_TUNING
#define INT8ATTN_WS_FP16_INSTANCES(X) X(128, 0) X(64, 0) X(128, 1) X(64, 1)
#else
#define INT8ATTN_WS_FP16_INSTANCES(X) X(128, 1) X(64, 0)
#endif
constexpr int fp16_ws_schedule(int head_dim) { return head_dim == 128 ? 1 : 0; }

// int8-fa with the quantized tensors of `base` (attn_kernels.h layouts); cudaErrorNotSupported
// for an instantiation this build lacks, per-block K scales, or a problem beyond the TMA's
// 32-bit coordinates. schedule: -1 or 2 (the deferred O merge, its one schedule).
cudaError_t launch_int8fa_ws(const Params& base, int head_dim, int64_t batch_heads, bool p_u8, bool l_from_q,
                             int schedule, cudaStream_t stream);

// int8-qk (FP16 V, `base.v` as it lies in memory) on the same skeleton; cudaErrorNotSupported
// as above. schedule: 0 overlap, 1 ping-pong, -1 the measured best.
cudaError_t launch_int8qk_ws(const Params& base, int head_dim, int64_t batch_heads, bool l_from_q, int schedule,
                             cudaStream_t stream);

// fp16-fa (FP16 Q, K, V as they lie in memory) on the same skeleton: FP16 S by wgmma, no K
// scales; cudaErrorNotSupported as above. schedule: 0 overlap, 1 ping-pong, -1 fp16_ws_schedule().
cudaError_t launch_fp16_ws(const Params& base, int head_dim, int64_t batch_heads, int schedule, cudaStream_t stream);

}  // namespace int8attn::kernels::fa
