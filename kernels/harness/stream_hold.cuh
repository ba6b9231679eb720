// Internal to the GPU harness: nvbench's "blocking kernel". A timed run records its start
// event, enqueues the op and records its stop event; where the host takes longer to plan and
// enqueue the op's launches than the GPU takes to run what is ahead of them, the GPU idles
// between the events and the sample holds host time (docs/methodology.md: int8-fa's 2K x b1
// launch read 122 us for a 76-us kernel while its host planning was slow). A hold is a one-thread
// kernel enqueued before the start event that spins until the host has enqueued everything, so
// the op's launches run back to back.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace int8attn::gpu {

class StreamHold {
 public:
  // How long a hold waits for release() before it lets the stream go: something enqueued after
  // it waited for the GPU (a synchronizing call, a full launch queue, a profiler that
  // serializes launches), so the sample is not what it claims.
  static constexpr uint64_t kTimeoutNs = 1'000'000'000;

  StreamHold() = default;
  ~StreamHold();
  StreamHold(const StreamHold&) = delete;
  StreamHold& operator=(const StreamHold&) = delete;

  // Enqueues the hold on `stream` (mapped pinned flags on first use). False where the launch
  // itself waited until the hold gave up: launches block here (CUDA_LAUNCH_BLOCKING, a
  // sanitizer or profiler that serializes them), so no hold can work.
  bool hold(cudaStream_t stream);
  // Lets the last hold finish.
  void release();
  // Once the stream has passed the last hold: whether it stopped waiting at kTimeoutNs.
  bool gave_up() const;

 private:
  // [0] the ticket the host released last, [1] the ticket a hold gave up on; host-mapped.
  volatile int32_t* flags_ = nullptr;
  int32_t* device_flags_ = nullptr;
  int32_t ticket_ = 0;
};

// Releases a hold when it goes out of scope: a failed enqueue must not leave the stream held.
class ReleaseOnExit {
 public:
  explicit ReleaseOnExit(StreamHold* hold) : hold_(hold) {}
  ~ReleaseOnExit() {
    if (hold_ != nullptr) hold_->release();
  }
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

 private:
  StreamHold* hold_;
};

}  // namespace int8attn::gpu
