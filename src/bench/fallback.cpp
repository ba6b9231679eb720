#include "src/bench/fallback.h"

#include <cmath>

#include <fmt/format.h>

namespace int8attn {
namespace {

void check_accuracy(const Accuracy& acc, const Thresholds& t, std::vector<std::string>& reasons) {
  if (acc.nonfinite > 0) {
    reasons.push_back(fmt::format("accuracy: {} non-finite output elements", acc.nonfinite));
  }
  // NaN metrics are unknown, never within a threshold (and "mse nan > ..." explains nothing).
  if (std::isnan(acc.mse) || std::isnan(acc.max_abs_error)) {
    reasons.push_back("accuracy: not measurable: the reference output is not finite");
    return;
  }
  if (std::isnan(acc.rel_l2) || std::isnan(acc.cosine)) {
    reasons.push_back("accuracy: relative error undefined: the reference output is all zeros");
  }
  if (!(acc.mse <= t.max_mse)) {
    reasons.push_back(fmt::format("accuracy: mse {:.3g} > max_mse {:.3g}", acc.mse, t.max_mse));
  }
  if (!(acc.max_abs_error <= t.max_abs_error)) {
    reasons.push_back(fmt::format("accuracy: max_abs_error {:.3g} > max_abs_error limit {:.3g}",
                                  acc.max_abs_error, t.max_abs_error));
  }
  if (t.max_rel_l2 && !std::isnan(acc.rel_l2) && !(acc.rel_l2 <= *t.max_rel_l2)) {
    reasons.push_back(fmt::format("accuracy: rel_l2 {:.3g} > max_rel_l2 {:.3g}", acc.rel_l2, *t.max_rel_l2));
  }
  if (t.min_cosine && !std::isnan(acc.cosine) && !(acc.cosine >= *t.min_cosine)) {
    reasons.push_back(fmt::format("accuracy: cosine {:.6f} < min_cosine {:.6f}", acc.cosine, *t.min_cosine));
  }
}

}  // namespace

FallbackDecision decide_fallback(const KernelResult& r, const Thresholds& thresholds,
                                 const KernelResult* fp16, bool latencies_meaningful) {
  FallbackDecision out;
  switch (r.status) {
    case KernelStatus::Skipped: out.reasons.push_back(r.reason); break;
    case KernelStatus::Error: out.reasons.push_back("kernel error: " + r.reason); break;
    case KernelStatus::Ok:
      if (r.accuracy) {
        check_accuracy(*r.accuracy, thresholds, out.reasons);
      } else {
        out.reasons.push_back("accuracy: not measured");
      }
      if (latencies_meaningful && fp16 && fp16->status == KernelStatus::Ok && fp16->latency &&
          r.latency && r.latency->median_ms > fp16->latency->median_ms) {
        out.reasons.push_back(fmt::format("speed: {} median {:.4g} ms is slower than {} {:.4g} ms",
                                          r.kernel, r.latency->median_ms, fp16->kernel,
                                          fp16->latency->median_ms));
      }
      break;
  }
  out.decision = out.reasons.empty() ? Decision::Int8 : Decision::Fp16Fallback;
  return out;
}

void apply_fallback_policy(CaseResult& result, const Thresholds& thresholds,
                           bool latencies_meaningful) {
  const KernelResult* fp16 = nullptr;
  for (const KernelResult& k : result.kernels) {
    const KernelSpec* spec = find_kernel(k.kernel);
    if (spec && spec->family == KernelFamily::Fp16) fp16 = &k;
  }
  for (KernelResult& k : result.kernels) {
    const KernelSpec* spec = find_kernel(k.kernel);
    if (spec && spec->family == KernelFamily::Int8) {
      k.fallback = decide_fallback(k, thresholds, fp16, latencies_meaningful);
    }
  }
}

}  // namespace int8attn
