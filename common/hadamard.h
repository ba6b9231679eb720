// The Walsh–Hadamard rotation of Q and K rows (QuantConfig::rotation), defined once so the
// GPU quantizer (registers + warp shuffles, kernels/quantize.cu) and the CPU emulation
// (src/cpu/quantize.cpp) produce the same FP32 values bit for bit.
//
// A row x of n = head_dim values (n a power of two) becomes y = x·H with H the Sylvester
// Hadamard matrix (entries ±1, H·Hᵀ = n·I), in log2(n) stages of butterflies: stage `len`
// (1, 2, 4, ..., n/2, in this order) pairs element j with j + len for every j whose bit
// `len` is clear and writes (lo + hi, lo − hi). The butterflies of one stage are
// independent and IEEE addition is commutative, so the contract is only the stage order
// and lo − hi (never hi − lo); a thread may run the first stages on the elements it holds
// and the later ones across threads.
//
// Normalization: both sides need 1/sqrt(n) for (xH/√n)(kH/√n)ᵀ = x·k. Folding the product
// of the two, 1/n (a power of two), into Q's score scale is exact, where multiplying each
// side by 1/sqrt(n) would round every element. So Q and K are stored as codes of the
// unnormalized x·H, and Q's folded scale carries the 1/n.
#pragma once
#include <cstdint>

#include "common/hd.h"

#if defined(__CUDACC__)
#define I8A_UNROLL _Pragma("unroll")
#else
#define I8A_UNROLL
#endif

namespace int8attn {

I8A_HD bool is_power_of_two(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

// One butterfly of stage `len`: (lo, hi) -> (lo + hi, lo - hi).
I8A_HD void hadamard_butterfly(float& lo, float& hi) {
  const float sum = lo + hi;
  hi = lo - hi;
  lo = sum;
}

// The same butterfly seen from one side when lo and hi live in two threads: `own` is this
// thread's element, `partner` the other's, own_is_hi says which side this thread holds.
I8A_HD float hadamard_butterfly_side(float own, float partner, bool own_is_hi) {
  return own_is_hi ? partner - own : own + partner;
}

// The first log2(N) stages on N consecutive elements (a chunk aligned to N): every
// butterfly of those stages stays inside the chunk.
template <int N>
I8A_HD void hadamard_stages_within(float (&x)[N]) {
  static_assert((N & (N - 1)) == 0, "chunks are powers of two");
  I8A_UNROLL
  for (int len = 1; len < N; len *= 2) {
    I8A_UNROLL
    for (int j = 0; j < N; ++j) {
      if ((j & len) == 0) hadamard_butterfly(x[j], x[j + len]);
    }
  }
}

// The whole transform of one row of n values in place (host reference order).
inline void hadamard_transform(float* x, int64_t n) {
  for (int64_t len = 1; len < n; len *= 2) {
    for (int64_t j = 0; j < n; ++j) {
      if ((j & len) == 0) hadamard_butterfly(x[j], x[j + len]);
    }
  }
}

// Q's folded score scale with the rotation's 1/n (exact: n is a power of two).
I8A_HD float hadamard_q_scale(float folded_q_scale, int64_t n) {
  return folded_q_scale * (1.f / static_cast<float>(n));
}

}  // namespace int8attn
