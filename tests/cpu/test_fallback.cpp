#include <gtest/gtest.h>

#include <cmath>

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

KernelResult status_only(const std::string& name, KernelStatus status, const std::string& reason) {
  return status_result(name, status, reason);
}

template <class D>
bool has_reason(const D& d, const std::string& text) {
  for (const std::string& r : d.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(Fallback, WithinThresholdsStaysInt8) {
  const FallbackDecision d = decide_fallback(ok_result("int8-fa", 1e-6, 0.01, 1.0), Thresholds{}, nullptr);
  EXPECT_EQ(d.decision, Decision::Int8);
  EXPECT_TRUE(d.reasons.empty());
}

TEST(Fallback, EveryCrossedThresholdIsAReasonWithTheMeasuredValue) {
  Thresholds t;
  t.max_rel_l2 = 0.005;
  t.min_cosine = 0.99999;
  const FallbackDecision d = decide_fallback(ok_result("int8-fa", 2e-4, 0.07, 1.0), t, nullptr);
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
  const FallbackDecision d = decide_fallback(r, Thresholds{}, nullptr);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(d, "3 non-finite"));
  EXPECT_TRUE(has_reason(d, "not measurable"));  // not "mse nan > ...", which explains nothing
}

TEST(Fallback, SkippedAndErrorCarryTheirReason) {
  KernelResult skipped;
  skipped.kernel = "int8-fa";
  skipped.status = KernelStatus::Skipped;
  skipped.reason = "architecture: needs compute capability >= 8.0";
  EXPECT_TRUE(has_reason(decide_fallback(skipped, Thresholds{}, nullptr), "architecture"));
  KernelResult error = skipped;
  error.status = KernelStatus::Error;
  error.reason = "out of memory";
  const FallbackDecision d = decide_fallback(error, Thresholds{}, nullptr);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(d, "kernel error: out of memory"));
}

TEST(Fallback, SlowerThanTheBaselineNamesBothKernelsAndTimes) {
  const KernelResult int8 = ok_result("int8-fa", 1e-6, 0.01, 1.21);
  const Baseline baseline{kFastestFp16Rule, "fp16-cudnn", 0.87, ""};
  const FallbackDecision d = decide_fallback(int8, Thresholds{}, &baseline);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(d, "speed: int8-fa 1.21 ms is slower than fp16-cudnn 0.87 ms")) << d.reasons.at(0);
  const Baseline no_latency{kFastestFp16Rule, "", std::nullopt, "no FP16 kernel produced a latency in this case"};
  EXPECT_EQ(decide_fallback(int8, Thresholds{}, &no_latency).decision, Decision::Int8);
}

TEST(Fallback, NoBaselineWithoutRealLatencies) {
  // The CPU backend measures no latency: no baseline, no speedups, no speed reasons.
  CaseResult c;
  c.kernels = {ok_result("int8-fa", 1e-6, 0.01, 2.0), ok_result("fp16-fa", 0, 0, 1.0)};
  apply_fallback_policy(c, RunSettings{}, /*latencies_meaningful=*/false);
  EXPECT_FALSE(c.baseline.has_value());
  EXPECT_FALSE(c.kernels[0].speedup.has_value());
  EXPECT_EQ(c.kernels[0].fallback->decision, Decision::Int8);
}

TEST(Fallback, BaselineIsTheFastestFp16KernelOfTheCase) {
  CaseResult c;
  c.kernels = {ok_result("fp16-ref-cublaslt", 0, 0, 0.1), ok_result("int8-fa", 1e-6, 0.01, 1.21),
               ok_result("fp16-fa", 0, 0, 1.5), ok_result("fp16-cudnn", 0, 0, 0.87)};
  apply_fallback_policy(c, RunSettings{}, true);
  ASSERT_TRUE(c.baseline.has_value());
  EXPECT_EQ(c.baseline->rule, kFastestFp16Rule);
  EXPECT_EQ(c.baseline->kernel, "fp16-cudnn");  // not the reference, though it is "faster" here
  EXPECT_DOUBLE_EQ(*c.baseline->median_ms, 0.87);
  EXPECT_TRUE(has_reason(*c.kernels[1].fallback, "slower than fp16-cudnn 0.87 ms"));
  EXPECT_NEAR(*c.kernels[1].speedup, 0.87 / 1.21, 1e-12);
  EXPECT_NEAR(*c.kernels[2].speedup, 0.87 / 1.5, 1e-12);
  EXPECT_DOUBLE_EQ(*c.kernels[3].speedup, 1.0);
  EXPECT_FALSE(c.kernels[0].speedup.has_value());  // the reference is no competitor
}

TEST(Fallback, FastestFp16IgnoresFailedAndSkippedKernels) {
  CaseResult c;
  KernelResult cudnn_failed = ok_result("fp16-cudnn", 0, 0, 0.5);
  cudnn_failed.status = KernelStatus::Error;  // a latency left over must not count
  c.kernels = {ok_result("int8-fa", 1e-6, 0.01, 1.0), cudnn_failed,
               status_only("fp8-cudnn", KernelStatus::Skipped, "cuDNN: built without cuDNN"),
               ok_result("fp16-fa", 0, 0, 1.5)};
  apply_fallback_policy(c, RunSettings{}, true);
  EXPECT_EQ(c.baseline->kernel, "fp16-fa");
  EXPECT_EQ(c.kernels[0].fallback->decision, Decision::Int8);
  EXPECT_NEAR(*c.kernels[0].speedup, 1.5, 1e-12);
}

TEST(Fallback, NoFp16KernelMeansNoSpeedCriterionAndANote) {
  CaseResult c;
  c.kernels = {ok_result("int8-fa", 1e-6, 0.01, 1.0)};
  apply_fallback_policy(c, RunSettings{}, true);
  ASSERT_TRUE(c.baseline.has_value());
  EXPECT_TRUE(c.baseline->kernel.empty());
  EXPECT_FALSE(c.baseline->note.empty());
  EXPECT_EQ(c.kernels[0].fallback->decision, Decision::Int8);
  EXPECT_FALSE(c.kernels[0].speedup.has_value());
}

TEST(Fallback, ConfiguredBaselineWinsOverTheFastest) {
  CaseResult c;
  c.kernels = {ok_result("int8-fa", 1e-6, 0.01, 1.21), ok_result("fp16-fa", 0, 0, 1.5),
               ok_result("fp16-cudnn", 0, 0, 0.87)};
  RunSettings s;
  s.baseline = "fp16-fa";
  apply_fallback_policy(c, s, true);
  EXPECT_EQ(c.baseline->rule, "configured");
  EXPECT_EQ(c.baseline->kernel, "fp16-fa");
  EXPECT_EQ(c.kernels[0].fallback->decision, Decision::Int8);  // faster than fp16-fa
  EXPECT_NEAR(*c.kernels[0].speedup, 1.5 / 1.21, 1e-12);
}

TEST(Fallback, ConfiguredBaselineThatFailedOrWasSkippedIsNotReplaced) {
  for (KernelStatus status : {KernelStatus::Error, KernelStatus::Skipped}) {
    CaseResult c;
    c.kernels = {ok_result("int8-fa", 1e-6, 0.01, 1.21), ok_result("fp16-fa", 0, 0, 0.5),
                 status_only("fp16-cudnn", status, "cuDNN declined the problem")};
    RunSettings s;
    s.baseline = "fp16-cudnn";
    apply_fallback_policy(c, s, true);
    EXPECT_EQ(c.baseline->kernel, "fp16-cudnn");
    EXPECT_FALSE(c.baseline->median_ms.has_value());
    EXPECT_NE(c.baseline->note.find("cuDNN declined the problem"), std::string::npos) << c.baseline->note;
    // fp16-fa is faster, but it is not the baseline the user asked for: no silent stand-in.
    EXPECT_EQ(c.kernels[0].fallback->decision, Decision::Int8);
    EXPECT_FALSE(c.kernels[0].speedup.has_value());
  }
  CaseResult absent;
  absent.kernels = {ok_result("int8-fa", 1e-6, 0.01, 1.21)};
  RunSettings s;
  s.baseline = "fp16-cudnn";
  apply_fallback_policy(absent, s, true);
  EXPECT_NE(absent.baseline->note.find("did not run"), std::string::npos);
}

TEST(Fallback, Fp8VerdictNeedsSpeedAndAccuracy) {
  CaseResult c;
  KernelResult fp8 = ok_result("fp8-cudnn", 1e-6, 0.01, 0.5);
  c.kernels = {fp8, ok_result("fp16-cudnn", 0, 0, 0.87)};
  apply_fallback_policy(c, RunSettings{}, true);
  ASSERT_TRUE(c.kernels[0].fp8_verdict.has_value());
  EXPECT_EQ(c.kernels[0].fp8_verdict->decision, Fp8Decision::Fp8);
  EXPECT_FALSE(c.kernels[0].fallback.has_value());
  EXPECT_FALSE(c.kernels[1].fp8_verdict.has_value());

  c.kernels[0] = ok_result("fp8-cudnn", 1e-6, 0.01, 0.9);  // slower
  apply_fallback_policy(c, RunSettings{}, true);
  EXPECT_EQ(c.kernels[0].fp8_verdict->decision, Fp8Decision::Fp16);
  EXPECT_TRUE(has_reason(*c.kernels[0].fp8_verdict, "speed: fp8-cudnn 0.9 ms is slower than fp16-cudnn 0.87 ms"));

  c.kernels[0] = ok_result("fp8-cudnn", 1e-3, 0.01, 0.5);  // fast but mse over the threshold
  apply_fallback_policy(c, RunSettings{}, true);
  EXPECT_TRUE(has_reason(*c.kernels[0].fp8_verdict, "accuracy: mse"));

  c.kernels = {ok_result("fp8-cudnn", 1e-6, 0.01, 0.5)};  // nothing to be faster than
  apply_fallback_policy(c, RunSettings{}, true);
  EXPECT_EQ(c.kernels[0].fp8_verdict->decision, Fp8Decision::Fp16);
  EXPECT_TRUE(has_reason(*c.kernels[0].fp8_verdict, "speed:"));
}

TEST(Fallback, PolicyDecidesInt8KernelsOnly) {
  CaseResult c;
  c.kernels = {ok_result("fp16-ref-cublaslt", 0, 0, 1), ok_result("int8-fa", 1e-3, 0.01, 0.5),
               ok_result("int8-qk", 1e-6, 0.01, 0.5), ok_result("fp16-fa", 0, 0, 1)};
  apply_fallback_policy(c, RunSettings{}, true);
  EXPECT_FALSE(c.kernels[0].fallback.has_value());
  ASSERT_TRUE(c.kernels[1].fallback.has_value());
  EXPECT_EQ(c.kernels[1].fallback->decision, Decision::Fp16Fallback);
  EXPECT_EQ(c.kernels[2].fallback->decision, Decision::Int8);
  EXPECT_FALSE(c.kernels[3].fallback.has_value());
}

// An output that is all zeros next to a small reference stays under max_mse and
// max_abs_error; it is still no INT8 kernel anyone should deploy.
TEST(Fallback, AllZeroOutputNeverPasses) {
  KernelResult zeros = ok_result("int8-fa", 1e-6, 0.004, 1.0);
  zeros.accuracy->rel_l2 = 1.0;
  zeros.accuracy->cosine = 0.0;
  const FallbackDecision d = decide_fallback(zeros, Thresholds{}, nullptr);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(d, "cosine 0: the output is all zeros or unrelated to the reference"));
  Thresholds with_cosine;
  with_cosine.min_cosine = 0.99;
  EXPECT_EQ(decide_fallback(zeros, with_cosine, nullptr).reasons.size(), 1u);  // said once
}

TEST(FallbackRotation, TriedOnlyForAKernelThatMissedAccuracyAlone) {
  const Thresholds t;
  EXPECT_TRUE(rotation_may_help(ok_result("int8-fa", 2e-4, 0.01, 1.0), t, nullptr));
  EXPECT_TRUE(rotation_may_help(ok_result("int8-fa", 1e-6, 0.7, 1.0), t, nullptr));
  EXPECT_FALSE(rotation_may_help(ok_result("int8-fa", 1e-6, 0.01, 1.0), t, nullptr)) << "within every threshold";
  const Baseline faster{kFastestFp16Rule, "fp16-cudnn", 0.5, ""};
  EXPECT_FALSE(rotation_may_help(ok_result("int8-fa", 2e-4, 0.01, 1.0), t, &faster)) << "slower: rotating adds time";
  EXPECT_FALSE(rotation_may_help(status_only("int8-fa", KernelStatus::Error, "boom"), t, nullptr));
  EXPECT_FALSE(rotation_may_help(status_only("int8-fa", KernelStatus::Skipped, "shape"), t, nullptr));
  KernelResult nonfinite = ok_result("int8-fa", 2e-4, 0.01, 1.0);
  nonfinite.accuracy->nonfinite = 1;
  EXPECT_FALSE(rotation_may_help(nonfinite, t, nullptr));
  KernelResult zero_reference = ok_result("int8-fa", 0, 0, 1.0);
  zero_reference.accuracy->rel_l2 = zero_reference.accuracy->cosine = std::nan("");
  EXPECT_FALSE(rotation_may_help(zero_reference, t, nullptr));
  KernelResult zero_output = ok_result("int8-fa", 2e-4, 0.01, 1.0);
  zero_output.accuracy->cosine = 0;
  EXPECT_FALSE(rotation_may_help(zero_output, t, nullptr));
}

TEST(FallbackRotation, PassingRotatedRunKeepsInt8WithBothRunsReasons) {
  KernelResult plain = ok_result("int8-fa", 1e-6, 0.67, 1.0);
  plain.fallback = decide_fallback(plain, Thresholds{}, nullptr);
  judge_rotated_attempt(plain, ok_result("int8-fa", 1e-6, 0.02, 1.0), QkRotation::Hadamard, Thresholds{}, nullptr);
  const FallbackDecision& d = *plain.fallback;
  EXPECT_EQ(d.decision, Decision::Int8Hadamard);
  ASSERT_EQ(d.reasons.size(), 2u);
  EXPECT_EQ(d.reasons[0], "accuracy: max_abs_error 0.67 > max_abs_error limit 0.05");
  EXPECT_EQ(d.reasons[1], "with the hadamard rotation: within every threshold (max_abs_error 0.02, rel_l2 0.01)");
  ASSERT_TRUE(d.rotated);
  EXPECT_EQ(d.rotated->rotation, QkRotation::Hadamard);
  EXPECT_EQ(d.rotated->status, KernelStatus::Ok);
  EXPECT_TRUE(d.rotated->reasons.empty());
  EXPECT_DOUBLE_EQ(d.rotated->accuracy->max_abs_error, 0.02);
  EXPECT_DOUBLE_EQ(plain.accuracy->max_abs_error, 0.67) << "the kernel's own accuracy stays the unrotated run's";
  EXPECT_TRUE(keeps_int8(d.decision));
}

TEST(FallbackRotation, FailingRotatedRunFallsBackWithItsReasonsToo) {
  const Baseline baseline{kFastestFp16Rule, "fp16-cudnn", 1.1, ""};
  KernelResult plain = ok_result("int8-qk", 1e-6, 0.67, 1.0);
  plain.fallback = decide_fallback(plain, Thresholds{}, &baseline);
  judge_rotated_attempt(plain, ok_result("int8-qk", 1e-6, 0.2, 1.2), QkRotation::Hadamard, Thresholds{}, &baseline);
  const FallbackDecision& d = *plain.fallback;
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{
                           "accuracy: max_abs_error 0.67 > max_abs_error limit 0.05",
                           "with the hadamard rotation: accuracy: max_abs_error 0.2 > max_abs_error limit 0.05",
                           "with the hadamard rotation: speed: int8-qk 1.2 ms is slower than fp16-cudnn 1.1 ms"}));
  EXPECT_NEAR(*d.rotated->speedup, 1.1 / 1.2, 1e-12);
  EXPECT_EQ(d.rotated->reasons.size(), 2u);

  KernelResult failed = ok_result("int8-qk", 1e-6, 0.67, 1.0);
  judge_rotated_attempt(failed, status_only("int8-qk", KernelStatus::Error, "launch failed"), QkRotation::Hadamard,
                        Thresholds{}, nullptr);
  EXPECT_EQ(failed.fallback->decision, Decision::Fp16Fallback);
  EXPECT_TRUE(has_reason(*failed.fallback, "with the hadamard rotation: kernel error: launch failed"));
  EXPECT_EQ(failed.fallback->rotated->reason, "launch failed");
}
