// Who each kernel is: its name, what it computes and its family, as one table. Config,
// report and bench read it; what a kernel supports (backends, architectures, shapes) is the
// registry's (src/bench/registry.h), which adds its rules to each entry.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "common/kernel_id.h"

namespace int8attn {

// Role in the fallback policy: INT8 kernels are judged against the case's baseline (the
// fastest FP16 kernel, or the configured one); FP8 kernels get a verdict of their own.
// Unknown: no kernel of the table has it; only a result can (KernelResult::family).
enum class KernelFamily { Reference, Int8, Fp16, Fp8, Unknown };
const char* to_string(KernelFamily f);

struct KernelIdentity {
  std::string name;          // "int8-fa"
  std::string description;   // one line for list-kernels and the report
  KernelId id;               // what it computes
  KernelFamily family;
};

// Every kernel, the reference first, in list-kernels order.
const std::vector<KernelIdentity>& kernel_identities();
// nullptr for a name no kernel has.
const KernelIdentity* find_kernel_identity(std::string_view name);

}  // namespace int8attn
