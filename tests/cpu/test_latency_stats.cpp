#include "src/bench/latency_stats.h"

#include <cmath>

#include <gtest/gtest.h>

namespace int8attn {
namespace {

TEST(LatencyStats, PercentilesInterpolateBetweenRanks) {
  const std::vector<double> sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  EXPECT_DOUBLE_EQ(percentile_sorted(sorted, 0.0), 1);
  EXPECT_DOUBLE_EQ(percentile_sorted(sorted, 0.1), 2);
  EXPECT_DOUBLE_EQ(percentile_sorted(sorted, 0.5), 6);
  EXPECT_DOUBLE_EQ(percentile_sorted(sorted, 0.9), 10);
  EXPECT_DOUBLE_EQ(percentile_sorted(sorted, 1.0), 11);
  EXPECT_DOUBLE_EQ(percentile_sorted({10, 20}, 0.5), 15);
  EXPECT_DOUBLE_EQ(percentile_sorted({10, 20}, 0.25), 12.5);
}

TEST(LatencyStats, SummaryOfUnsortedSamples) {
  const std::vector<double> samples = {9, 2, 4, 4, 5, 7, 4, 5};
  const LatencyStats s = compute_latency_stats(samples, false);
  EXPECT_EQ(s.samples, 8);
  EXPECT_DOUBLE_EQ(s.mean_ms, 5);
  EXPECT_DOUBLE_EQ(s.median_ms, 4.5);
  EXPECT_DOUBLE_EQ(s.min_ms, 2);
  EXPECT_DOUBLE_EQ(s.max_ms, 9);
  EXPECT_NEAR(s.stddev_ms, std::sqrt(32.0 / 7.0), 1e-12);  // sample (n-1) stddev
  EXPECT_NEAR(s.rel_noise, std::sqrt(32.0 / 7.0) / 5, 1e-12);
  EXPECT_NEAR(s.p10_ms, 2 + 0.7 * 2, 1e-12);  // rank 0.7 between 2 and 4
  EXPECT_TRUE(s.raw_ms.empty());
  const LatencyStats kept = compute_latency_stats(samples, true);
  EXPECT_EQ(kept.raw_ms, samples);  // in measurement order
}

TEST(LatencyStats, EmptyAndSingleSample) {
  EXPECT_EQ(compute_latency_stats({}, false).samples, 0);
  const LatencyStats one = compute_latency_stats({3.5}, false);
  EXPECT_DOUBLE_EQ(one.median_ms, 3.5);
  EXPECT_DOUBLE_EQ(one.stddev_ms, 0);
}

MeasureOptions options() {
  MeasureOptions m;
  m.min_samples = 5;
  m.max_samples = 50;
  m.min_seconds = 0.01;  // 10 ms of GPU time
  m.max_seconds = 100;
  m.target_noise = 0.01;
  return m;
}

TEST(SampleCollector, StopsOnLowNoiseOnlyAfterMinimumTimeAndSamples) {
  SampleCollector c(options());
  for (int i = 0; i < 4; ++i) {
    c.add(5.0, 0.005);
    EXPECT_FALSE(c.done()) << i;  // fewer than min_samples
  }
  c.add(5.0, 0.005);  // 5 samples, 25 ms, zero noise
  EXPECT_TRUE(c.done());
  EXPECT_NE(c.stop_reason().find("noise"), std::string::npos);
  EXPECT_EQ(c.stats().stop_reason, c.stop_reason());
}

TEST(SampleCollector, WaitsForMinimumGpuTime) {
  SampleCollector c(options());
  for (int i = 0; i < 9; ++i) c.add(0.001, 1e-5);  // 9 µs of GPU time in all
  EXPECT_FALSE(c.done());
}

TEST(SampleCollector, NoisySamplesRunToTheSampleCap) {
  SampleCollector c(options());
  int n = 0;
  while (!c.done()) c.add(n++ % 2 ? 1.0 : 2.0, 0.001);  // 33% noise never settles
  EXPECT_EQ(n, 50);
  EXPECT_NE(c.stop_reason().find("max_samples"), std::string::npos);
  EXPECT_EQ(c.stats().stop_reason, c.stop_reason());  // the report says the noise target was missed
}

TEST(SampleCollector, WallTimeCapStopsSlowSamples) {
  MeasureOptions m = options();
  m.max_seconds = 1.0;
  SampleCollector c(m);
  c.add(1.0, 0.6);
  EXPECT_FALSE(c.done());
  c.add(3.0, 0.6);
  EXPECT_TRUE(c.done());
  EXPECT_NE(c.stop_reason().find("max_seconds"), std::string::npos);
}

TEST(SampleCollector, RelativeNoiseMatchesTwoPassStatistics) {
  SampleCollector c(options());
  const std::vector<double> xs = {1000.001, 1000.002, 1000.003, 999.999};
  for (double x : xs) c.add(x, 0);
  EXPECT_NEAR(c.relative_noise(), compute_latency_stats(xs, false).rel_noise, 1e-12);
}

}  // namespace
}  // namespace int8attn
