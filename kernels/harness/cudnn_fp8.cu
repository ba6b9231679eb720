// The FP8 (e4m3) conversions around cuDNN's FP8 SDPA: Q/K/V to e4m3 with one scale per
// tensor, as Transformer Engine feeds cuDNN, and the e4m3 output back to FP16. Per-tensor
// amax first (one pass over the three tensors), then the conversion (a second pass), so the
// quantizer reads FP16 Q/K/V twice, like our INT8 quantizer's scale and code passes.
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>

#include "kernels/harness/cuda_check.cuh"
#include "kernels/harness/cudnn_sdpa.h"

namespace int8attn::gpu::cudnn {
namespace {

constexpr int kThreads = 256;
constexpr int kVec = 8;  // halves per 16-byte load

// Grid size for `count` elements at kVec per thread, capped so each thread loops a little.
int blocks_for(int64_t count, int per_sm_cap = 4096) {
  const int64_t vectors = (count + kVec - 1) / kVec;
  return static_cast<int>(std::clamp<int64_t>((vectors + kThreads - 1) / kThreads, 1, per_sm_cap));
}

struct Span {
  const __half* in;
  int64_t count;
};

// amax of each tensor into scales[kAmaxQ + t] (blockIdx.y = tensor). Non-negative floats
// order like their bit patterns, so atomicMax on the int view is an exact float max.
__global__ void amax_kernel(Span q, Span k, Span v, float* scales) {
  const Span s = blockIdx.y == 0 ? q : (blockIdx.y == 1 ? k : v);
  float m = 0.f;
  const int64_t vectors = s.count / kVec;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < vectors; i += stride) {
    const uint4 raw = reinterpret_cast<const uint4*>(s.in)[i];
    const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
    for (int j = 0; j < kVec / 2; ++j) {
      const float2 f = __half22float2(h[j]);
      m = fmaxf(m, fmaxf(fabsf(f.x), fabsf(f.y)));  // fmaxf drops NaN
    }
  }
  for (int64_t i = vectors * kVec + blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < s.count; i += stride) {
    m = fmaxf(m, fabsf(__half2float(s.in[i])));
  }
  for (int offset = 16; offset > 0; offset /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, offset));
  __shared__ float warp_max[kThreads / 32];
  if (threadIdx.x % 32 == 0) warp_max[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) m = fmaxf(m, warp_max[w]);
    if (isfinite(m)) atomicMax(reinterpret_cast<int*>(scales + kAmaxQ + blockIdx.y), __float_as_int(m));
  }
}

// scale = 448/amax (1 for an all-zero tensor); the stored descale is its inverse.
__device__ float fp8_scale_of(float amax) { return amax > 0.f ? kFp8E4M3Max / amax : 1.f; }

struct Dst {
  __nv_fp8_storage_t* out;
};

__global__ void convert_kernel(Span q, Span k, Span v, Dst q8, Dst k8, Dst v8, float* scales) {
  const int t = blockIdx.y;
  const Span s = t == 0 ? q : (t == 1 ? k : v);
  __nv_fp8_storage_t* out = (t == 0 ? q8 : (t == 1 ? k8 : v8)).out;
  const float scale = fp8_scale_of(scales[kAmaxQ + t]);
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    scales[kDescaleQ + t] = 1.f / scale;
    if (t == 2) {  // S and O: fixed by their ranges, so no calibration pass is needed
      scales[kScaleS] = kFp8E4M3Max;
      scales[kDescaleS] = 1.f / kFp8E4M3Max;
      scales[kScaleO] = scale;  // |O| <= amax(V): a softmax-weighted mean of V's rows
      scales[kDescaleO] = 1.f / scale;
    }
  }
  const int64_t vectors = s.count / kVec;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < vectors; i += stride) {
    const uint4 raw = reinterpret_cast<const uint4*>(s.in)[i];
    const __half2* h = reinterpret_cast<const __half2*>(&raw);
    uint32_t packed[2] = {0, 0};  // 8 codes, little-endian like the halves they came from
#pragma unroll
    for (int j = 0; j < kVec / 2; ++j) {
      float2 f = __half22float2(h[j]);
      f.x *= scale;
      f.y *= scale;
      const uint32_t pair = __nv_cvt_float2_to_fp8x2(f, __NV_SATFINITE, __NV_E4M3);
      packed[j / 2] |= pair << (16 * (j % 2));
    }
    reinterpret_cast<uint2*>(out)[i] = make_uint2(packed[0], packed[1]);
  }
  for (int64_t i = vectors * kVec + blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < s.count; i += stride) {
    out[i] = __nv_cvt_float_to_fp8(__half2float(s.in[i]) * scale, __NV_SATFINITE, __NV_E4M3);
  }
}

__global__ void dequant_kernel(const __nv_fp8_storage_t* in, const float* scales, __half* out, int64_t count) {
  const float descale = scales[kDescaleO];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += stride) {
    const __half_raw raw = __nv_cvt_fp8_to_halfraw(in[i], __NV_E4M3);
    out[i] = __float2half_rn(__half2float(__half(raw)) * descale);
  }
}

}  // namespace

cudaError_t fp8_quantize_qkv(const AttnDims& dims, const __half* q, const __half* k, const __half* v,
                             const Fp8Qkv& out, cudaStream_t stream) {
  const Span sq{q, dims.q_elements()}, sk{k, dims.kv_elements()}, sv{v, dims.kv_elements()};
  cudaError_t e = cudaMemsetAsync(out.scales + kAmaxQ, 0, 3 * sizeof(float), stream);
  if (e != cudaSuccess) return e;
  const dim3 grid(blocks_for(std::max(sq.count, sk.count)), 3);
  amax_kernel<<<grid, kThreads, 0, stream>>>(sq, sk, sv, out.scales);
  convert_kernel<<<grid, kThreads, 0, stream>>>(sq, sk, sv, {out.q}, {out.k}, {out.v}, out.scales);
  return cudaGetLastError();
}

cudaError_t fp8_output_to_half(const uint8_t* o8, const float* scales, __half* out, int64_t count,
                               cudaStream_t stream) {
  dequant_kernel<<<blocks_for(count * kVec), kThreads, 0, stream>>>(o8, scales, out, count);
  return cudaGetLastError();
}

}  // namespace int8attn::gpu::cudnn
