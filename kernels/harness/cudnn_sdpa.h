// Internal to the GPU harness: cuDNN's scaled-dot-product-attention forward (FP16, and FP8
// e4m3 with per-tensor scales) as plain C++, so that gpu_session.cu never sees the cuDNN
// frontend. The graph code lives in cudnn_sdpa.cpp (the one translation unit that includes
// cudnn_frontend.h); the FP8 conversions around it in cudnn_fp8.cu.
//
// Errors are thrown as CudaError (cuda_check.cuh): with cudaErrorNotSupported when
// cuDNN declines the problem (no engine, or its support surface says no), so the session
// reports a skip with cuDNN's own words, never a crash.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/attn_types.h"

namespace int8attn::gpu::cudnn {

// Whether this build has cuDNN and the library answers: its version ("9.19.0"), or why not
// ("built without cuDNN: ..."). Needs no GPU.
struct Availability {
  bool available = false;
  std::string version;
  std::string why_not;
};
const Availability& availability();

enum class SdpaPrecision { Fp16, Fp8E4M3 };

// Per-tensor FP8 scales, one float each, in one device array (kFp8ScaleCount floats).
// descale = 1/scale; FP8 value = FP16 value * scale.
enum Fp8Scale : int {
  kDescaleQ, kDescaleK, kDescaleV,  // amax/448 of each input
  kDescaleS, kScaleS,               // softmax probabilities P in [0,1]: P_fp8 = P * 448
  kScaleO, kDescaleO,               // |O| <= amax(V): O_fp8 = O * 448/amax(V)
  kAmaxS, kAmaxO,                   // cuDNN's amax outputs (written by the SDPA call)
  kAmaxQ, kAmaxK, kAmaxV,           // the quantizer's reductions
  kFp8ScaleCount
};
// Largest finite e4m3 value.
inline constexpr float kFp8E4M3Max = 448.f;

// Device pointers of one SDPA call, BHSD layouts (K/V with kv_heads heads).
struct SdpaTensors {
  const void* q = nullptr;  // __half or e4m3 bytes
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;        // same type as the inputs
  float* fp8_scales = nullptr;  // FP8 only: kFp8ScaleCount floats
};

// cuDNN's handle and one built graph per (shape, precision), kept for the session's life:
// plan building happens in prepare(), never inside a timed run.
class SdpaPlans {
 public:
  SdpaPlans();
  ~SdpaPlans();
  SdpaPlans(const SdpaPlans&) = delete;
  SdpaPlans& operator=(const SdpaPlans&) = delete;

  // Builds the graph for the problem (or finds it built) and returns the workspace bytes
  // its plan needs. A problem cuDNN declined once is declined again without rebuilding.
  int64_t prepare(const AttnDims& dims, SdpaPrecision precision);
  // Enqueues one forward pass on `stream` (prepare() must have succeeded for the problem).
  void run(const AttnDims& dims, SdpaPrecision precision, const SdpaTensors& tensors, void* workspace,
           cudaStream_t stream);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// FP8 e4m3 copies of the inputs with their per-tensor scales (cudnn_fp8.cu).
struct Fp8Qkv {
  uint8_t* q = nullptr;
  uint8_t* k = nullptr;
  uint8_t* v = nullptr;
  float* scales = nullptr;  // kFp8ScaleCount floats
};

// Q, K, V -> e4m3 with one scale per tensor (448/amax, saturating), and every scale of the
// SDPA call (S and O included): a memset, one amax reduction, one conversion pass.
cudaError_t fp8_quantize_qkv(const AttnDims& dims, const __half* q, const __half* k, const __half* v,
                             const Fp8Qkv& out, cudaStream_t stream);
// The e4m3 output back to FP16 with scales[kDescaleO].
cudaError_t fp8_output_to_half(const uint8_t* o8, const float* scales, __half* out, int64_t count,
                               cudaStream_t stream);

}  // namespace int8attn::gpu::cudnn
