// The numeric contract of the INT8 path: the element-wise rounding steps that the GPU
// kernels and the CPU emulation must perform identically. Both include this header, so a
// quantized code computed on the host equals the one computed on the device bit for bit.
//
// The full algorithm (per query row, per KV block of QuantConfig::kv_block keys):
//   s_j   = float(sum_d q8[d]*k8[j,d]) * (q_scale_folded * k_scale[j])     (log2 domain)
//   m_new = max(m_old, max_j s_j);  alpha = exp2(m_old - m_new)
//   p_j   = exp2(s_j - m_new) (0 for masked keys);  c_j = quantize_p(p_j)
//   l     = l*alpha + sum_j (l_from_quantized_p ? c_j / p_levels : p_j)
//   acc_c = acc_c*alpha + float(sum_j c_j * v8[j,c])                       (int32 inside a block)
//   out_c = half((acc_c * (1 / (l * p_levels))) * v_scale[c])
// int8-qk replaces c_j by half(p_j), v8 by the FP16 V, p_levels by 1 and accumulates in FP32.
// exp2 and the FP32 sums may differ by reassociation/approximation between CPU and GPU;
// every quantized code and scale defined here may not.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/attn_types.h"
#include "common/hd.h"

namespace int8attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kInt8Max = 127.f;

// Symmetric INT8 scale for a group whose largest magnitude is amax (dequant: x ≈ q*scale).
I8A_HD float int8_scale(float amax) { return amax / kInt8Max; }

// Multiplier that maps x to its code; 0 for an all-zero group (its codes are all 0).
I8A_HD float int8_inv_scale(float amax) { return amax > 0.f ? kInt8Max / amax : 0.f; }

// Round to nearest (ties to even), saturate to [-127, 127].
I8A_HD int8_t quantize_s8(float x, float inv_scale) {
  float r = rintf(x * inv_scale);
  r = r > kInt8Max ? kInt8Max : (r < -kInt8Max ? -kInt8Max : r);
  return static_cast<int8_t>(r);
}

// Q's scale with sm_scale and log2(e) folded in, so the kernel's scores are in the log2
// domain and the softmax uses exp2.
I8A_HD float fold_softmax_scale(float q_scale, float sm_scale) {
  return q_scale * (sm_scale * kLog2e);
}

// Score from an INT32 dot product. Exact int->float for |acc| < 2^24 (head_dim <= 1040).
I8A_HD float dequant_score(int32_t acc, float q_scale_folded, float k_scale) {
  return static_cast<float>(acc) * (q_scale_folded * k_scale);
}

// Number of levels P in [0, 1] is mapped to.
I8A_HD float p_levels(PQuant mode) { return mode == PQuant::U8x255 ? 255.f : 127.f; }

// Code of a probability p in [0, 1] (after subtracting the running max).
I8A_HD int32_t quantize_p(float p, PQuant mode) {
  return static_cast<int32_t>(rintf(p * p_levels(mode)));
}

// 1 / sqrt(head_dim) unless the problem gives its own scale.
I8A_HD float effective_sm_scale(const AttnDims& dims) {
  return dims.sm_scale > 0.f ? dims.sm_scale : 1.f / sqrtf(static_cast<float>(dims.head_dim));
}

// Bottom-right aligned causal mask: may query row i see key j?
I8A_HD bool causal_visible(int64_t i, int64_t j, int64_t seq_q, int64_t seq_kv) {
  return j <= i + (seq_kv - seq_q);
}

}  // namespace int8attn
