// What `int8attn-bench profile` measured on one case: per kernel, the attention kernel alone
// (kernel-only: the quantization excluded), the quantization step alone and the two together
// (end to end, what a sweep reports as a kernel's latency). src/bench/profile.h measures it,
// src/report/profile_render.h prints it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "src/model/case.h"
#include "src/model/result.h"
#include "src/model/settings.h"

namespace int8attn {

struct ProfiledKernel {
  std::string kernel;  // registry name
  KernelStatus status = KernelStatus::Ok;
  std::string reason;  // why skipped / the error
  // The attention kernel alone: for a kernel with a quantization step (int8-fa, int8-qk,
  // fp8-cudnn), on the tensors it quantized before; any other kernel whole.
  std::optional<LatencyStats> kernel_latency;
  std::optional<double> kernel_tops;                // attention_tops of kernel_latency's median
  std::optional<LatencyStats> quantize_latency;     // the quantization step alone (a sweep's quantize_latency)
  std::optional<LatencyStats> end_to_end_latency;   // quantization + kernel (a sweep's latency); not with --once
  std::optional<double> end_to_end_tops;            // attention_tops of its median (a sweep's tops)
  std::optional<KernelQuantization> quantization;   // an INT8 kernel's kv_block / v_block ("auto" resolved)
};

struct ProfileResult {
  BenchCase profiled_case;  // its rotation is the quantization's
  Environment environment;
  MeasureOptions measure;   // the sampling rule used (warm-up runs, noise target, L2 flush)
  bool once = false;        // --once: one kernel-only launch per kernel after the warm-up
  std::vector<ProfiledKernel> kernels;
};

}  // namespace int8attn
