// Latency statistics and the sampling stop rule of the GPU backend (nvbench-style): keep
// taking samples until the relative noise (stddev / mean) is under the target once enough
// GPU time and samples are in, or a sample / time cap is hit.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/model/result.h"
#include "src/model/settings.h"

namespace int8attn {

// Percentile q in [0, 1] of sorted values, linear interpolation between closest ranks.
double percentile_sorted(const std::vector<double>& sorted, double q);

// Median, mean, min, max, p10, p90, stddev (sample, n-1), relative noise; raw samples when asked.
LatencyStats compute_latency_stats(const std::vector<double>& samples_ms, bool keep_samples);

// Median and lowest of the readings above 0 MHz (0: none taken); nullopt when none is.
std::optional<SmClockStats> compute_sm_clock_stats(const std::vector<double>& readings_mhz);

// One timed run: its GPU time and the SM clock it ran at (0 when not read).
struct LatencySample {
  double ms = 0;
  double sm_clock_mhz = 0;
};

// Accumulates samples and says when to stop.
class SampleCollector {
 public:
  explicit SampleCollector(const MeasureOptions& options) : options_(options) {}

  // One sample: its GPU time, the wall time the whole sample took (flush, launch, sync) and
  // the SM clock it ran at (0 when not read).
  void add(double gpu_ms, double wall_seconds, double sm_clock_mhz = 0);
  bool done() const;
  // Why sampling stopped ("noise 0.3% < 0.5%", "max_samples 1000", "max_seconds 5"), or "".
  std::string stop_reason() const;
  const std::vector<double>& samples() const { return samples_ms_; }
  double relative_noise() const;
  // The statistics of the samples so far, with the stop reason: a report says whether a
  // latency met the noise target or ran out of samples or time (then it is noisier).
  LatencyStats stats() const;

 private:
  MeasureOptions options_;
  std::vector<double> samples_ms_;
  std::vector<double> clocks_mhz_;
  double gpu_seconds_ = 0;
  double wall_seconds_ = 0;
  double mean_ = 0, m2_ = 0;  // running mean and sum of squared deviations
};

// The one timing loop (the CUDA backend's latencies, `profile`'s): `warm_up` m.warmup_runs
// times, then `sample` (one timed run) until the collector stops; each sample's wall time is
// measured around `sample`. Exceptions of either pass through.
LatencyStats measure_latency(const MeasureOptions& m, const std::function<void()>& warm_up,
                             const std::function<LatencySample()>& sample);

}  // namespace int8attn
