#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "common/half.h"

namespace int8attn {
namespace {

TEST(CpuHalf, KnownBitPatterns) {
  EXPECT_EQ(float_to_half_bits(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half_bits(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half_bits(65504.0f), 0x7bff);          // largest finite
  EXPECT_EQ(float_to_half_bits(65519.0f), 0x7bff);          // below the halfway point
  EXPECT_EQ(float_to_half_bits(65520.0f), 0x7c00);          // halfway to 2^16 rounds to inf
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0f, -25)), 0x0000);  // tie to even: 0
  EXPECT_EQ(float_to_half_bits(std::ldexp(3.0f, -25)), 0x0002);  // tie 1.5 ulp: up to even 2
  EXPECT_EQ(float_to_half_bits(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half_bits(std::numeric_limits<float>::infinity()), 0x7c00);
  const uint16_t nan_bits = float_to_half_bits(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan_bits & 0x7c00, 0x7c00);
  EXPECT_NE(nan_bits & 0x03ff, 0);
}

TEST(CpuHalf, RoundTripValues) {
  EXPECT_EQ(half_bits_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_bits_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_bits_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::signbit(half_bits_to_float(0x8000)));
  EXPECT_TRUE(std::isnan(round_to_half(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isinf(round_to_half(70000.f)));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1); 1 + 3*2^-11 goes up.
  EXPECT_EQ(round_to_half(1.0f + std::ldexp(1.0f, -11)), 1.0f);
  EXPECT_EQ(round_to_half(1.0f + std::ldexp(3.0f, -11)), 1.0f + std::ldexp(1.0f, -9));
  // Every half bit pattern survives half -> float -> half.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float f = half_bits_to_float(static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half_bits(f), bits) << std::hex << bits;
  }
}

}  // namespace
}  // namespace int8attn
