// Accuracy of an op's FP16 output against the FP32 reference output, FP64 accumulation
// over every element; see ErrorMetrics in api.h.
#include "kernels/harness/cuda_check.cuh"
#include "kernels/harness/harness_ops.cuh"

namespace int8attn::gpu {
namespace {

constexpr int kErrorThreads = 256;

__global__ void error_partials_kernel(const __half* out, const float* ref, int64_t count,
                                      ErrorPartial* partials) {
  ErrorPartial mine;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    add_error_element(mine, __half2float(out[i]), ref[i], i);
  }
  __shared__ ErrorPartial shared[kErrorThreads];
  shared[threadIdx.x] = mine;
  __syncthreads();
  for (int stride = kErrorThreads / 2; stride > 0; stride /= 2) {  // fixed tree order
    if (threadIdx.x < stride) merge_error_sums(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = shared[0];
}

}  // namespace

void error_partials(const __half* out, const float* ref, int64_t count, ErrorPartial* partials,
                    cudaStream_t stream) {
  error_partials_kernel<<<kErrorBlocks, kErrorThreads, 0, stream>>>(out, ref, count, partials);
  CUDA_CHECK_LAUNCH();
}

// The CPU backend's conventions (common/error_metrics.h): a reference that is not finite or
// all zeros is never a perfect score.
ErrorMetrics finish_error_metrics(const ErrorPartial* partials, int64_t count) {
  ErrorPartial total;
  for (int b = 0; b < kErrorBlocks; ++b) merge_error_sums(total, partials[b]);
  ErrorMetrics m;
  static_cast<ErrorValues&>(m) = finish_error_sums(total, count);
  m.elements = count;
  return m;
}

}  // namespace int8attn::gpu
