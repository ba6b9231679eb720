// One rounding of P: the fused kernels round levels·p with numerics.h's magic-number add
// (p_code_carrier / p_code_of_carrier / p_code_value), the emulation with quantize_p. They
// must agree on every float p in [0, 1], for both P modes: checked exhaustively, over every
// bit pattern from +0 to 1.0f (1 065 353 217 values per mode), split across threads.
// The 128-key kernel's FP16 path (p_codes_through_fp16: F2FP, HADD2 of 1024, the low byte)
// against quantize_p for 128-key blocks: both round levels·p to FP16 first, so every FP16
// value in [0, levels] covers it.
#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"

namespace int8attn {
namespace {

constexpr uint32_t kOneBits = 0x3f800000u;  // bits of 1.0f; every float in [0, 1] is below or equal

float float_of(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Whether the kernel's rounding and quantize_p disagree at p (on the code, or on the code's
// float value that l sums).
bool disagree(float p, float levels, PQuant mode) {
  const float carrier = p_code_carrier(p * levels);
  const int32_t code = quantize_p(p, mode, 64);
  return (p_code_of_carrier(carrier) != code) | (p_code_value(carrier) != static_cast<float>(code));
}

// Whether any p in bit patterns [first, first + count) disagrees: branch-free, so the loop
// vectorizes (with SSE4.1's or AVX's round instruction where the CPU has one: IEEE rint
// either way; FMA is not enabled, so p * levels stays a separately rounded product).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "sse4.1", "default")))
#endif
bool any_disagreement(uint32_t first, int32_t count, float levels, PQuant mode) {
  int32_t any = 0;
  for (int32_t i = 0; i < count; ++i) any |= disagree(float_of(first + static_cast<uint32_t>(i)), levels, mode);
  return any != 0;
}

// First p in bit patterns [begin, end) where they disagree, or UINT32_MAX when none does.
uint32_t first_disagreement(uint32_t begin, uint32_t end, PQuant mode) {
  constexpr uint32_t kChunk = 1u << 16;
  const float levels = p_levels(mode);
  for (uint32_t chunk = begin; chunk < end; chunk += std::min(kChunk, end - chunk)) {
    const uint32_t count = std::min(kChunk, end - chunk);
    if (!any_disagreement(chunk, static_cast<int32_t>(count), levels, mode)) continue;
    for (uint32_t bits = chunk; bits < chunk + count; ++bits)
      if (disagree(float_of(bits), levels, mode)) return bits;
  }
  return UINT32_MAX;
}

uint32_t first_disagreement_threaded(PQuant mode) {
  const uint32_t end = kOneBits + 1;
  const unsigned threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<uint32_t> first(threads, UINT32_MAX);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const uint32_t begin = static_cast<uint32_t>(uint64_t{end} * t / threads);
      const uint32_t stop = static_cast<uint32_t>(uint64_t{end} * (t + 1) / threads);
      first[t] = first_disagreement(begin, stop, mode);
    });
  }
  for (std::thread& th : pool) th.join();
  return *std::min_element(first.begin(), first.end());
}

TEST(PRounding, KernelMagicAddEqualsQuantizePOnEveryFloatInUnitInterval) {
  for (const PQuant mode : {PQuant::U8x255, PQuant::S8x127}) {
    const uint32_t bad = first_disagreement_threaded(mode);
    EXPECT_EQ(bad, UINT32_MAX) << (mode == PQuant::U8x255 ? "u8x255" : "s8x127") << ": p = " << float_of(bad)
                               << " (bits 0x" << std::hex << bad << ")";
  }
}

// The carrier rounds ties to even, and the top code is the mode's level count.
TEST(PRounding, TiesAndEndpoints) {
  for (const PQuant mode : {PQuant::U8x255, PQuant::S8x127}) {
    const float levels = p_levels(mode);
    EXPECT_EQ(p_code_of_carrier(p_code_carrier(levels)), static_cast<int32_t>(levels));
    EXPECT_EQ(p_code_of_carrier(p_code_carrier(0.f)), 0);
    EXPECT_EQ(p_code_of_carrier(p_code_carrier(0.5f)), 0);
    EXPECT_EQ(p_code_of_carrier(p_code_carrier(1.5f)), 2);
    EXPECT_EQ(p_code_of_carrier(p_code_carrier(2.5f)), 2);
  }
}

TEST(PRounding, HalfCarrierEqualsQuantizePThroughFp16OnEveryHalf) {
  ASSERT_FALSE(p_codes_through_fp16(64));
  ASSERT_TRUE(p_codes_through_fp16(128));
  for (const PQuant mode : {PQuant::U8x255, PQuant::S8x127}) {
    const float levels = p_levels(mode);
    int checked = 0;
    for (uint32_t bits = 0; bits < 0x7c00u; ++bits) {  // every finite non-negative half
      const float h = half_bits_to_float(static_cast<uint16_t>(bits));
      if (h > levels) break;
      const int32_t code = p_code_of_half_carrier(p_code_half_carrier(h));
      ASSERT_EQ(code, quantize_p(h / levels, mode, 128)) << "levels*p = " << h;
      ASSERT_EQ(code, static_cast<int32_t>(std::nearbyint(h))) << "levels*p = " << h;
      ++checked;
    }
    EXPECT_GT(checked, 20000);
  }
}

// Where the FP16 step moves a code: t within half an FP16 step below a half-integer rounds up
// to it first, and the tie then goes to the even code; t exactly on a half-integer is a tie
// both ways.
TEST(PRounding, Fp16PathDoubleRounding) {
  const float t = 101.49f;  // FP16 steps of 1/16 in [64, 128): half(t) = 101.5, tie -> 102
  EXPECT_EQ(p_code_of_half_carrier(p_code_half_carrier(t)), 102);
  EXPECT_EQ(p_code_of_carrier(p_code_carrier(t)), 101);
  EXPECT_EQ(quantize_p(t / 255.f, PQuant::U8x255, 128), 102);
  EXPECT_EQ(quantize_p(t / 255.f, PQuant::U8x255, 64), 101);
  EXPECT_EQ(p_code_of_half_carrier(p_code_half_carrier(2.5f)), 2);
  EXPECT_EQ(p_code_of_half_carrier(p_code_half_carrier(255.f)), 255);
  EXPECT_EQ(p_code_of_half_carrier(p_code_half_carrier(0.f)), 0);
}

}  // namespace
}  // namespace int8attn
