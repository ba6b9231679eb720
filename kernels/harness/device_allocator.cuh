// Internal to the GPU harness: the one place device memory is allocated. It counts the
// bytes of every live allocation and their peak, so each op's peak memory is exact.
// Allocations made with counted = false (the L2 flush buffer) stay out of the tally.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

namespace int8attn::gpu {

class DeviceAllocator {
 public:
  void* allocate(int64_t bytes, bool counted = true);
  void release(void* ptr, int64_t bytes, bool counted = true);
  int64_t current() const { return current_; }
  int64_t peak() const { return peak_; }
  // Starts a new peak window at the current count.
  void reset_peak() { peak_ = current_; }
  // Test-only (InjectedFault::OutOfMemory): while set, allocations fail as cudaMalloc's
  // out of memory does.
  void refuse_allocations(bool refuse) { refuse_ = refuse; }

 private:
  int64_t current_ = 0;
  int64_t peak_ = 0;
  bool refuse_ = false;
};

// Owning typed device buffer; frees through its allocator.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceAllocator& alloc, int64_t count, bool counted = true)
      : alloc_(&alloc), count_(count), counted_(counted) {
    ptr_ = static_cast<T*>(alloc.allocate(bytes(), counted));
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      std::swap(alloc_, o.alloc_);
      std::swap(ptr_, o.ptr_);
      std::swap(count_, o.count_);
      std::swap(counted_, o.counted_);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void reset() {
    if (ptr_) alloc_->release(ptr_, bytes(), counted_);
    ptr_ = nullptr;
    count_ = 0;
  }
  T* get() const { return ptr_; }
  int64_t size() const { return count_; }
  int64_t bytes() const { return count_ * static_cast<int64_t>(sizeof(T)); }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  DeviceAllocator* alloc_ = nullptr;
  T* ptr_ = nullptr;
  int64_t count_ = 0;
  bool counted_ = true;
};

}  // namespace int8attn::gpu
