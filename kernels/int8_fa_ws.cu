// Host side of the warp-specialized Hopper int8-fa kernel (kernels/sm90/int8_fa_ws.cuh): the
// TMA descriptors of the quantized Q, K and V^T, and the launch.
#include <cudaTypedefs.h>

#include <cstring>

#include "kernels/sm90/int8_fa_ws.cuh"
#include "kernels/sm90/int8_fa_ws_launch.h"

namespace int8attn::kernels::fa {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      fn = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

// A 3-D int8 map [inner bytes, rows, matrices] read in boxes [inner, box_rows, 1], swizzled as
// wgmma's K-major layout for rows of `inner` bytes (128 or 64).
bool encode_map(CUtensorMap& map, const void* base, uint64_t inner, uint64_t rows, uint64_t matrices,
                uint32_t box_inner, uint32_t box_rows) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return false;
  const cuuint64_t dims[3] = {inner, rows, matrices};
  const cuuint64_t strides[2] = {inner, inner * rows};  // bytes, dims 1 and 2
  const cuuint32_t box[3] = {box_inner, box_rows, 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUtensorMapSwizzle swizzle = box_inner == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B;
  return encode(&map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 3, const_cast<void*>(base), dims, strides, box,
                element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// Out-of-bounds boxes (Q rows past seq_q) are zero-filled by the TMA unit.
bool make_ws_params(const Params& base, int head_dim, int64_t batch_heads, WsParams& out) {
  const uint64_t d = static_cast<uint64_t>(head_dim);
  const uint64_t batch_kv_heads = static_cast<uint64_t>(batch_heads / base.heads * base.kv_heads);
  const uint64_t kv_rows = static_cast<uint64_t>(base.k_rows);  // padded seq_kv
  out.base = base;
  return encode_map(out.q_map, base.q, d, static_cast<uint64_t>(base.seq_q), static_cast<uint64_t>(batch_heads),
                    head_dim, 64 * WsShape<128>::kConsumers) &&
         encode_map(out.k_map, base.k, d, kv_rows, batch_kv_heads, head_dim, kBlockN) &&
         encode_map(out.v_map, base.v, kv_rows, d, batch_kv_heads, kBlockN, head_dim);
}

template <int kD, bool kPU8, bool kLFromQ, int kSchedule>
cudaError_t launch(const WsParams& p, int64_t batch_heads, cudaStream_t stream) {
  using W = WsShape<kD>;
  auto kernel = int8fa_ws_kernel<kD, kPU8, kLFromQ, kSchedule>;
  WsParams params = p;
  params.base.n_qblocks = static_cast<int32_t>((p.base.seq_q + W::kBlockM - 1) / W::kBlockM);
  const int64_t tiles = batch_heads * params.base.n_qblocks;
  if (tiles <= 0) return cudaSuccess;
  if (tiles > 0x7fffffff) return cudaErrorInvalidConfiguration;
  params.n_tiles = static_cast<int32_t>(tiles);
  // Causal tiles differ in length: longest first across heads (round-robin balance). Equal
  // tiles keep the head-major order, where CTAs running together share K/V in L2.
  params.tile_order_heads = p.base.causal ? batch_heads : 0;
  int device = 0, sms = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err == cudaSuccess) err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, W::kSmemBytes);
  if (err != cudaSuccess) return err;
  const int64_t ctas = tiles < sms ? tiles : sms;  // persistent: one CTA per SM walks the tiles
  kernel<<<static_cast<unsigned>(ctas), W::kThreads, W::kSmemBytes, stream>>>(params);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_int8fa_ws(const Params& base, int head_dim, int64_t batch_heads, bool p_u8, bool l_from_q,
                             int schedule, cudaStream_t stream) {
  static_assert(WsShape<64>::kConsumers == WsShape<128>::kConsumers, "one Q box height");
  // TMA coordinates are 32-bit; rows and heads beyond that take the other kernels.
  if (base.seq_q > INT32_MAX || base.k_rows > INT32_MAX || batch_heads > INT32_MAX) return cudaErrorNotSupported;
  // The K scales arrive as one bulk copy of 64 per-key values; per-block scales take the
  // other kernels.
  if (base.group_tokens != 1) return cudaErrorNotSupported;
  if (schedule < 0) schedule = kWsDeferO;  // the measured best (docs/perf-log.md)
  WsParams p{};
  if (!make_ws_params(base, head_dim, batch_heads, p)) return cudaErrorNotSupported;
#define INT8ATTN_TRY_WS(D, PU8, LQ, S) \
  if (head_dim == D && p_u8 == PU8 && l_from_q == LQ && schedule == S) return launch<D, PU8, LQ, S>(p, batch_heads, stream);
  INT8ATTN_WS_INSTANCES(INT8ATTN_TRY_WS)
#undef INT8ATTN_TRY_WS
  return cudaErrorNotSupported;
}

}  // namespace int8attn::kernels::fa
