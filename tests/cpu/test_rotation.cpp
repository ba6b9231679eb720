// The Hadamard rotation of Q and K (common/hadamard.h, QuantConfig::rotation): the transform
// itself, the GPU's split of it over registers and lanes (replayed here on the CPU), the
// quantizer with it, and the accuracy it buys on outlier-scale inputs.
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "common/hadamard.h"
#include "common/numerics.h"
#include "src/cpu/emulation.h"
#include "src/cpu/quantize.h"
#include "src/host/reference.h"
#include "test_cpu_util.h"

namespace int8attn::cpu {
namespace {

using test::make_dims;
using test::make_input;
using test::rel_l2;

std::vector<float> random_row(int64_t n, uint32_t seed, float spread = 1.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, spread);
  std::vector<float> x(n);
  for (float& v : x) v = normal(gen);
  return x;
}

// Row i of H is the transform of the unit vector e_i: entries ±1, rows orthogonal, H·Hᵀ = n·I.
TEST(Hadamard, MatrixIsOrthogonalWithUnitEntries) {
  for (int64_t n : {1, 2, 8, 64, 128, 256}) {
    std::vector<std::vector<float>> rows(n, std::vector<float>(n, 0.f));
    for (int64_t i = 0; i < n; ++i) {
      rows[i][i] = 1.f;
      hadamard_transform(rows[i].data(), n);
      for (float v : rows[i]) ASSERT_EQ(std::fabs(v), 1.f) << "n " << n << " row " << i;
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < n; ++c) dot += double{rows[i][c]} * rows[j][c];
        ASSERT_EQ(dot, i == j ? static_cast<double>(n) : 0.0) << "n " << n << " rows " << i << ", " << j;
      }
  }
}

// Applying the transform twice gives n·x: H is symmetric and H·H = n·I.
TEST(Hadamard, TwiceIsNTimesTheRow) {
  const std::vector<float> x = random_row(128, 5);
  std::vector<float> y = x;
  hadamard_transform(y.data(), 128);
  hadamard_transform(y.data(), 128);
  for (size_t c = 0; c < x.size(); ++c) EXPECT_NEAR(y[c], 128.f * x[c], 1e-3f * 128.f) << c;
}

// (q·H)·(k·H) / n equals q·k within FP32 rounding of the butterflies.
TEST(Hadamard, RotatedDotProductEqualsUnrotated) {
  for (int64_t n : {64, 128}) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
      std::vector<float> q = random_row(n, seed), k = random_row(n, seed + 1000);
      k[3] *= 20.f;  // an outlier channel must not matter either
      double exact = 0, magnitude = 0;
      for (int64_t c = 0; c < n; ++c) {
        exact += double{q[c]} * k[c];
        magnitude += std::fabs(double{q[c]} * k[c]);
      }
      hadamard_transform(q.data(), n);
      hadamard_transform(k.data(), n);
      double rotated = 0;
      for (int64_t c = 0; c < n; ++c) rotated += double{q[c]} * k[c];
      rotated *= 1.0 / static_cast<double>(n);
      EXPECT_NEAR(rotated, exact, 1e-5 * magnitude) << "n " << n << " seed " << seed;
    }
  }
}

// The GPU quantizer rotates a row held by d/8 lanes, 8 channels each: the first stages in
// registers (hadamard_stages_within), then one stage per lane bit through a shuffle
// (hadamard_butterfly_side). Replayed here lane by lane, it must equal hadamard_transform
// bit for bit, which is what makes the GPU's codes equal the emulation's.
std::vector<float> lane_split_transform(const std::vector<float>& row) {
  const int lanes = static_cast<int>(row.size() / 8);
  std::vector<std::array<float, 8>> held(lanes);
  for (int lane = 0; lane < lanes; ++lane) {
    float x[8];
    for (int e = 0; e < 8; ++e) x[e] = row[lane * 8 + e];
    hadamard_stages_within(x);
    for (int e = 0; e < 8; ++e) held[lane][e] = x[e];
  }
  for (int m = 1; m < lanes; m *= 2) {  // a shuffle reads every lane's value before any write
    const std::vector<std::array<float, 8>> before = held;
    for (int lane = 0; lane < lanes; ++lane)
      for (int e = 0; e < 8; ++e)
        held[lane][e] = hadamard_butterfly_side(before[lane][e], before[lane ^ m][e], (lane & m) != 0);
  }
  std::vector<float> out(row.size());
  for (int lane = 0; lane < lanes; ++lane)
    for (int e = 0; e < 8; ++e) out[lane * 8 + e] = held[lane][e];
  return out;
}

TEST(Hadamard, LaneSplitMatchesTheReferenceOrderBitForBit) {
  for (int64_t n : {8, 64, 128, 256}) {
    for (uint32_t seed = 0; seed < 50; ++seed) {
      // Mixed magnitudes, so the sums round and a different order would show.
      std::vector<float> row = random_row(n, seed);
      for (int64_t c = 0; c < n; c += 7) row[c] *= 3000.f;
      std::vector<float> want = row;
      hadamard_transform(want.data(), n);
      const std::vector<float> got = lane_split_transform(row);
      for (int64_t c = 0; c < n; ++c) ASSERT_EQ(got[c], want[c]) << "n " << n << " seed " << seed << " c " << c;
    }
  }
}

// A different butterfly order really does change bits on such rows (so the test above can fail).
TEST(Hadamard, ReversedStageOrderChangesBits) {
  std::vector<float> row = random_row(128, 3);
  for (int64_t c = 0; c < 128; c += 7) row[c] *= 3000.f;
  std::vector<float> forward = row, reversed = row;
  hadamard_transform(forward.data(), 128);
  for (int64_t len = 64; len >= 1; len /= 2)
    for (int64_t j = 0; j < 128; ++j)
      if ((j & len) == 0) hadamard_butterfly(reversed[j], reversed[j + len]);
  EXPECT_NE(forward, reversed);
}

// The quantizer with rotation: codes of (x - mean)·H, Q's scale with 1/d, and dequantized
// scores that match the exact scores about as well as without rotation on normal inputs.
TEST(RotatedQuantizer, CodesAreThoseOfTheRotatedRows) {
  const AttnDims dims = make_dims(1, 2, 1, 40, 50, 64, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::OutlierScale, 4));
  QuantConfig plain, rotated;
  rotated.rotation = QkRotation::Hadamard;
  const QuantizedHost a = quantize_qkv_host(dims, plain, in.q, in.k, in.v);
  const QuantizedHost b = quantize_qkv_host(dims, rotated, in.q, in.k, in.v);
  EXPECT_EQ(a.k_mean, b.k_mean);  // the stored mean stays unrotated
  EXPECT_EQ(a.v8, b.v8);          // V is not rotated
  EXPECT_NE(a.q8, b.q8);
  const int64_t d = dims.head_dim;
  for (int64_t j = 0; j < dims.seq_kv; ++j) {  // K row j: (k - mean)·H, quantized per token
    std::vector<float> row(d);
    for (int64_t c = 0; c < d; ++c) row[c] = in.k[j * d + c] - b.k_mean[c];
    hadamard_transform(row.data(), d);
    float amax = 0.f;
    for (float v : row) amax = std::max(amax, std::fabs(v));
    ASSERT_EQ(b.k_scale[j], int8_scale(amax)) << j;
    for (int64_t c = 0; c < d; ++c) ASSERT_EQ(b.k8[j * d + c], quantize_s8(row[c], int8_inv_scale(amax))) << j;
  }
  for (int64_t i = 0; i < dims.seq_q; ++i) {  // Q's scale carries 1/d on top of the softmax fold
    std::vector<float> row(in.q.begin() + i * d, in.q.begin() + (i + 1) * d);
    hadamard_transform(row.data(), d);
    float amax = 0.f;
    for (float v : row) amax = std::max(amax, std::fabs(v));
    const float q_scale = q_scale_of_inv(q_inv_scale(int8_inv_scale(amax)));  // Q's multiplier on the FP16 grid
    ASSERT_EQ(b.q_scale[i], hadamard_q_scale(fold_softmax_scale(q_scale, effective_sm_scale(dims)), d));
  }
}

TEST(RotatedQuantizer, RejectsHeadDimNotAPowerOfTwo) {
  const AttnDims dims = make_dims(1, 1, 1, 4, 4, 96, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 1));
  QuantConfig cfg;
  cfg.rotation = QkRotation::Hadamard;
  EXPECT_THROW(quantize_qkv_host(dims, cfg, in.q, in.k, in.v), std::invalid_argument);
}

struct RotationErrors {
  double fa_plain, fa_rotated, qk_plain, qk_rotated;
};

RotationErrors rotation_errors(const AttnDims& dims, const InputSpec& input) {
  const host::HostQKV in = host::generate_inputs(dims, input);
  const std::vector<double> ref = host::reference_attention(dims, in.q, in.k, in.v);
  QuantConfig plain, rotated;
  rotated.rotation = QkRotation::Hadamard;
  auto err = [&](const QuantConfig& cfg, KernelId kernel) {
    return rel_l2(int8_attention_host(dims, cfg, in.q, in.k, in.v, kernel), ref, dims);
  };
  return {err(plain, KernelId::Int8Full), err(rotated, KernelId::Int8Full), err(plain, KernelId::Int8QK),
          err(rotated, KernelId::Int8QK)};
}

// Issue 15's targets on outlier-scale (Q ×5, K ×20 on 4 channels): int8-fa ≤ 0.02 and
// int8-qk ≤ 0.015 with rotation; small shape: 1 batch, 2 heads, 1024 tokens, head_dim 128.
TEST(RotatedEmulation, MeetsTheTargetsOnOutlierScale) {
  const AttnDims dims = make_dims(1, 2, 2, 1024, 1024, 128, false);
  const RotationErrors e = rotation_errors(dims, make_input(Distribution::OutlierScale, 31));
  EXPECT_LE(e.fa_rotated, 0.02);
  EXPECT_LE(e.qk_rotated, 0.015);
  EXPECT_GT(e.fa_plain, 2 * e.fa_rotated);  // the inputs are hard without it
  EXPECT_GT(e.qk_plain, 2 * e.qk_rotated);
}

// On normal inputs rotation changes little and must not cost accuracy beyond noise.
TEST(RotatedEmulation, NoWorseOnNormalInputs) {
  const AttnDims dims = make_dims(1, 2, 2, 512, 512, 64, true);
  const RotationErrors e = rotation_errors(dims, make_input(Distribution::Normal, 32));
  EXPECT_LE(e.fa_rotated, 0.015);
  EXPECT_LE(e.fa_rotated, 1.1 * e.fa_plain);
  EXPECT_LE(e.qk_rotated, 1.1 * e.qk_plain);
}

}  // namespace
}  // namespace int8attn::cpu
