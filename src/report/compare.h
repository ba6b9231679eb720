// `compare`: a baseline report against a candidate, case by case and kernel by kernel.
// Only regressions fail; improvements and noise never do. The exact rules are written
// next to each option below and in docs/ci.md.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/io/output_format.h"
#include "src/model/case_filter.h"  // case_id_matches, shared with sweep --filter
#include "src/report/report.h"

namespace int8attn {

// Inputs that cannot be compared (different devices, different schemas). The CLI maps it,
// like ReportError, to exit code 2.
class CompareInputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class MissingPolicy { Warn, Fail };

struct CompareOptions {
  // Latency regression: candidate median > baseline median * (1 + latency_tolerance), AND
  // the difference exceeds noise_sigmas * sqrt(se_b^2 + se_c^2) (se = standard error of each
  // median, see median_standard_error), AND — only when both sides kept raw samples — a
  // one-sided Mann-Whitney U test says candidate > baseline with p < significance.
  // Improvements use the mirrored rule. An INT8 kernel's quantize_latency (the quantization
  // step alone) is judged by the same rule, as its own metric.
  double latency_tolerance = 0.05;
  double noise_sigmas = 3.0;
  double significance = 0.01;
  // Accuracy regression: metric grows by more than tolerance * baseline, and by more than
  // kAccuracyFloor in absolute terms. A tolerance of 0 fails on any growth at all.
  double mse_tolerance = 0.10;
  double max_abs_tolerance = 0.10;
  double rel_l2_tolerance = 0.10;
  // A (case, kernel) of the baseline that the candidate lacks, or did not run (skipped):
  // Warn notes it, Fail makes it a failure.
  MissingPolicy missing_policy = MissingPolicy::Warn;
  // Only cases whose id matches: a glob when it contains * ? or [, else a substring.
  std::string case_filter;
  // Different GPU (environment.gpu_name) or backend is an input error unless this is set;
  // when set, the output says so.
  bool allow_different_device = false;
  // For deterministic backends (the CPU gate): a change the good way is a failure too. An
  // accuracy metric, the fallback decision or the status that moved beyond its tolerance in
  // the direction that would be an improvement is "changed"; mean_abs_error, cosine and
  // max_abs_index are compared as well (any difference is "changed"); a (case, kernel) only
  // in the candidate fails. With the accuracy tolerances at 0, any change of the numerics
  // fails until the baseline is regenerated. Latency is judged as without it.
  bool fail_on_change = false;
};

inline constexpr double kAccuracyFloor = 1e-12;

// Changed: moved the good way under CompareOptions::fail_on_change (fails).
enum class Verdict { Same, Improvement, Regression, Missing, New, Changed };
const char* to_string(Verdict v);

// One observation about one metric of one (case, kernel).
struct Finding {
  Verdict verdict = Verdict::Same;
  std::string metric;   // "latency", "quantize_latency", "rel_l2", "mse", "max_abs_error", "nonfinite", "fallback",
                        // "status", "presence"
  std::string message;  // human-readable, with the numbers
};

struct KernelComparison {
  std::string case_id;
  std::string kernel;
  Verdict verdict = Verdict::Same;   // Regression > Changed > Missing > Improvement > New > Same
  bool fails = false;                // counts towards exit code 1
  std::optional<double> baseline_ms, candidate_ms;
  std::optional<double> latency_change;   // candidate/baseline - 1
  std::optional<double> mann_whitney_p;   // when both sides kept samples
  std::optional<double> baseline_rel_l2, candidate_rel_l2;
  // Speedup against each report's case baseline (speedup_of): shown, never a verdict.
  std::optional<double> baseline_speedup, candidate_speedup;
  std::vector<Finding> findings;          // only the non-Same ones
};

struct CompareResult {
  std::string baseline_label, candidate_label;  // the caller may set file names here
  CompareOptions options;
  std::vector<KernelComparison> rows;  // baseline order, then candidate-only rows
  std::vector<std::string> notes;      // device mismatch allowed, filter, incomplete reports
  int regressions = 0, improvements = 0, missing = 0, added = 0, unchanged = 0;
  int changed = 0;  // Verdict::Changed rows (only under fail_on_change)
  bool passed() const;
};

// Throws CompareInputError on different devices (unless allowed) or schemas.
CompareResult compare_reports(const Report& baseline, const Report& candidate,
                              const CompareOptions& options);

// Exit codes of `compare`: 0 pass, 1 regression (or missing under MissingPolicy::Fail),
// 2 input error (the caller maps ReportError / CompareInputError / ConfigError to it).
enum ExitCode : int { kExitPass = 0, kExitRegression = 1, kExitInputError = 2 };
int compare_exit_code(const CompareResult& result);

using CompareFormat = OutputFormat;
// One of kCompareFormats (table, markdown, csv, json, and their aliases); nullopt otherwise.
std::optional<CompareFormat> parse_compare_format(const std::string& name);
std::string render_compare(const CompareResult& result, CompareFormat format);
nlohmann::json compare_to_json(const CompareResult& result);

// JUnit XML: one <testcase> per (case, kernel), classname = case id, name = kernel;
// regressions (and missing under Fail) are <failure>s with the reasons, missing under
// Warn is <skipped>. Written atomically (temp file + rename). Throws std::runtime_error.
void write_junit(const CompareResult& result, const std::string& path);
std::string junit_xml(const CompareResult& result);

}  // namespace int8attn
