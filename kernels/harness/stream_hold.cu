// The stream hold (stream_hold.cuh): a one-thread kernel polling a host-mapped flag.
#include "kernels/harness/cuda_check.cuh"
#include "kernels/harness/stream_hold.cuh"

namespace int8attn::gpu {
namespace {

__device__ __forceinline__ uint64_t global_ns() {
  uint64_t ns = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
  return ns;
}

__global__ void hold_stream_kernel(volatile int32_t* flags, int32_t ticket, uint64_t timeout_ns) {
  const uint64_t start = global_ns();
  while (flags[0] != ticket) {
    if (global_ns() - start > timeout_ns) {
      flags[1] = ticket;
      return;
    }
    __nanosleep(1000);  // about a microsecond: the release is seen within one
  }
}

}  // namespace

StreamHold::~StreamHold() {
  if (flags_ != nullptr) cudaFreeHost(const_cast<int32_t*>(flags_));
}

bool StreamHold::hold(cudaStream_t stream) {
  if (flags_ == nullptr) {
    void* host = nullptr;
    CUDA_CHECK(cudaHostAlloc(&host, 2 * sizeof(int32_t), cudaHostAllocMapped));
    flags_ = static_cast<volatile int32_t*>(host);
    flags_[0] = flags_[1] = 0;
    void* device = nullptr;
    CUDA_CHECK(cudaHostGetDevicePointer(&device, host, 0));
    device_flags_ = static_cast<int32_t*>(device);
  }
  ++ticket_;
  hold_stream_kernel<<<1, 1, 0, stream>>>(device_flags_, ticket_, kTimeoutNs);
  CUDA_CHECK(cudaGetLastError());
  return !gave_up();
}

void StreamHold::release() {
  if (flags_ != nullptr) flags_[0] = ticket_;
}

bool StreamHold::gave_up() const { return flags_ != nullptr && flags_[1] == ticket_; }

}  // namespace int8attn::gpu
