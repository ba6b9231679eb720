// Small statistics helpers for `compare`: the noise of a latency summary and a
// Mann-Whitney U test over raw samples (google-benchmark's compare uses the same test).
#pragma once
#include <optional>
#include <vector>

#include "src/report/report.h"

namespace int8attn {

// Standard error of a median from a latency summary: 1.2533 * sigma / sqrt(n) (the
// asymptotic value for normal data). sigma is stddev_ms, or rel_noise * mean_ms when the
// stddev is missing. With fewer than two samples the whole sigma is returned: one sample
// tells nothing about its own spread.
double median_standard_error(const LatencyStats& stats);

// One-sided Mann-Whitney U test: p-value of the hypothesis "values in `larger` tend to
// exceed values in `smaller`". Normal approximation with tie and continuity correction;
// non-finite samples are ignored; nullopt when either side has no finite sample.
// Needs about 5+ samples per side to ever reach p<0.01.
std::optional<double> mann_whitney_greater_p(const std::vector<double>& larger,
                                             const std::vector<double>& smaller);

}  // namespace int8attn
