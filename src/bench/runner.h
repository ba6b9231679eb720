// The sweep: runs every case of a config on one backend, applies the registry's support
// rules and the fallback policy, shows progress, checkpoints each finished case, and writes
// the report atomically. Backend-independent: the CPU and CUDA backends plug in below.
#pragma once
#include <atomic>
#include <string>

#include "src/bench/backend.h"
#include "src/bench/progress.h"
#include "src/config/sweep_config.h"
#include "src/report/report.h"

namespace int8attn {

struct SweepOptions {
  std::string output_path;
  std::string checkpoint_path;  // empty: output_path + ".ckpt.jsonl"
  bool write_checkpoint = true; // false: no checkpoint (an output that is a device or FIFO)
  bool resume = false;          // continue from the checkpoint instead of starting over
  ProgressMode progress = ProgressMode::Auto;
};

struct SweepOutcome {
  Report report;
  bool interrupted = false;  // stopped by SIGINT; the report is marked incomplete
  int64_t kernel_errors = 0;
  int64_t resumed_cases = 0;
};

// Thrown for a checkpoint that does not belong to this config/backend (exit code 2).
class ResumeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Set by the SIGINT handler run_sweep installs; exposed for tests.
std::atomic<bool>& sweep_interrupt_flag();

// The result of one case: registry support checks, the backend run, the fallback policy.
CaseResult run_one_case(const BenchCase& c, Backend& backend, const RunSettings& settings);

SweepOutcome run_sweep(const SweepConfig& config, Backend& backend, const SweepOptions& options,
                       const ToolInfo& tool);

// FLOPs of attention as the report counts them: 4*b*h*sq*skv*d, halved when causal.
double attention_flops(const AttnDims& dims);

}  // namespace int8attn
