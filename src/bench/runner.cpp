#include "src/bench/runner.h"

#include <csignal>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "src/bench/fallback.h"
#include "src/bench/plan.h"
#include "src/report/checkpoint.h"
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

extern "C" void on_sigint(int) {
  sweep_interrupt_flag().store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once; the checkpoint stays valid
}

// Installs the SIGINT handler for the lifetime of a sweep.
class SigintGuard {
 public:
  SigintGuard() { previous_ = std::signal(SIGINT, on_sigint); }
  ~SigintGuard() { std::signal(SIGINT, previous_); }

 private:
  void (*previous_)(int);
};

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
nlohmann::json checkpoint_header(const SweepConfig& config, const Backend& backend,
                                 const ToolInfo& tool) {
  std::set<std::string> npy_dirs;
  for (const BenchCase& c : config.cases) {
    if (!c.input.npy_dir.empty()) npy_dirs.insert(c.input.npy_dir);
  }
  nlohmann::json options = settings_to_json_expanded(config.settings);
  options["npy_dirs"] = npy_dirs;
  return {{"config_path", config.path},
          {"config_sha256", config.sha256},
          {"backend", to_string(backend.kind())},
          {"device", backend.caps().name},
          {"tool_version", tool.version},
          {"options", std::move(options)}};
}

// "kernels: [a,b] then, [a,b,c] now; thresholds.max_mse: ..." for the options that differ
// (objects are entered, anything else is shown whole).
void describe_option_differences(const nlohmann::json& then, const nlohmann::json& now, const std::string& at,
                                  std::string& out) {
  if (then.is_object() && now.is_object()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : then.items()) keys.insert(key);
    for (const auto& [key, value] : now.items()) keys.insert(key);
    for (const std::string& key : keys) {
      const nlohmann::json none;
      describe_option_differences(then.contains(key) ? then.at(key) : none, now.contains(key) ? now.at(key) : none,
                                  at.empty() ? key : at + "." + key, out);
    }
    return;
  }
  if (then == now) return;
  out += fmt::format("{}{}: {} then, {} now", out.empty() ? "" : "; ", at, then.dump(), now.dump());
}

// Loads finished cases from a checkpoint after checking it belongs to this sweep; keeps only
// cases of this config, each once.
std::vector<CaseResult> load_resume_cases(const std::string& path, const nlohmann::json& header,
                                          const std::vector<BenchCase>& cases) {
  if (!std::filesystem::exists(path)) {
    throw ResumeError(fmt::format("--resume: no checkpoint at {}", path));
  }
  Checkpoint ckpt = read_checkpoint(path);
  for (const char* key : {"config_sha256", "backend", "device"}) {
    if (ckpt.header.value(key, nlohmann::json()) != header.at(key)) {
      throw ResumeError(fmt::format(
          "--resume: checkpoint {} was made with a different {} ({} vs {} now); start over "
          "without --resume or use the matching config/backend",
          path, key, ckpt.header.value(key, nlohmann::json()).dump(), header.at(key).dump()));
    }
  }
  const nlohmann::json then = ckpt.header.value("options", nlohmann::json());
  if (then != header.at("options")) {
    throw ResumeError(fmt::format(
        "--resume: checkpoint {} was made with other options ({}); resume with the same options "
        "or start over without --resume",
        path, [&] {
          std::string differences;
          describe_option_differences(then, header.at("options"), "", differences);
          return then.is_object() ? differences : std::string("none recorded");
        }()));
  }
  if (ckpt.dropped_lines > 0) {
    fmt::print(stderr, "note: ignored {} incomplete line(s) at the end of {}\n", ckpt.dropped_lines, path);
  }
  std::set<std::string> wanted, seen;
  for (const BenchCase& c : cases) wanted.insert(c.id);
  std::vector<CaseResult> kept;
  int64_t foreign = 0, repeated = 0;
  for (CaseResult& r : ckpt.cases) {
    if (!wanted.count(r.id)) {
      ++foreign;
    } else if (!seen.insert(r.id).second) {
      ++repeated;
    } else {
      kept.push_back(std::move(r));
    }
  }
  if (foreign > 0) fmt::print(stderr, "note: ignored {} case(s) of {} that are not in the config\n", foreign, path);
  if (repeated > 0) fmt::print(stderr, "note: ignored {} repeated case(s) in {} (kept the first)\n", repeated, path);
  return kept;
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

}  // namespace

std::atomic<bool>& sweep_interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

double attention_flops(const AttnDims& d) {
  const double flops = 4.0 * d.batch * d.heads * static_cast<double>(d.seq_q) * d.seq_kv * d.head_dim;
  return d.causal ? flops / 2 : flops;
}

CaseResult run_one_case(const BenchCase& c, Backend& backend, const RunSettings& settings) {
  CaseResult result;
  std::vector<const KernelSpec*> runnable;
  std::vector<KernelResult> skipped;
  for (const KernelPlan& plan : plan_case(c, backend, settings)) {
    if (plan.runs()) {
      runnable.push_back(plan.spec);
    } else {
      skipped.push_back(status_result(plan.kernel, KernelStatus::Skipped, plan.skip_reason));
    }
  }
  if (!runnable.empty()) result = backend.run_case(c, runnable, settings);
  result.id = c.id;
  result.dims = c.dims;
  result.input = c.input;
  result.rotation = c.rotation;
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
  apply_fallback_policy(result, settings, backend.kind() == BackendKind::Cuda);
  return result;
}

SweepOutcome run_sweep(const SweepConfig& config, Backend& backend, const SweepOptions& options,
                       const ToolInfo& tool) {
  SweepOutcome outcome;
  Report& report = outcome.report;
  report.tool = tool;
  report.environment = backend.environment();
  report.config = {config.path, config.sha256, config.expanded};
  report.started_at = utc_now();

  const std::string ckpt_path =
      options.checkpoint_path.empty() ? checkpoint_path_for(options.output_path) : options.checkpoint_path;
  const nlohmann::json header = checkpoint_header(config, backend, tool);
  std::set<std::string> done;
  if (options.resume) {
    for (CaseResult& r : load_resume_cases(ckpt_path, header, config.cases)) {
      done.insert(r.id);
      report.cases.push_back(std::move(r));
    }
    outcome.resumed_cases = static_cast<int64_t>(report.cases.size());
  }
  CheckpointWriter checkpoint;
  if (options.write_checkpoint) checkpoint.open(ckpt_path, header, options.resume);

  std::vector<const BenchCase*> todo;
  double total_work = 0;
  for (const BenchCase& c : config.cases) {
    if (done.count(c.id)) continue;
    todo.push_back(&c);
    total_work += attention_flops(c.dims);
  }
  Progress progress(options.progress, static_cast<int64_t>(todo.size()), total_work);
  sweep_interrupt_flag().store(false);
  {
    SigintGuard guard;
    for (const BenchCase* c : todo) {
      if (sweep_interrupt_flag().load()) break;
      progress.start_case(c->id);
      const auto t0 = std::chrono::steady_clock::now();
      CaseResult r = run_one_case(*c, backend, config.settings);
      r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (checkpoint.is_open()) checkpoint.append(r);
      progress.finish_case(c->id, attention_flops(c->dims), case_summary(r));
      report.cases.push_back(std::move(r));
    }
  }
  progress.done();
  order_like_config(report.cases, config.cases);
  outcome.interrupted = sweep_interrupt_flag().load();
  for (const CaseResult& r : report.cases) {
    for (const KernelResult& k : r.kernels) outcome.kernel_errors += k.status == KernelStatus::Error;
  }
  report.complete = !outcome.interrupted;
  report.finished_at = utc_now();
  summarize(report);
  write_report_atomic(report, options.output_path);
  if (report.complete && checkpoint.is_open()) {
    checkpoint.close();
    std::filesystem::remove(ckpt_path);
  }
  return outcome;
}

}  // namespace int8attn
