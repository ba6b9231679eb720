// The sweep: runs every case of a config on one backend, applies the registry's support
// rules and the fallback policy, shows progress, checkpoints each finished case, and writes
// the report atomically. Backend-independent: the CPU and CUDA backends plug in below.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/bench/backend.h"
#include "src/bench/progress.h"
#include "src/config/sweep_config.h"
#include "src/model/shard.h"
#include "src/report/checkpoint.h"
#include "src/report/report.h"

namespace int8attn {

struct SweepOptions {
  std::string output_path;
  std::string checkpoint_path;  // empty: output_path + ".ckpt.jsonl"
  bool write_checkpoint = true; // false: no checkpoint (an output that is a device or FIFO)
  bool resume = false;          // continue from the checkpoint instead of starting over
  bool notes = true;            // events that matter (a worker died) on stderr, even without progress
  ProgressMode progress = ProgressMode::Auto;
  std::optional<ShardSpec> shard;  // the config's cases are this shard (--shard): recorded, checked on resume
  // --filter. A shard partitions the filtered cases, so a sharded sweep records it among its
  // options: shards of other selections are refused by merge and by --resume.
  std::string filter;
};

struct SweepOutcome {
  Report report;
  bool interrupted = false;  // stopped by SIGINT or SIGTERM; the report is marked incomplete
  int64_t kernel_errors = 0;
  int64_t resumed_cases = 0;
  bool workers_lost = false;  // several devices: every worker gone before the last case
  // False where an incomplete sweep finished no case and -o named an existing file: that
  // file (a report of an earlier run) is left as it was instead of replaced by nothing.
  bool report_written = true;
};

// Thrown for a checkpoint that does not belong to this config/backend (exit code 2).
class ResumeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Set by the SIGINT / SIGTERM handler run_sweep installs; exposed for tests.
std::atomic<bool>& sweep_interrupt_flag();

// Installs that handler for SIGINT, SIGTERM and SIGHUP (the terminal closed; left ignored under
// nohup) for its lifetime: the first Ctrl-C (or SIGTERM: timeout, a batch system's time limit, a
// cancelled CI job) sets the flag, so the sweep stops after the cases running and writes the
// finished ones; another one kills at once (the checkpoint stays valid), unless it comes within
// kSameStopWindowMs of the first: that is the same stop delivered twice (GNU timeout signals the
// child and then its process group).
inline constexpr int64_t kSameStopWindowMs = 1000;
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
  void (*previous_hup_)(int);
};

// The result of one case: registry support checks, the backend run, the fallback policy.
CaseResult run_one_case(const BenchCase& c, Backend& backend, const RunSettings& settings);

SweepOutcome run_sweep(const SweepConfig& config, Backend& backend, const SweepOptions& options,
                       const ToolInfo& tool);

// Where a sweep's cases run, as its checkpoint records it: a resume must match.
struct SweepDevice {
  BackendKind kind = BackendKind::Cpu;
  std::string name;         // the device's name (several GPUs: their distinct names)
  Environment environment;  // the report's `environment`
};

// What every way of running a sweep shares (one backend here, worker processes in
// src/bench/worker_pool.h): the config's cases (already filtered and sharded), resume from
// the checkpoint, one checkpoint line and one progress line per finished case, and the report.
class SweepSession {
 public:
  // Throws ResumeError for a checkpoint of another sweep.
  SweepSession(const SweepConfig& config, const SweepOptions& options, const ToolInfo& tool,
               const SweepDevice& device);
  // The cases still to run, in the config's order.
  const std::vector<const BenchCase*>& todo() const { return todo_; }
  Progress& progress() { return *progress_; }
  // A finished case: checkpointed, shown (`where` says which worker ran it), kept.
  void record(const BenchCase& c, CaseResult result, const std::string& where = "");
  // An event the user must see (a worker died...): in the progress output, or on its own
  // line when there is none, unless options.notes is off.
  void note(const std::string& text);
  // Cases of todo() not recorded yet.
  int64_t unfinished() const { return static_cast<int64_t>(todo_.size()) - recorded_; }
  // Orders and summarizes the report and writes it: complete unless interrupted or some
  // case could not run (`all_ran` false).
  SweepOutcome finish(bool interrupted, bool all_ran = true);

 private:
  const SweepConfig& config_;
  SweepOptions options_;
  std::string checkpoint_path_;
  CheckpointWriter checkpoint_;
  bool keep_checkpoint_ = false;  // it holds finished cases of another selection of the config
  SweepOutcome outcome_;
  std::vector<const BenchCase*> todo_;
  int64_t recorded_ = 0;
  std::optional<Progress> progress_;
};

}  // namespace int8attn
