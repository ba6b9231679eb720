// Internal to the GPU harness: the SM clock of a timed run (common/sm_clock.h). Before the
// start event and after the stop event a probe kernel of one block an SM stamps each SM's
// cycle counter and the global nanosecond timer into host-mapped memory; the cycles per
// nanosecond between the two stamps are the clock the run saw. The probes sit outside the
// events, so the latency does not contain them. Under an H200's 700 W cap the FP16 attentions
// ran at 1.33-1.76 GHz where int8-fa ran at 1.78-1.85 (docs/perf-log.md s63), so a report that
// says the clock says why two kernels' timings may not compare.
#pragma once
#include <cuda_runtime.h>

#include "common/sm_clock.h"

namespace int8attn::gpu {

class SmClockProbe {
 public:
  // %smid values above this are not read (no GPU so far has more than 160 SMs).
  static constexpr int kSlots = 1024;

  SmClockProbe() = default;
  ~SmClockProbe();
  SmClockProbe(const SmClockProbe&) = delete;
  SmClockProbe& operator=(const SmClockProbe&) = delete;

  // On the first call: mapped pinned memory for the readings and one probe run, waited for.
  // Call it before the stream is held (stream_hold.cuh): the allocation and the probe's first
  // launch (which loads its module: CUDA loads kernels lazily) wait for the GPU, which would
  // wait for the hold.
  void prepare(cudaStream_t stream);
  // Clears both readings and enqueues the first probe (after prepare()).
  void before(cudaStream_t stream, int sm_count);
  // Enqueues the second probe.
  void after(cudaStream_t stream, int sm_count);
  // Once the stream has passed the second probe: the clock in MHz, 0 when unread.
  double mhz() const;

 private:
  SmStamp* host_ = nullptr;    // [2 * kSlots]: before, then after
  SmStamp* device_ = nullptr;  // the same memory, as the device sees it
};

}  // namespace int8attn::gpu
