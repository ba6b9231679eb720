#include "src/cpu/metrics.h"

#include <stdexcept>

#include "common/error_metrics.h"
#include "src/host/reference.h"

namespace int8attn::cpu {

Accuracy compute_accuracy(std::span<const float> out, std::span<const double> ref,
                          const std::array<int64_t, 4>& shape) {
  const int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
  if (static_cast<int64_t>(out.size()) != n || static_cast<int64_t>(ref.size()) != n) {
    throw std::invalid_argument("compute_accuracy: output, reference and shape sizes differ");
  }
  ErrorSums sums;
  for (int64_t i = 0; i < n; ++i) add_error_element(sums, out[i], ref[i], i);
  return host::to_accuracy(finish_error_sums(sums, n), shape);
}

}  // namespace int8attn::cpu
