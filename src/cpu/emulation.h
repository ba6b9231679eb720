// Bit-faithful host emulation of the fused kernels (int8-fa, int8-qk, fp16-fa), following
// the contract in common/numerics.h. Outputs are [batch, heads, seq_q, head_dim] floats
// holding FP16 values, exactly what the kernels write up to exp2f/FP32-sum reassociation.
#pragma once
#include <vector>

#include "common/attn_types.h"
#include "src/cpu/quantize.h"
#include "src/host/parallel.h"
#include "src/model/kernel.h"

namespace int8attn::cpu {

// Attention on already-quantized inputs (the GPU kernels can be fed the same QuantizedHost).
// kernel: the one emulated, KernelId::Int8Full (int8-fa: INT8 Q·K^T, quantized P × INT8
// V; needs qkv.v8/v_scale) or KernelId::Int8QK (int8-qk: INT8 Q·K^T, FP16 P × FP16 V; needs
// v_fp16, [batch, kv_heads, seq_kv, head_dim] FP16 values); any other throws
// std::invalid_argument.
std::vector<float> int8_attention_from_quantized(const AttnDims& dims, const QuantConfig& cfg,
                                                 const QuantizedHost& qkv, KernelId kernel,
                                                 const std::vector<float>* v_fp16,
                                                 const host::CpuExec& exec = {});

// quantize_qkv_host followed by int8_attention_from_quantized.
std::vector<float> int8_attention_host(const AttnDims& dims, const QuantConfig& cfg,
                                       const std::vector<float>& q, const std::vector<float>& k,
                                       const std::vector<float>& v, KernelId kernel,
                                       const host::CpuExec& exec = {});

// fp16-fa: FP32 scores from the FP16 Q/K, online softmax per kv_block keys, P rounded to
// FP16, FP32 accumulation, l from the exact p, output rounded to FP16.
std::vector<float> fp16_flash_attention_host(const AttnDims& dims, int64_t kv_block,
                                             const std::vector<float>& q, const std::vector<float>& k,
                                             const std::vector<float>& v, const host::CpuExec& exec = {});

}  // namespace int8attn::cpu
