// Internal to the GPU harness: input generation and the error reduction, launched by the
// session (gpu_session.cu).
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "common/error_metrics.h"
#include "common/rng.h"
#include "kernels/api.h"

namespace int8attn::gpu {

// Fills `out` (count elements of `tensor`, BHSD) with the generated values rounded to FP16:
// the formula of host::generated_value (src/host/inputs.cpp), element for element.
void generate_tensor(const AttnDims& dims, const InputGenSpec& spec, TensorId tensor, __half* out,
                     int64_t count, cudaStream_t stream);

// Per-block partial sums of the error reduction (common/error_metrics.h); the host adds them
// in block order, so the result is the same on every run and every GPU.
using ErrorPartial = ErrorSums;
constexpr int kErrorBlocks = 1024;  // fixed: the summation order must not depend on the GPU

// partials[kErrorBlocks] on the device.
void error_partials(const __half* out, const float* ref, int64_t count, ErrorPartial* partials,
                    cudaStream_t stream);
// Combines the partials (host) into the metrics.
ErrorMetrics finish_error_metrics(const ErrorPartial* partials, int64_t count);

}  // namespace int8attn::gpu
