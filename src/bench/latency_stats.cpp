#include "src/bench/latency_stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace int8attn {

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (rank - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

LatencyStats compute_latency_stats(const std::vector<double>& samples_ms, bool keep_samples) {
  LatencyStats s;
  s.samples = static_cast<int64_t>(samples_ms.size());
  if (samples_ms.empty()) return s;
  std::vector<double> sorted = samples_ms;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double x : sorted) sum += x;
  s.mean_ms = sum / static_cast<double>(sorted.size());
  double squares = 0;  // two-pass: no cancellation for tightly clustered samples
  for (double x : sorted) squares += (x - s.mean_ms) * (x - s.mean_ms);
  s.stddev_ms = sorted.size() > 1 ? std::sqrt(squares / static_cast<double>(sorted.size() - 1)) : 0.0;
  s.rel_noise = s.mean_ms > 0 ? s.stddev_ms / s.mean_ms : 0.0;
  s.min_ms = sorted.front();
  s.max_ms = sorted.back();
  s.median_ms = percentile_sorted(sorted, 0.5);
  s.p10_ms = percentile_sorted(sorted, 0.1);
  s.p90_ms = percentile_sorted(sorted, 0.9);
  if (keep_samples) s.raw_ms = samples_ms;
  return s;
}

std::optional<SmClockStats> compute_sm_clock_stats(const std::vector<double>& readings_mhz) {
  std::vector<double> read;
  for (double mhz : readings_mhz) {
    if (mhz > 0 && std::isfinite(mhz)) read.push_back(mhz);
  }
  if (read.empty()) return std::nullopt;
  std::sort(read.begin(), read.end());
  return SmClockStats{percentile_sorted(read, 0.5), read.front(), static_cast<int64_t>(read.size())};
}

void SampleCollector::add(double gpu_ms, double wall_seconds, double sm_clock_mhz) {
  samples_ms_.push_back(gpu_ms);
  clocks_mhz_.push_back(sm_clock_mhz);
  gpu_seconds_ += gpu_ms * 1e-3;
  wall_seconds_ += wall_seconds;
  // Welford's update: stable however tightly the samples cluster.
  const double delta = gpu_ms - mean_;
  mean_ += delta / static_cast<double>(samples_ms_.size());
  m2_ += delta * (gpu_ms - mean_);
}

double SampleCollector::relative_noise() const {
  const size_t n = samples_ms_.size();
  if (n < 2) return INFINITY;
  return mean_ > 0 ? std::sqrt(m2_ / static_cast<double>(n - 1)) / mean_ : INFINITY;
}

std::string SampleCollector::stop_reason() const {
  const int64_t n = static_cast<int64_t>(samples_ms_.size());
  if (n >= options_.max_samples) return fmt::format("max_samples {}", options_.max_samples);
  // Wall time bounds the case even when host overhead dominates tiny kernels.
  if (n > 0 && std::max(gpu_seconds_, wall_seconds_) >= options_.max_seconds) {
    return fmt::format("max_seconds {}", options_.max_seconds);
  }
  if (n >= std::max(options_.min_samples, 2) && gpu_seconds_ >= options_.min_seconds) {
    const double noise = relative_noise();
    if (noise < options_.target_noise) {
      return fmt::format("noise {:.3g}% < {:.3g}%", noise * 100, options_.target_noise * 100);
    }
  }
  return {};
}

bool SampleCollector::done() const { return !stop_reason().empty(); }

LatencyStats SampleCollector::stats() const {
  LatencyStats s = compute_latency_stats(samples_ms_, options_.keep_samples);
  s.stop_reason = stop_reason();
  s.sm_clock = compute_sm_clock_stats(clocks_mhz_);
  return s;
}

LatencyStats measure_latency(const MeasureOptions& m, const std::function<void()>& warm_up,
                             const std::function<LatencySample()>& sample) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < m.warmup_runs; ++i) warm_up();
  SampleCollector samples(m);
  while (!samples.done()) {
    const Clock::time_point t0 = Clock::now();
    const LatencySample one = sample();
    samples.add(one.ms, std::chrono::duration<double>(Clock::now() - t0).count(), one.sm_clock_mhz);
  }
  return samples.stats();
}

}  // namespace int8attn
