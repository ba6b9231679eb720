// What a sweep will do before it does it: for each case, which kernels run on the chosen
// backend and why the others are skipped. run_one_case follows this plan, so `sweep
// --dry-run` and `validate` say exactly what a sweep would do.
#pragma once
#include <string>
#include <vector>

#include "src/bench/backend.h"
#include "src/config/sweep_config.h"

namespace int8attn {

struct KernelPlan {
  std::string kernel;
  const KernelSpec* spec = nullptr;  // nullptr: not in the registry
  std::string skip_reason;           // empty: the kernel runs
  bool runs() const { return skip_reason.empty(); }
};

struct CasePlan {
  const BenchCase* bench_case = nullptr;
  std::vector<KernelPlan> kernels;  // in the config's kernel order
};

struct KernelTally {
  std::string kernel;
  int64_t runs = 0, skipped = 0;
  std::string first_skip_reason, first_skipped_case;  // an example of why
};

struct SweepPlan {
  std::string config_path;
  std::string backend;  // "cpu" or "cuda"
  std::string device;
  std::vector<CasePlan> cases;
  std::vector<KernelTally> kernels;  // one per configured kernel
  int64_t kernel_runs = 0, skipped = 0;
};

// The backend's reason to skip the whole case first (too large for the CPU, ...), then each
// kernel's registry rules on the backend's device.
std::vector<KernelPlan> plan_case(const BenchCase& c, const Backend& backend, const RunSettings& settings);

// Every case of the config (which must outlive the plan).
SweepPlan plan_sweep(const SweepConfig& config, const Backend& backend);

}  // namespace int8attn
