#include "src/bench/plan.h"

#include <algorithm>

namespace int8attn {

std::vector<KernelPlan> plan_case(const BenchCase& c, const Backend& backend, const RunSettings& settings) {
  const std::string case_skip = backend.skip_reason(c, settings);
  const DeviceCaps caps = backend.caps();
  std::vector<KernelPlan> plans;
  for (const std::string& name : settings.kernels) {
    const KernelSpec* spec = find_kernel(name);
    KernelPlan plan{name, {}, {}};
    if (!spec) {
      plan.skip_reason = "unknown kernel";
      plans.push_back(std::move(plan));
      continue;
    }
    const QuantConfig quant = kernel_quant(*spec, settings, c, caps);
    plan.quantization = recorded_quantization(*spec, quant);
    if (!case_skip.empty()) {
      plan.skip_reason = case_skip;
    } else if (auto why = spec->unsupported_reason(c.dims, caps, quant)) {
      plan.skip_reason = *why;
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

SweepPlan plan_sweep(const SweepConfig& config, const Backend& backend) {
  SweepPlan plan;
  plan.config_path = config.path;
  plan.backend = to_string(backend.kind());
  plan.device = backend.caps().name;
  for (const std::string& name : config.settings.kernels) plan.kernels.push_back(KernelTally{name, 0, 0, {}, {}, {}});
  for (const BenchCase& c : config.cases) {
    CasePlan case_plan{&c, plan_case(c, backend, config.settings)};
    for (const KernelPlan& k : case_plan.kernels) {
      auto tally = std::find_if(plan.kernels.begin(), plan.kernels.end(),
                                [&](const KernelTally& t) { return t.kernel == k.kernel; });
      if (k.runs()) {
        ++tally->runs;
        ++plan.kernel_runs;
        std::vector<KernelQuantization>& seen = tally->blocks;
        if (k.quantization && std::find(seen.begin(), seen.end(), *k.quantization) == seen.end()) {
          seen.push_back(*k.quantization);
        }
        continue;
      }
      if (tally->skipped++ == 0) {
        tally->first_skip_reason = k.skip_reason;
        tally->first_skipped_case = c.id;
      }
      ++plan.skipped;
    }
    plan.cases.push_back(std::move(case_plan));
  }
  return plan;
}

}  // namespace int8attn
