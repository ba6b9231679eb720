#include "src/report/stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace int8attn {

double median_standard_error(const LatencyStats& stats) {
  double sigma = stats.stddev_ms > 0 ? stats.stddev_ms : stats.rel_noise * stats.mean_ms;
  if (!(sigma > 0)) return 0.0;
  if (stats.samples < 2) return sigma;
  constexpr double kMedianEfficiency = 1.2533141373155;  // sqrt(pi/2)
  return kMedianEfficiency * sigma / std::sqrt(static_cast<double>(stats.samples));
}

std::optional<double> mann_whitney_greater_p(const std::vector<double>& larger,
                                             const std::vector<double>& smaller) {
  // Pool (finite values only: NaN would break both the sort and the tie grouping) and rank
  // with average ranks for ties, remembering which side each value came from.
  std::vector<std::pair<double, bool>> pooled;
  pooled.reserve(larger.size() + smaller.size());
  size_t n1 = 0, n2 = 0;
  for (double v : larger) {
    if (std::isfinite(v)) pooled.emplace_back(v, true), ++n1;
  }
  for (double v : smaller) {
    if (std::isfinite(v)) pooled.emplace_back(v, false), ++n2;
  }
  if (n1 == 0 || n2 == 0) return std::nullopt;
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const double n = static_cast<double>(n1 + n2);
  double rank_sum_larger = 0, tie_term = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second) rank_sum_larger += avg_rank;
    }
    i = j;
  }
  const double u = rank_sum_larger - static_cast<double>(n1) * (n1 + 1) / 2.0;
  const double mean_u = static_cast<double>(n1) * n2 / 2.0;
  const double var_u = static_cast<double>(n1) * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (!(var_u > 0)) return 1.0;  // every value equal: no evidence either way
  const double z = (u - mean_u - 0.5) / std::sqrt(var_u);
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

}  // namespace int8attn
