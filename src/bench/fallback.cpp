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
  // An output that is all zeros (or points away from the reference) is wrong whatever the
  // thresholds: a small reference can keep its mse and max error under them.
  const bool unrelated = acc.nonfinite == 0 && acc.cosine <= 0;
  if (unrelated) {
    reasons.push_back(fmt::format("accuracy: cosine {:.3g}: the output is all zeros or unrelated to the reference",
                                  acc.cosine));
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
  if (t.min_cosine && !unrelated && !std::isnan(acc.cosine) && !(acc.cosine >= *t.min_cosine)) {
    reasons.push_back(fmt::format("accuracy: cosine {:.6f} < min_cosine {:.6f}", acc.cosine, *t.min_cosine));
  }
}

bool has_latency(const KernelResult& k) {
  return k.status == KernelStatus::Ok && k.latency && k.latency->median_ms > 0;
}

// Status, accuracy and speed reasons shared by the INT8 and FP8 verdicts.
std::vector<std::string> reasons_against(const KernelResult& r, const Thresholds& thresholds,
                                         const Baseline* baseline) {
  std::vector<std::string> reasons;
  switch (r.status) {
    case KernelStatus::Skipped: reasons.push_back(r.reason); break;
    case KernelStatus::Error: reasons.push_back("kernel error: " + r.reason); break;
    case KernelStatus::Ok:
      if (r.accuracy) {
        check_accuracy(*r.accuracy, thresholds, reasons);
      } else {
        reasons.push_back("accuracy: not measured");
      }
      if (baseline && baseline->median_ms && r.latency && r.kernel != baseline->kernel &&
          r.latency->median_ms > *baseline->median_ms) {
        reasons.push_back(fmt::format("speed: {} {:.4g} ms is slower than {} {:.4g} ms", r.kernel,
                                      r.latency->median_ms, baseline->kernel, *baseline->median_ms));
      }
      break;
  }
  return reasons;
}

}  // namespace

Baseline choose_baseline(const CaseResult& result, const std::string& configured) {
  Baseline b;
  if (configured.empty()) {
    b.rule = kFastestFp16Rule;
    if (const KernelResult* best = fastest_fp16(result)) {
      b.kernel = best->kernel;
      b.median_ms = best->latency->median_ms;
    } else {
      b.note = "no FP16 kernel produced a latency in this case";
    }
    return b;
  }
  b.rule = "configured";
  b.kernel = configured;
  for (const KernelResult& k : result.kernels) {
    if (k.kernel != configured) continue;
    if (has_latency(k)) {
      b.median_ms = k.latency->median_ms;
    } else {
      b.note = fmt::format("baseline {} {}{}: no speed comparison in this case", configured, to_string(k.status),
                           k.reason.empty() ? "" : " (" + k.reason + ")");
    }
    return b;
  }
  b.note = fmt::format("baseline {} did not run in this case: no speed comparison", configured);
  return b;
}

FallbackDecision decide_fallback(const KernelResult& r, const Thresholds& thresholds, const Baseline* baseline) {
  FallbackDecision out;
  out.reasons = reasons_against(r, thresholds, baseline);
  out.decision = out.reasons.empty() ? Decision::Int8 : Decision::Fp16Fallback;
  return out;
}

Fp8Verdict decide_fp8(const KernelResult& r, const Thresholds& thresholds, const Baseline* baseline) {
  Fp8Verdict out;
  out.reasons = reasons_against(r, thresholds, baseline);
  if (r.status == KernelStatus::Ok && !(baseline && baseline->median_ms && r.latency)) {
    out.reasons.push_back(baseline && !baseline->note.empty() ? "speed: " + baseline->note
                                                              : "speed: no baseline latency to compare with");
  }
  out.decision = out.reasons.empty() ? Fp8Decision::Fp8 : Fp8Decision::Fp16;
  return out;
}

void apply_fallback_policy(CaseResult& result, const RunSettings& settings, bool latencies_meaningful) {
  result.baseline.reset();
  if (latencies_meaningful) {
    result.baseline = choose_baseline(result, settings.baseline);
    for (KernelResult& k : result.kernels) {
      const KernelSpec* spec = find_kernel(k.kernel);
      const bool reference = spec && spec->family == KernelFamily::Reference;
      if (!reference && has_latency(k) && result.baseline->median_ms) {
        k.speedup = *result.baseline->median_ms / k.latency->median_ms;
      }
    }
  }
  const Baseline* baseline = result.baseline ? &*result.baseline : nullptr;
  for (KernelResult& k : result.kernels) {
    const KernelSpec* spec = find_kernel(k.kernel);
    if (!spec) continue;
    if (spec->family == KernelFamily::Int8) k.fallback = decide_fallback(k, settings.thresholds, baseline);
    if (spec->family == KernelFamily::Fp8) k.fp8_verdict = decide_fp8(k, settings.thresholds, baseline);
  }
}

}  // namespace int8attn
