#include "src/model/kernel.h"

namespace int8attn {

const char* to_string(KernelFamily f) {
  switch (f) {
    case KernelFamily::Reference: return "reference";
    case KernelFamily::Int8: return "int8";
    case KernelFamily::Fp16: return "fp16";
    case KernelFamily::Fp8: return "fp8";
    case KernelFamily::Unknown: return "unknown";
  }
  return "?";
}

const std::vector<KernelIdentity>& kernel_identities() {
  static const std::vector<KernelIdentity> kernels = {
      {"fp16-ref-cublaslt",
       "reference attention: FP64 on the CPU; cuBLASLt GEMMs with an FP32 softmax on the GPU",
       KernelId::Reference, KernelFamily::Reference},
      {"int8-fa",
       "full INT8 flash attention: INT8 Q·K^T, INT8/UINT8 P·V (Hopper: warp-specialized TMA + "
       "wgmma with 128-key blocks at any length, with 64-key blocks from 1K keys (4K at head_dim 64; at 256 "
       "from 128 keys with 128 query rows, else from 1K, P·V in channel quarters), Q quantized in the kernel at head_dim 128 and 256 from 1K keys "
       "on grids of 4 tiles an SM (3.5 at 256); wgmma below at 128; mma.sync m16n8k32 elsewhere; "
       "quantization kv_block = v_block = 128: 128-key P blocks with V scaled per block, Hopper only, "
       "\"auto\"'s choice there from 256 keys, on causal rows at head_dim 64 from 512)",
       KernelId::Int8Full, KernelFamily::Int8},
      {"int8-qk",
       "INT8 Q·K^T, FP16 P·V flash attention (SageAttention v1's split; Hopper: warp-specialized TMA + "
       "wgmma from 256 keys; mma.sync elsewhere)",
       KernelId::Int8QK, KernelFamily::Int8},
      {"fp16-fa",
       "FP16 flash attention with the INT8 kernels' tiling (the like-for-like baseline; Hopper: warp-specialized "
       "TMA + wgmma from 256 keys; mma.sync elsewhere)",
       KernelId::Fp16Flash, KernelFamily::Fp16},
      {"fp16-cudnn",
       "cuDNN SDPA forward, FP16 in/out, FP32 softmax (frontend graph API; the fastest FP16 attention on Hopper)",
       KernelId::Fp16Cudnn, KernelFamily::Fp16},
      {"fp8-cudnn",
       "cuDNN SDPA forward, FP8 e4m3 Q/K/V/P/O with per-tensor scales; latency includes quantizing Q/K/V and "
       "converting O to FP16",
       KernelId::Fp8Cudnn, KernelFamily::Fp8},
  };
  return kernels;
}

const KernelIdentity* find_kernel_identity(std::string_view name) {
  for (const KernelIdentity& k : kernel_identities()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace int8attn
