#include "src/bench/runner.h"

#include <csignal>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/hadamard.h"
#include "src/bench/fallback.h"
#include "src/bench/plan.h"
#include "src/io/diagnostics.h"
#include "src/io/json_text.h"
#include "src/io/output_file.h"
#include "src/report/checkpoint.h"
#include "src/report/json_diff.h"
#include "src/report/json_io.h"

namespace int8attn {
namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Milliseconds on the monotonic clock of the first stop signal since the guard was installed
// (0: none yet). Lock-free, so the handler may touch it.
std::atomic<int64_t>& first_stop_signal_ms() {
  static std::atomic<int64_t> ms{0};
  return ms;
}
int64_t monotonic_ms() {  // clock_gettime is async-signal-safe
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000 + 1;  // never 0
}

// SIGINT (Ctrl-C), SIGTERM (timeout, Slurm's time limit and scancel, a CI job cancelled) and
// SIGHUP (the terminal closed) alike: the first stops the sweep after the running cases, the
// report of the finished ones is written; another one later kills at once (the checkpoint stays
// valid). One within kSameStopWindowMs of the first is that stop sent twice, not a second
// request: GNU timeout signals its child and then its own process group, which holds the child.
extern "C" void on_stop_signal(int sig) {
  const int64_t now = monotonic_ms();
  int64_t first = 0;
  if (first_stop_signal_ms().compare_exchange_strong(first, now)) {
    sweep_interrupt_flag().store(true);
    return;
  }
  if (now - first < kSameStopWindowMs) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}


// A few words for the progress line.
std::string case_summary(const CaseResult& r) {
  std::string out;
  for (const KernelResult& k : r.kernels) {
    if (!out.empty()) out += ", ";
    out += k.kernel + " " + to_string(k.status);
    if (k.accuracy) out += fmt::format(" relL2={:.2g}", k.accuracy->rel_l2);
  }
  return out;
}

// What must match for a resume to continue the same sweep: the config's bytes, the backend,
// and every setting after the command line's overrides (kernels, quantization, thresholds,
// input folders...), so a report never mixes cases run with different options.
nlohmann::json checkpoint_header(const SweepConfig& config, const SweepDevice& device, const ToolInfo& tool,
                                 const SweepOptions& sweep) {
  std::set<std::string> npy_dirs;
  for (const BenchCase& c : config.cases) {
    if (!c.input.npy_dir.empty()) npy_dirs.insert(c.input.npy_dir);
  }
  nlohmann::json options = settings_to_json_expanded(config.settings);
  options["npy_dirs"] = npy_dirs;
  // Shard I of N of another --filter's cases is another list's part: shards of different
  // filters would merge as a complete set with cases missing. (Unsharded, a --filter stays
  // out: a resume may narrow it, and runs of different filters merge.)
  if (sweep.shard && !sweep.filter.empty()) options["filter"] = sweep.filter;
  nlohmann::json header = {{"config_path", config.path},
                           {"config_sha256", config.sha256},
                           {"backend", to_string(device.kind)},
                           {"device", device.name},
                           {"tool_version", tool.version},
                           {"tool_commit", tool.git_commit},
                           {"options", std::move(options)}};
  if (sweep.shard) header["shard"] = to_string(*sweep.shard);
  // Not compared on resume (another node or GPU of the same model may continue the sweep), but
  // kept so that the cases measured here keep naming where they ran (attribute_resumed_cases).
  header["environment"] = to_json(device.environment);
  return header;
}

// Resumed cases that carry no environment of their own (a single-process sweep's) ran where the
// checkpoint's header says. When that is not where this run is (another host, another GPU, the
// workers of --devices), they take it with them instead of being credited to this run's
// environment. Older checkpoints have no environment in their header: the cases stay as read.
void attribute_resumed_cases(std::vector<CaseResult>& cases, const nlohmann::json& header, const std::string& path,
                             const Environment& here) {
  if (!header.contains("environment")) return;
  const auto then = from_json_as<Environment>(header["environment"], path, "$.environment");
  if (then == here) return;
  for (CaseResult& r : cases) {
    if (!r.environment) r.environment = then;
  }
}

// The finished cases of a checkpoint that belong to this sweep, each once, and how many it
// holds of cases outside this sweep's selection (another --filter or -a of the same config).
struct ResumedCases {
  std::vector<CaseResult> kept;
  int64_t outside_selection = 0;
};

// A line's own fields must give its id, or it is not the case it claims to be (a damaged or
// edited checkpoint would otherwise put another shape's results under this case's id).
void check_resumed_case(const CaseResult& r, const std::string& path) {
  const std::string id = make_case_id(r.dims, r.input, r.rotation);
  if (id != r.id) {
    throw ResumeError(fmt::format("--resume: checkpoint {}: the line of case {} describes case {} (dims, input or "
                                  "rotation differ from its id); start over without --resume",
                                  path, r.id, id));
  }
}

// Loads finished cases from a checkpoint after checking it belongs to this sweep.
// A rebuilt tool measures with other kernels: its cases and the checkpoint's would share one
// report under one commit. The commit is compared where the checkpoint recorded one (not
// before 2026-12-05).
void check_resume_tool(const nlohmann::json& then, const nlohmann::json& now, const std::string& path) {
  const nlohmann::json then_commit = then.value("tool_commit", nlohmann::json());
  const bool same_version = then.value("tool_version", nlohmann::json()) == now.at("tool_version");
  if (same_version && (then_commit.is_null() || then_commit == now.at("tool_commit"))) return;
  throw ResumeError(fmt::format(
      "--resume: checkpoint {} was made by another build of the tool (version {}, commit {}; this is version {}, "
      "commit {}): its cases were measured with other kernels; start over without --resume, or resume with "
      "that build",
      path, dump_json(then.value("tool_version", nlohmann::json())),
      then_commit.is_null() ? std::string("not recorded") : dump_json(then_commit), dump_json(now.at("tool_version")),
      dump_json(now.at("tool_commit"))));
}

// Why there is nothing to resume from: a finished sweep removes its checkpoint, so a report at
// -o that says it is complete is the common case (a command run again with --resume).
std::string no_checkpoint_reason(const std::string& path, const std::string& report_path) {
  std::string reason = fmt::format("--resume: no checkpoint at {}", path);
  std::error_code ignored;
  if (report_path.empty() || !std::filesystem::is_regular_file(report_path, ignored)) return reason;
  try {
    if (read_report(report_path).complete) {
      reason += fmt::format("; {} is a complete report (its sweep finished and removed the checkpoint): nothing to "
                            "resume; run without --resume to measure again, with another -o to keep it",
                            report_path);
    }
  } catch (const std::exception&) {  // not a report: the plain reason
  }
  return reason;
}

ResumedCases load_resume_cases(const std::string& path, const std::string& report_path, const nlohmann::json& header,
                               const std::vector<BenchCase>& cases, const Environment& here) {
  if (!std::filesystem::exists(path)) throw ResumeError(no_checkpoint_reason(path, report_path));
  std::error_code size_error;  // a torn header is one short line: no need to read a long checkpoint twice
  if (std::filesystem::file_size(path, size_error) < (uintmax_t{1} << 20) && !size_error &&
      torn_checkpoint_header(read_text_file(path))) {
    diag("note: {} holds only the start of its header (killed or out of disk space while it was written): "
         "no finished case; starting over\n", path);
    return {};
  }
  Checkpoint ckpt = read_checkpoint(path);
  check_resume_tool(ckpt.header, header, path);
  for (const char* key : {"config_sha256", "backend", "device", "shard"}) {
    const nlohmann::json then = ckpt.header.value(key, nlohmann::json());
    const nlohmann::json now = header.value(key, nlohmann::json());
    if (then != now) {
      throw ResumeError(fmt::format(
          "--resume: checkpoint {} was made with a different {} ({} vs {} now); start over "
          "without --resume or use the matching config/backend/shard",
          path, key, dump_json(then), dump_json(now)));
    }
  }
  const nlohmann::json then = ckpt.header.value("options", nlohmann::json());
  if (then != header.at("options")) {
    throw ResumeError(fmt::format(
        "--resume: checkpoint {} was made with other options ({}); resume with the same options "
        "or start over without --resume",
        path, then.is_object() ? describe_json_differences(then, header.at("options"), "then", "now")
                               : std::string("none recorded")));
  }
  if (ckpt.dropped_lines > 0) {
    diag("note: ignored {} incomplete line(s) at the end of {}\n", ckpt.dropped_lines, path);
  }
  std::set<std::string> wanted, seen, outside;
  for (const BenchCase& c : cases) wanted.insert(c.id);
  ResumedCases resumed;
  int64_t repeated = 0;
  for (CaseResult& r : ckpt.cases) {
    check_resumed_case(r, path);
    if (!wanted.count(r.id)) {
      outside.insert(r.id);
    } else if (!seen.insert(r.id).second) {
      ++repeated;
    } else {
      resumed.kept.push_back(std::move(r));
    }
  }
  attribute_resumed_cases(resumed.kept, ckpt.header, path, here);
  resumed.outside_selection = static_cast<int64_t>(outside.size());
  if (!outside.empty()) {
    diag("note: {} holds {} finished case(s) outside this sweep's cases (another --filter or -a); they stay in it "
         "and out of this report\n", path, outside.size());
  }
  if (repeated > 0) diag("note: ignored {} repeated case(s) in {} (kept the first)\n", repeated, path);
  return resumed;
}

// Resumed cases come first in the list; the report follows the config's case order.
void order_like_config(std::vector<CaseResult>& results, const std::vector<BenchCase>& cases) {
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < cases.size(); ++i) position.emplace(cases[i].id, i);
  auto rank = [&](const CaseResult& r) {
    auto it = position.find(r.id);
    return it == position.end() ? cases.size() : it->second;
  };
  std::stable_sort(results.begin(), results.end(),
                   [&](const CaseResult& a, const CaseResult& b) { return rank(a) < rank(b); });
}

// The backend's run of `kernels` on a case; a failure before any kernel ran (the inputs, the
// reference) fails each kernel with it, whichever backend it came from.
CaseResult run_on_backend(Backend& backend, const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                          const RunSettings& settings, const CaseDump& dump) {
  try {
    return backend.run_case(c, kernels, settings, dump);
  } catch (const std::exception& e) {
    CaseResult failed;
    for (const KernelSpec* k : kernels) failed.kernels.push_back(failed_kernel(k->name, e));
    return failed;
  }
}

// The fallback's second try: the INT8 kernels that missed only accuracy thresholds without
// rotation run again on the same case with settings.fallback_rotation (one more backend run,
// inputs and reference included) and keep INT8 when that run passes every check.
void try_rotated_variants(const BenchCase& c, Backend& backend, const RunSettings& settings, CaseResult& result) {
  const QkRotation rotation = settings.fallback_rotation;
  if (rotation == QkRotation::None || c.rotation != QkRotation::None || !is_power_of_two(c.dims.head_dim)) return;
  const Baseline* baseline = result.baseline ? &*result.baseline : nullptr;
  std::vector<const KernelSpec*> retry;
  for (const KernelResult& k : result.kernels) {
    if (k.fallback && rotation_may_help(k, settings.thresholds, baseline)) retry.push_back(find_kernel(k.kernel));
  }
  if (retry.empty()) return;
  BenchCase rotated = c;
  rotated.rotation = rotation;
  rotated.id = make_case_id(c.dims, c.input, rotation);
  // No dump: the case's dump holds what the report shows.
  const CaseResult again = run_on_backend(backend, rotated, retry, settings, CaseDump());
  for (KernelResult& k : result.kernels) {
    if (std::find(retry.begin(), retry.end(), find_kernel(k.kernel)) == retry.end()) continue;
    auto run = std::find_if(again.kernels.begin(), again.kernels.end(),
                            [&](const KernelResult& r) { return r.kernel == k.kernel; });
    judge_rotated_attempt(k,
                          run != again.kernels.end()
                              ? *run
                              : status_result(k.kernel, KernelStatus::Skipped, "backend returned no result"),
                          rotation, settings.thresholds, baseline);
  }
}

}  // namespace

StopSignalGuard::StopSignalGuard() : previous_int_(SIG_DFL), previous_term_(SIG_DFL), previous_hup_(SIG_DFL) {
  first_stop_signal_ms().store(0);  // a stop before this guard (an earlier sweep's) is not this one's first
  previous_int_ = std::signal(SIGINT, on_stop_signal);
  previous_term_ = std::signal(SIGTERM, on_stop_signal);
  previous_hup_ = std::signal(SIGHUP, on_stop_signal);
  if (previous_hup_ == SIG_IGN) std::signal(SIGHUP, SIG_IGN);  // nohup: the user asked to outlive the terminal
}
StopSignalGuard::~StopSignalGuard() {
  std::signal(SIGINT, previous_int_);
  std::signal(SIGTERM, previous_term_);
  std::signal(SIGHUP, previous_hup_);
}

std::atomic<bool>& sweep_interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

CaseResult run_one_case(const BenchCase& c, Backend& backend, const RunSettings& settings) {
  const auto start = std::chrono::steady_clock::now();
  CaseResult result = case_result_for(c);
  std::vector<const KernelSpec*> runnable;
  std::vector<KernelResult> skipped;
  const std::vector<KernelPlan> plans = plan_case(c, backend, settings);
  for (const KernelPlan& plan : plans) {
    if (plan.runs()) {
      runnable.push_back(find_kernel(plan.kernel));
    } else {
      skipped.push_back(status_result(plan.kernel, KernelStatus::Skipped, plan.skip_reason));
    }
  }
  if (!runnable.empty()) {  // what a backend adds to a case: its kernels and the reference check
    CaseResult ran = run_on_backend(backend, c, runnable, settings, CaseDump(settings.dump_dir, c));
    result.kernels = std::move(ran.kernels);
    result.reference_check = std::move(ran.reference_check);
  }
  // Report kernels in the config's order, whichever path produced them.
  std::vector<KernelResult> ordered;
  for (const std::string& name : settings.kernels) {
    auto take = [&](std::vector<KernelResult>& from) {
      for (KernelResult& k : from) {
        if (k.kernel == name) { ordered.push_back(std::move(k)); return true; }
      }
      return false;
    };
    if (!take(result.kernels) && !take(skipped)) {
      ordered.push_back(status_result(name, KernelStatus::Skipped, "backend returned no result"));
    }
  }
  result.kernels = std::move(ordered);
  for (size_t i = 0; i < plans.size(); ++i) {
    if (result.kernels[i].status != KernelStatus::Skipped) result.kernels[i].quantization = plans[i].quantization;
  }
  apply_fallback_policy(result, settings, backend.kind() == BackendKind::Cuda);
  try_rotated_variants(c, backend, settings, result);
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

SweepSession::SweepSession(const SweepConfig& config, const SweepOptions& options, const ToolInfo& tool,
                           const SweepDevice& device)
    : config_(config), options_(options) {
  Report& report = outcome_.report;
  report.tool = tool;
  report.environment = device.environment;
  const nlohmann::json header = checkpoint_header(config, device, tool, options);
  report.config = {config.path, config.sha256, config.expanded, header.at("options")};
  report.shard = options.shard;
  report.started_at = utc_now();

  checkpoint_path_ = options.checkpoint_path.empty() ? checkpoint_path_for(options.output_path) : options.checkpoint_path;
  std::set<std::string> done;
  if (options.resume) {
    ResumedCases resumed =
        load_resume_cases(checkpoint_path_, options.output_path, header, config.cases, report.environment);
    keep_checkpoint_ = resumed.outside_selection > 0;
    for (CaseResult& r : resumed.kept) {
      done.insert(r.id);
      report.cases.push_back(std::move(r));
    }
    outcome_.resumed_cases = static_cast<int64_t>(report.cases.size());
  }
  if (options.write_checkpoint) checkpoint_.open(checkpoint_path_, header, options.resume);

  double total_work = 0;
  for (const BenchCase& c : config.cases) {
    if (done.count(c.id)) continue;
    todo_.push_back(&c);
    total_work += attention_flops(c.dims);
  }
  progress_.emplace(options.progress, static_cast<int64_t>(todo_.size()), total_work);
}

void SweepSession::record(const BenchCase& c, CaseResult result, const std::string& where) {
  if (checkpoint_.is_open()) checkpoint_.append(result);
  const std::string shown = where.empty() ? c.id : where + " " + c.id;
  progress_->finish_case(shown, attention_flops(c.dims), case_summary(result));
  outcome_.report.cases.push_back(std::move(result));
  ++recorded_;
}

void SweepSession::note(const std::string& text) {
  if (!options_.notes) return;
  if (options_.progress == ProgressMode::None) {
    diag("note: {}\n", text);
  } else {
    progress_->message("note: " + text);
  }
}

SweepOutcome SweepSession::finish(bool interrupted, bool all_ran) {
  progress_->done();
  Report& report = outcome_.report;
  order_like_config(report.cases, config_.cases);
  outcome_.interrupted = interrupted;
  for (const CaseResult& r : report.cases) {
    for (const KernelResult& k : r.kernels) outcome_.kernel_errors += k.status == KernelStatus::Error;
  }
  report.complete = !interrupted && all_ran;
  report.finished_at = utc_now();
  summarize(report);
  // A Ctrl-C before the first case finished has nothing to put in place of an earlier report.
  std::error_code ignored;
  const bool keeps_earlier_file = !report.complete && report.cases.empty() && options_.output_path != kStdoutPath &&
                                  std::filesystem::is_regular_file(options_.output_path, ignored);
  outcome_.report_written = !keeps_earlier_file;
  if (outcome_.report_written) write_report_atomic(report, options_.output_path);
  if (report.complete && checkpoint_.is_open()) {
    if (keep_checkpoint_) checkpoint_.close();
    else checkpoint_.remove();
  }
  return std::move(outcome_);
}

SweepOutcome run_sweep(const SweepConfig& config, Backend& backend, const SweepOptions& options,
                       const ToolInfo& tool) {
  SweepSession session(config, options, tool, {backend.kind(), backend.caps().name, backend.environment()});
  sweep_interrupt_flag().store(false);
  StopSignalGuard guard;  // over the report's write too: a stop signal then changes nothing
  for (const BenchCase* c : session.todo()) {
    if (sweep_interrupt_flag().load()) break;
    session.progress().start_case(c->id);
    session.record(*c, run_one_case(*c, backend, config.settings));
  }
  // A Ctrl-C after the last case left nothing unrun: the report is complete.
  return session.finish(sweep_interrupt_flag().load() && session.unfinished() > 0);
}

}  // namespace int8attn
