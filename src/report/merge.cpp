#include "src/report/merge.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "src/report/json_diff.h"

namespace int8attn {
namespace {

void add_difference(std::vector<std::string>& out, const char* what, const std::string& a, const std::string& b,
                    const MergeInput& in_a, const MergeInput& in_b) {
  if (a != b) out.push_back(fmt::format("{}: \"{}\" in {}, \"{}\" in {}", what, a, in_a.source, b, in_b.source));
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// Each part as the merged report lists it; a merged input brings its own parts.
std::vector<ReportPart> parts_of(const MergeInput& in) {
  if (!in.report.parts.empty()) return in.report.parts;
  const Report& r = in.report;
  return {ReportPart{in.source, r.tool, r.config.sha256, r.shard, r.complete, static_cast<int64_t>(r.cases.size()),
                     r.started_at, r.finished_at}};
}

void add_environment(std::vector<Environment>& environments, const Environment& env) {
  if (std::find(environments.begin(), environments.end(), env) == environments.end()) environments.push_back(env);
}

// Refuses a case id that two parts hold, naming both files.
void check_unique_case_ids(const std::vector<MergeInput>& inputs) {
  std::map<std::string, const std::string*> owner;
  std::vector<std::string> repeated;
  for (const MergeInput& in : inputs) {
    for (const CaseResult& c : in.report.cases) {
      auto [it, inserted] = owner.emplace(c.id, &in.source);
      if (!inserted) repeated.push_back(fmt::format("{} (in {} and {})", c.id, *it->second, in.source));
    }
  }
  if (repeated.empty()) return;
  const size_t shown = std::min<size_t>(repeated.size(), 3);
  throw MergeError(fmt::format("merge: {} case id(s) appear in more than one report: {}{}; a case must come from "
                               "one report only (were two shards or runs overlapping?)",
                               repeated.size(), join({repeated.begin(), repeated.begin() + shown}, ", "),
                               repeated.size() > shown ? ", ..." : ""));
}

// The shards a set lacks: how many, and the first few as "2/3" (a set may claim a million).
struct MissingShards {
  int64_t count = 0;
  std::vector<std::string> first;
  bool empty() const { return count == 0; }
  std::string text() const {
    return fmt::format("{}{}", join(first, ", "),
                       count > static_cast<int64_t>(first.size()) ? fmt::format(", ... ({} in all)", count) : "");
  }
};

// The shards of each set (shards of one count): the same shard twice is refused; the missing
// ones returned. Sets of several counts (--allow-mixed) each vouch only for themselves, so a
// gap in any of them is a gap in the merged report.
MissingShards missing_shards(const std::vector<MergeInput>& inputs) {
  std::map<int64_t, std::map<int64_t, const std::string*>> sets;  // count -> index -> source
  for (const MergeInput& in : inputs) {
    for (const ReportPart& part : parts_of(in)) {
      if (!part.shard) continue;  // a whole run or a --filter run: the shards beside it still count
      auto [it, inserted] = sets[part.shard->count].emplace(part.shard->index, &in.source);
      if (!inserted) {
        throw MergeError(fmt::format("merge: shard {} is in both {} and {}", to_string(*part.shard), *it->second,
                                     in.source));
      }
    }
  }
  constexpr size_t kShown = 20;
  MissingShards missing;
  for (const auto& [count, seen] : sets) {
    const int64_t gap = count - static_cast<int64_t>(seen.size());
    int64_t named = 0;  // a set may claim a million shards: stop once its gap is named
    for (int64_t i = 1; i <= count && named < gap && missing.first.size() < kShown; ++i) {
      if (!seen.count(i)) {
        missing.first.push_back(to_string(ShardSpec{i, count}));
        ++named;
      }
    }
    missing.count += gap;
  }
  return missing;
}

void order_cases(std::vector<CaseResult>& cases, const std::vector<std::string>& case_order) {
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < case_order.size(); ++i) position.emplace(case_order[i], i);
  auto rank = [&](const CaseResult& c) {
    auto it = position.find(c.id);
    return it == position.end() ? position.size() : it->second;
  };
  std::stable_sort(cases.begin(), cases.end(), [&](const CaseResult& a, const CaseResult& b) { return rank(a) < rank(b); });
}

}  // namespace

std::vector<std::string> sweep_differences(const MergeInput& a, const MergeInput& b) {
  const Report& x = a.report;
  const Report& y = b.report;
  std::vector<std::string> out;
  add_difference(out, "schema", x.schema, y.schema, a, b);
  add_difference(out, "tool version", x.tool.version, y.tool.version, a, b);
  add_difference(out, "tool git_commit", x.tool.git_commit, y.tool.git_commit, a, b);
  add_difference(out, "config sha256", x.config.sha256, y.config.sha256, a, b);
  add_difference(out, "backend", x.environment.backend, y.environment.backend, a, b);
  const bool fingerprinted = x.config.options.is_object() && y.config.options.is_object();
  const std::string options = fingerprinted
                                  ? describe_json_differences(x.config.options, y.config.options, "in " + a.source,
                                                              "in " + b.source)
                                  : describe_json_differences(x.config.settings, y.config.settings, "in " + a.source,
                                                              "in " + b.source);
  if (!options.empty()) out.push_back((fingerprinted ? "options: " : "config settings: ") + options);
  if (x.shard && y.shard && x.shard->count != y.shard->count) {
    out.push_back(fmt::format("shard count: {} in {}, {} in {}", x.shard->count, a.source, y.shard->count, b.source));
  }
  return out;
}

MergeResult merge_reports(const std::vector<MergeInput>& inputs, bool allow_mixed,
                          const std::vector<std::string>& case_order) {
  if (inputs.empty()) throw MergeError("merge: expected at least one report, found none");
  MergeResult result;
  for (size_t i = 1; i < inputs.size(); ++i) {
    const std::vector<std::string> differences = sweep_differences(inputs[0], inputs[i]);
    if (differences.empty()) continue;
    const std::string what = join(differences, "; ");
    if (!allow_mixed) {
      throw MergeError(fmt::format("merge: {} is not from the same sweep as {}: {}. Merge the reports of one sweep, "
                                   "or pass --allow-mixed to merge them anyway",
                                   inputs[i].source, inputs[0].source, what));
    }
    result.notes.push_back("merged despite differences (--allow-mixed): " + what);
  }
  check_unique_case_ids(inputs);
  const MissingShards missing = missing_shards(inputs);

  Report& merged = result.report;
  const Report& first = inputs[0].report;
  merged.tool = first.tool;
  merged.environment = first.environment;
  merged.config = first.config;
  merged.complete = missing.empty();
  for (const MergeInput& in : inputs) {
    const Report& r = in.report;
    if (r.environments.empty()) add_environment(merged.environments, r.environment);
    for (const Environment& env : r.environments) add_environment(merged.environments, env);
    // A merged input is judged by its own parts: a shard it lacked may be given now.
    for (const ReportPart& part : parts_of(in)) {
      if (!part.complete) {
        result.notes.push_back(part.source + " is incomplete (an interrupted sweep): so is the merged report");
      }
      merged.complete = merged.complete && part.complete;
      merged.parts.push_back(part);
    }
    for (const CaseResult& c : r.cases) {
      merged.cases.push_back(c);
      if (!c.environment) merged.cases.back().environment = r.environment;
    }
    if (!r.started_at.empty() && (merged.started_at.empty() || r.started_at < merged.started_at)) {
      merged.started_at = r.started_at;
    }
    merged.finished_at = std::max(merged.finished_at, r.finished_at);
  }
  if (!missing.empty()) {
    result.notes.push_back(fmt::format("shard(s) {} missing: the merged report is incomplete", missing.text()));
  }
  order_cases(merged.cases, case_order);
  summarize(merged);
  return result;
}

}  // namespace int8attn
