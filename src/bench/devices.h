// The GPUs this process can use, for `int8attn-bench devices` and the report's environment.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/api.h"
#include "src/bench/registry.h"
#include "src/model/result.h"

namespace int8attn {

struct KernelSupport {
  std::string kernel;  // registry name
  bool supported = false;
  std::string reason;  // why not, or the shapes it is limited to
};

struct GpuDeviceSummary {
  gpu::DeviceInfo info;                // what the runtime says about the device
  std::vector<KernelSupport> kernels;  // every registry kernel that has a CUDA implementation
};

// Every visible GPU; empty with `why_none` set when there is none (no driver, no device,
// or a build without CUDA).
std::vector<GpuDeviceSummary> query_gpu_devices(std::string& why_none);

// Human-readable listing: one block per GPU with its kernels' support.
std::string describe_devices(const std::vector<GpuDeviceSummary>& devices, const std::string& why_none = {});

// The registry's view of a device, and the report's environment block for it.
DeviceCaps device_caps(const GpuDeviceSummary& device);
// A GPU session's settings for one kernel of a case (sweep and profile): the reference's
// precision and the kernel's own quantization (kernel_quant: "auto" blocks differ between kernels).
gpu::OpSettings kernel_op_settings(const RunSettings& settings, const BenchCase& c, const KernelSpec& spec,
                                   const DeviceCaps& caps);
Environment gpu_environment(const GpuDeviceSummary& device);

std::string host_name();

// Why the cuDNN kernels cannot run in this build (empty when they can), and cuDNN's version.
std::string cudnn_missing_reason();
std::string cudnn_version();

}  // namespace int8attn
