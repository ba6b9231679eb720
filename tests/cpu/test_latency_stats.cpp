#include "src/bench/latency_stats.h"

#include <cmath>

#include "common/sm_clock.h"

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

// The clock readings of the samples: those without one (0) do not count; none, no statistics.
TEST(SampleCollector, KeepsTheSamplesSmClocks) {
  SampleCollector c(options());
  c.add(5.0, 0, 1980);
  c.add(5.0, 0, 0);  // not read
  c.add(5.0, 0, 1755);
  c.add(5.0, 0, 1800);
  const LatencyStats s = c.stats();
  ASSERT_TRUE(s.sm_clock);
  EXPECT_DOUBLE_EQ(s.sm_clock->median_mhz, 1800);
  EXPECT_DOUBLE_EQ(s.sm_clock->min_mhz, 1755);
  EXPECT_EQ(s.sm_clock->samples, 3);
  SampleCollector unread(options());
  unread.add(5.0, 0);
  EXPECT_FALSE(unread.stats().sm_clock);
  EXPECT_FALSE(compute_sm_clock_stats({0, NAN, -1}));
}

TEST(MeasureLatency, PassesEachSamplesClockOn) {
  MeasureOptions m = options();
  m.max_samples = 4;
  m.min_samples = 4;
  m.warmup_runs = 1;
  int warm = 0, taken = 0;
  const LatencySample readings[] = {{2.0, 1700}, {2.0, 1900}, {2.0, 1800}, {2.0, 1600}};
  const LatencyStats s = measure_latency(m, [&] { ++warm; }, [&] { return readings[taken++ % 4]; });
  EXPECT_EQ(warm, 1);
  EXPECT_EQ(taken, 4);
  ASSERT_TRUE(s.sm_clock);
  EXPECT_DOUBLE_EQ(s.sm_clock->median_mhz, 1750);
  EXPECT_DOUBLE_EQ(s.sm_clock->min_mhz, 1600);
}

// Cycles over nanoseconds between an SM's two stamps, the median over the SMs read at both
// ends; an SM read once, or whose counters did not move forward, is left out.
TEST(SmClock, MedianOverTheSmsReadTwice) {
  std::vector<SmStamp> before(6), after(6);
  auto sm = [&](int i, uint64_t ns0, uint64_t cycles0, uint64_t ns, uint64_t cycles) {
    before[i] = {ns0, cycles0};
    after[i] = {ns0 + ns, cycles0 + cycles};
  };
  sm(0, 1000, 50, 100'000, 198'000);   // 1980 MHz
  sm(1, 1003, 9'000, 100'000, 175'500);  // 1755 MHz
  sm(2, 1001, 70, 100'000, 180'000);   // 1800 MHz
  before[3] = {0, 0};                  // no block before
  after[3] = {5000, 10};
  before[4] = {2000, 500};             // the timer did not move
  after[4] = {2000, 900};
  // [5]: never read
  EXPECT_DOUBLE_EQ(median_sm_clock_mhz(before.data(), after.data(), 6), 1800);
  sm(5, 1002, 0, 100'000, 160'000);    // 1600: an even count takes the middle pair's mean
  EXPECT_DOUBLE_EQ(median_sm_clock_mhz(before.data(), after.data(), 6), 1777.5);
  EXPECT_DOUBLE_EQ(median_sm_clock_mhz(before.data(), after.data(), 0), 0);
  const std::vector<SmStamp> none(6);
  EXPECT_DOUBLE_EQ(median_sm_clock_mhz(none.data(), none.data(), 6), 0);
}

}  // namespace
}  // namespace int8attn
