#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "common/rng.h"
#include "src/cpu/online_softmax.h"

namespace int8attn::cpu {
namespace {

TEST(CpuOnlineSoftmax, BlockedEqualsTwoPass) {
  const int64_t n = 300, d = 16;
  std::vector<float> s(n), v(n * d);
  for (int64_t j = 0; j < n; ++j) s[j] = 6.f * standard_normal(1, TensorId::Q, j);  // wide range
  for (int64_t i = 0; i < n * d; ++i) v[i] = standard_normal(1, TensorId::V, i);
  for (int64_t kv_block : {1, 7, 64, 128, 300, 512}) {
    for (int64_t n_visible : {int64_t{1}, int64_t{63}, int64_t{64}, int64_t{65}, int64_t{200}, n}) {
      const std::vector<double> ref = two_pass_attention_row(s.data(), n, n_visible, v.data(), d);
      const std::vector<float> got = online_attention_row_exact(s.data(), n, n_visible, v.data(), d, kv_block);
      for (int64_t c = 0; c < d; ++c) {
        ASSERT_NEAR(got[c], ref[c], 2e-5 * (1 + std::fabs(ref[c])))
            << "kv_block " << kv_block << " visible " << n_visible << " channel " << c;
      }
    }
  }
}

TEST(CpuOnlineSoftmax, IncreasingScoresForceRescaling) {
  // Each block has a larger max than the last, so alpha < 1 at every step.
  const int64_t n = 256, d = 4;
  std::vector<float> s(n), v(n * d);
  for (int64_t j = 0; j < n; ++j) s[j] = 0.05f * j;
  for (int64_t i = 0; i < n * d; ++i) v[i] = static_cast<float>(i % 7) - 3;
  const std::vector<double> ref = two_pass_attention_row(s.data(), n, n, v.data(), d);
  const std::vector<float> got = online_attention_row_exact(s.data(), n, n, v.data(), d, 32);
  for (int64_t c = 0; c < d; ++c) EXPECT_NEAR(got[c], ref[c], 1e-5);
}

TEST(CpuOnlineSoftmax, NoVisibleKeyGivesZerosNotNaN) {
  const std::vector<float> s(10, 1.f), v(10 * 3, 1.f);
  const std::vector<float> got = online_attention_row_exact(s.data(), 10, 0, v.data(), 3, 4);
  for (float x : got) EXPECT_EQ(x, 0.f);
  const std::vector<double> p = two_pass_softmax(s.data(), 10, 0);
  for (double x : p) EXPECT_EQ(x, 0.0);
}

TEST(CpuOnlineSoftmax, TwoPassSumsToOne) {
  std::vector<float> s = {0.f, 1.f, 2.f, -50.f, 3.f};
  const std::vector<double> p = two_pass_softmax(s.data(), 5, 4);
  double sum = 0;
  for (double x : p) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-15);
  EXPECT_EQ(p[4], 0.0);                       // masked
  EXPECT_NEAR(p[1] / p[0], 2.0, 1e-12);       // log2 domain: one unit doubles p
}

// int8-fa's l per block: the exact p whatever the block size (128-key blocks round only the
// codes through FP16), the codes with l_from_quantized_p. A p far below one level counts in
// the exact l and not in the codes' (a sink row's small probabilities, docs/perf-log.md).
TEST(CpuQuantizedPV, RowSumIsTheExactPUnlessFromTheCodes) {
  const std::vector<float> p = {1.f, 0.3337f, 0.0123457f, 1e-6f, 0.777f};
  const int8_t v8[5] = {0, 0, 0, 0, 0};
  const float v_scale[1] = {1.f};
  float p_sum = 0.f;
  for (const float pj : p) p_sum += pj;
  for (const int64_t kv_block : {64, 128}) {
    int32_t code_sum = 0;
    for (const float pj : p) code_sum += quantize_p(pj, PQuant::U8x255, kv_block);
    auto l_of = [&](bool from_codes) {
      QuantizedPV pv{v8, v_scale, 0, 1, PQuant::U8x255, kv_block,
                     from_codes ? RowSumTerms::Codes : RowSumTerms::ExactP, {}, {}};
      float acc[1] = {0.f};
      return pv.accumulate(0, static_cast<int64_t>(p.size()), p.data(), 1.f, 2.f, acc);
    };
    EXPECT_EQ(l_of(false), 2.f * p_sum) << kv_block;
    EXPECT_EQ(l_of(true), 2.f * (static_cast<float>(code_sum) / 255.f)) << kv_block;
    EXPECT_EQ(quantize_p(1e-6f, PQuant::U8x255, kv_block), 0);
  }
}

// The per-thread-K kernel of 128-key blocks adds levels * p as FP16 pairs (numerics.h
// half_pair_block_sum): 200 and 0.1 share a chain (keys 0 and 32: thread 0, lane 0, n-tiles 0
// and 4), where FP16 spacing is 1/8, so 200.1 becomes 200.125; 3 and 0.5 on other chains add exactly.
TEST(CpuQuantizedPV, HalfPairRowSumRoundsAsTheKernelsChains) {
  std::vector<float> p(128, 0.f);
  p[0] = 200.f / 255.f, p[32] = 0.1f / 255.f, p[1] = 3.f / 255.f, p[127] = 0.5f / 255.f;
  const std::vector<float> t = {p[0] * 255.f, p[32] * 255.f, p[1] * 255.f, p[127] * 255.f};
  ASSERT_NEAR(t[1], 0.1f, 1e-6f);
  EXPECT_EQ(half_pair_block_sum(p.data(), 128, 255.f),
            round_to_half(round_to_half(t[0]) + round_to_half(t[1])) + round_to_half(t[2]) + round_to_half(t[3]));
  EXPECT_EQ(round_to_half(round_to_half(t[0]) + round_to_half(t[1])), 200.125f);
  EXPECT_EQ(half_pair_block_sum(p.data(), 32, 255.f), round_to_half(t[0]) + round_to_half(t[2]));  // keys past 32 absent

  QuantConfig cfg;
  cfg.kv_block = 128, cfg.k_granularity = KGranularity::PerThread;
  EXPECT_EQ(row_sum_terms(cfg), RowSumTerms::HalfPairs);
  cfg.l_from_quantized_p = true;
  EXPECT_EQ(row_sum_terms(cfg), RowSumTerms::Codes);
  cfg.l_from_quantized_p = false, cfg.k_granularity = KGranularity::AsQ;
  EXPECT_EQ(row_sum_terms(cfg), RowSumTerms::ExactP);
  cfg.k_granularity = KGranularity::PerThread, cfg.kv_block = 64;
  EXPECT_EQ(row_sum_terms(cfg), RowSumTerms::ExactP);

  const int8_t v8[128] = {};
  const float v_scale[1] = {1.f};
  QuantizedPV pv{v8, v_scale, 0, 1, PQuant::U8x255, 128, RowSumTerms::HalfPairs, {}, {}};
  float acc[1] = {0.f};
  EXPECT_EQ(pv.accumulate(0, 128, p.data(), 1.f, 2.f, acc), 2.f * (half_pair_block_sum(p.data(), 128, 255.f) / 255.f));
}

TEST(CpuVisibleKeys, MatchesCausalVisible) {
  for (int64_t sq : {1, 5, 9}) {
    for (int64_t skv : {1, 5, 9}) {
      for (int64_t i = 0; i < sq; ++i) {
        int64_t count = 0;
        for (int64_t j = 0; j < skv; ++j) count += causal_visible(i, j, sq, skv);
        EXPECT_EQ(visible_keys(i, sq, skv, true), count);
        EXPECT_EQ(visible_keys(i, sq, skv, false), skv);
      }
    }
  }
}

}  // namespace
}  // namespace int8attn::cpu
