// Error of an output against the reference, accumulated in FP64 over every element.
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "src/model/result.h"

namespace int8attn::cpu {

// out and ref are [shape[0], shape[1], shape[2], shape[3]] (batch, heads, rows, cols).
//
// The conventions are common/error_metrics.h's, shared with the GPU's reduction: NaN/Inf in
// the output counts in `nonfinite` and makes the error metrics +infinity (the JSON writer
// writes it); a reference that is not finite makes every metric NaN; a zero reference makes
// rel_l2 and cosine NaN. max_abs_index/max_abs_at point at the first bad element, if any.
Accuracy compute_accuracy(std::span<const float> out, std::span<const double> ref,
                          const std::array<int64_t, 4>& shape);

}  // namespace int8attn::cpu
