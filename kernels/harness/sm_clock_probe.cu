// The SM clock probe (sm_clock_probe.cuh).
#include <cstring>

#include "kernels/harness/cuda_check.cuh"
#include "kernels/harness/sm_clock_probe.cuh"

namespace int8attn::gpu {
namespace {

// One thread a block stamps its SM; where two blocks share an SM either stamp is a true pair.
__global__ void stamp_sm_clock(SmStamp* stamps, int slots) {
  if (threadIdx.x != 0) return;
  uint32_t sm = 0;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
  if (sm >= static_cast<uint32_t>(slots)) return;
  uint64_t ns = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
  const uint64_t cycles = clock64();
  stamps[sm] = SmStamp{ns, cycles};
}

}  // namespace

SmClockProbe::~SmClockProbe() {
  if (host_ != nullptr) cudaFreeHost(host_);
}

void SmClockProbe::prepare(cudaStream_t stream) {
  if (host_ != nullptr) return;
  void* host = nullptr;
  CUDA_CHECK(cudaHostAlloc(&host, 2 * kSlots * sizeof(SmStamp), cudaHostAllocMapped));
  host_ = static_cast<SmStamp*>(host);
  void* device = nullptr;
  CUDA_CHECK(cudaHostGetDevicePointer(&device, host, 0));
  device_ = static_cast<SmStamp*>(device);
  stamp_sm_clock<<<1, 32, 0, stream>>>(device_, kSlots);
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

void SmClockProbe::before(cudaStream_t stream, int sm_count) {
  if (host_ == nullptr) throw CudaError("SmClockProbe::before without prepare()", cudaErrorInvalidValue);
  // The stream is idle here (the last run was waited for), so the host may clear the stamps.
  std::memset(static_cast<void*>(host_), 0, 2 * kSlots * sizeof(SmStamp));
  stamp_sm_clock<<<sm_count, 32, 0, stream>>>(device_, kSlots);
  CUDA_CHECK(cudaGetLastError());
}

void SmClockProbe::after(cudaStream_t stream, int sm_count) {
  stamp_sm_clock<<<sm_count, 32, 0, stream>>>(device_ + kSlots, kSlots);
  CUDA_CHECK(cudaGetLastError());
}

double SmClockProbe::mhz() const {
  return host_ == nullptr ? 0.0 : median_sm_clock_mhz(host_, host_ + kSlots, kSlots);
}

}  // namespace int8attn::gpu
