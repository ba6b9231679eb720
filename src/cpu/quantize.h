// Host quantization of Q/K/V for the INT8 path, code for code what kernels/quantize.cu
// produces (common/numerics.h does every rounding). The layouts are the plain, unpadded
// ones: the device's padded K / transposed V are compared through the host converters of
// kernels/attn_kernels.h (k8_to_bhsd, v8_to_bhsd, k_scale_unpadded).
#pragma once
#include <cstdint>
#include <vector>

#include "common/attn_types.h"

namespace int8attn::cpu {

struct QuantizedHost {
  std::vector<int8_t> q8;       // [batch, heads, seq_q, head_dim]
  std::vector<int8_t> k8;       // [batch, kv_heads, seq_kv, head_dim] (of K - k_mean when smoothed,
                                //  times H when rotated)
  std::vector<int8_t> v8;       // [batch, kv_heads, seq_kv, head_dim]; empty unless quantize_v
  std::vector<float> q_scale;   // [batch, heads, n_q_groups], folded with sm_scale*log2(e)
  std::vector<float> k_scale;   // [batch, kv_heads, n_k_groups]
  std::vector<float> v_scale;   // [batch, kv_heads, v_scale_blocks, head_dim]; empty unless quantize_v
  std::vector<float> k_mean;    // [batch, kv_heads, head_dim]; empty unless cfg.smooth_k
  std::vector<uint8_t> k_order;  // [batch, kv_heads, seq_kv]: with KGranularity::Grouped, the offset in its
                                 // 128-key block of the key each K / V row holds (common/k_groups.h); else empty

  int64_t bytes() const;  // codes + scales + mean, as stored
};

// Tokens sharing one Q/K scale, and the number of such groups for `seq` tokens.
int64_t qk_group_tokens(const QuantConfig& cfg);
int64_t qk_groups(int64_t seq, const QuantConfig& cfg);

// Throws std::invalid_argument for a config the emulation cannot honour.
void validate_quant_config(const QuantConfig& cfg);
// Throws std::invalid_argument when cfg's rotation cannot apply to dims (Hadamard: head_dim
// must be a power of two).
void validate_rotation(const AttnDims& dims, const QuantConfig& cfg);

// Per-(batch, kv_head, channel) mean of K, [batch, kv_heads, head_dim], as common/numerics.h
// defines it and kernels/quantize.cu computes it: the mean of at most kKMeanSamples sampled
// tokens (k_mean_sample_token), summed in FP32 in the same order.
std::vector<float> k_channel_mean(const AttnDims& dims, const std::vector<float>& k);

// Quantizes Q and K (K smoothed first when cfg.smooth_k, then both rotated when
// cfg.rotation says so) and, when quantize_v, V. With the Hadamard rotation the codes are
// those of x·H (unnormalized) and q_scale also carries 1/head_dim (common/hadamard.h).
QuantizedHost quantize_qkv_host(const AttnDims& dims, const QuantConfig& cfg, const std::vector<float>& q,
                                const std::vector<float>& k, const std::vector<float>& v,
                                bool quantize_v = true);

// x ([batch, kv_heads, seq_kv, head_dim], K's or V's layout) with each head's rows in k_order's
// order (QuantizedHost::k_order): row j of a head is x's row j rounded down to its 128-key block
// plus k_order[j].
std::vector<float> keys_in_order(const AttnDims& dims, const std::vector<uint8_t>& k_order, const std::vector<float>& x);

// Analytic storage of the INT8 kernels' inputs (what QuantizedHost::bytes() would be):
// int8-fa stores INT8 Q/K/V + scales (+ k_mean); int8-qk stores INT8 Q/K + scales (+ k_mean)
// and the FP16 V.
int64_t int8_full_tensor_bytes(const AttnDims& dims, const QuantConfig& cfg);
int64_t int8_qk_tensor_bytes(const AttnDims& dims, const QuantConfig& cfg);
int64_t fp16_tensor_bytes(const AttnDims& dims);

}  // namespace int8attn::cpu
