#include "kernels/harness/device_allocator.cuh"

#include <string>

#include "kernels/harness/cuda_check.cuh"

namespace int8attn::gpu {

void* DeviceAllocator::allocate(int64_t bytes, bool counted) {
  if (bytes <= 0) return nullptr;
  void* ptr = nullptr;
  const cudaError_t status = refuse_ ? cudaErrorMemoryAllocation : cudaMalloc(&ptr, static_cast<size_t>(bytes));
  if (status != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky; clear it
    throw CudaError("cudaMalloc of " + std::to_string(bytes) + " bytes: " + cudaGetErrorName(status) + " (" +
                        cudaGetErrorString(status) + ")" + (refuse_ ? " [injected by a test]" : ""),
                    status);
  }
  if (counted) {
    current_ += bytes;
    if (current_ > peak_) peak_ = current_;
  }
  return ptr;
}

void DeviceAllocator::release(void* ptr, int64_t bytes, bool counted) {
  if (!ptr) return;
  cudaFree(ptr);  // a failure here means a lost context, which the next checked call reports
  if (counted) current_ -= bytes;
}

}  // namespace int8attn::gpu
