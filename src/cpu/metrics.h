// Error of an output against the reference, accumulated in FP64 over every element.
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "src/report/report.h"

namespace int8attn::cpu {

// out and ref are [shape[0], shape[1], shape[2], shape[3]] (batch, heads, rows, cols).
//
// Non-finite outputs never pass silently: each NaN/Inf element is counted in `nonfinite`,
// and if there is any, mse, mean_abs_error, rel_l2 and max_abs_error are +infinity, cosine
// is 0, and max_abs_index/max_abs_at point at the first non-finite element. (The JSON
// writer must therefore be able to write infinity.) A reference that is not finite makes every
// metric NaN (max_abs_index then points at its first bad element); a zero reference makes
// rel_l2 and cosine NaN (undefined). NaN is never read as "accurate": the fallback policy
// names it as a reason.
Accuracy compute_accuracy(std::span<const float> out, std::span<const double> ref,
                          const std::array<int64_t, 4>& shape);

// {b, h, row, col} of a flat index.
std::array<int64_t, 4> unflatten_index(int64_t index, const std::array<int64_t, 4>& shape);

}  // namespace int8attn::cpu
