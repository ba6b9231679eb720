// Views of what a sweep would do (src/model/sweep_plan.h): `sweep --dry-run` lists every case with
// the kernels that run or are skipped and why; `validate` tallies them per kernel for each
// backend it can see.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/io/output_format.h"
#include "src/model/sweep_plan.h"

namespace int8attn {

// table, markdown or json (kListingFormats).
std::string render_dry_run(const SweepPlan& plan, OutputFormat format);

// `validate`: the config's case count, then one plan per backend (CPU first, then the GPU
// when there is one); `no_gpu` says why there is none (empty when there is).
std::string render_validation(const std::string& config_path, size_t cases, const std::vector<SweepPlan>& plans,
                              const std::string& no_gpu, OutputFormat format);

// {"config", "backend", "device", "kernel_runs", "skipped", "kernels": [tally...], "cases": [...]}
nlohmann::json plan_to_json(const SweepPlan& plan);

}  // namespace int8attn
