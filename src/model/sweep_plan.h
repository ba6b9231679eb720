// What a sweep will do before it does it, as data: for each case, which kernels run and why
// the others are skipped, and the tally per kernel. src/bench/plan.h makes it (the registry's
// rules on a backend's device); `sweep --dry-run` and `validate` show it (report/plan_render.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/model/case.h"
#include "src/model/result.h"

namespace int8attn {

struct KernelPlan {
  std::string kernel;
  std::string skip_reason;  // empty: the kernel runs
  // An INT8 kernel's kv_block / v_block on this backend's device ("auto" resolved); its
  // result records them.
  std::optional<KernelQuantization> quantization;
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
  std::vector<KernelQuantization> blocks;  // an INT8 kernel's blocks over the cases it runs, each once
};

struct SweepPlan {
  std::string config_path;
  std::string backend;  // "cpu" or "cuda"
  std::string device;
  std::vector<CasePlan> cases;
  std::vector<KernelTally> kernels;  // one per configured kernel
  int64_t kernel_runs = 0, skipped = 0;
};

}  // namespace int8attn
