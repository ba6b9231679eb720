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

// The speed reason against the case's baseline, or nothing.
std::optional<std::string> slower_than_baseline(const std::string& kernel, const std::optional<LatencyStats>& latency,
                                                const Baseline* baseline) {
  if (!baseline || !baseline->median_ms || !latency || kernel == baseline->kernel ||
      !(latency->median_ms > *baseline->median_ms)) {
    return std::nullopt;
  }
  return fmt::format("{}{} {:.4g} ms is slower than {} {:.4g} ms", kSpeedReasonPrefix, kernel, latency->median_ms,
                     baseline->kernel, *baseline->median_ms);
}

// Status, accuracy and speed reasons shared by the INT8 and FP8 verdicts and the rotated try.
std::vector<std::string> reasons_against(const std::string& kernel, KernelStatus status, const std::string& reason,
                                         const std::optional<Accuracy>& accuracy,
                                         const std::optional<LatencyStats>& latency, const Thresholds& thresholds,
                                         const Baseline* baseline) {
  std::vector<std::string> reasons;
  switch (status) {
    case KernelStatus::Skipped: reasons.push_back(reason); break;
    case KernelStatus::Error: reasons.push_back("kernel error: " + reason); break;
    case KernelStatus::Ok:
      if (accuracy) {
        check_accuracy(*accuracy, thresholds, reasons);
      } else {
        reasons.push_back("accuracy: not measured");
      }
      if (auto slower = slower_than_baseline(kernel, latency, baseline)) reasons.push_back(*slower);
      break;
  }
  return reasons;
}

std::vector<std::string> reasons_against(const KernelResult& r, const Thresholds& thresholds,
                                         const Baseline* baseline) {
  return reasons_against(r.kernel, r.status, r.reason, r.accuracy, r.latency, thresholds, baseline);
}

// What the rotated run reached, for the reasons of an int8-hadamard decision.
std::string rotation_passed(const RotatedAttempt& a) {
  std::string reached =
      fmt::format("max_abs_error {:.3g}, rel_l2 {:.3g}", a.accuracy->max_abs_error, a.accuracy->rel_l2);
  if (a.speedup) reached += fmt::format(", {:.2f}x the baseline", *a.speedup);
  return rotated_reason_prefix(a.rotation) + fmt::format("within every threshold ({})", reached);
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

bool rotation_may_help(const KernelResult& r, const Thresholds& thresholds, const Baseline* baseline) {
  if (r.status != KernelStatus::Ok || !r.accuracy || r.accuracy->nonfinite > 0) return false;
  const Accuracy& a = *r.accuracy;
  // NaN metrics (a reference that is not finite or all zeros) and an output unrelated to the
  // reference are not a quantization error.
  if (std::isnan(a.mse) || std::isnan(a.max_abs_error) || std::isnan(a.rel_l2) || !(a.cosine > 0)) return false;
  if (slower_than_baseline(r.kernel, r.latency, baseline)) return false;  // the rotation only adds time
  std::vector<std::string> accuracy_reasons;
  check_accuracy(a, thresholds, accuracy_reasons);
  return !accuracy_reasons.empty();
}

void judge_rotated_attempt(KernelResult& r, const KernelResult& rotated_run, QkRotation rotation,
                           const Thresholds& thresholds, const Baseline* baseline) {
  RotatedAttempt a;
  a.rotation = rotation;
  a.status = rotated_run.status;
  a.reason = rotated_run.reason;
  a.accuracy = rotated_run.accuracy;
  a.latency = rotated_run.latency;
  if (baseline && baseline->median_ms && a.latency && a.latency->median_ms > 0) {
    a.speedup = *baseline->median_ms / a.latency->median_ms;
  }
  a.reasons = reasons_against(r.kernel, a.status, a.reason, a.accuracy, a.latency, thresholds, baseline);
  FallbackDecision& f = r.fallback.emplace(decide_fallback(r, thresholds, baseline));
  if (a.reasons.empty()) {
    f.decision = Decision::Int8Hadamard;
    f.reasons.push_back(rotation_passed(a));
  } else {
    for (const std::string& why : a.reasons) {
      f.reasons.push_back(rotated_reason_prefix(rotation) + why);
    }
  }
  f.rotated = std::move(a);
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
    out.reasons.push_back(std::string(kSpeedReasonPrefix) +
                          (baseline && !baseline->note.empty() ? baseline->note : "no baseline latency to compare with"));
  }
  out.decision = out.reasons.empty() ? Fp8Decision::Fp8 : Fp8Decision::Fp16;
  return out;
}

void apply_fallback_policy(CaseResult& result, const RunSettings& settings, bool latencies_meaningful) {
  result.baseline.reset();
  if (latencies_meaningful) {
    result.baseline = choose_baseline(result, settings.baseline);
    for (KernelResult& k : result.kernels) {
      if (k.family() != KernelFamily::Reference && has_latency(k) && result.baseline->median_ms) {
        k.speedup = *result.baseline->median_ms / k.latency->median_ms;
      }
    }
  }
  const Baseline* baseline = result.baseline ? &*result.baseline : nullptr;
  for (KernelResult& k : result.kernels) {
    const KernelFamily family = k.family();
    if (family == KernelFamily::Int8) k.fallback = decide_fallback(k, settings.thresholds, baseline);
    if (family == KernelFamily::Fp8) k.fp8_verdict = decide_fp8(k, settings.thresholds, baseline);
  }
}

}  // namespace int8attn
