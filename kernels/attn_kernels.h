// Internal to kernels/: the entry points of the fused attention kernels and the quantizer,
// called by the GPU harness (kernels/*.cu). src/ never includes this; it sees kernels/api.h.
// All pointers are device pointers; tensors are contiguous BHSD ([batch, heads, seq, dim]);
// every offset is 64-bit. Each function checks its own launches and returns the first
// CUDA error (cudaSuccess when fine); an unsupported problem returns cudaErrorNotSupported.
#pragma once
#include <cstddef>
#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "common/attn_types.h"

namespace int8attn::kernels {

// Q/K/V quantized for the INT8 kernels. Scale layouts:
//   q_scale: [batch, heads, n_q_groups]   (groups = tokens, or blocks of qk_block tokens);
//            already folded with sm_scale * log2(e) (numerics.h: fold_softmax_scale)
//   k_scale: [batch, kv_heads, n_k_groups]
//   v_scale: [batch, kv_heads, head_dim]   (per channel)
//   k_mean:  [batch, kv_heads, head_dim]   (FP32, the subtracted mean when smooth_k)
// For int8-qk, v8/v_scale are unused and the kernel reads the FP16 V directly.
struct QuantizedQKV {
  int8_t* q8 = nullptr;
  int8_t* k8 = nullptr;
  int8_t* v8 = nullptr;
  float* q_scale = nullptr;
  float* k_scale = nullptr;
  float* v_scale = nullptr;
  float* k_mean = nullptr;
};

// Bytes of each buffer of QuantizedQKV for a problem (the harness allocates them).
struct QuantizedSizes {
  size_t q8 = 0, k8 = 0, v8 = 0, q_scale = 0, k_scale = 0, v_scale = 0, k_mean = 0;
  size_t total() const { return q8 + k8 + v8 + q_scale + k_scale + v_scale + k_mean; }
};
QuantizedSizes quantized_sizes(const AttnDims& dims, const QuantConfig& cfg, bool quantize_v);

// FP16 Q/K/V -> QuantizedQKV (V only when quantize_v).
cudaError_t quantize_qkv(const AttnDims& dims, const QuantConfig& cfg, const __half* q,
                         const __half* k, const __half* v, bool quantize_v,
                         const QuantizedQKV& out, cudaStream_t stream);

// Full INT8 flash attention (int8-fa): out [batch, heads, seq_q, head_dim] FP16.
cudaError_t int8_flash_attention(const AttnDims& dims, const QuantConfig& cfg,
                                 const QuantizedQKV& qkv, __half* out, cudaStream_t stream);

// INT8 QK^T with FP16 P·V (int8-qk); v is the FP16 V.
cudaError_t int8qk_flash_attention(const AttnDims& dims, const QuantConfig& cfg,
                                   const QuantizedQKV& qk, const __half* v, __half* out,
                                   cudaStream_t stream);

// FP16 flash attention with the same tiling (fp16-fa).
cudaError_t fp16_flash_attention(const AttnDims& dims, const __half* q, const __half* k,
                                 const __half* v, __half* out, cudaStream_t stream);

// Whether the fused kernels have an instantiation for this head_dim on this device.
bool fused_kernels_support(int64_t head_dim, int cc_major, int cc_minor);

}  // namespace int8attn::kernels
