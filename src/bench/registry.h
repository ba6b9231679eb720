// The one kernel registry. The sweep, the fallback policy and `list-kernels` read it; a
// kernel is data (its identity in src/model/kernel.h, and here its support rules), and each
// backend implements the algorithms it knows.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/attn_types.h"
#include "src/model/kernel.h"
#include "src/model/result.h"
#include "src/model/settings.h"

namespace int8attn {

enum class BackendKind { Cpu, Cuda };
const char* to_string(BackendKind b);

// What a backend can tell about the device a case will run on.
struct DeviceCaps {
  BackendKind backend = BackendKind::Cpu;
  std::string name;
  int cc_major = 0;  // 0 on the CPU backend
  int cc_minor = 0;
  // Empty when cuDNN's kernels can run here; else why not ("built without cuDNN: ...").
  std::string cudnn_missing = "no cuDNN on this backend";
  bool hopper_kernels = false;  // GPU: this build's sm_90a (warp-specialized) kernels run here
};

// A rule beyond architecture and head_dim: nullopt when the problem is fine, else why not.
using ShapeRule = std::function<std::optional<std::string>(const AttnDims&, const DeviceCaps&)>;

// A kernel's identity (name, KernelId, family) and where it can run.
struct KernelSpec : KernelIdentity {
  std::vector<BackendKind> backends;
  int min_cc_major = 0;      // GPU: lowest compute capability (major*10+minor below)
  int min_cc_minor = 0;
  std::vector<int64_t> head_dims;  // empty: any head_dim
  bool needs_cudnn = false;
  ShapeRule shape_rule;             // optional
  std::string shape_rule_text;      // the rule in words, for list-kernels
  bool gpu_kv_block_fixed = false;  // GPU: quantization.kv_block must be kGpuKvBlock (the CPU emulation runs any)
  // int8-fa, GPU: kv_block kGpuKvBlock with v_block 0, or kGpuWideKvBlock with V scaled per the
  // same keys on Hopper with per-token Q/K scales (its one kernel with V scaled per block).
  bool gpu_int8fa_blocks = false;
  // Whether the device runs this kernel's kGpuWideKvBlock pair with these Q/K options and head_dim
  // (int8-fa on Hopper, whose warp-specialized kernel takes per-token Q/K scales at head_dim 64
  // and 128 only).
  bool has_wide_blocks(const AttnDims& dims, const DeviceCaps& dev, const QuantConfig& quant) const;
  // Whether "auto" gives this kernel the wide pair for the problem: where it runs and it
  // measured faster than 64 keys with V per channel (it is more accurate everywhere).
  bool wide_blocks_by_default(const AttnDims& dims, const DeviceCaps& dev, const QuantConfig& quant) const;
  // Why the GPU's kernel cannot run this kv_block / v_block, or nullopt.
  std::optional<std::string> gpu_block_reason(const AttnDims& dims, const DeviceCaps& dev, const QuantConfig& quant) const;
  // Rules in words, for list-kernels.
  std::string support_rules() const;
  // Why this kernel cannot run the problem on the device with this quantization, or nullopt
  // when it can.
  std::optional<std::string> unsupported_reason(const AttnDims& dims, const DeviceCaps& dev,
                                                const QuantConfig& quant = QuantConfig{}) const;
};

// The quantization `spec` runs case `c` with on the device: the case's (case_quant), with
// kv_block and v_block chosen for the kernel when the settings leave them "auto", and K's
// granularity when k_granularity is "auto" (grouped where int8-fa's GPU kernel runs it from
// kAutoGroupedMinKeys keys, on causal rows only where the first row sees a whole block,
// registry.cpp; else K's scales as Q's).
QuantConfig kernel_quant(const KernelSpec& spec, const RunSettings& settings, const BenchCase& c,
                         const DeviceCaps& dev);
// What an INT8 kernel's result records of that quantization; nullopt for other families.
std::optional<KernelQuantization> recorded_quantization(const KernelSpec& spec, const QuantConfig& quant);

// One entry per kernel_identities() entry, in its order.
const std::vector<KernelSpec>& kernel_registry();

// The reference spec (from the list, else the registry's) first, then the others in order:
// backends need the reference output to measure every other kernel against.
std::vector<const KernelSpec*> reference_first(const std::vector<const KernelSpec*>& kernels);
const KernelSpec* find_kernel(std::string_view name);

}  // namespace int8attn
