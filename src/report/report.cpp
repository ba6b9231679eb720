#include "src/report/report.h"

#include <cmath>

#include "src/bench/registry.h"

namespace int8attn {

KernelResult status_result(const std::string& kernel, KernelStatus status, const std::string& reason) {
  KernelResult r;
  r.kernel = kernel;
  r.status = status;
  r.reason = reason;
  return r;
}

const char* to_string(KernelStatus s) {
  switch (s) {
    case KernelStatus::Ok: return "ok";
    case KernelStatus::Skipped: return "skipped";
    case KernelStatus::Error: return "error";
  }
  return "?";
}

const char* to_string(Decision d) {
  switch (d) {
    case Decision::Int8: return "int8";
    case Decision::Fp16Fallback: return "fp16-fallback";
  }
  return "?";
}

namespace {

bool has_family(const KernelResult& result, KernelFamily family) {
  const KernelSpec* spec = find_kernel(result.kernel);
  return spec != nullptr && spec->family == family;
}

// The case's FP16 flash-attention median latency, when that kernel ran fine.
std::optional<double> fp16_median_ms(const CaseResult& c) {
  for (const KernelResult& k : c.kernels) {
    if (has_family(k, KernelFamily::Fp16) && k.status == KernelStatus::Ok && k.latency &&
        k.latency->median_ms > 0) {
      return k.latency->median_ms;
    }
  }
  return std::nullopt;
}

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
  int64_t speedups = 0;
  double log_speedup_sum = 0;
  for (const CaseResult& c : report.cases) {
    const std::optional<double> fp16_ms = fp16_median_ms(c);
    for (const KernelResult& k : c.kernels) {
      ++s.kernel_runs;
      s.ok += k.status == KernelStatus::Ok;
      s.skipped += k.status == KernelStatus::Skipped;
      s.errors += k.status == KernelStatus::Error;
      if (!has_family(k, KernelFamily::Int8)) continue;
      if (k.fallback) {
        ++decisions;
        stayed_int8 += k.status == KernelStatus::Ok && k.fallback->decision == Decision::Int8;
      }
      if (fp16_ms && k.latency && k.latency->median_ms > 0) {
        log_speedup_sum += std::log(*fp16_ms / k.latency->median_ms);
        ++speedups;
      }
      if (k.accuracy) {
        keep_worst(s.worst_rel_l2, s.worst_rel_l2_case, k.accuracy->rel_l2, c.id);
        keep_worst(s.worst_max_abs_error, s.worst_max_abs_error_case, k.accuracy->max_abs_error,
                   c.id);
      }
    }
  }
  s.int8_share = decisions > 0 ? static_cast<double>(stayed_int8) / decisions : 0.0;
  if (speedups > 0) s.geomean_speedup = std::exp(log_speedup_sum / speedups);
  report.summary = s;
}

}  // namespace int8attn
