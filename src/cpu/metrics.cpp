#include "src/cpu/metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace int8attn::cpu {

std::array<int64_t, 4> unflatten_index(int64_t index, const std::array<int64_t, 4>& shape) {
  std::array<int64_t, 4> at{};
  for (int axis = 3; axis >= 0; --axis) {
    at[axis] = index % shape[axis];
    index /= shape[axis];
  }
  return at;
}

Accuracy compute_accuracy(std::span<const float> out, std::span<const double> ref,
                          const std::array<int64_t, 4>& shape) {
  const int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
  if (static_cast<int64_t>(out.size()) != n || static_cast<int64_t>(ref.size()) != n) {
    throw std::invalid_argument("compute_accuracy: output, reference and shape sizes differ");
  }
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Accuracy acc;
  // A reference that is not finite measures nothing: every metric is NaN ("unknown"), never 0.
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(ref[i])) continue;
    acc.mse = acc.max_abs_error = acc.mean_abs_error = acc.rel_l2 = acc.cosine = kNaN;
    for (int64_t j = 0; j < n; ++j) acc.nonfinite += !std::isfinite(out[j]);
    acc.max_abs_index = i;
    const std::array<int64_t, 4> at = unflatten_index(i, shape);
    acc.max_abs_at.assign(at.begin(), at.end());
    return acc;
  }
  double sum_sq_err = 0, sum_abs_err = 0, sum_out_ref = 0, sum_out_sq = 0, sum_ref_sq = 0;
  int64_t first_nonfinite = -1;
  for (int64_t i = 0; i < n; ++i) {
    const double o = out[i];
    const double r = ref[i];
    if (!std::isfinite(o)) {
      if (first_nonfinite < 0) first_nonfinite = i;
      ++acc.nonfinite;
      continue;
    }
    const double err = o - r;
    const double abs_err = std::fabs(err);
    sum_sq_err += err * err;
    sum_abs_err += abs_err;
    sum_out_ref += o * r;
    sum_out_sq += o * o;
    sum_ref_sq += r * r;
    if (abs_err > acc.max_abs_error) {
      acc.max_abs_error = abs_err;
      acc.max_abs_index = i;
    }
  }
  if (acc.nonfinite > 0) {
    acc.mse = acc.max_abs_error = acc.mean_abs_error = acc.rel_l2 = kInf;
    acc.cosine = 0;
    acc.max_abs_index = first_nonfinite;
  } else {
    acc.mse = n > 0 ? sum_sq_err / n : 0;
    acc.mean_abs_error = n > 0 ? sum_abs_err / n : 0;
    // Relative error and cosine are undefined against a zero reference: NaN, not "perfect".
    acc.rel_l2 = sum_ref_sq > 0 ? std::sqrt(sum_sq_err / sum_ref_sq) : kNaN;
    if (sum_out_sq > 0 && sum_ref_sq > 0) {
      acc.cosine = sum_out_ref / (std::sqrt(sum_out_sq) * std::sqrt(sum_ref_sq));
    } else {
      acc.cosine = sum_ref_sq == 0 ? kNaN : 0;
    }
  }
  const std::array<int64_t, 4> at = unflatten_index(acc.max_abs_index, shape);
  acc.max_abs_at.assign(at.begin(), at.end());
  return acc;
}

}  // namespace int8attn::cpu
