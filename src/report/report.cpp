#include "src/report/report.h"

#include <cmath>

namespace int8attn {

namespace {

// Geometric mean of speedups, accumulated in the log domain.
struct Geomean {
  double log_sum = 0;
  int64_t n = 0;
  void add(double x) {
    if (x > 0 && std::isfinite(x)) log_sum += std::log(x), ++n;
  }
  std::optional<double> value() const { return n > 0 ? std::optional<double>(std::exp(log_sum / n)) : std::nullopt; }
};

// Keeps the larger value and the case it came from; NaN counts as the worst possible.
void keep_worst(std::optional<double>& worst, std::string& worst_case, double value,
                const std::string& case_id) {
  bool worse = !worst || std::isnan(value) || (!std::isnan(*worst) && value > *worst);
  if (worse) {
    worst = value;
    worst_case = case_id;
  }
}

}  // namespace

void summarize(Report& report) {
  Summary s;
  s.cases = static_cast<int64_t>(report.cases.size());
  int64_t decisions = 0, stayed_int8 = 0;
  Geomean int8_speedup, fp8_speedup;
  for (const CaseResult& c : report.cases) {
    if (c.baseline && s.baseline_rule.empty()) {
      s.baseline_rule = c.baseline->rule == "configured" ? c.baseline->kernel : c.baseline->rule;
    }
    for (const KernelResult& k : c.kernels) {
      ++s.kernel_runs;
      s.ok += k.status == KernelStatus::Ok;
      s.skipped += k.status == KernelStatus::Skipped;
      s.errors += k.status == KernelStatus::Error;
      if (k.family() == KernelFamily::Fp8 && k.fp8_verdict && k.status == KernelStatus::Ok) {
        ++s.fp8_verdicts;
        s.fp8_chosen += k.fp8_verdict->decision == Fp8Decision::Fp8;
        if (auto x = speedup_of(c, k)) fp8_speedup.add(*x);
      }
      if (k.family() != KernelFamily::Int8) continue;
      if (k.fallback) {
        ++decisions;
        stayed_int8 += k.status == KernelStatus::Ok && keeps_int8(k.fallback->decision);
        s.int8_hadamard += k.status == KernelStatus::Ok && k.fallback->decision == Decision::Int8Hadamard;
      }
      if (auto x = speedup_of(c, k)) int8_speedup.add(*x);
      if (k.accuracy) {
        keep_worst(s.worst_rel_l2, s.worst_rel_l2_case, k.accuracy->rel_l2, c.id);
        keep_worst(s.worst_max_abs_error, s.worst_max_abs_error_case, k.accuracy->max_abs_error,
                   c.id);
      }
    }
  }
  s.int8_share = decisions > 0 ? static_cast<double>(stayed_int8) / decisions : 0.0;
  s.geomean_speedup = int8_speedup.value();
  s.fp8_geomean_speedup = fp8_speedup.value();
  report.summary = s;
}

}  // namespace int8attn
