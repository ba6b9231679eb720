// An independent oracle for the INT8 attention kernels: the algorithm of DESIGN.md ("The
// INT8 algorithm") and of common/numerics.h's header comment, restated from those documents
// without calling src/cpu/ or numerics.h, slow and obviously correct, for small shapes.
//
// What is exact and what is not:
//  - every value the contract defines in FP32 (the Q/K/V scales and codes, the K mean with
//    its documented chunked FP32 order, the scores s_j, p_j = exp2(s_j - ref), P's codes,
//    int8-qk's FP16 P) is computed here with the same single FP32 operation, so it must be
//    equal bit for bit;
//  - everything the contract leaves to FP32 reassociation (sums over keys, the running-max
//    rescaling across blocks, l, the epilogue) is computed in int64 or double, with each
//    block weighted by exp2(block ref - final max) in closed form instead of a running
//    product. Each output element comes with a radius bounding what FP32 evaluation of
//    those steps may add (see attention()), before the final rounding to FP16.
#pragma once
#include <cstdint>
#include <vector>

#include "common/attn_types.h"

namespace int8attn::oracle {

enum class Variant {
  Int8Fa,  // INT8 Q·Kᵀ, P quantized per block against the block max, INT8 V per channel
  Int8Qk,  // INT8 Q·Kᵀ, FP16 P against the running max, FP16 V
};

// The quantized inputs in plain layouts (as src/cpu/quantize.h names them, to compare).
struct Quantized {
  std::vector<int8_t> q8, k8, v8;  // [b, h, sq, d], [b, kvh, skv, d] (of K - mean), [b, kvh, skv, d];
                                   // with the rotation, Q and K - mean rotated first
  std::vector<float> q_scale;      // [b, h, q groups], with sm_scale * log2(e) folded in
  std::vector<float> k_scale;      // [b, kvh, k groups]
  std::vector<float> v_scale;      // [b, kvh, V blocks, d]: one V block (a scale per channel over all
                                   // keys) unless cfg.v_block, then one per v_block keys
  std::vector<float> k_mean;       // [b, kvh, d]; empty without smoothing
  std::vector<uint8_t> k_order;    // [b, kvh, skv]: grouped K's offset in its 128-key block of the key
                                   // each K / V row holds; empty unless grouped
};

// x·H for one row of d values (d a power of two), H the unnormalised Sylvester Hadamard
// matrix H[i][j] = (-1)^popcount(i & j), evaluated as the contract fixes the FP32 operations:
// log2(d) stages of butterflies (a + b, a - b) on the pairs at distance 1, 2, 4, ... in turn.
void hadamard_rotate(float* x, int64_t d);

// q: [b, h, sq, d]; k, v: [b, kvh, skv, d]; FP32 values (FP16-representable in practice).
// With cfg.rotation, Q rows and K rows (after smoothing) are rotated before their scales are
// taken, and Q's folded scale carries the 1/d that makes (qH)(kH)ᵀ/d = q·k.
Quantized quantize(const AttnDims& dims, const QuantConfig& cfg, const std::vector<float>& q,
                   const std::vector<float>& k, const std::vector<float>& v);

// Output [b, h, sq, d] before the final FP16 rounding, and per element the largest
// difference FP32 reassociation may make: a faithful kernel's FP16 output lies between the
// FP16 roundings of value - radius and value + radius.
struct Output {
  std::vector<double> value;
  std::vector<double> radius;
};

// v_fp16 is the unquantized V (int8-qk reads it; int8-fa uses qz.v8 / qz.v_scale).
Output attention(const AttnDims& dims, const QuantConfig& cfg, const Quantized& qz, Variant variant,
                 const std::vector<float>& v_fp16);

// Plain softmax attention in double, no quantization (the oracle's own sanity anchor).
std::vector<double> exact_attention(const AttnDims& dims, const std::vector<float>& q, const std::vector<float>& k,
                                    const std::vector<float>& v);

// Nearest FP16 value (round to nearest even), by the compiler's _Float16.
float to_fp16(double x);

}  // namespace int8attn::oracle
