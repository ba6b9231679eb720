#include "src/report/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/sm_clock.h"
#include "src/io/json_text.h"
#include "src/report/stats.h"

namespace int8attn {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::Same: return "same";
    case Verdict::Improvement: return "improved";
    case Verdict::Regression: return "REGRESSION";
    case Verdict::Missing: return "missing";
    case Verdict::New: return "new";
    case Verdict::Changed: return "CHANGED";
  }
  return "?";
}

bool CompareResult::passed() const { return compare_exit_code(*this) == kExitPass; }

int compare_exit_code(const CompareResult& result) {
  const bool any_fail = std::any_of(result.rows.begin(), result.rows.end(),
                                    [](const KernelComparison& r) { return r.fails; });
  return any_fail ? kExitRegression : kExitPass;
}

// ---- per-metric rules -----------------------------------------------------------------

namespace {

int verdict_rank(Verdict v) {
  switch (v) {
    case Verdict::Same: return 0;
    case Verdict::New: return 1;
    case Verdict::Improvement: return 2;
    case Verdict::Missing: return 3;
    case Verdict::Changed: return 4;
    case Verdict::Regression: return 5;
  }
  return 0;
}

KernelComparison new_row(const std::string& case_id, const std::string& kernel) {
  KernelComparison row;
  row.case_id = case_id;
  row.kernel = kernel;
  return row;
}

void add_finding(KernelComparison& row, Verdict verdict, std::string metric, std::string message) {
  if (verdict_rank(verdict) > verdict_rank(row.verdict)) row.verdict = verdict;
  row.findings.push_back({verdict, std::move(metric), std::move(message)});
}

std::string percent(double fraction) { return fmt::format("{:+.1f}%", fraction * 100.0); }

// The latency rule (docs/ci.md) on one pair of timings: Same unless the change passes the
// tolerance, the noise and, where both sides kept samples, the Mann-Whitney test.
struct LatencyJudgement {
  Verdict verdict = Verdict::Same;
  std::optional<double> change, p;
  std::string message;
};

// The SM clocks both runs read, where both did: a slowdown at a lower clock may be the GPU's
// power cap or a hotter machine rather than the kernel (docs/methodology.md).
std::string clock_note(const LatencyStats& base, const LatencyStats& cand) {
  if (!base.sm_clock || !cand.sm_clock) return "";
  const double from = base.sm_clock->median_mhz, to = cand.sm_clock->median_mhz;
  return fmt::format("; SM clock {:.0f} -> {:.0f} MHz ({})", from, to, percent(to / from - 1.0));
}

LatencyJudgement judge_latency(const LatencyStats& base, const LatencyStats& cand, const CompareOptions& opt) {
  LatencyJudgement j;
  if (!(base.median_ms > 0) || !std::isfinite(cand.median_ms)) return j;
  const double change = cand.median_ms / base.median_ms - 1.0;
  const double diff = cand.median_ms - base.median_ms;
  j.change = change;
  const double noise =
      opt.noise_sigmas * std::hypot(median_standard_error(base), median_standard_error(cand));
  const bool slower = diff > 0;
  j.p = slower ? mann_whitney_greater_p(cand.raw_ms, base.raw_ms) : mann_whitney_greater_p(base.raw_ms, cand.raw_ms);
  const bool beyond_tolerance = std::fabs(change) > opt.latency_tolerance;
  const bool beyond_noise = std::fabs(diff) > noise;
  const bool significant = !j.p || *j.p < opt.significance;
  if (!(beyond_tolerance && beyond_noise && significant)) return j;
  j.message = fmt::format("median {:.4g} ms -> {:.4g} ms ({}, tolerance {:.1f}%, noise {:.3g} ms", base.median_ms,
                          cand.median_ms, percent(change), opt.latency_tolerance * 100.0, noise);
  if (j.p) j.message += fmt::format(", Mann-Whitney p={:.2g}", *j.p);
  j.message += ")" + clock_note(base, cand);
  j.verdict = slower ? Verdict::Regression : Verdict::Improvement;
  return j;
}

void compare_latency(const LatencyStats& base, const LatencyStats& cand, const CompareOptions& opt,
                     KernelComparison& row) {
  row.baseline_ms = base.median_ms;
  row.candidate_ms = cand.median_ms;
  LatencyJudgement j = judge_latency(base, cand, opt);
  row.latency_change = j.change;
  row.mann_whitney_p = j.p;
  if (j.verdict != Verdict::Same) add_finding(row, j.verdict, "latency", std::move(j.message));
}

// An INT8 kernel's quantization step on its own, by the same rule: a quantizer 14% slower
// moves a 4K case's end-to-end latency by about 1%, under the latency tolerance
// (docs/perf-log.md s25).
void compare_quantize_latency(const LatencyStats& base, const LatencyStats& cand, const CompareOptions& opt,
                              KernelComparison& row) {
  LatencyJudgement j = judge_latency(base, cand, opt);
  if (j.verdict != Verdict::Same) add_finding(row, j.verdict, "quantize_latency", "quantize step: " + j.message);
}

// What a change the good way is: an improvement, or a failing change under fail_on_change.
Verdict better_verdict(const CompareOptions& opt) {
  return opt.fail_on_change ? Verdict::Changed : Verdict::Improvement;
}

void compare_metric(const char* name, double base, double cand, double tolerance, Verdict better,
                    KernelComparison& row) {
  if (std::isnan(base) || std::isnan(cand)) {
    if (std::isnan(base) != std::isnan(cand)) {
      add_finding(row, std::isnan(cand) ? Verdict::Regression : better, name,
                  fmt::format("{} {:.4g} -> {:.4g}", name, base, cand));
    }
    return;
  }
  const double allowed = tolerance > 0 ? std::max(tolerance * std::fabs(base), kAccuracyFloor) : 0.0;
  const double growth = cand - base;
  Verdict verdict = Verdict::Same;
  if (growth > allowed) verdict = Verdict::Regression;
  if (-growth > allowed) verdict = better;
  if (verdict == Verdict::Same) return;
  const std::string change = base != 0 ? percent(growth / std::fabs(base)) : std::string("from zero");
  // Enough digits to see the difference (a change at zero tolerance can be one ulp).
  std::string values = fmt::format("{:.4g} -> {:.4g}", base, cand);
  if (fmt::format("{:.4g}", base) == fmt::format("{:.4g}", cand)) {
    values = fmt::format("{:.17g} -> {:.17g}", base, cand);
  }
  add_finding(row, verdict, name,
              fmt::format("{} {} ({}, tolerance {:.1f}%)", name, values, change, tolerance * 100.0));
}

// Under fail_on_change: the metrics without a tolerance must be equal (NaN equals NaN).
void compare_exactly(const Accuracy& base, const Accuracy& cand, KernelComparison& row) {
  auto differ = [](double a, double b) { return a != b && !(std::isnan(a) && std::isnan(b)); };
  if (differ(base.mean_abs_error, cand.mean_abs_error)) {
    add_finding(row, Verdict::Changed, "mean_abs_error",
                fmt::format("mean_abs_error {:.17g} -> {:.17g}", base.mean_abs_error, cand.mean_abs_error));
  }
  if (differ(base.cosine, cand.cosine)) {
    add_finding(row, Verdict::Changed, "cosine", fmt::format("cosine {:.17g} -> {:.17g}", base.cosine, cand.cosine));
  }
  if (base.max_abs_index != cand.max_abs_index) {
    add_finding(row, Verdict::Changed, "max_abs_index",
                fmt::format("max_abs_index {} -> {}", base.max_abs_index, cand.max_abs_index));
  }
}

void compare_accuracy(const Accuracy& base, const Accuracy& cand, const CompareOptions& opt,
                      KernelComparison& row) {
  row.baseline_rel_l2 = base.rel_l2;
  row.candidate_rel_l2 = cand.rel_l2;
  const Verdict better = better_verdict(opt);
  compare_metric("rel_l2", base.rel_l2, cand.rel_l2, opt.rel_l2_tolerance, better, row);
  compare_metric("mse", base.mse, cand.mse, opt.mse_tolerance, better, row);
  compare_metric("max_abs_error", base.max_abs_error, cand.max_abs_error, opt.max_abs_tolerance, better, row);
  if (cand.nonfinite != base.nonfinite) {
    add_finding(row, cand.nonfinite > base.nonfinite ? Verdict::Regression : better, "nonfinite",
                fmt::format("non-finite outputs {} -> {}", base.nonfinite, cand.nonfinite));
  }
  if (opt.fail_on_change) compare_exactly(base, cand, row);
}

std::string join_reasons(const std::vector<std::string>& reasons) {
  return reasons.empty() ? std::string("no reason given") : fmt::format("{}", fmt::join(reasons, "; "));
}

// fp16-fallback < int8-hadamard (INT8 only with the rotation) < int8.
int decision_rank(Decision d) {
  switch (d) {
    case Decision::Fp16Fallback: return 0;
    case Decision::Int8Hadamard: return 1;
    case Decision::Int8: return 2;
  }
  return 0;
}

// A kernel's decision as compare ranks it: INT8's fallback decision or FP8's verdict, the
// metric it is reported under, and the reasons of the lower side.
struct RankedDecision {
  const char* metric;
  int rank;
  std::string name;
  const std::vector<std::string>* reasons;
};

std::optional<RankedDecision> ranked_decision(const KernelResult& k) {
  if (k.fallback) {
    return RankedDecision{"fallback", decision_rank(k.fallback->decision), to_string(k.fallback->decision),
                          &k.fallback->reasons};
  }
  if (k.fp8_verdict) {
    return RankedDecision{"fp8_verdict", k.fp8_verdict->decision == Fp8Decision::Fp8 ? 1 : 0,
                          to_string(k.fp8_verdict->decision), &k.fp8_verdict->reasons};
  }
  return std::nullopt;
}

// Whether a decision moved only because the kernel crossed its case's speed baseline by less
// than the latency tolerance: the lower side's reasons are all speed reasons, and the speedup
// changed by at most latency_tolerance (1.004x -> 0.994x between two runs of one build). The
// verdict then flips with the measurement's noise, which the latency rule does not call a
// change either.
bool speed_line_noise(const KernelResult& base, const KernelResult& cand, const RankedDecision& lower,
                      const CompareOptions& opt) {
  if (!base.speedup || !cand.speedup || !(*base.speedup > 0) || !(*cand.speedup > 0)) return false;
  const bool only_speed =
      !lower.reasons->empty() && std::all_of(lower.reasons->begin(), lower.reasons->end(),
                                             [](const std::string& r) { return r.rfind(kSpeedReasonPrefix, 0) == 0; });
  return only_speed && std::fabs(*cand.speedup / *base.speedup - 1.0) <= opt.latency_tolerance;
}

// INT8's int8 -> fp16-fallback and FP8's fp8 -> fp16 are regressions, the reverse improvements.
void compare_decision(const KernelResult& base_kernel, const KernelResult& cand_kernel, const CompareOptions& opt,
                      KernelComparison& row) {
  const std::optional<RankedDecision> base = ranked_decision(base_kernel), cand = ranked_decision(cand_kernel);
  if (!base || !cand || base->rank == cand->rank) return;
  const std::string change = fmt::format("decision {} -> {}", base->name, cand->name);
  const bool worse = cand->rank < base->rank;
  if (speed_line_noise(base_kernel, cand_kernel, worse ? *cand : *base, opt)) {
    add_finding(row, Verdict::Same, base->metric,
                fmt::format("{} at the speed line (speedup {:.3f}x -> {:.3f}x, within the {:.1f}% latency tolerance)",
                            change, *base_kernel.speedup, *cand_kernel.speedup, opt.latency_tolerance * 100.0));
    return;
  }
  if (worse) {
    add_finding(row, Verdict::Regression, base->metric, fmt::format("{} ({})", change, join_reasons(*cand->reasons)));
  } else {
    add_finding(row, better_verdict(opt), base->metric, change);
  }
}

// Status transitions; returns true when both sides ran (metrics are comparable).
bool compare_status(const KernelResult& base, const KernelResult& cand, const CompareOptions& opt,
                    KernelComparison& row) {
  if (base.status == cand.status) return base.status == KernelStatus::Ok;
  const std::string change = fmt::format("status {} -> {}", to_string(base.status), to_string(cand.status));
  if (cand.status == KernelStatus::Error) {
    add_finding(row, Verdict::Regression, "status", fmt::format("{}: {}", change, cand.reason));
  } else if (cand.status == KernelStatus::Skipped) {
    add_finding(row, Verdict::Missing, "status", fmt::format("{}: {}", change, cand.reason));
  } else {
    add_finding(row, better_verdict(opt), "status", change);
  }
  return false;
}

// An INT8 kernel that ran with other quantization on the two sides (blocks: "auto" resolves them
// per device and version; per-thread K): "kv_block 64, v_block 0 -> kv_block 128, v_block 128", else nullopt
// (equal, or a side that does not record them: reports written before the field).
std::optional<std::string> quantization_change(const KernelResult& base, const KernelResult& cand) {
  if (!base.quantization || !cand.quantization || *base.quantization == *cand.quantization) return std::nullopt;
  return to_string(*base.quantization) + " -> " + to_string(*cand.quantization);
}

// A measurement the baseline's run has and the candidate's lacks (an edited or truncated
// report, a tool that stopped writing it) was not compared: missing, never "same".
template <class T>
void note_absent(const char* name, const std::optional<T>& base, const std::optional<T>& cand, KernelComparison& row) {
  if (base && !cand) add_finding(row, Verdict::Missing, name, fmt::format("{}: in the baseline, not in the candidate", name));
}

KernelComparison compare_kernel(const std::string& case_id, const KernelResult& base,
                                const KernelResult& cand, const CompareOptions& opt) {
  KernelComparison row = new_row(case_id, base.kernel);
  note_absent("fallback", base.fallback, cand.fallback, row);
  note_absent("fp8_verdict", base.fp8_verdict, cand.fp8_verdict, row);
  if (compare_status(base, cand, opt, row)) {
    note_absent("latency", base.latency, cand.latency, row);
    note_absent("quantize_latency", base.quantize_latency, cand.quantize_latency, row);
    note_absent("accuracy", base.accuracy, cand.accuracy, row);
    if (base.latency && cand.latency) compare_latency(*base.latency, *cand.latency, opt, row);
    if (base.quantize_latency && cand.quantize_latency) {
      compare_quantize_latency(*base.quantize_latency, *cand.quantize_latency, opt, row);
    }
    if (base.accuracy && cand.accuracy) compare_accuracy(*base.accuracy, *cand.accuracy, opt, row);
  }
  // A kernel the candidate skipped is missing (compare_status); its decision restates the skip.
  const bool newly_skipped = cand.status == KernelStatus::Skipped && base.status != KernelStatus::Skipped;
  if (!newly_skipped) compare_decision(base, cand, opt, row);
  return row;
}

// ---- report level -----------------------------------------------------------------------

using Device = std::pair<std::string, std::string>;  // (backend, GPU name)

// Every device a report's cases ran on: a merged report or a sweep on several GPUs records
// each case's own environment beside the report's.
std::set<Device> devices_of(const Report& report) {
  std::set<Device> devices;
  auto add = [&](const Environment& e) { devices.emplace(e.backend, e.gpu_name); };
  for (const CaseResult& c : report.cases) add(c.environment ? *c.environment : report.environment);
  if (report.cases.empty()) add(report.environment);
  return devices;
}

std::optional<std::string> device_difference(const Report& baseline, const Report& candidate) {
  const std::set<Device> base = devices_of(baseline), cand = devices_of(candidate);
  if (base == cand) return std::nullopt;
  if (base.size() == 1 && cand.size() == 1) {
    const Device &b = *base.begin(), &c = *cand.begin();
    if (b.first != c.first) return fmt::format("backend '{}' vs '{}'", b.first, c.first);
    return fmt::format("GPU '{}' vs '{}'", b.second, c.second);
  }
  auto list = [](const std::set<Device>& devices) {
    std::vector<std::string> names;
    for (const auto& [backend, gpu] : devices) names.push_back(gpu.empty() ? backend : gpu);
    return fmt::format("{}", fmt::join(names, ", "));
  };
  return fmt::format("devices '{}' vs '{}' (cases ran on more than one)", list(base), list(cand));
}

// "configs 'default' (sha256 1a2b3c4d5e6f) vs 'int8-targets' (sha256 …)" when the reports
// come from different configs: their cases differ by design, not by regression.
std::optional<std::string> config_difference(const ConfigInfo& base, const ConfigInfo& cand) {
  if (base.sha256 == cand.sha256) return std::nullopt;
  auto describe = [](const ConfigInfo& c) {
    const std::string name = c.settings.is_object() ? c.settings.value("name", std::string()) : std::string();
    const std::string label = !name.empty() ? name : !c.path.empty() ? c.path : std::string("unnamed");
    return fmt::format("'{}' (sha256 {})", label, c.sha256.empty() ? std::string("none") : c.sha256.substr(0, 12));
  };
  return fmt::format("the reports come from different configs: {} vs {}", describe(base), describe(cand));
}

// The measurement settings that change what a sample holds (not how many are taken).
constexpr const char* kSampleSettings[] = {"flush_l2", "hold_launches"};

// "the reports were measured differently: measurement.flush_l2 true vs false" where one of
// kSampleSettings differs ("absent": a report from before the setting existed). From the
// settings after the command line's overrides where the report has them.
std::optional<std::string> measurement_difference(const ConfigInfo& base, const ConfigInfo& cand) {
  auto measurement = [](const ConfigInfo& c) {
    for (const nlohmann::json* settings : {&c.options, &c.settings}) {
      if (settings->is_object() && settings->contains("measurement") && settings->at("measurement").is_object())
        return settings->at("measurement");
    }
    return nlohmann::json();
  };
  const nlohmann::json b = measurement(base), c = measurement(cand);
  if (b.is_null() || c.is_null()) return std::nullopt;
  auto text = [](const nlohmann::json& m, const char* key) { return m.contains(key) ? dump_json(m.at(key)) : "absent"; };
  std::vector<std::string> differences;
  for (const char* key : kSampleSettings) {
    if (text(b, key) != text(c, key)) differences.push_back(fmt::format("measurement.{} {} vs {}", key, text(b, key), text(c, key)));
  }
  if (differences.empty()) return std::nullopt;
  return fmt::format("the reports were measured differently: {}; latencies may differ for that alone",
                     fmt::join(differences, ", "));
}

// The SM clocks of the kernels read in both reports (latency.sm_clock), where their median
// moved by kClockShiftNote or more: a warmer or power-capped GPU slows every kernel by itself.
// A kernel's own clock change is in its latency finding (clock_note).
constexpr double kClockShiftNote = 0.03;

std::optional<std::string> clock_shift(std::vector<double> ratios) {
  if (ratios.empty()) return std::nullopt;
  const auto [lowest, highest] = std::minmax_element(ratios.begin(), ratios.end());
  const double low = *lowest, high = *highest;
  const size_t kernels = ratios.size();
  const double median = median_of(std::move(ratios));
  if (std::fabs(median - 1.0) < kClockShiftNote) return std::nullopt;
  return fmt::format("the candidate's kernels ran at SM clocks {:.1f}% {} than the baseline's (the median over {} "
                     "kernel(s) read in both; {} to {}): latencies may differ for that alone (the GPU's power or "
                     "thermal state)",
                     std::fabs(median - 1.0) * 100.0, median < 1.0 ? "lower" : "higher", kernels,
                     percent(low - 1.0), percent(high - 1.0));
}

using KernelKey = std::pair<std::string, std::string>;  // (case id, kernel)

std::map<KernelKey, const KernelResult*> index_kernels(const Report& report, const std::string& filter) {
  std::map<KernelKey, const KernelResult*> index;
  for (const auto& c : report.cases) {
    if (!case_id_matches(c.id, filter)) continue;
    for (const auto& k : c.kernels) index.emplace(KernelKey{c.id, k.kernel}, &k);
  }
  return index;
}

void count(CompareResult& result) {
  for (const auto& row : result.rows) {
    switch (row.verdict) {
      case Verdict::Regression: ++result.regressions; break;
      case Verdict::Improvement: ++result.improvements; break;
      case Verdict::Missing: ++result.missing; break;
      case Verdict::New: ++result.added; break;
      case Verdict::Same: ++result.unchanged; break;
      case Verdict::Changed: ++result.changed; break;
    }
  }
}

// Fills each row's speedup against its report's case baseline, for the table only.
void attach_speedups(const Report& report, bool candidate_side, std::vector<KernelComparison>& rows) {
  std::map<KernelKey, double> speedups;
  for (const auto& c : report.cases) {
    for (const auto& k : c.kernels) {
      if (auto x = speedup_of(c, k)) speedups.emplace(KernelKey{c.id, k.kernel}, *x);
    }
  }
  for (auto& row : rows) {
    auto it = speedups.find({row.case_id, row.kernel});
    if (it == speedups.end()) continue;
    (candidate_side ? row.candidate_speedup : row.baseline_speedup) = it->second;
  }
}

}  // namespace

CompareResult compare_reports(const Report& baseline, const Report& candidate, const CompareOptions& options) {
  for (const Report* r : {&baseline, &candidate}) {
    if (r->schema != kReportSchema) {
      throw CompareInputError(fmt::format("report schema '{}' is not '{}'", r->schema, kReportSchema));
    }
  }
  CompareResult result;
  result.options = options;
  if (auto diff = device_difference(baseline, candidate)) {
    if (!options.allow_different_device) {
      throw CompareInputError(fmt::format(
          "reports come from different devices ({}); pass --allow-different-device to compare anyway", *diff));
    }
    result.notes.push_back(fmt::format("different devices ({}): compared anyway because it was allowed", *diff));
  }
  if (auto diff = config_difference(baseline.config, candidate.config)) result.notes.push_back(*diff);
  if (auto diff = measurement_difference(baseline.config, candidate.config)) result.notes.push_back(*diff);
  if (!baseline.complete) result.notes.push_back("the baseline report is incomplete (interrupted sweep)");
  if (!candidate.complete) result.notes.push_back("the candidate report is incomplete (interrupted sweep)");
  if (!options.case_filter.empty()) {
    result.notes.push_back(fmt::format("only cases matching '{}'", options.case_filter));
  }

  auto remaining = index_kernels(candidate, options.case_filter);
  size_t paired = 0, baseline_runs = 0;
  std::map<std::pair<std::string, std::string>, int> quantization_changes;  // (kernel, change) -> cases
  std::vector<double> clock_ratios;  // candidate / baseline median SM clock, kernels read in both
  for (const auto& base_case : baseline.cases) {
    if (!case_id_matches(base_case.id, options.case_filter)) continue;
    for (const auto& base_kernel : base_case.kernels) {
      ++baseline_runs;
      auto it = remaining.find({base_case.id, base_kernel.kernel});
      if (it == remaining.end()) {
        KernelComparison row = new_row(base_case.id, base_kernel.kernel);
        add_finding(row, Verdict::Missing, "presence", "in the baseline, not in the candidate");
        result.rows.push_back(std::move(row));
        continue;
      }
      ++paired;
      const KernelResult& cand_kernel = *it->second;
      if (base_kernel.latency && base_kernel.latency->sm_clock && cand_kernel.latency && cand_kernel.latency->sm_clock) {
        clock_ratios.push_back(cand_kernel.latency->sm_clock->median_mhz / base_kernel.latency->sm_clock->median_mhz);
      }
      KernelComparison row = compare_kernel(base_case.id, base_kernel, cand_kernel, options);
      if (auto change = quantization_change(base_kernel, *it->second)) {
        ++quantization_changes[{base_kernel.kernel, *change}];
        if (options.fail_on_change) add_finding(row, Verdict::Changed, "quantization", "quantization " + *change);
      }
      result.rows.push_back(std::move(row));
      remaining.erase(it);
    }
  }
  if (auto shift = clock_shift(std::move(clock_ratios))) result.notes.push_back(*shift);
  for (const auto& [what, cases] : quantization_changes) {
    result.notes.push_back(fmt::format("{} ran with other quantization in {} case(s) ({}): its latency and accuracy "
                                       "changes include that",
                                       what.first, cases, what.second));
  }
  for (const auto& cand_case : candidate.cases) {  // candidate order for the new ones
    for (const auto& cand_kernel : cand_case.kernels) {
      if (!remaining.erase({cand_case.id, cand_kernel.kernel})) continue;
      KernelComparison row = new_row(cand_case.id, cand_kernel.kernel);
      add_finding(row, Verdict::New, "presence", "in the candidate only");
      result.rows.push_back(std::move(row));
    }
  }
  for (auto& row : result.rows) {
    row.fails = row.verdict == Verdict::Regression || row.verdict == Verdict::Changed ||
                (row.verdict == Verdict::Missing && options.missing_policy == MissingPolicy::Fail) ||
                (row.verdict == Verdict::New && options.fail_on_change);
  }
  if (!options.case_filter.empty() && result.rows.empty()) {
    throw CompareInputError(fmt::format("--filter '{}': expected a glob or substring of a case id, found no match "
                                        "in either report", options.case_filter));
  }
  if (paired == 0) {  // an empty or unrelated side: no verdict to give
    const std::string matching = options.case_filter.empty() ? "" : " matching --filter";
    throw CompareInputError(
        baseline_runs > 0
            ? fmt::format("the candidate has none of the baseline's {} (case, kernel) run(s){}: nothing was compared "
                          "(an empty or interrupted sweep, or another config?)", baseline_runs, matching)
            : fmt::format("the baseline has no (case, kernel) run{}: nothing was compared (an empty or interrupted "
                          "sweep?)", matching));
  }
  attach_speedups(baseline, false, result.rows);
  attach_speedups(candidate, true, result.rows);
  count(result);
  return result;
}

}  // namespace int8attn
