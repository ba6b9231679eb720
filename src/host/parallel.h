// Host-side execution settings shared by the FP64 reference and the CPU emulation: how many
// threads, and where to tally the bytes a computation allocates (the CPU backend reports them
// as the kernel's peak memory).
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>

namespace int8attn::host {

// Running and peak byte count of the large host buffers one computation allocates.
class HostMemoryTally {
 public:
  void allocate(int64_t bytes);
  void release(int64_t bytes);
  int64_t current() const;
  int64_t peak() const;

 private:
  mutable std::mutex mutex_;
  int64_t current_ = 0;
  int64_t peak_ = 0;
};

// Counts `bytes` as allocated for its lifetime (no-op without a tally).
class TalliedBytes {
 public:
  TalliedBytes(HostMemoryTally* tally, int64_t bytes);
  ~TalliedBytes();
  TalliedBytes(const TalliedBytes&) = delete;
  TalliedBytes& operator=(const TalliedBytes&) = delete;

 private:
  HostMemoryTally* tally_;
  int64_t bytes_;
};

struct CpuExec {
  int threads = 0;                    // 0: std::thread::hardware_concurrency()
  HostMemoryTally* tally = nullptr;   // optional
};

// Threads actually used for `items` work items.
int resolve_threads(int requested, int64_t items);

// Calls fn(item) for every item in [0, items), spread over threads. Each item is handled by
// exactly one thread and items never share outputs, so results do not depend on the thread
// count. The first exception thrown by fn is rethrown here after all threads finish.
void parallel_for(int64_t items, int threads, const std::function<void(int64_t)>& fn);

}  // namespace int8attn::host
