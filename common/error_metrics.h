// The accuracy metrics of an output against the reference, defined once for the CPU backend
// (src/cpu/metrics.cpp, one pass in index order) and the GPU's reduction (kernels/harness/
// metrics.cu, per-thread sums merged in a fixed tree), so both backends judge the same output alike:
//  - a reference with any NaN/Inf measures nothing: every metric is NaN ("unknown", never 0)
//    and the index points at its first bad element;
//  - otherwise any NaN/Inf in the output makes mse, mean/max abs error and rel_l2 +inf and
//    cosine 0, the index pointing at the first bad element;
//  - an all-zero reference makes rel_l2 and cosine NaN: relative error is undefined there,
//    and a zero output next to it is not "perfect";
//  - an all-zero output against a non-zero reference has cosine 0 (and rel_l2 1).
// NaN is never read as accurate: the fallback policy names it as a reason.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/hd.h"

namespace int8attn {

I8A_HD bool finite_value(double x) {
#if defined(__CUDA_ARCH__)
  return isfinite(x);
#else
  return std::isfinite(x);
#endif
}

// FP64 sums over elements; the error sums and the max cover pairs where both are finite.
struct ErrorSums {
  double sq_err = 0, abs_err = 0, ref_sq = 0, out_sq = 0, dot = 0;
  double max_err = -1;  // -1: no finite pair yet
  int64_t max_index = 0;
  int64_t out_nonfinite = 0, first_out_nonfinite = INT64_MAX;
  int64_t ref_nonfinite = 0, first_ref_nonfinite = INT64_MAX;
};

// Adds element `index`; elements of one summation order must come in increasing index.
I8A_HD void add_error_element(ErrorSums& s, double out, double ref, int64_t index) {
  const bool out_ok = finite_value(out), ref_ok = finite_value(ref);
  if (!out_ok && s.out_nonfinite++ == 0) s.first_out_nonfinite = index;
  if (!ref_ok && s.ref_nonfinite++ == 0) s.first_ref_nonfinite = index;
  if (!out_ok || !ref_ok) return;
  const double err = out - ref;
  const double abs_err = err < 0 ? -err : err;
  s.sq_err += err * err;
  s.abs_err += abs_err;
  s.dot += out * ref;
  s.out_sq += out * out;
  s.ref_sq += ref * ref;
  if (abs_err > s.max_err) {
    s.max_err = abs_err;
    s.max_index = index;
  }
}

// Merges the sums of a later (or parallel) part; ties of the max go to the lower index, so
// the reported location does not depend on the schedule.
I8A_HD void merge_error_sums(ErrorSums& a, const ErrorSums& b) {
  a.sq_err += b.sq_err;
  a.abs_err += b.abs_err;
  a.ref_sq += b.ref_sq;
  a.out_sq += b.out_sq;
  a.dot += b.dot;
  a.out_nonfinite += b.out_nonfinite;
  a.first_out_nonfinite = b.first_out_nonfinite < a.first_out_nonfinite ? b.first_out_nonfinite : a.first_out_nonfinite;
  a.ref_nonfinite += b.ref_nonfinite;
  a.first_ref_nonfinite = b.first_ref_nonfinite < a.first_ref_nonfinite ? b.first_ref_nonfinite : a.first_ref_nonfinite;
  if (b.max_err > a.max_err || (b.max_err == a.max_err && b.max_index < a.max_index)) {
    a.max_err = b.max_err;
    a.max_index = b.max_index;
  }
}

struct ErrorValues {
  double mse = 0, max_abs_error = 0, mean_abs_error = 0, rel_l2 = 0, cosine = 1;
  int64_t max_abs_index = 0;
  int64_t nonfinite = 0;  // NaN/Inf elements of the output
};

// The metrics of `count` elements' sums, with the conventions above.
inline ErrorValues finish_error_sums(const ErrorSums& s, int64_t count) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ErrorValues v;
  v.nonfinite = s.out_nonfinite;
  if (s.ref_nonfinite > 0) {
    v.mse = v.max_abs_error = v.mean_abs_error = v.rel_l2 = v.cosine = kNaN;
    v.max_abs_index = s.first_ref_nonfinite;
    return v;
  }
  if (s.out_nonfinite > 0) {
    v.mse = v.max_abs_error = v.mean_abs_error = v.rel_l2 = kInf;
    v.cosine = 0;
    v.max_abs_index = s.first_out_nonfinite;
    return v;
  }
  v.mse = count > 0 ? s.sq_err / static_cast<double>(count) : 0;
  v.mean_abs_error = count > 0 ? s.abs_err / static_cast<double>(count) : 0;
  v.max_abs_error = s.max_err > 0 ? s.max_err : 0;
  v.max_abs_index = s.max_err >= 0 ? s.max_index : 0;
  v.rel_l2 = s.ref_sq > 0 ? std::sqrt(s.sq_err / s.ref_sq) : kNaN;
  if (s.ref_sq == 0) {
    v.cosine = kNaN;
  } else {
    v.cosine = s.out_sq > 0 ? s.dot / (std::sqrt(s.out_sq) * std::sqrt(s.ref_sq)) : 0;
  }
  return v;
}

}  // namespace int8attn
