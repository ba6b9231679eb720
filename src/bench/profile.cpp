#include "src/bench/profile.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/config/config_overrides.h"
#include "src/model/case_filter.h"

#if INT8ATTN_HAVE_CUDA
#include "kernels/api.h"
#include "src/bench/devices.h"
#include "src/bench/latency_stats.h"
#include "src/host/inputs.h"
#endif

namespace int8attn {

const std::vector<ProfileShapeFlag>& profile_shape_flags() {
  static const std::vector<ProfileShapeFlag> flags = {
      {"--batch", "batch"},       {"--heads", "heads"},       {"--kv-heads", "kv_heads"},
      {"--seq-len", "seq_len"},   {"--seq-q", "seq_q"},       {"--seq-kv", "seq_kv"},
      {"--head-dim", "head_dim"}, {"--causal", "causal"},     {"--distribution", "distribution"},
      {"--seed", "seed"},         {"--rotation", "rotation"},
  };
  return flags;
}

namespace {

const char* axis_of(const std::string& flag) {
  for (const ProfileShapeFlag& f : profile_shape_flags()) {
    if (flag == f.flag) return f.axis;
  }
  throw std::invalid_argument(fmt::format("{}: not a shape flag", flag));
}

bool given(const ProfileRequest& r, const char* flag) {
  return std::any_of(r.shape.begin(), r.shape.end(), [&](const ShapeValue& v) { return v.flag == flag; });
}

// The shape flags as sweep's `-a` overrides, each checked to hold one value.
ConfigOverrides overrides_of(const ProfileRequest& r) {
  ConfigOverrides o;
  for (size_t i = 0; i < r.shape.size(); ++i) {
    const ShapeValue& v = r.shape[i];
    const char* axis = axis_of(v.flag);
    if (v.value.empty()) throw std::invalid_argument(fmt::format("{}: expected a value, found an empty one", v.flag));
    if (v.value.find(',') != std::string::npos) {
      throw std::invalid_argument(fmt::format("{} {}: expected one value (profile runs one shape; sweep -a {}={} "
                                              "runs several)", v.flag, v.value, axis, v.value));
    }
    for (size_t j = 0; j < i; ++j) {
      if (r.shape[j].flag == v.flag) {
        throw std::invalid_argument(fmt::format("{}: given twice ({} and {}); expected it once", v.flag,
                                                r.shape[j].value, v.value));
      }
    }
    o.axes.push_back(fmt::format("{}={}", axis, v.value));
  }
  o.min_samples = r.min_samples;
  o.max_seconds = r.max_seconds;
  o.max_noise = r.max_noise;
  o.k_granularity = r.k_granularity;
  return o;
}

// Without -c the shape flags are the whole sweep: heads, head_dim and a sequence length are needed.
void require_shape(const ProfileRequest& r) {
  std::vector<std::string> missing;
  for (const char* flag : {"--heads", "--head-dim"}) {
    if (!given(r, flag)) missing.push_back(flag);
  }
  if (!given(r, "--seq-len") && !(given(r, "--seq-q") && given(r, "--seq-kv"))) {
    missing.push_back(given(r, "--seq-q") ? "--seq-kv" : given(r, "--seq-kv") ? "--seq-q" : "--seq-len");
  }
  if (missing.empty()) return;
  throw std::invalid_argument(fmt::format("profile: expected the shape as --heads, --head-dim and --seq-len (or "
                                          "--seq-q and --seq-kv), or a config case as -c FILE --case ID; missing {}",
                                          fmt::join(missing, ", ")));
}

// A ConfigError at a path a shape flag wrote names the flag, not the `-a` it became.
[[noreturn]] void rethrow_naming_flag(const ConfigError& e, const ProfileRequest& r) {
  for (const ShapeValue& v : r.shape) {
    if (e.file() == fmt::format("-a {}={}", axis_of(v.flag), v.value)) {
      throw ConfigError(fmt::format("{} {}", v.flag, v.value), e.json_path(), e.message());
    }
  }
  throw e;
}

std::string first_ids(const std::vector<BenchCase>& cases) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < cases.size() && i < 4; ++i) ids.push_back(cases[i].id);
  return fmt::format("{}{}", fmt::join(ids, ", "), cases.size() > 4 ? ", ..." : "");
}

// The one case of the request: --case's match in the config, or the case the shape gives.
BenchCase pick_case(std::vector<BenchCase> cases, const ProfileRequest& r) {
  if (!r.case_pattern.empty()) {
    for (const BenchCase& c : cases) {
      if (c.id == r.case_pattern) return c;  // an exact id wins over a pattern it also matches
    }
    cases = select_cases(std::move(cases), r.case_pattern, "--case");
    if (cases.size() == 1) return cases.front();
    throw std::invalid_argument(fmt::format("--case {}: expected one case, found {} matching ({}); give its whole id",
                                            r.case_pattern, cases.size(), first_ids(cases)));
  }
  if (cases.size() == 1) return cases.front();
  const char* with = r.shape.empty() ? "" : " with these shape flags";
  if (cases.empty()) {
    throw std::invalid_argument(fmt::format("profile: -c {}{} gives no case (an exclude rule removes it); expected one",
                                            r.config, with));
  }
  throw std::invalid_argument(fmt::format(
      "profile: -c {}{} gives {} cases ({}); expected one: give a shape flag for each axis the config lists several "
      "values of, or pick one case with --case ID (sweep -c {} --dry-run lists their ids)",
      r.config, with, cases.size(), first_ids(cases), r.config));
}

std::vector<const KernelSpec*> pick_kernels(const ProfileRequest& r, const RunSettings& settings) {
  std::vector<const KernelSpec*> kernels;
  const std::string& reference = kernel_registry().front().name;
  if (r.kernels.empty()) {  // the config's, without the reference (profile times kernels, checks nothing)
    for (const std::string& name : settings.kernels) {
      if (name == reference) continue;
      if (const KernelSpec* k = find_kernel(name)) kernels.push_back(k);
    }
    if (kernels.empty()) throw std::invalid_argument("profile: the config lists no kernel but the reference; expected -k NAME[,NAME...]");
    return kernels;
  }
  for (const std::string& name : r.kernels) {
    const KernelSpec* k = find_kernel(name);
    if (!k) {
      std::vector<std::string> names;
      for (const KernelSpec& spec : kernel_registry()) names.push_back(spec.name);
      throw std::invalid_argument(fmt::format("-k {}: unknown kernel; expected one of {} (see list-kernels)", name,
                                              fmt::join(names, ", ")));
    }
    if (std::find(kernels.begin(), kernels.end(), k) != kernels.end()) {
      throw std::invalid_argument(fmt::format("-k {}: given twice; expected each kernel once", name));
    }
    kernels.push_back(k);
  }
  return kernels;
}

}  // namespace

ProfilePlan plan_profile(const ProfileRequest& r) {
  if (!r.case_pattern.empty()) {
    if (r.config.empty()) throw std::invalid_argument("--case: expected -c FILE, the config the case is picked from");
    if (!r.shape.empty()) {
      throw std::invalid_argument(fmt::format("{}: a shape flag cannot be given with --case (the case has its shape); "
                                              "expected one or the other", r.shape.front().flag));
    }
  } else if (r.shape.empty() && r.config.empty()) {
    throw std::invalid_argument("profile: expected a shape (--heads, --head-dim, --seq-len ...) or a config case "
                                "(-c FILE --case ID, or -c FILE alone where it has one case)");
  }
  const ConfigOverrides overrides = overrides_of(r);
  if (r.config.empty()) require_shape(r);
  SweepConfig config;
  try {
    config = load_sweep_config(r.config, overrides);
  } catch (const ConfigError& e) {
    rethrow_naming_flag(e, r);
  }
  ProfilePlan plan;
  plan.profiled_case = pick_case(std::move(config.cases), r);
  if (!plan.profiled_case.input.npy_dir.empty()) {
    throw std::invalid_argument(fmt::format(
        "profile: case {} reads its inputs from .npy files ({}); expected generated inputs (profile's timing does "
        "not depend on the values: give --distribution and --seed instead)",
        plan.profiled_case.id, plan.profiled_case.input.npy_dir));
  }
  plan.settings = std::move(config.settings);
  plan.kernels = pick_kernels(r, plan.settings);
  plan.once = r.once;
  return plan;
}

#if INT8ATTN_HAVE_CUDA
namespace {

// A GPU call that failed: out_of_memory and not_supported make the kernel a skip.
class GpuFailure : public std::runtime_error {
 public:
  GpuFailure(const std::string& what, const gpu::GpuStatus& s)
      : std::runtime_error(what + ": " + s.message), status(s) {}
  gpu::GpuStatus status;
};

void check(const gpu::GpuStatus& s, const char* what) {
  if (!s.ok) throw GpuFailure(what, s);
}

// Closes the profiler window however the measurement ends.
class ProfilerCapture {
 public:
  explicit ProfilerCapture(gpu::GpuSession& session) : session_(session) {
    check(session_.set_profiler_capture(true), "cudaProfilerStart");
    open_ = true;
  }
  void close() {
    open_ = false;
    check(session_.set_profiler_capture(false), "cudaProfilerStop");
  }
  ~ProfilerCapture() {
    if (open_) session_.set_profiler_capture(false);  // an error is already on its way
  }
  ProfilerCapture(const ProfilerCapture&) = delete;
  ProfilerCapture& operator=(const ProfilerCapture&) = delete;

 private:
  gpu::GpuSession& session_;
  bool open_ = false;
};

// The kernel-only (and, without --once, quantize and end-to-end) latencies of one kernel.
void measure_kernel(gpu::GpuSession& session, KernelId op, const ProfilePlan& plan, ProfiledKernel& r) {
  const MeasureOptions& m = plan.settings.measure;
  const AttnDims& d = plan.profiled_case.dims;
  using gpu::RunPart;
  if (plan.once) {
    for (int i = 0; i < m.warmup_runs; ++i) check(session.run(op, RunPart::KernelOnly), "warm-up");
    gpu::TimedRun run;
    ProfilerCapture capture(session);
    // Not held: a profiler that serializes launches (Nsight Compute) would keep the hold waiting.
    // No clock probes: the profiler records the op's launches alone.
    check(session.time_once(op, {m.flush_l2, false, false}, run, RunPart::KernelOnly), "the profiled launch");
    capture.close();
    r.kernel_latency = compute_latency_stats({run.ms}, m.keep_samples);
    r.kernel_latency->stop_reason = "once";
  } else {
    auto latency = [&](RunPart part, const char* what) {
      return measure_latency(m, [&] { check(session.run(op, part), "warm-up"); }, [&] {
        gpu::TimedRun run;
        check(session.time_once(op, {m.flush_l2, m.hold_launches}, run, part), what);
        return LatencySample{run.ms, run.sm_clock_mhz};
      });
    };
    r.kernel_latency = latency(RunPart::KernelOnly, "kernel-only timing");
    r.end_to_end_latency = latency(RunPart::Whole, "end-to-end timing");
    r.end_to_end_tops = attention_tops(d, r.end_to_end_latency->median_ms);
    if (has_quantize_step(op)) r.quantize_latency = latency(RunPart::QuantizeOnly, "quantize timing");
  }
  r.kernel_tops = attention_tops(d, r.kernel_latency->median_ms);
}

ProfiledKernel profile_kernel(gpu::GpuSession& session, const KernelSpec& spec, const DeviceCaps& caps,
                              const ProfilePlan& plan, const std::string& lost) {
  ProfiledKernel r;
  r.kernel = spec.name;
  auto ended = [&](KernelStatus status, std::string reason) {
    r.status = status;
    r.reason = std::move(reason);
    r.kernel_latency = r.quantize_latency = r.end_to_end_latency = std::nullopt;
    r.kernel_tops = r.end_to_end_tops = std::nullopt;
    return r;
  };
  if (!lost.empty()) return ended(KernelStatus::Error, "not run: CUDA context lost: " + lost);
  const gpu::OpSettings op_settings = kernel_op_settings(plan.settings, plan.profiled_case, spec, caps);
  if (const std::optional<std::string> why = spec.unsupported_reason(plan.profiled_case.dims, caps, op_settings.quant)) {
    return ended(KernelStatus::Skipped, *why);
  }
  r.quantization = recorded_quantization(spec, op_settings.quant);
  session.set_op_settings(op_settings);
  const KernelId op = spec.id;
  try {
    const gpu::GpuStatus first = session.prepare(op);  // allocates and runs the whole op once
    if (first.not_supported) throw GpuFailure("kernel declined the problem", first);
    check(first, "first run");
    measure_kernel(session, op, plan, r);
  } catch (const GpuFailure& e) {
    session.release(op);
    const bool skip = e.status.not_supported || e.status.out_of_memory;
    return ended(skip ? KernelStatus::Skipped : KernelStatus::Error, e.what());
  }
  session.release(op);
  return r;
}

}  // namespace

ProfileResult run_profile(const ProfilePlan& plan, int device) {
  std::string why;
  std::vector<GpuDeviceSummary> devices = query_gpu_devices(why);
  if (devices.empty()) throw ProfileUnavailable("profile needs a GPU: " + why);
  if (device < 0 || device >= static_cast<int>(devices.size())) {
    throw ProfileUnavailable(fmt::format("--device {}: no such CUDA device ({} present)", device, devices.size()));
  }
  std::unique_ptr<gpu::GpuSession> session = gpu::GpuSession::open(device, why);
  if (!session) throw ProfileUnavailable(fmt::format("profile: cannot open CUDA device {}: {}", device, why));
  ProfileResult result;
  result.profiled_case = plan.profiled_case;
  result.environment = gpu_environment(devices[device]);
  result.measure = plan.settings.measure;
  result.once = plan.once;
  const DeviceCaps caps = device_caps(devices[device]);
  const gpu::GpuStatus inputs = session->set_inputs(plan.profiled_case.dims, host::generator_spec(plan.profiled_case.input));
  std::string lost;
  for (const KernelSpec* spec : plan.kernels) {
    if (!inputs.ok) {
      ProfiledKernel r;
      r.kernel = spec->name;
      r.status = inputs.out_of_memory ? KernelStatus::Skipped : KernelStatus::Error;
      r.reason = "inputs: " + inputs.message;
      result.kernels.push_back(std::move(r));
      continue;
    }
    result.kernels.push_back(profile_kernel(*session, *spec, caps, plan, lost));
    if (session->context_lost() && lost.empty()) lost = result.kernels.back().reason;
  }
  return result;
}

#else

ProfileResult run_profile(const ProfilePlan&, int) {
  throw ProfileUnavailable("profile needs a GPU: built without CUDA (configure with -DINT8ATTN_CUDA=ON and nvcc "
                           "available)");
}

#endif

}  // namespace int8attn
