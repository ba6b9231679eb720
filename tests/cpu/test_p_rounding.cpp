// One rounding of P: the fused kernels round levels·p with numerics.h's magic-number add
// (p_code_carrier / p_code_of_carrier / p_code_value), the emulation with quantize_p. They
// must agree on every float p in [0, 1], for both P modes: checked exhaustively, over every
// bit pattern from +0 to 1.0f (1 065 353 217 values per mode), split across threads.
#include <algorithm>
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
  const int32_t code = quantize_p(p, mode);
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

}  // namespace
}  // namespace int8attn
