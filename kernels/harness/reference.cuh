// Internal to the GPU harness: the cuBLASLt reference attention (fp16-ref-cublaslt).
//   S = Q·K^T (cuBLASLt, FP32 accumulate and output), FP32 softmax with sm_scale and the
//   bottom-right causal mask, O = P·V (cuBLASLt, FP32 output).
// Precision fp16: FP16 GEMM inputs, P rounded to FP16 after normalisation (what an unfused
// FP16 attention computes). Precision fp32: Q/K/V widened to FP32 and FP32 GEMMs with
// CUBLAS_COMPUTE_32F (no TF32), a tighter ground truth.
// Chunked over query rows: for one (batch, kv head) group the G = heads/kv_heads query heads
// are contiguous in BHSD, so their rows form one (G*seq_q) x d operand against the group's
// K and V (GQA without repeating K/V); whole groups are batched with strided GEMMs.
#pragma once
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "kernels/api.h"
#include "kernels/harness/device_allocator.cuh"

namespace int8attn::gpu {

// One strided-batched GEMM in cuBLASLt's column-major terms: D(m x n) = op(A) op(B).
struct GemmDesc {
  cublasOperation_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  int32_t batch = 1;
  cudaDataType_t ab_type = CUDA_R_16F;
  cudaDataType_t c_type = CUDA_R_32F;
  uint32_t align_a = 256, align_b = 256, align_c = 256;  // pointer alignment in bytes

  auto key() const {
    return std::make_tuple(trans_a, trans_b, m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c,
                           batch, ab_type, c_type, std::make_tuple(align_a, align_b, align_c));
  }
};

// cuBLASLt matmuls with descriptors and the heuristic's algorithm cached per shape.
class LtGemm {
 public:
  LtGemm(DeviceAllocator& alloc, int64_t workspace_bytes);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  // D = A·B (alpha 1, beta 0); pointer alignments are filled from the pointers.
  void run(GemmDesc desc, const void* a, const void* b, void* d, cudaStream_t stream);
  int64_t workspace_bytes() const { return workspace_.bytes(); }

 private:
  struct Plan;
  const Plan& plan_for(const GemmDesc& desc);
  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer<uint8_t> workspace_;
  std::map<decltype(GemmDesc{}.key()), std::unique_ptr<Plan>> plans_;
};

class ReferenceAttention {
 public:
  ReferenceAttention(DeviceAllocator& alloc, const AttnDims& dims, const ReferenceOptions& options);
  // out: [batch, heads, seq_q, head_dim] FP32.
  void run(const __half* q, const __half* k, const __half* v, float* out, cudaStream_t stream);
  const ReferencePlan& plan() const { return plan_; }

 private:
  // Keys a chunk of rows needs: under the causal mask, a chunk within one head's queries
  // sees only the keys up to its last row's, so masked scores are never computed.
  int64_t chunk_keys(int64_t row0, int64_t rows) const;
  void run_chunk(const __half* q, const __half* k, const __half* v, float* out, int64_t group0,
                 int64_t groups, int64_t row0, int64_t rows, cudaStream_t stream);
  AttnDims dims_;
  ReferenceOptions options_;
  ReferencePlan plan_;
  LtGemm gemm_;
  DeviceBuffer<float> scores_;   // S chunk; P in place when fp32
  DeviceBuffer<__half> probs_;   // P chunk (fp16 precision)
  DeviceBuffer<float> q32_, k32_, v32_;  // FP32 copies (fp32 precision)
  int64_t k32_group0_ = -1;      // group range k32_/v32_ hold
  const __half* k32_source_ = nullptr;
};

// cuBLASLt's version as "major.minor.patch".
std::string cublaslt_version_string();

}  // namespace int8attn::gpu
