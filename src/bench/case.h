// One benchmark case and the sweep-wide settings that every backend reads.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/attn_types.h"

namespace int8attn {

enum class Distribution { Normal, Uniform, OutlierChannels };

// How a case's Q/K/V are produced.
struct InputSpec {
  Distribution distribution = Distribution::Normal;
  uint64_t seed = 0;
  double scale = 1.0;               // normal: standard deviation; uniform: half-width
  double outlier_magnitude = 20.0;  // outlier-channels: offset of the outlier K channels
  int64_t outlier_channels = 4;     // outlier-channels: how many K channels carry it
  std::string npy_dir;              // non-empty: load q.npy/k.npy/v.npy from here instead
};

struct BenchCase {
  std::string id;  // stable, derived from shape and input (see make_case_id); compare keys on it
  AttnDims dims;
  InputSpec input;
};

// "b1-h32-kv8-q4096-k4096-d128-causal-normal-s0"-style id: stable across runs and versions.
std::string make_case_id(const AttnDims& dims, const InputSpec& input);

const char* to_string(Distribution d);
std::optional<Distribution> parse_distribution(const std::string& s);

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
  bool keep_samples = false;     // write every sample into the report
};

enum class ReferencePrecision { Fp16, Fp32 };

// CPU backend limits.
struct CpuOptions {
  double max_case_gflop = 2.0;  // larger cases are skipped with the reason
  int threads = 0;              // 0: all hardware threads
};

// Everything a backend needs besides the case itself.
struct RunSettings {
  std::vector<std::string> kernels;  // registry names, in report order
  std::string baseline;              // speed baseline: a kernel name; empty = the fastest FP16 kernel
  QuantConfig quant;
  Thresholds thresholds;
  MeasureOptions measure;
  ReferencePrecision reference_precision = ReferencePrecision::Fp32;
  CpuOptions cpu;
  std::string dump_dir;  // non-empty: write inputs and outputs as .npy here
};

}  // namespace int8attn
