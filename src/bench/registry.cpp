#include "src/bench/registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace int8attn {

const char* to_string(BackendKind b) { return b == BackendKind::Cpu ? "cpu" : "cuda"; }

std::string KernelSpec::support_rules() const {
  std::vector<std::string> parts;
  std::vector<std::string> names;
  for (BackendKind b : backends) names.push_back(to_string(b));
  parts.push_back(fmt::format("backends: {}", fmt::join(names, ", ")));
  if (min_cc_major > 0) parts.push_back(fmt::format("GPU: compute capability >= {}.{}", min_cc_major, min_cc_minor));
  parts.push_back(head_dims.empty() ? std::string("head_dim: any")
                                    : fmt::format("head_dim: {}", fmt::join(head_dims, ", ")));
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::optional<std::string> KernelSpec::unsupported_reason(const AttnDims& dims,
                                                          const DeviceCaps& dev) const {
  if (std::find(backends.begin(), backends.end(), dev.backend) == backends.end()) {
    return fmt::format("not available on the {} backend", to_string(dev.backend));
  }
  if (dev.backend == BackendKind::Cuda &&
      dev.cc_major * 10 + dev.cc_minor < min_cc_major * 10 + min_cc_minor) {
    return fmt::format("architecture: needs compute capability >= {}.{}, {} is {}.{}", min_cc_major,
                       min_cc_minor, dev.name, dev.cc_major, dev.cc_minor);
  }
  if (!head_dims.empty() &&
      std::find(head_dims.begin(), head_dims.end(), dims.head_dim) == head_dims.end()) {
    return fmt::format("shape: head_dim {} not supported (supported: {})", dims.head_dim,
                       fmt::join(head_dims, ", "));
  }
  return std::nullopt;
}

const std::vector<KernelSpec>& kernel_registry() {
  // Head dims the fused GPU kernels are instantiated for (kernels/instantiations).
  static const std::vector<int64_t> kFusedHeadDims = {64, 128};
  static const std::vector<KernelSpec> registry = {
      {"fp16-ref-cublaslt",
       "reference attention: FP64 on the CPU; cuBLASLt GEMMs with an FP32 softmax on the GPU",
       Algorithm::Reference, KernelFamily::Reference, {BackendKind::Cpu, BackendKind::Cuda}, 0, 0, {}},
      {"int8-fa",
       "full INT8 flash attention: INT8 Q·K^T, INT8/UINT8 P·V (Hopper, head_dim 128: wgmma, "
       "warp-specialized with TMA from 2K keys; mma.sync m16n8k32 elsewhere)",
       Algorithm::Int8Full, KernelFamily::Int8, {BackendKind::Cpu, BackendKind::Cuda}, 8, 0, kFusedHeadDims},
      {"int8-qk", "INT8 Q·K^T, FP16 P·V flash attention (SageAttention v1's split)",
       Algorithm::Int8QK, KernelFamily::Int8, {BackendKind::Cpu, BackendKind::Cuda}, 8, 0, kFusedHeadDims},
      {"fp16-fa", "FP16 flash attention with the INT8 kernels' tiling (the like-for-like baseline)",
       Algorithm::Fp16Flash, KernelFamily::Fp16, {BackendKind::Cpu, BackendKind::Cuda}, 8, 0, kFusedHeadDims},
  };
  return registry;
}

std::vector<const KernelSpec*> reference_first(const std::vector<const KernelSpec*>& kernels) {
  const KernelSpec* reference = nullptr;
  for (const KernelSpec* k : kernels) {
    if (k->algorithm == Algorithm::Reference && !reference) reference = k;
  }
  for (const KernelSpec& k : kernel_registry()) {
    if (!reference && k.algorithm == Algorithm::Reference) reference = &k;
  }
  std::vector<const KernelSpec*> ordered{reference};
  for (const KernelSpec* k : kernels) {
    if (k->algorithm != Algorithm::Reference) ordered.push_back(k);
  }
  return ordered;
}

const KernelSpec* find_kernel(std::string_view name) {
  for (const KernelSpec& k : kernel_registry()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace int8attn
