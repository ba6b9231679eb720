#include <gtest/gtest.h>

#include "src/bench/fallback.h"

using namespace int8attn;

namespace {

KernelResult ok_result(const std::string& name, double mse, double max_abs, double ms) {
  KernelResult r;
  r.kernel = name;
  r.accuracy = Accuracy{};
  r.accuracy->mse = mse;
  r.accuracy->max_abs_error = max_abs;
  r.accuracy->rel_l2 = 0.01;
  r.accuracy->cosine = 0.9999;
  r.latency = LatencyStats{};
  r.latency->median_ms = ms;
  return r;
}

bool has_reason(const FallbackDecision& d, const std::string& text) {
  for (const std::string& r : d.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(Fallback, WithinThresholdsStaysInt8) {
  const FallbackDecision d = decide_fallback(ok_result("int8-fa", 1e-6, 0.01, 1.0), Thresholds{}, nullptr, true);
  EXPECT_EQ(d.decision, Decision::Int8);
  EXPECT_TRUE(d.reasons.empty());
}

TEST(Fallback, EveryCrossedThresholdIsAReasonWithTheMeasuredValue) {
  Thresholds t;
  t.max_rel_l2 = 0.005;
  t.min_cosine = 0.99999;
  const FallbackDecision d = decide_fallback(ok_result("int8-fa", 2e-4, 0.07, 1.0), t, nullptr, true);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  ASSERT_EQ(d.reasons.size(), 4u);
  EXPECT_TRUE(has_reason(d, "mse 0.0002 > max_mse 0.0001"));
  EXPECT_TRUE(has_reason(d, "max_abs_error 0.07"));
  EXPECT_TRUE(has_reason(d, "rel_l2 0.01 > max_rel_l2 0.005"));
  EXPECT_TRUE(has_reason(d, "cosine"));
}

TEST(Fallback, NanErrorsNeverPass) {
  KernelResult r = ok_result("int8-fa", std::nan(""), 0.0, 1.0);
  r.accuracy->nonfinite = 3;
  const FallbackDecision d = decide_fallback(r, Thresholds{}, nullptr, true);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(d, "3 non-finite"));
  EXPECT_TRUE(has_reason(d, "not measurable"));  // not "mse nan > ...", which explains nothing
}

TEST(Fallback, SkippedAndErrorCarryTheirReason) {
  KernelResult skipped;
  skipped.kernel = "int8-fa";
  skipped.status = KernelStatus::Skipped;
  skipped.reason = "architecture: needs compute capability >= 8.0";
  EXPECT_TRUE(has_reason(decide_fallback(skipped, Thresholds{}, nullptr, true), "architecture"));
  KernelResult error = skipped;
  error.status = KernelStatus::Error;
  error.reason = "out of memory";
  const FallbackDecision d = decide_fallback(error, Thresholds{}, nullptr, true);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(d, "kernel error: out of memory"));
}

TEST(Fallback, SlowerThanFp16OnlyCountsWithRealLatencies) {
  const KernelResult int8 = ok_result("int8-fa", 1e-6, 0.01, 2.0);
  const KernelResult fp16 = ok_result("fp16-fa", 0, 0, 1.0);
  EXPECT_TRUE(has_reason(decide_fallback(int8, Thresholds{}, &fp16, true), "speed: int8-fa"));
  EXPECT_EQ(decide_fallback(int8, Thresholds{}, &fp16, false).decision, Decision::Int8);
}

TEST(Fallback, PolicyDecidesInt8KernelsOnly) {
  CaseResult c;
  c.kernels = {ok_result("fp16-ref-cublaslt", 0, 0, 1), ok_result("int8-fa", 1e-3, 0.01, 0.5),
               ok_result("int8-qk", 1e-6, 0.01, 0.5), ok_result("fp16-fa", 0, 0, 1)};
  apply_fallback_policy(c, Thresholds{}, true);
  EXPECT_FALSE(c.kernels[0].fallback.has_value());
  ASSERT_TRUE(c.kernels[1].fallback.has_value());
  EXPECT_EQ(c.kernels[1].fallback->decision, Decision::Fp16Fallback);
  EXPECT_EQ(c.kernels[2].fallback->decision, Decision::Int8);
  EXPECT_FALSE(c.kernels[3].fallback.has_value());
}
