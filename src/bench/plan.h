// What a sweep will do before it does it (the plan's data: src/model/sweep_plan.h): for each case,
// which kernels run on the chosen backend and why the others are skipped. run_one_case
// follows this plan, so `sweep --dry-run` and `validate` say exactly what a sweep would do.
#pragma once
#include <vector>

#include "src/bench/backend.h"
#include "src/config/sweep_config.h"
#include "src/model/sweep_plan.h"

namespace int8attn {

// The backend's reason to skip the whole case first (too large for the CPU, ...), then each
// kernel's registry rules on the backend's device.
std::vector<KernelPlan> plan_case(const BenchCase& c, const Backend& backend, const RunSettings& settings);

// Every case of the config (which must outlive the plan).
SweepPlan plan_sweep(const SweepConfig& config, const Backend& backend);

}  // namespace int8attn
