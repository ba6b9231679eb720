#include <cmath>
#include <limits>

#include <gtest/gtest.h>

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

TEST(CpuMetrics, SizeMismatchThrows) {
  const std::vector<float> out = {1.f};
  const std::vector<double> ref = {1.0, 2.0};
  EXPECT_THROW(compute_accuracy(out, ref, {1, 1, 1, 2}), std::invalid_argument);
}

}  // namespace
}  // namespace int8attn::cpu
