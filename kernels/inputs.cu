// Inputs generated on the GPU from the counter-based RNG (common/rng.h): element i of a
// tensor is a pure function of (seed, tensor, i), so every GPU and the CPU backend produce
// the same tensors (up to an ulp of logf/cosf before the FP16 rounding).
#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/harness_ops.cuh"

namespace int8attn::gpu {
namespace {

struct GenParams {
  InputGenSpec spec;
  TensorId tensor;
  int64_t count;
  int64_t seq_kv, head_dim;
};

// The same operation order as cpu::generated_value; __fmul_rn/__fadd_rn keep nvcc from
// contracting them into an FMA the host does not do.
__device__ float generated_value(const GenParams& p, uint64_t i) {
  const InputGenSpec& s = p.spec;
  if (s.distribution == InputDistribution::Uniform) return __fmul_rn(uniform_pm1(s.seed, p.tensor, i), s.scale);
  float value = __fmul_rn(standard_normal(s.seed, p.tensor, i), s.scale);
  if (s.distribution == InputDistribution::OutlierChannels && p.tensor == TensorId::K) {
    const uint64_t per_head = static_cast<uint64_t>(p.seq_kv * p.head_dim);
    const int64_t channel = static_cast<int64_t>(i % static_cast<uint64_t>(p.head_dim));
    value = __fadd_rn(value, outlier_channel_offset(s.seed, i / per_head, channel, p.head_dim,
                                                    s.outlier_channels, s.outlier_magnitude));
  }
  return value;
}

__global__ void generate_kernel(GenParams p, __half* out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < p.count;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = __float2half_rn(generated_value(p, static_cast<uint64_t>(i)));
  }
}

}  // namespace

void generate_tensor(const AttnDims& dims, const InputGenSpec& spec, TensorId tensor, __half* out,
                     int64_t count, cudaStream_t stream) {
  const GenParams params{spec, tensor, count, dims.seq_kv, dims.head_dim};
  const int blocks = static_cast<int>(std::clamp<int64_t>((count + 255) / 256, 1, 65535));
  generate_kernel<<<blocks, 256, 0, stream>>>(params, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace int8attn::gpu
