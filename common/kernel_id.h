// Which kernel: the one identity the model (src/model/kernel.h: its name and family), the
// GPU session (kernels/api.h) and the CPU emulation switch on, never on names.
#pragma once

namespace int8attn {

enum class KernelId {
  Reference,  // the accuracy baseline (FP64 on the CPU, cuBLASLt FP16/FP32 on the GPU)
  Int8Full,   // INT8 QK^T and INT8/UINT8 P·V
  Int8QK,     // INT8 QK^T, FP16 P·V
  Fp16Flash,  // our FP16 flash attention, same tiling as the INT8 kernels
  Fp16Cudnn,  // cuDNN's SDPA forward, FP16 (frontend graph API)
  Fp8Cudnn,   // cuDNN's SDPA forward, FP8 e4m3 with per-tensor scales (+ our quantizer)
};

// A short label for messages ("reference", "int8-fa"); the kernels' names are kernel_identities()'.
constexpr const char* to_string(KernelId id) {
  switch (id) {
    case KernelId::Reference: return "reference";
    case KernelId::Int8Full: return "int8-fa";
    case KernelId::Int8QK: return "int8-qk";
    case KernelId::Fp16Flash: return "fp16-fa";
    case KernelId::Fp16Cudnn: return "fp16-cudnn";
    case KernelId::Fp8Cudnn: return "fp8-cudnn";
  }
  return "?";
}

// Kernels whose run starts with a quantization step of their own (Q/K/V to INT8 or e4m3),
// which the GPU session can run and time apart.
constexpr bool has_quantize_step(KernelId id) {
  return id == KernelId::Int8Full || id == KernelId::Int8QK || id == KernelId::Fp8Cudnn;
}

}  // namespace int8attn
