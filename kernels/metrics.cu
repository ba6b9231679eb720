// Accuracy of an op's FP16 output against the FP32 reference output, FP64 accumulation
// over every element; see ErrorMetrics in api.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cuda_check.cuh"
#include "kernels/harness_ops.cuh"

namespace int8attn::gpu {
namespace {

constexpr int kErrorThreads = 256;

// One merge for the in-block tree (device) and the fixed-order sum of the blocks (host).
__host__ __device__ void merge(ErrorPartial& a, const ErrorPartial& b) {
  a.sq_err += b.sq_err;
  a.abs_err += b.abs_err;
  a.ref_sq += b.ref_sq;
  a.out_sq += b.out_sq;
  a.dot += b.dot;
  a.nonfinite += b.nonfinite;
  a.first_nonfinite = b.first_nonfinite < a.first_nonfinite ? b.first_nonfinite : a.first_nonfinite;
  a.finite += b.finite;
  // Ties go to the lower index, so the reported location does not depend on the schedule.
  if (b.max_err > a.max_err || (b.max_err == a.max_err && b.max_index < a.max_index)) {
    a.max_err = b.max_err;
    a.max_index = b.max_index;
  }
}

__global__ void error_partials_kernel(const __half* out, const float* ref, int64_t count,
                                      ErrorPartial* partials) {
  ErrorPartial mine;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    const double o = __half2float(out[i]);
    const double r = ref[i];
    if (!isfinite(o) || !isfinite(r)) {
      if (mine.nonfinite++ == 0) mine.first_nonfinite = i;
      continue;
    }
    const double e = o - r;
    mine.sq_err += e * e;
    mine.abs_err += fabs(e);
    mine.ref_sq += r * r;
    mine.out_sq += o * o;
    mine.dot += o * r;
    ++mine.finite;
    if (fabs(e) > mine.max_err) {
      mine.max_err = fabs(e);
      mine.max_index = i;
    }
  }
  __shared__ ErrorPartial shared[kErrorThreads];
  shared[threadIdx.x] = mine;
  __syncthreads();
  for (int stride = kErrorThreads / 2; stride > 0; stride /= 2) {  // fixed tree order
    if (threadIdx.x < stride) merge(shared[threadIdx.x], shared[threadIdx.x + stride]);
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

ErrorMetrics finish_error_metrics(const ErrorPartial* partials, int64_t count) {
  ErrorPartial total;
  for (int b = 0; b < kErrorBlocks; ++b) merge(total, partials[b]);
  // Conventions of the CPU backend (src/cpu/metrics.h), so both backends report alike:
  // any NaN/Inf makes the error sums +inf, cosine 0 and points the max at the first one;
  // a zero reference gives rel_l2 0 for a zero output and +inf otherwise.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ErrorMetrics m;
  m.elements = count;
  m.nonfinite = total.nonfinite;
  if (total.nonfinite > 0) {
    m.mse = m.mean_abs_error = m.max_abs_error = m.rel_l2 = kInf;
    m.cosine = 0;
    m.max_abs_index = total.first_nonfinite;
    return m;
  }
  const double n = total.finite > 0 ? static_cast<double>(total.finite) : 1.0;
  m.mse = total.sq_err / n;
  m.mean_abs_error = total.abs_err / n;
  m.max_abs_error = std::max(total.max_err, 0.0);
  m.max_abs_index = total.max_err >= 0 ? total.max_index : 0;
  m.rel_l2 = total.ref_sq > 0 ? std::sqrt(total.sq_err / total.ref_sq) : (total.sq_err > 0 ? kInf : 0.0);
  const bool ref_zero = total.ref_sq == 0, out_zero = total.out_sq == 0;
  m.cosine = ref_zero || out_zero ? (ref_zero && out_zero ? 1.0 : 0.0)
                                  : total.dot / (std::sqrt(total.ref_sq) * std::sqrt(total.out_sq));
  return m;
}

}  // namespace int8attn::gpu
