// The blocked online softmax of the fused kernels, for one query row, in FP32 exactly as
// common/numerics.h describes it. What happens to P and V inside a block is a policy
// (quantized P·V for int8-fa, FP16 P for int8-qk / fp16-fa, exact for tests), so the
// running-max logic exists once.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/half.h"
#include "common/numerics.h"

namespace int8attn::cpu {

// Policy interface (duck-typed):
//   static constexpr bool kBlockRelativeP: p is exp2(s - block max) (else exp2(s - m_new))
//   float accumulate(int64_t j0, int64_t j1, const float* p, float alpha, float weight, float* acc)
//     acc[c] = acc[c] * alpha + weight * (block's P·V)[c]; returns the block's contribution
//     to l (weight included). weight is 1 unless kBlockRelativeP.
//   float output(float acc_c, float l, int64_t c) const   (l > 0)
//
// Runs the online softmax over keys [0, seq_kv) in blocks of kv_block keys. `s` holds the
// log2-domain scores of the first n_visible keys (the rest are masked and never read; a key
// among them may be masked too, scored -inf, as long as its block has a visible one).
// Writes head_dim outputs; a row with no visible key gets zeros.
template <class PV>
void online_softmax_row(const float* s, int64_t seq_kv, int64_t n_visible, int64_t kv_block,
                        int64_t head_dim, PV& pv, std::vector<float>& p, std::vector<float>& acc,
                        float* out) {
  constexpr float kNoMax = -std::numeric_limits<float>::infinity();
  p.assign(kv_block, 0.f);
  acc.assign(head_dim, 0.f);
  float m = kNoMax;
  float l = 0.f;
  for (int64_t j0 = 0; j0 < seq_kv; j0 += kv_block) {
    const int64_t j1 = std::min(j0 + kv_block, seq_kv);
    const int64_t visible_end = std::min(j1, n_visible);
    if (visible_end <= j0) continue;  // fully masked block: skipped, as the kernel does
    float block_max = kNoMax;
    for (int64_t j = j0; j < visible_end; ++j) block_max = std::max(block_max, s[j]);
    const float m_new = std::max(m, block_max);
    const float alpha = m == kNoMax ? 0.f : exp2f(m - m_new);  // no NaN from -inf - -inf
    // Block-relative P (int8-fa): p in [0, 1] relative to the block's own max, so every
    // block uses the full code range; the block's weight exp2(block_max - m_new) is applied
    // to its INT32 result instead.
    const float p_ref = PV::kBlockRelativeP ? block_max : m_new;
    const float weight = PV::kBlockRelativeP ? exp2f(block_max - m_new) : 1.f;
    for (int64_t j = j0; j < j1; ++j) p[j - j0] = j < visible_end ? exp2f(s[j] - p_ref) : 0.f;
    const float l_block = pv.accumulate(j0, j1, p.data(), alpha, weight, acc.data());
    l = l * alpha + l_block;
    m = m_new;
  }
  for (int64_t c = 0; c < head_dim; ++c) out[c] = l > 0.f ? pv.output(acc[c], l, c) : 0.f;
}

// What int8-fa's l adds of a block (numerics.h): the exact p, P's codes (l_from_quantized_p),
// or levels * p as FP16 pairs in the kernel's order (l_terms_as_half_pairs).
enum class RowSumTerms { ExactP, Codes, HalfPairs };

inline RowSumTerms row_sum_terms(const QuantConfig& cfg) {
  if (cfg.l_from_quantized_p) return RowSumTerms::Codes;
  return l_terms_as_half_pairs(cfg.kv_block, cfg.k_granularity, false) ? RowSumTerms::HalfPairs : RowSumTerms::ExactP;
}

// int8-fa: P coded by quantize_p, INT32 P·V inside a block, the V scale in the epilogue (or,
// V scaled per block of keys, in the block's merge).
struct QuantizedPV {
  static constexpr bool kBlockRelativeP = true;
  const int8_t* v8;        // [seq_kv, head_dim] of this kv head
  const float* v_scale;    // [v_scale_blocks, head_dim]
  int64_t v_block;         // QuantConfig::v_block: 0, one scale a channel
  int64_t head_dim;
  PQuant mode;
  int64_t kv_block;  // its P blocks' keys: whether the codes go through FP16 (numerics.h)
  RowSumTerms row_sum;
  std::vector<int32_t> codes;
  std::vector<int32_t> block;  // INT32 P·V of the current block

  float accumulate(int64_t j0, int64_t j1, const float* p, float alpha, float weight, float* acc) {
    codes.resize(j1 - j0);
    int32_t code_sum = 0;
    float p_sum = 0.f;
    for (int64_t j = j0; j < j1; ++j) {
      codes[j - j0] = quantize_p(p[j - j0], mode, kv_block);
      code_sum += codes[j - j0];
      p_sum += p[j - j0];
    }
    block.assign(head_dim, 0);
    for (int64_t j = j0; j < j1; ++j) {
      const int8_t* v_row = v8 + j * head_dim;
      for (int64_t c = 0; c < head_dim; ++c) block[c] += codes[j - j0] * int32_t{v_row[c]};
    }
    const float code_weight = weight / p_levels(mode);
    if (v_block > 0) {  // the KV block lies in one V block (v_block is a multiple of kv_block)
      const float* block_scale = v_scale + (j0 / v_block) * head_dim;
      for (int64_t c = 0; c < head_dim; ++c) {
        acc[c] = acc[c] * alpha + (static_cast<float>(block[c]) * block_scale[c]) * code_weight;
      }
    } else {
      for (int64_t c = 0; c < head_dim; ++c) {
        acc[c] = acc[c] * alpha + static_cast<float>(block[c]) * code_weight;
      }
    }
    switch (row_sum) {
      case RowSumTerms::Codes: return weight * (static_cast<float>(code_sum) / p_levels(mode));
      case RowSumTerms::HalfPairs: return weight * (half_pair_block_sum(p, j1 - j0, p_levels(mode)) / p_levels(mode));
      case RowSumTerms::ExactP: break;
    }
    return weight * p_sum;
  }

  float output(float acc_c, float l, int64_t c) const {
    return v_block > 0 ? round_to_half(acc_c * (1.f / l)) : round_to_half((acc_c * (1.f / l)) * v_scale[c]);
  }
};

// int8-qk and fp16-fa (RoundHalf = true): P rounded to FP16, FP16 V, FP32 accumulation,
// output rounded to FP16. RoundHalf = false is exact FP32 P·V (tests).
template <bool RoundHalf>
struct FloatPV {
  static constexpr bool kBlockRelativeP = false;
  const float* v;          // [seq_kv, head_dim] of this kv head
  int64_t head_dim;
  bool l_from_rounded_p;   // l sums the rounded p (int8-qk with l_from_quantized_p)
  std::vector<float> p_used;
  std::vector<float> block;  // P·V of the current block, each channel summed in key order

  float accumulate(int64_t j0, int64_t j1, const float* p, float alpha, float /*weight*/,
                   float* acc) {
    p_used.resize(j1 - j0);
    float l_block = 0.f;
    for (int64_t j = j0; j < j1; ++j) {
      p_used[j - j0] = RoundHalf ? round_to_half(p[j - j0]) : p[j - j0];
      l_block += l_from_rounded_p ? p_used[j - j0] : p[j - j0];
    }
    block.assign(head_dim, 0.f);
    for (int64_t j = j0; j < j1; ++j) {
      const float* v_row = v + j * head_dim;
      for (int64_t c = 0; c < head_dim; ++c) block[c] += p_used[j - j0] * v_row[c];
    }
    for (int64_t c = 0; c < head_dim; ++c) acc[c] = acc[c] * alpha + block[c];
    return l_block;
  }

  float output(float acc_c, float l, int64_t) const {
    const float o = acc_c * (1.f / l);
    return RoundHalf ? round_to_half(o) : o;
  }
};

// Reference helpers for tests: non-blocked two-pass softmax in double over log2-domain scores
// (the first n_visible keys of n; masked keys get probability 0; all zero if none is visible).
std::vector<double> two_pass_softmax(const float* s, int64_t n, int64_t n_visible);

// Two-pass attention row: softmax(s) · v in double, v is [n, head_dim].
std::vector<double> two_pass_attention_row(const float* s, int64_t n, int64_t n_visible,
                                           const float* v, int64_t head_dim);

// Blocked online softmax with exact FP32 P·V (FloatPV<false>): equals the two-pass result
// up to FP32 rounding whatever kv_block is.
std::vector<float> online_attention_row_exact(const float* s, int64_t n, int64_t n_visible,
                                              const float* v, int64_t head_dim, int64_t kv_block);

}  // namespace int8attn::cpu
