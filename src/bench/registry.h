// The one kernel registry. The sweep, the fallback policy, the report and `list-kernels`
// all read it; a kernel is data (name, algorithm, support rules), and each backend
// implements the algorithms it knows.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/attn_types.h"

namespace int8attn {

enum class BackendKind { Cpu, Cuda };
const char* to_string(BackendKind b);

// What a kernel computes; backends switch on this, never on names.
enum class Algorithm {
  Reference,   // the accuracy baseline (FP64 on the CPU, cuBLASLt FP16/FP32 on the GPU)
  Int8Full,    // INT8 QK^T and INT8/UINT8 P·V
  Int8QK,      // INT8 QK^T, FP16 P·V
  Fp16Flash,   // our FP16 flash attention, same tiling as the INT8 kernels
  Fp16Cudnn,   // cuDNN's SDPA forward, FP16 (frontend graph API)
  Fp8Cudnn,    // cuDNN's SDPA forward, FP8 e4m3 with per-tensor scales (+ our quantizer)
};

// Role in the fallback policy: INT8 kernels are judged against the case's baseline (the
// fastest FP16 kernel, or the configured one); FP8 kernels get a verdict of their own.
enum class KernelFamily { Reference, Int8, Fp16, Fp8 };
const char* to_string(KernelFamily f);

// What a backend can tell about the device a case will run on.
struct DeviceCaps {
  BackendKind backend = BackendKind::Cpu;
  std::string name;
  int cc_major = 0;  // 0 on the CPU backend
  int cc_minor = 0;
  // Empty when cuDNN's kernels can run here; else why not ("built without cuDNN: ...").
  std::string cudnn_missing = "no cuDNN on this backend";
};

// A rule beyond architecture and head_dim: nullopt when the problem is fine, else why not.
using ShapeRule = std::function<std::optional<std::string>(const AttnDims&, const DeviceCaps&)>;

struct KernelSpec {
  std::string name;          // "int8-fa"
  std::string description;   // one line for list-kernels and the report
  Algorithm algorithm;
  KernelFamily family;
  std::vector<BackendKind> backends;
  int min_cc_major = 0;      // GPU: lowest compute capability (major*10+minor below)
  int min_cc_minor = 0;
  std::vector<int64_t> head_dims;  // empty: any head_dim
  bool needs_cudnn = false;
  ShapeRule shape_rule;             // optional
  std::string shape_rule_text;      // the rule in words, for list-kernels
  // Rules in words, for list-kernels.
  std::string support_rules() const;
  // Why this kernel cannot run the problem on the device, or nullopt when it can.
  std::optional<std::string> unsupported_reason(const AttnDims& dims, const DeviceCaps& dev) const;
};

const std::vector<KernelSpec>& kernel_registry();

// The reference spec (from the list, else the registry's) first, then the others in order:
// backends need the reference output to measure every other kernel against.
std::vector<const KernelSpec*> reference_first(const std::vector<const KernelSpec*>& kernels);
const KernelSpec* find_kernel(std::string_view name);

}  // namespace int8attn
