// One line per INT8 (and FP8) kernel that answers "should I ship it here?": where it kept its
// low-precision decision, how fast it was against the case baseline, its worst error.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "src/report/render_common.h"
#include "src/report/svg_chart.h"  // seq_label

namespace int8attn::view {
namespace {

struct Run {
  const CaseResult* c;
  const KernelResult* k;
};

bool kept_low_precision(const KernelResult& k) {
  if (k.fallback) return keeps_int8(k.fallback->decision);
  return k.fp8_verdict && k.fp8_verdict->decision == Fp8Decision::Fp8;
}

const std::vector<std::string>& decision_reasons(const KernelResult& k) {
  static const std::vector<std::string> none;
  if (k.fallback) return k.fallback->reasons;
  return k.fp8_verdict ? k.fp8_verdict->reasons : none;
}

// "speed in 20, accuracy in 3": what made the fallbacks, by the reason's category.
std::string fallback_causes(const std::vector<Run>& fell_back) {
  std::map<std::string, int> by_cause;
  for (const Run& r : fell_back) {
    std::vector<std::string> causes;
    for (const std::string& reason : decision_reasons(*r.k)) {
      if (reason.starts_with(rotated_reason_prefix(QkRotation::Hadamard))) continue;  // counted by the first run's
      const std::string cause = reason.substr(0, reason.find(':'));
      if (std::find(causes.begin(), causes.end(), cause) == causes.end()) causes.push_back(cause);
    }
    for (const std::string& cause : causes) ++by_cause[cause];
  }
  std::vector<std::pair<std::string, int>> sorted(by_cause.begin(), by_cause.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [cause, n] : sorted) out += fmt::format("{}{} in {}", out.empty() ? "" : ", ", cause, n);
  return out;
}

// "INT8 in all 12 cases", "INT8 from 2K tokens", "FP16 in all 12 cases (speed in 12)", ...
std::string decision_part(const std::vector<Run>& ran, const char* low, const char* high) {
  std::vector<Run> kept, fell_back;
  for (const Run& r : ran) (kept_low_precision(*r.k) ? kept : fell_back).push_back(r);
  const std::string all = ran.size() == 1 ? std::string("its one case") : fmt::format("all {} cases", ran.size());
  if (fell_back.empty()) return fmt::format("{} in {}", low, all);
  const std::string causes = fallback_causes(fell_back);
  if (kept.empty()) return fmt::format("{} in {} ({})", high, all, causes);
  int64_t shortest_kept = std::numeric_limits<int64_t>::max(), longest_fell_back = 0;
  for (const Run& r : kept) shortest_kept = std::min(shortest_kept, r.c->dims.seq_kv);
  for (const Run& r : fell_back) longest_fell_back = std::max(longest_fell_back, r.c->dims.seq_kv);
  if (longest_fell_back < shortest_kept) {
    return fmt::format("{} from {} tokens ({} below: {})", low, seq_label(static_cast<double>(shortest_kept)), high,
                       causes);
  }
  return fmt::format("{} in {} of {} cases ({} in the others: {})", low, kept.size(), ran.size(), high, causes);
}

// "; with the Hadamard rotation in 3": the cases that kept INT8 only rotated.
std::string rotation_part(const std::vector<Run>& ran) {
  const auto rotated = std::count_if(ran.begin(), ran.end(), [](const Run& r) {
    return r.k->fallback && r.k->fallback->decision == Decision::Int8Hadamard;
  });
  return rotated > 0 ? fmt::format("; with the Hadamard rotation in {}", rotated) : "";
}

// What the speedups are against: one kernel when every case had the same baseline.
std::string baseline_name(const std::vector<Run>& ran) {
  std::string name;
  for (const Run& r : ran) {
    const std::string kernel = r.c->baseline ? r.c->baseline->kernel : std::string();
    if (kernel.empty() || (!name.empty() && kernel != name)) return "the fastest FP16 kernel";
    name = kernel;
  }
  return name.empty() ? "the fastest FP16 kernel" : name;
}

std::string speed_part(const std::vector<Run>& ran) {
  double lo = INFINITY, hi = 0;
  for (const Run& r : ran) {
    if (auto x = speedup_of(*r.c, *r.k)) lo = std::min(lo, *x), hi = std::max(hi, *x);
  }
  if (!(hi > 0)) return "no latencies (accuracy only)";
  const std::string range = lo == hi ? view::fixed(lo, 2) + "×" : view::fixed(lo, 2) + "–" + view::fixed(hi, 2) + "×";
  const std::string base = baseline_name(ran);
  if (lo >= 1) return fmt::format("{} faster than {}", range, base);
  if (hi < 1) return fmt::format("{} the speed of {} (slower)", range, base);
  return fmt::format("{} the speed of {}", range, base);
}

std::string accuracy_part(const std::vector<Run>& ran) {
  std::optional<double> rel_l2, max_abs;
  // NaN is the worst, as in the summary (std::max would keep the number beside it).
  auto worst = [](std::optional<double> so_far, double v) {
    if (!so_far || std::isnan(v) || std::isnan(*so_far)) return std::isnan(v) || !so_far ? v : *so_far;
    return std::max(*so_far, v);
  };
  for (const Run& r : ran) {
    if (!r.k->accuracy) continue;
    rel_l2 = worst(rel_l2, r.k->accuracy->rel_l2);
    max_abs = worst(max_abs, r.k->accuracy->max_abs_error);
  }
  if (!rel_l2) return "";
  return fmt::format(", worst rel L2 {:.3g}, max abs {:.3g}", *rel_l2, *max_abs);
}

std::string verdict_line(const std::string& kernel, KernelFamily family, const std::vector<Run>& runs) {
  std::vector<Run> ran;
  int64_t skipped = 0, errors = 0;
  std::string first_skip;
  for (const Run& r : runs) {
    if (r.k->status == KernelStatus::Ok) ran.push_back(r);
    if (r.k->status == KernelStatus::Skipped && skipped++ == 0) first_skip = r.k->reason;
    errors += r.k->status == KernelStatus::Error;
  }
  std::string line = kernel + ": ";
  if (ran.empty()) {
    const std::string all = runs.size() == 1 ? std::string("its one case") : fmt::format("all {} cases", runs.size());
    line += skipped > 0 ? fmt::format("skipped in {} ({})", all, first_skip) : fmt::format("failed in {}", all);
    return line;
  }
  const bool fp8 = family == KernelFamily::Fp8;
  line += decision_part(ran, fp8 ? "FP8" : "INT8", fp8 ? "FP16" : "FP16 fallback") + rotation_part(ran) + ", " +
          speed_part(ran) + accuracy_part(ran);
  if (skipped > 0) line += fmt::format("; skipped in {} ({})", skipped, first_skip);
  if (errors > 0) line += fmt::format("; failed in {}", errors);
  return line;
}

}  // namespace

std::vector<std::string> verdict_lines(const Report& r) {
  std::vector<std::pair<std::string, KernelFamily>> kernels;
  std::map<std::string, std::vector<Run>> runs;
  for (const CaseResult& c : r.cases) {
    for (const KernelResult& k : c.kernels) {
      const KernelFamily family = k.family();
      if (family != KernelFamily::Int8 && family != KernelFamily::Fp8) continue;
      if (!runs.count(k.kernel)) kernels.emplace_back(k.kernel, family);
      runs[k.kernel].push_back({&c, &k});
    }
  }
  // INT8 kernels first: the question the report answers; FP8 as the alternative.
  std::stable_partition(kernels.begin(), kernels.end(), [](const auto& k) { return k.second == KernelFamily::Int8; });
  std::vector<std::string> lines;
  for (const auto& [name, family] : kernels) lines.push_back(verdict_line(name, family, runs[name]));
  return lines;
}

}  // namespace int8attn::view
