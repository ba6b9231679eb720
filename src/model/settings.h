// The sweep-wide settings every backend reads besides the case itself: kernels, quantization,
// thresholds, timing, CPU limits.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/attn_types.h"
#include "src/model/case.h"

namespace int8attn {

// Fallback thresholds: an INT8 kernel whose error crosses any of them is reported as
// "fp16-fallback" with the measured value.
struct Thresholds {
  double max_mse = 1e-4;
  double max_abs_error = 0.05;
  std::optional<double> max_rel_l2;
  std::optional<double> min_cosine;
};

// Timing settings for the GPU backend (nvbench-style stopping rule).
struct MeasureOptions {
  int warmup_runs = 3;
  int min_samples = 10;
  int max_samples = 1000;
  double max_seconds = 5.0;      // per kernel per case
  double min_seconds = 0.2;      // GPU time to collect before the noise rule may stop
  double target_noise = 0.005;   // relative stddev at which sampling stops
  bool flush_l2 = true;
  bool hold_launches = true;     // the stream held until the op is enqueued (host time out)
  bool keep_samples = false;     // write every sample into the report
};

enum class ReferencePrecision { Fp16, Fp32 };

// CPU backend limits.
struct CpuOptions {
  double max_case_gflop = 2.0;  // larger cases are skipped with the reason
  int64_t max_case_bytes = int64_t{2} << 30;  // host memory a case may need; larger ones are skipped
  int threads = 0;              // 0: all hardware threads
};

// Everything a backend needs besides the case itself.
struct RunSettings {
  std::vector<std::string> kernels;  // registry names, in report order
  std::string baseline;              // speed baseline: a kernel name; empty = the fastest FP16 kernel
  QuantConfig quant;
  // quantization.kv_block / v_block "auto" (the default): each kernel runs the pair that is
  // fastest where it runs (kernel_quant, src/bench/registry.h); quant holds their defaults
  // (64 / 0) for everything else. false: quant's pair as configured, for every kernel.
  bool auto_kv_blocks = true;
  // quantization.k_granularity "auto" (the default): int8-fa takes grouped K where its GPU kernel
  // for it runs and is faster (kernel_quant), K's scales as Q's everywhere else; quant holds
  // "as-q". false: quant's k_granularity as configured, for every kernel.
  bool auto_k_granularity = true;
  // The rotation the fallback policy tries on an INT8 kernel that ran without rotation and
  // missed only accuracy thresholds, before choosing FP16; None: no second try.
  QkRotation fallback_rotation = QkRotation::Hadamard;
  Thresholds thresholds;
  MeasureOptions measure;
  ReferencePrecision reference_precision = ReferencePrecision::Fp32;
  CpuOptions cpu;
  std::string dump_dir;  // non-empty: write inputs and outputs as .npy here
};

// The quantization a case runs with: the sweep's, with the case's own rotation (a config may
// list several rotations; each case carries one).
inline QuantConfig case_quant(const RunSettings& settings, const BenchCase& c) {
  QuantConfig q = settings.quant;
  q.rotation = c.rotation;
  return q;
}

}  // namespace int8attn
