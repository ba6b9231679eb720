#include "src/cpu/metrics.h"

#include <stdexcept>

#include "common/error_metrics.h"
#include "src/host/inputs.h"

namespace int8attn::cpu {

Accuracy compute_accuracy(std::span<const float> out, std::span<const double> ref,
                          const std::array<int64_t, 4>& shape) {
  const int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
  if (static_cast<int64_t>(out.size()) != n || static_cast<int64_t>(ref.size()) != n) {
    throw std::invalid_argument("compute_accuracy: output, reference and shape sizes differ");
  }
  ErrorSums sums;
  for (int64_t i = 0; i < n; ++i) add_error_element(sums, out[i], ref[i], i);
  const ErrorValues v = finish_error_sums(sums, n);
  Accuracy acc;
  acc.mse = v.mse;
  acc.max_abs_error = v.max_abs_error;
  acc.max_abs_index = v.max_abs_index;
  acc.mean_abs_error = v.mean_abs_error;
  acc.rel_l2 = v.rel_l2;
  acc.cosine = v.cosine;
  acc.nonfinite = v.nonfinite;
  const std::array<int64_t, 4> at = host::unflatten_index(acc.max_abs_index, shape);
  acc.max_abs_at.assign(at.begin(), at.end());
  return acc;
}

}  // namespace int8attn::cpu
