// The numeric contract of the INT8 path: the element-wise rounding steps that the GPU
// kernels and the CPU emulation must perform identically. Both include this header, so a
// quantized code computed on the host equals the one computed on the device bit for bit.
//
// The full algorithm (per query row, per KV block of QuantConfig::kv_block keys; blocks
// with no visible key are skipped):
//   s_j   = float(sum_d q8[d]*k8[j,d]) * (q_scale_folded * k_scale[j])     (log2 domain)
//   bm    = max_j s_j over the block's visible keys
//   m_new = max(m_old, bm);  alpha = exp2(m_old - m_new)  (0 for the first block)
//   p_j   = exp2(s_j - bm) (0 for masked keys);  c_j = quantize_p(p_j)   (block-relative P;
//           blocks of 128 keys and more round levels*p_j to FP16 first: p_codes_through_fp16)
//   w     = exp2(bm - m_new)                                               (the block's weight)
//   l     = l*alpha + w * sum_j (l_from_quantized_p ? c_j / p_levels : p_j)
//           (the per-thread-K kernel of 128-key blocks adds half(p_levels * p_j) in FP16 pairs in
//           a fixed order instead, then divides by p_levels: l_terms_as_half_pairs)
//   acc_c = acc_c*alpha + float(sum_j c_j * v8[j,c]) * (w / p_levels)      (int32 inside a block)
//   out_c = half((acc_c * (1 / l)) * v_scale[c])
// With V scaled per block of keys (QuantConfig::v_block > 0; the block b holding the KV block):
//   acc_c = acc_c*alpha + (float(sum_j c_j * v8[j,c]) * v_scale[b,c]) * (w / p_levels)
//   out_c = half(acc_c * (1 / l))
// P relative to the block's own max uses the full code range in every block; relative to
// the running max, blocks after a large score lose resolution and the error grew with
// seq_len (rel L2 0.012 at 256 keys -> 0.020 at 4K, CPU emulation, docs/perf-log.md).
// int8-qk and fp16-fa use the standard form: p_j = exp2(s_j - m_new), P = half(p_j), FP16 V,
// FP32 accumulation acc_c = acc_c*alpha + sum_j P_j * v[j,c], out_c = half(acc_c * (1 / l)).
// exp2 and the FP32 sums may differ by reassociation/approximation between CPU and GPU;
// every quantized code and scale defined here may not.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/attn_types.h"
#include "common/half.h"
#include "common/hd.h"

namespace int8attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kInt8Max = 127.f;

// Symmetric INT8 scale for a group whose largest magnitude is amax (dequant: x ≈ q*scale).
I8A_HD float int8_scale(float amax) { return amax / kInt8Max; }

// Multiplier that maps x to its code; 0 for an all-zero group (its codes are all 0).
I8A_HD float int8_inv_scale(float amax) { return amax > 0.f ? kInt8Max / amax : 0.f; }

// int8_inv_scale and int8_scale without a division, for the amax of FP16 data (0, or 2^-24 to
// 65504), given rcp_seed within 3 ulp of 1/amax (PTX rcp.approx is within 1): a Newton step
// and a remainder correction round them as the divisions do (tests/cpu/test_cpu_quantize.cpp
// checks every positive FP16 amax against them). A float division compiles to a call of IEEE's
// slow path, whose registers the Hopper kernel's Q-quantizing producer warps (24 a thread)
// do not have.
I8A_HD float int8_inv_scale_fp16(float amax, float rcp_seed) {
  const float r = fmaf(fmaf(-amax, rcp_seed, 1.f), rcp_seed, rcp_seed);
  const float q = kInt8Max * r;
  return amax > 0.f ? fmaf(fmaf(-amax, q, kInt8Max), r, q) : 0.f;
}

I8A_HD float int8_scale_fp16(float amax) {
  constexpr float kInvMax = 1.f / kInt8Max;
  const float q = amax * kInvMax;
  return fmaf(fmaf(-kInt8Max, q, amax), kInvMax, q);
}

// A value's bits as another type of the same size (float <-> uint32_t): std::bit_cast is C++20,
// and the CUDA sources build as C++17. In device code the copy is a register move.
template <class To, class From>
I8A_HD To bits_as(From x) {
  static_assert(sizeof(To) == sizeof(From), "a bit copy between types of one size");
  To y;
  std::memcpy(&y, &x, sizeof y);
  return y;
}
I8A_HD uint32_t float_bits(float x) { return bits_as<uint32_t>(x); }
I8A_HD float float_of_bits(uint32_t bits) { return bits_as<float>(bits); }

// 1.5 * 2^23: y + it lies in [2^23, 2^24) for |y| < 2^22, where the float spacing is 1, so a
// float add rounds y to the nearest integer (ties to even) and subtracting it again is exact.
inline constexpr float kRoundingBias = 12582912.f;

// x * inv_scale rounded once, from the exact product, to the nearest integer (ties to even):
// one fused multiply-add with the rounding bias (FFMA on the GPU, std::fmaf here: both round the
// exact x * inv_scale + bias once). Before s71 the product was rounded to a float first and then
// to an integer (an FMUL and an FADD on the GPU); the two differ only where the product lies
// within a float's rounding of a half-integer, about one element in 10^5, by one code, and the
// single rounding is the nearer code. |y| >= 2^22 come out near y (the spacing there is 2 or
// more), which the saturating callers clamp; NaN stays NaN.
I8A_HD float round_product_to_integer(float x, float inv_scale) {
  return fmaf(x, inv_scale, kRoundingBias) - kRoundingBias;
}

// Round to nearest (ties to even), saturate to [-127, 127].
I8A_HD int8_t quantize_s8(float x, float inv_scale) {
  float r = round_product_to_integer(x, inv_scale);
  r = r > kInt8Max ? kInt8Max : (r < -kInt8Max ? -kInt8Max : r);
  return static_cast<int8_t>(r);
}

// quantize_s8 where |x| <= amax and inv_scale = int8_inv_scale(amax) (int8_inv_scale_fp16's
// bits are the same), as every code of the GPU quantizer and of the Hopper kernel's Q-quantizing
// warps is: |x * inv_scale| <= 127 (1 + 2^-24) < 127.5, so the clamp cannot act and the rounded
// product is the code (tests/cpu/test_cpu_quantize.cpp checks the claim).
I8A_HD int8_t quantize_s8_in_range(float x, float inv_scale) {
  return static_cast<int8_t>(round_product_to_integer(x, inv_scale));
}

// quantize_s8_in_range's code in the low byte of a word (the other bytes are not the code's):
// the fused multiply-add of round_product_to_integer without its subtraction, whose sum's low
// mantissa byte is the rounded integer mod 256, the code's two's complement. On the GPU one FFMA
// a code, on the FP32 pipe, not on the conversion unit an F2I shares with ex2 at 16 lanes a clock
// an SM (the quantizer codes every element of K and V, the fused-Q warps every element of Q).
I8A_HD uint32_t quantize_s8_in_range_bits(float x, float inv_scale) {
  return float_bits(fmaf(x, inv_scale, kRoundingBias));
}

// Q's multiplier is an FP16 number (since s72): int8_inv_scale(amax) rounded to the nearest FP16
// value (ties to even), or FP16's largest, 65504, where it is larger (amax < 127 / 65504, about
// 0.0019: such rows code below 127). Its products with FP16 Q are then exact in FP32, and an HFMA2
// of two FP16 halves by it plus 1536 (1.5 * 2^10, where FP16's spacing is 1) rounds each exact
// product to the nearest integer once, as quantize_s8_in_range_bits's FFMA does: the Hopper
// kernel's Q-quantizing warps code two channels an instruction (int8_fa_ws.cuh), and the
// quantizer and the CPU emulation, coding with the same multiplier, give the same codes.
// |x * q_inv| <= 127 (1 + 2^-11) < 127.5 where |x| <= amax, so no clamp acts. Q's scale is the
// multiplier's reciprocal (q_scale_of_inv), so codes and scale agree.
inline constexpr float kFp16Max = 65504.f;
// x in [0, 65504] (FP16's normal range or 0) to the nearest FP16 value, ties to even, as a float:
// the float's mantissa rounded at FP16's 10 bits (the bits below are 13).
I8A_HD float round_to_fp16_grid(float x) {
  const uint32_t u = float_bits(x);
  return float_of_bits((u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu);
}
// Q's multiplier from int8_inv_scale(amax) (or int8_inv_scale_fp16's equal bits).
I8A_HD float q_inv_scale(float inv_scale) { return round_to_fp16_grid(fminf(inv_scale, kFp16Max)); }
// Q's (unfolded) scale: 1 / q_inv, 0 for an all-zero row.
I8A_HD float q_scale_of_inv(float q_inv) { return q_inv > 0.f ? 1.f / q_inv : 0.f; }
// q_scale_of_inv without a division, given rcp_seed within 3 ulp of 1 / q_inv (PTX rcp.approx is
// within 1): a Newton step and a remainder correction round it as the division does, for every
// multiplier q_inv_scale makes (tests/cpu/test_cpu_quantize.cpp checks them all).
I8A_HD float q_scale_of_inv_fp16(float q_inv, float rcp_seed) {
  const float r = fmaf(fmaf(-q_inv, rcp_seed, 1.f), rcp_seed, rcp_seed);
  return q_inv > 0.f ? fmaf(fmaf(-q_inv, r, 1.f), r, r) : 0.f;
}

// K smoothing's mean (QuantConfig::smooth_k): the mean of n = min(seq, kKMeanSamples) sampled
// tokens of the head. A head of up to kKMeanSamples tokens samples all of them (the exact mean);
// a longer one cuts its tokens into n strata [i·seq/n, (i+1)·seq/n) and samples one token of
// each at a fixed pseudo-random offset (k_mean_sample_token): spread over the whole sequence,
// the first token always among them, and jittered so that no period of the keys (RoPE's
// rotations) lines up with the samples. The sum is FP32 in a fixed order, kKMeanGroups row
// groups: group g sums samples g, g + 16, ..., g + 112 in that order (from 0.f), neighbouring
// groups add in pairs (2w, 2w + 1), and the pairs add in order (from 0.f); the total is divided
// by float(n). Any vector subtracted from every key leaves softmax(q k^T) exact; the mean only
// narrows K's range before its codes, and 128 tokens estimate it to a tenth of a channel's
// spread: in an FP64 model rel L2 stayed within its seed-to-seed noise of the exact mean's and
// of the 16 chunks of 128 tokens this sample replaced (docs/accuracy.md, "K's mean"). So small a
// sample is one CTA's one round of loads a head, made while the quantizer's Q and V codes run.
constexpr int64_t kKMeanSamples = 128;
constexpr int64_t kKMeanGroups = 16;
static_assert(kKMeanSamples % kKMeanGroups == 0 && kKMeanGroups % 2 == 0, "whole groups, in pairs");
I8A_HD int64_t k_mean_samples(int64_t seq) { return seq < kKMeanSamples ? (seq > 0 ? seq : 0) : kKMeanSamples; }
// The token of sample i (0 <= i < k_mean_samples(seq)), in increasing order.
I8A_HD int64_t k_mean_sample_token(int64_t seq, int64_t i) {
  if (seq <= kKMeanSamples) return i;
  const int64_t lo = i * seq / kKMeanSamples, hi = (i + 1) * seq / kKMeanSamples;
  // Fibonacci hashing; i = 0 hashes to 0, so the first token is always sampled
  const uint32_t jitter = (static_cast<uint32_t>(i) * 0x9E3779B1u) >> 8;
  return lo + static_cast<int64_t>(jitter % static_cast<uint32_t>(hi - lo));
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

// Whether P's codes of blocks of kv_block keys go through FP16: c = rint(half(levels * p))
// instead of rint(levels * p). The Hopper kernel of 128-key P blocks rounds each pair of
// levels * p to FP16 (one F2FP), adds 1024 in FP16 (one HADD2: halves in [1024, 2048) are
// spaced 1 apart, so the code lands in the half's low byte) and gathers four codes with one
// PRMT: 5 instructions for four codes against 7, +1-2.5% at head_dim 128 and +4-5% at 64
// (kernel_bench, H200, docs/perf-log.md s22). The FP16 step moves a code by one where levels * p
// lies within half an FP16 step of a half-integer (2.8% of codes; their RMS error 0.2858 ->
// 0.2882 of a level). The 64-key kernels measured 3-5% slower with it (the pack is on their
// critical path), so they keep the direct rounding.
I8A_HD constexpr bool p_codes_through_fp16(int64_t kv_block) { return kv_block >= 128; }

// Code of a probability p in [0, 1] (relative to the block's max), for P blocks of kv_block keys.
inline int32_t quantize_p(float p, PQuant mode, int64_t kv_block) {
  const float t = p * p_levels(mode);
  return static_cast<int32_t>(rintf(p_codes_through_fp16(kv_block) ? round_to_half(t) : t));
}

// P's code the way the fused kernels compute it (kernels/int8_flash_attn.cuh), without F2I:
// the kernel gets t = levels * p from one ex2, and adding kPCodeMagic = 1.5 * 2^23 rounds t
// to the nearest integer (ties to even: floats in [2^23, 2^24) are spaced 1 apart) and leaves
// that integer in the low byte of the sum's bits, ready to be packed into the MMA operand.
// The carrier minus kPCodeMagic is the code as a float (exact), for l. For every float p in
// [0, 1], p_code_of_carrier(p_code_carrier(p * p_levels(mode))) == quantize_p(p, mode)
// (tests/cpu/test_p_rounding.cpp checks every one), so the kernels round P as the emulation.
constexpr float kPCodeMagic = 12582912.0f;

I8A_HD float p_code_carrier(float levels_times_p) { return levels_times_p + kPCodeMagic; }

I8A_HD float p_code_value(float carrier) { return carrier - kPCodeMagic; }

I8A_HD int32_t p_code_of_carrier(float carrier) { return static_cast<int32_t>(float_bits(carrier) & 0xffu); }

// The FP16 path's carrier of t = levels * p (p_codes_through_fp16) on the host: the FP16 bits
// of half(half(t) + 1024), as the kernel's F2FP and HADD2 compute them (for t in [0, 256]: the
// sum of a half from 2^-13 up and 1024 is exact in FP32, so it is rounded once, as HADD2 rounds
// it; below 2^-13 both give 1024). The code is
// the low byte (p_code_of_half_carrier); the kernel's PRMT gathers those bytes.
inline uint16_t p_code_half_carrier(float levels_times_p) {
  return float_to_half_bits(round_to_half(levels_times_p) + 1024.f);
}
inline int32_t p_code_of_half_carrier(uint16_t carrier) { return carrier & 0xff; }

// Whether int8-fa's row sum l adds a block's terms as FP16 pairs instead of in FP32: the Hopper
// kernel of 128-key P blocks with per-thread K scales (with l from the exact p), and grouped K
// (KGranularity::Grouped, whose kernel is per-thread K's step with four scales a thread). Its codes
// already round each pair of t = levels * p to FP16 (p_codes_through_fp16); adding those pairs
// by HADD2 is 22-25 fewer instructions a step than 62 FADD, +0.1 to +1.4% (kernel_bench, H100,
// docs/perf-log.md s57). The FP16 sums move a block's l by a few 10^-4 of itself typically, at
// most about 2.4 * 10^-3 (five roundings to 2^-11 on a lane's path); half_pair_block_sum is that sum, which the CPU emulation and the oracle compute as the kernel
// does. The per-token K kernel measured slower with it (s51), so it keeps FP32 sums.
inline constexpr int kHalfPairChains = 4;  // HADD2 chains a row (n-tiles c, c + 4, c + 8, c + 12)
I8A_HD constexpr bool l_terms_as_half_pairs(int64_t kv_block, KGranularity k_granularity, bool l_from_quantized_p) {
  return kv_block == 128 && k_granularity != KGranularity::AsQ && !l_from_quantized_p;
}

// A 128-key block's sum of l's terms under l_terms_as_half_pairs, t_j = p_j * levels as for
// its codes (quantize_p), p_j for its `keys` keys (none past them; masked keys 0). In the
// kernel's S layout the quad's thread u holds keys 8n + 2u and 8n + 2u + 1 of n-tiles n = 0..15
// as one FP16 pair (each term rounded to FP16, as for its code); it adds the pairs of n-tiles c,
// c + 4, c + 8, c + 12 in chain c (every sum rounded to FP16), the chains as (c0 + c2) + (c1 +
// c3), and the pair's two halves in FP32. The quad's four sums meet in FP32, which the contract
// leaves to reassociation like l's other sums.
// (FP16 sums of non-negative halves: the FP32 sum of two halves rounded once to FP16 is HADD2's.)
inline float half_pair_block_sum(const float* p, int64_t keys, float levels) {
  constexpr int kQuad = 4, kNTiles = 16;
  auto hadd = [](float a, float b) { return round_to_half(a + b); };
  float total = 0.f;
  for (int u = 0; u < kQuad; ++u) {
    float pair[2];
    for (int lane = 0; lane < 2; ++lane) {
      auto term = [&](int n) {
        const int64_t j = 8 * n + 2 * u + lane;
        return j < keys ? round_to_half(p[j] * levels) : 0.f;
      };
      float chain[kHalfPairChains];
      for (int c = 0; c < kHalfPairChains; ++c) {
        chain[c] = term(c);
        for (int n = c + kHalfPairChains; n < kNTiles; n += kHalfPairChains) chain[c] = hadd(chain[c], term(n));
      }
      for (int w = kHalfPairChains / 2; w > 0; w /= 2)  // the chains as a tree: c + w into c
        for (int c = 0; c < w; ++c) chain[c] = hadd(chain[c], chain[c + w]);
      pair[lane] = chain[0];
    }
    total += pair[0] + pair[1];
  }
  return total;
}

// 1 / sqrt(head_dim) unless the problem gives its own scale.
I8A_HD float effective_sm_scale(const AttnDims& dims) {
  return dims.sm_scale > 0.f ? dims.sm_scale : 1.f / sqrtf(static_cast<float>(dims.head_dim));
}

// Bottom-right aligned causal mask: may query row i see key j?
I8A_HD bool causal_visible(int64_t i, int64_t j, int64_t seq_q, int64_t seq_kv) {
  return j <= i + (seq_kv - seq_q);
}

// Number of keys query row i sees: causal_visible holds exactly for keys j < this bound.
I8A_HD int64_t visible_keys(int64_t i, int64_t seq_q, int64_t seq_kv, bool causal) {
  if (!causal) return seq_kv;
  const int64_t bound = i + (seq_kv - seq_q) + 1;
  return bound < 0 ? 0 : (bound < seq_kv ? bound : seq_kv);
}

}  // namespace int8attn
