#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "common/error_metrics.h"
#include "src/cpu/metrics.h"

namespace int8attn::cpu {
namespace {

TEST(CpuMetrics, HandComputedValues) {
  // shape [1, 2, 1, 2]: out - ref = {0, 0.5, -1, 0}
  const std::vector<float> out = {1.f, 2.5f, 2.f, 4.f};
  const std::vector<double> ref = {1.0, 2.0, 3.0, 4.0};
  const Accuracy acc = compute_accuracy(out, ref, {1, 2, 1, 2});
  EXPECT_DOUBLE_EQ(acc.mse, (0.25 + 1.0) / 4);
  EXPECT_DOUBLE_EQ(acc.mean_abs_error, 1.5 / 4);
  EXPECT_DOUBLE_EQ(acc.max_abs_error, 1.0);
  EXPECT_EQ(acc.max_abs_index, 2);
  EXPECT_EQ(acc.max_abs_at, (std::vector<int64_t>{0, 1, 0, 0}));
  EXPECT_DOUBLE_EQ(acc.rel_l2, std::sqrt(1.25 / 30.0));
  const double dot = 1 + 5 + 6 + 16;
  const double norms = std::sqrt(1 + 6.25 + 4 + 16) * std::sqrt(30.0);
  EXPECT_DOUBLE_EQ(acc.cosine, dot / norms);
  EXPECT_EQ(acc.nonfinite, 0);
}

TEST(CpuMetrics, IdenticalIsPerfect) {
  const std::vector<float> out = {0.5f, -0.25f, 3.f};
  const std::vector<double> ref = {0.5, -0.25, 3.0};
  const Accuracy acc = compute_accuracy(out, ref, {1, 1, 3, 1});
  EXPECT_EQ(acc.mse, 0);
  EXPECT_EQ(acc.rel_l2, 0);
  EXPECT_DOUBLE_EQ(acc.cosine, 1);
}

TEST(CpuMetrics, OppositeVectorHasCosineMinusOne) {
  const std::vector<float> out = {-1.f, -2.f};
  const std::vector<double> ref = {1.0, 2.0};
  const Accuracy acc = compute_accuracy(out, ref, {1, 1, 1, 2});
  EXPECT_DOUBLE_EQ(acc.cosine, -1);
  EXPECT_DOUBLE_EQ(acc.rel_l2, 2);
}

TEST(CpuMetrics, MaxErrorLocationIsUnflattened) {
  std::vector<float> out(2 * 3 * 4 * 5, 0.f);
  const std::vector<double> ref(out.size(), 0.0);
  const int64_t at = ((1 * 3 + 2) * 4 + 3) * 5 + 1;  // {1, 2, 3, 1}
  out[at] = 0.125f;
  const Accuracy acc = compute_accuracy(out, ref, {2, 3, 4, 5});
  EXPECT_EQ(acc.max_abs_index, at);
  EXPECT_EQ(acc.max_abs_at, (std::vector<int64_t>{1, 2, 3, 1}));
  EXPECT_TRUE(std::isnan(acc.rel_l2));  // zero reference: relative error undefined
  EXPECT_TRUE(std::isnan(acc.cosine));
}

// Issue 11 item 7: a zero or non-finite reference must never read as rel L2 0 / cosine 1.
TEST(CpuMetrics, ZeroReferenceIsUndefinedNotPerfect) {
  const std::vector<float> out(8, 0.f);
  const std::vector<double> ref(8, 0.0);
  const Accuracy acc = compute_accuracy(out, ref, {1, 1, 2, 4});
  EXPECT_TRUE(std::isnan(acc.rel_l2));
  EXPECT_TRUE(std::isnan(acc.cosine));
}

TEST(CpuMetrics, NonFiniteReferenceMakesEveryMetricNaN) {
  const std::vector<float> out = {0.f, 0.f, 0.f, 0.f};
  const std::vector<double> ref = {0.0, std::numeric_limits<double>::quiet_NaN(), 0.0,
                                   std::numeric_limits<double>::infinity()};
  const Accuracy acc = compute_accuracy(out, ref, {1, 1, 2, 2});
  for (double metric : {acc.mse, acc.max_abs_error, acc.mean_abs_error, acc.rel_l2, acc.cosine}) {
    EXPECT_TRUE(std::isnan(metric));
  }
  EXPECT_EQ(acc.max_abs_index, 1);
}

TEST(CpuMetrics, NonFiniteNeverPasses) {
  const std::vector<float> out = {1.f, std::numeric_limits<float>::quiet_NaN(), 3.f,
                                  std::numeric_limits<float>::infinity()};
  const std::vector<double> ref = {1.0, 2.0, 3.0, 4.0};
  const Accuracy acc = compute_accuracy(out, ref, {1, 1, 2, 2});
  EXPECT_EQ(acc.nonfinite, 2);
  EXPECT_TRUE(std::isinf(acc.max_abs_error));
  EXPECT_TRUE(std::isinf(acc.mse));
  EXPECT_TRUE(std::isinf(acc.rel_l2));
  EXPECT_EQ(acc.max_abs_index, 1);
  EXPECT_EQ(acc.max_abs_at, (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_LT(acc.cosine, 0.5);
}

TEST(CpuMetrics, ZeroOutputAgainstANonZeroReferenceIsUnrelated) {
  const std::vector<float> out(4, 0.f);
  const std::vector<double> ref = {0.01, -0.02, 0.0, 0.03};
  const Accuracy acc = compute_accuracy(out, ref, {1, 1, 2, 2});
  EXPECT_EQ(acc.cosine, 0);
  EXPECT_EQ(acc.rel_l2, 1);
}

// The GPU's reduction (kernels/harness/metrics.cu) sums interleaved slices of the elements and merges
// them in a tree; common/error_metrics.h gives it the CPU's conventions. Replayed here: the
// same NaN/inf/zero verdicts and the same location as the CPU's one pass, on every case the
// conventions name.
ErrorValues tree_metrics(const std::vector<float>& out, const std::vector<double>& ref, int slices) {
  std::vector<ErrorSums> parts(static_cast<size_t>(slices));
  for (size_t i = 0; i < out.size(); ++i) {
    add_error_element(parts[i % slices], out[i], ref[i], static_cast<int64_t>(i));
  }
  for (int stride = slices / 2; stride > 0; stride /= 2) {
    for (int t = 0; t < stride; ++t) merge_error_sums(parts[t], parts[t + stride]);
  }
  return finish_error_sums(parts[0], static_cast<int64_t>(out.size()));
}

TEST(ErrorMetrics, ParallelMergeFollowsTheCpuConventions) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<double> ref(64), zeros(64, 0.0);
  std::vector<float> out(64), zero_out(64, 0.f);
  for (int i = 0; i < 64; ++i) {
    ref[i] = std::sin(0.3 * i);
    out[i] = static_cast<float>(ref[i] + 0.001 * std::cos(1.7 * i));
  }
  std::vector<double> bad_ref = ref;
  bad_ref[37] = kNaN;
  bad_ref[50] = kNaN;
  std::vector<float> bad_out = out;
  bad_out[45] = kInf;
  bad_out[9] = -kInf;
  const struct {
    const char* what;
    std::vector<float> out;
    std::vector<double> ref;
  } cases[] = {{"ordinary", out, ref},
               {"zero output and reference", zero_out, zeros},
               {"reference not finite", out, bad_ref},
               {"output not finite", bad_out, ref},
               {"zero output", zero_out, ref}};
  for (const auto& c : cases) {
    const Accuracy want = compute_accuracy(c.out, c.ref, {1, 1, 8, 8});
    const ErrorValues got = tree_metrics(c.out, c.ref, 16);
    auto same = [](double a, double b) {
      return (std::isnan(a) && std::isnan(b)) || a == b || std::fabs(a - b) <= 1e-12 * std::fabs(b);
    };
    EXPECT_TRUE(same(got.mse, want.mse)) << c.what << ": " << got.mse << " vs " << want.mse;
    EXPECT_TRUE(same(got.max_abs_error, want.max_abs_error)) << c.what;
    EXPECT_TRUE(same(got.mean_abs_error, want.mean_abs_error)) << c.what;
    EXPECT_TRUE(same(got.rel_l2, want.rel_l2)) << c.what << ": " << got.rel_l2 << " vs " << want.rel_l2;
    EXPECT_TRUE(same(got.cosine, want.cosine)) << c.what << ": " << got.cosine << " vs " << want.cosine;
    EXPECT_EQ(got.max_abs_index, want.max_abs_index) << c.what;
    EXPECT_EQ(got.nonfinite, want.nonfinite) << c.what;
  }
  // What each convention says (the CPU's values, which the merge matched above).
  EXPECT_TRUE(std::isnan(tree_metrics(zero_out, zeros, 16).rel_l2));  // not 0: never "perfect"
  EXPECT_EQ(tree_metrics(out, bad_ref, 16).max_abs_index, 37);
  EXPECT_EQ(tree_metrics(bad_out, ref, 16).max_abs_index, 9);
  EXPECT_EQ(tree_metrics(bad_out, ref, 16).nonfinite, 2);
  EXPECT_EQ(tree_metrics(zero_out, ref, 16).cosine, 0);
}

TEST(CpuMetrics, SizeMismatchThrows) {
  const std::vector<float> out = {1.f};
  const std::vector<double> ref = {1.0, 2.0};
  EXPECT_THROW(compute_accuracy(out, ref, {1, 1, 1, 2}), std::invalid_argument);
}

}  // namespace
}  // namespace int8attn::cpu
