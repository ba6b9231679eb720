// Inputs generated on the GPU: element i of a tensor is generated_input_value (common/
// input_families.h, over the counter-based RNG of common/rng.h), the function the CPU
// backend calls too, so every GPU and the CPU produce the same tensors (up to an ulp of
// logf/cosf before the FP16 rounding).
#include <algorithm>

#include "kernels/harness/cuda_check.cuh"
#include "kernels/harness/harness_ops.cuh"

namespace int8attn::gpu {
namespace {

struct GenParams {
  InputGenSpec spec;
  TensorId tensor;
  int64_t count;
  AttnDims dims;
};

__global__ void generate_kernel(GenParams p, __half* out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < p.count;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = __float2half_rn(generated_input_value(p.spec, p.dims, p.tensor, static_cast<uint64_t>(i)));
  }
}

}  // namespace

void generate_tensor(const AttnDims& dims, const InputGenSpec& spec, TensorId tensor, __half* out,
                     int64_t count, cudaStream_t stream) {
  const GenParams params{spec, tensor, count, dims};
  const int blocks = static_cast<int>(std::clamp<int64_t>((count + 255) / 256, 1, 65535));
  generate_kernel<<<blocks, 256, 0, stream>>>(params, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace int8attn::gpu
