#include "src/bench/devices.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace int8attn {

std::string host_name() {
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("unknown");
}

std::string cudnn_missing_reason() {
#if INT8ATTN_HAVE_CUDA
  const gpu::CudnnStatus s = gpu::cudnn_status();
  return s.available ? std::string() : s.why_not;
#else
  return "built without CUDA";
#endif
}

std::string cudnn_version() {
#if INT8ATTN_HAVE_CUDA
  return gpu::cudnn_status().version;
#else
  return {};
#endif
}

gpu::OpSettings kernel_op_settings(const RunSettings& settings, const BenchCase& c, const KernelSpec& spec,
                                   const DeviceCaps& caps) {
  gpu::OpSettings o;
  o.reference.fp32 = settings.reference_precision == ReferencePrecision::Fp32;
  o.quant = kernel_quant(spec, settings, c, caps);
  return o;
}

DeviceCaps device_caps(const GpuDeviceSummary& device) {
  const gpu::DeviceInfo& d = device.info;
  DeviceCaps caps{BackendKind::Cuda, d.name, d.cc_major, d.cc_minor};
  caps.cudnn_missing = cudnn_missing_reason();
  caps.hopper_kernels = d.hopper_kernels;
  return caps;
}

Environment gpu_environment(const GpuDeviceSummary& device) {
  const gpu::DeviceInfo& d = device.info;
  Environment env;
  env.backend = "cuda";
  env.hostname = host_name();
  env.gpu_name = d.name;
  env.compute_capability = fmt::format("{}.{}", d.cc_major, d.cc_minor);
  env.sm_count = d.sm_count;
  env.memory_bytes = d.total_memory_bytes;
  env.sm_clock_mhz = d.sm_clock_mhz;
  env.memory_clock_mhz = d.memory_clock_mhz;
  env.driver_version = d.driver_version;
  env.cuda_runtime_version = d.runtime_version;
  env.cublaslt_version = d.cublaslt_version;
  env.cudnn_version = d.cudnn_version;
  return env;
}

#if INT8ATTN_HAVE_CUDA
namespace {

// Support of each CUDA kernel on the device: architecture from the registry's own rule
// (checked at a head_dim the kernel has), the head_dim limits stated alongside.
std::vector<KernelSupport> kernel_support(const DeviceCaps& caps) {
  std::vector<KernelSupport> out;
  for (const KernelSpec& spec : kernel_registry()) {
    if (std::find(spec.backends.begin(), spec.backends.end(), BackendKind::Cuda) == spec.backends.end()) continue;
    AttnDims probe;
    probe.head_dim = spec.head_dims.empty() ? 128 : spec.head_dims.front();
    KernelSupport s{spec.name, true, {}};
    if (auto why = spec.unsupported_reason(probe, caps)) {
      s.supported = false;
      s.reason = *why;
    } else if (!spec.head_dims.empty()) {
      s.reason = fmt::format("head_dim {}", fmt::join(spec.head_dims, ", "));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace
#endif

std::vector<GpuDeviceSummary> query_gpu_devices(std::string& why_none) {
  std::vector<GpuDeviceSummary> devices;
#if INT8ATTN_HAVE_CUDA
  const int count = gpu::device_count(why_none);
  for (int i = 0; i < count; ++i) {
    GpuDeviceSummary d;
    std::string why;
    if (!gpu::device_info(i, d.info, why)) {
      why_none += fmt::format("{}device {}: {}", why_none.empty() ? "" : "; ", i, why);
      continue;
    }
    d.kernels = kernel_support(device_caps(d));
    devices.push_back(std::move(d));
  }
#else
  why_none = "built without CUDA (configure with -DINT8ATTN_CUDA=ON and nvcc available)";
#endif
  return devices;
}

std::string describe_devices(const std::vector<GpuDeviceSummary>& devices, const std::string& why_none) {
  if (devices.empty()) return fmt::format("no GPU: {}\n", why_none.empty() ? "none found" : why_none);
  std::string out;
  for (const GpuDeviceSummary& device : devices) {
    const gpu::DeviceInfo& d = device.info;
    out += fmt::format("GPU {}: {}\n", d.index, d.name);
    out += fmt::format("  compute capability {}.{}, {} SMs, {:.1f} GiB memory, {:.0f} MiB L2\n", d.cc_major,
                       d.cc_minor, d.sm_count, d.total_memory_bytes / double(1ll << 30), d.l2_cache_bytes / double(1 << 20));
    out += fmt::format("  clocks: SM {} MHz, memory {} MHz (peak)\n", d.sm_clock_mhz, d.memory_clock_mhz);
    if (d.cc_major == 9) {  // what "auto" quantization blocks and the warp-specialized kernels depend on
      out += fmt::format("  sm_90a kernels: {}\n", d.hopper_kernels ? "yes" : "no (this build has none)");
    }
    out += fmt::format("  driver CUDA {}, runtime {}, cuBLASLt {}, cuDNN {}\n", d.driver_version, d.runtime_version,
                       d.cublaslt_version, d.cudnn_version.empty() ? "-" : d.cudnn_version);
    out += "  kernels:\n";
    for (const KernelSupport& k : device.kernels) {
      out += fmt::format("    {:<20} {}{}\n", k.kernel, k.supported ? "supported" : "not supported",
                         k.reason.empty() ? "" : fmt::format(" ({})", k.reason));
    }
  }
  return out;
}

}  // namespace int8attn
