// Internal to the GPU harness: every CUDA runtime and cuBLASLt status becomes a CudaError
// exception carrying "call at file:line: name (description)". The session catches it at the
// api.h boundary and turns it into a GpuStatus, so one failing kernel never ends a sweep.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace int8attn::gpu {

class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& message, cudaError_t code)
      : std::runtime_error(message), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;  // cudaSuccess for cuBLASLt and harness errors
};

inline std::string status_location(const char* call, const char* file, int line) {
  return std::string(call) + " at " + file + ":" + std::to_string(line) + ": ";
}

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw CudaError(status_location(call, file, line) + cudaGetErrorName(status) + " (" +
                      cudaGetErrorString(status) + ")",
                  status);
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw CudaError(status_location(call, file, line) + cublasLtGetStatusName(status) + " (" +
                      cublasLtGetStatusString(status) + ")",
                  cudaSuccess);
}

}  // namespace int8attn::gpu

#define CUDA_CHECK(call) ::int8attn::gpu::check_cuda((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) ::int8attn::gpu::check_cublas((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors surface here, execution errors later.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
