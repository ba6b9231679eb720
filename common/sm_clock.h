// The SM clock a timed run ran at, from two readings of each SM's cycle counter (clock64)
// and the GPU's nanosecond timer (%globaltimer): one just before the run, one just after
// (kernels/harness/sm_clock_probe.cuh). nvbench reads the clock the same way to spot
// throttled samples. Plain C++: the CPU tests check the arithmetic.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace int8attn {

// One SM's reading; ns == 0: no block of the probe ran on that SM.
struct SmStamp {
  uint64_t ns = 0;
  uint64_t cycles = 0;
};

// The median (the mean of the middle pair for an even count); 0 for none.
inline double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// The median over SMs of (cycles elapsed) / (ns elapsed), in MHz, counting only SMs read at
// both ends with both counters moving forward; 0 when no SM qualifies. The median keeps one SM
// whose readings straddle a timer step, or whose block ran late, from moving the figure.
inline double median_sm_clock_mhz(const SmStamp* before, const SmStamp* after, int slots) {
  std::vector<double> mhz;
  for (int i = 0; i < slots; ++i) {
    const SmStamp& a = before[i];
    const SmStamp& b = after[i];
    if (a.ns == 0 || b.ns <= a.ns || b.cycles <= a.cycles) continue;
    mhz.push_back(1e3 * static_cast<double>(b.cycles - a.cycles) / static_cast<double>(b.ns - a.ns));
  }
  return median_of(std::move(mhz));
}

}  // namespace int8attn
