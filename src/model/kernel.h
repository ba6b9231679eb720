// Who each kernel is: its name, what it computes and its family, as one table. Config,
// report and bench read it; what a kernel supports (backends, architectures, shapes) is the
// registry's (src/bench/registry.h), which adds its rules to each entry.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace int8attn {

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
// Unknown: no kernel of the table has it; only a result can (KernelResult::family).
enum class KernelFamily { Reference, Int8, Fp16, Fp8, Unknown };
const char* to_string(KernelFamily f);

struct KernelIdentity {
  std::string name;          // "int8-fa"
  std::string description;   // one line for list-kernels and the report
  Algorithm algorithm;
  KernelFamily family;
};

// Every kernel, the reference first, in list-kernels order.
const std::vector<KernelIdentity>& kernel_identities();
// nullptr for a name no kernel has.
const KernelIdentity* find_kernel_identity(std::string_view name);

}  // namespace int8attn
