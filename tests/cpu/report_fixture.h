// Reports with every field filled, and a field-by-field comparison, shared by the report
// JSON and checkpoint tests.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "src/report/report.h"

namespace int8attn::testing {

// Values that need all 17 significant digits to survive a text round trip.
inline LatencyStats make_latency(double base, bool with_samples) {
  LatencyStats l;
  l.median_ms = base + 0.1 + 0.2;
  l.mean_ms = base / 3.0;
  l.min_ms = base * 0.987654321012345;
  l.max_ms = base * 1.23456789012345678;
  l.p10_ms = base * 0.9;
  l.p90_ms = base * 1.1;
  l.stddev_ms = 1e-300 * base;
  l.samples = 123456789012;
  l.rel_noise = l.stddev_ms / l.mean_ms;
  l.stop_reason = "noise 0.3% < 0.5%";
  if (with_samples) l.raw_ms = {base, base / 7.0, base * 3.14159265358979};
  return l;
}

inline KernelResult make_int8_result(const std::string& kernel, double base) {
  KernelResult k;
  k.kernel = kernel;
  k.status = KernelStatus::Ok;
  k.reason = "accuracy threshold crossed: mse 2e-4 > 1e-4";
  k.latency = make_latency(base, true);
  k.quantize_latency = make_latency(base / 10, false);
  k.tops = 612.345678901234567;
  Accuracy a;
  a.mse = 1.0 / 7e5;
  a.max_abs_error = 0.0123456789012345678;
  a.max_abs_index = (int64_t{1} << 40) + 17;
  a.max_abs_at = {0, 31, 4095, 127};
  a.mean_abs_error = 2.0 / 3e3;
  a.rel_l2 = 0.0141421356237309;
  a.cosine = 0.99990000123;
  a.nonfinite = 3;
  k.accuracy = a;
  k.memory = MemoryUse{int64_t{5} << 33, int64_t{9} << 33, 4096, (int64_t{5} << 33) + 4096};
  k.fallback = FallbackDecision{Decision::Fp16Fallback, {"accuracy: mse 2e-4 > 1e-4", "shape: head_dim 96"}};
  return k;
}

// An INT8 result that kept INT8 only with the rotation: the fallback's second try, complete.
inline KernelResult make_rotated_result(const std::string& kernel, double base) {
  KernelResult k = make_int8_result(kernel, base);
  RotatedAttempt tried;
  tried.accuracy = k.accuracy;
  tried.accuracy->rel_l2 = 0.0123456789012345678;
  tried.latency = make_latency(base * 1.01, false);
  tried.speedup = 1.0 / 3.0;
  k.fallback = FallbackDecision{
      Decision::Int8Hadamard,
      {"accuracy: rel_l2 0.0141 > max_rel_l2 0.0125",
       "with the hadamard rotation: within every threshold (max_abs_error 0.0123, rel_l2 0.0123)"},
      tried};
  return k;
}

inline CaseResult make_case(const std::string& id, double base) {
  CaseResult c;
  c.id = id;
  c.dims = AttnDims{2, 32, 8, 4096, 8192, 128, true, 0.0883883476f};
  c.input.distribution = Distribution::OutlierChannels;
  c.input.seed = 18446744073709551557ull;  // above INT64_MAX: must stay unsigned
  c.input.scale = 0.7;
  c.input.outlier_magnitude = 12.5;
  c.input.outlier_channels = 6;
  c.input.npy_dir = "/data/llama3/layer7";
  c.kernels.push_back(make_int8_result("int8-fa", base));
  c.kernels.push_back(make_rotated_result("int8-qk", base));
  KernelResult err;
  err.kernel = "fp16-fa";
  err.status = KernelStatus::Error;
  err.reason = "CUDA error: out of memory";
  c.kernels.push_back(err);
  c.reference_check = ReferenceCheck{64, 3.0517578125e-05, 1.0 / 3e4};
  c.wall_seconds = 12.000000000000002;
  return c;
}

inline Report make_full_report() {
  Report r;
  r.tool = ToolInfo{"int8attn-bench", "0.1.0", "0123456789ab"};
  Environment& e = r.environment;
  e.backend = "cuda";
  e.hostname = "gpu-node-7";
  e.gpu_name = "NVIDIA H100 80GB HBM3";
  e.compute_capability = "9.0";
  e.sm_count = 132;
  e.memory_bytes = int64_t{85} << 30;
  e.sm_clock_mhz = 1980;
  e.memory_clock_mhz = 2619;
  e.driver_version = "560.35.03";
  e.cuda_runtime_version = "13.0";
  e.cublaslt_version = "130000";
  e.cpu_model = "Intel Xeon Platinum 8480+";
  e.cpu_threads = 224;
  r.config.path = "configs/llama3-8b.json";
  r.config.sha256 = std::string(64, 'a');
  r.config.settings = {{"kernels", {"int8-fa", "fp16-fa"}}, {"measure", {{"warmup_runs", 3}}}};
  r.started_at = "2026-11-25T00:00:00Z";
  r.finished_at = "2026-11-25T00:10:00Z";
  r.complete = false;
  r.cases = {make_case("case-a", 1.5), make_case("case-b", 0.25)};
  // A NaN metric (the kernel produced NaN) must survive too.
  r.cases[1].kernels[0].accuracy->mse = std::numeric_limits<double>::quiet_NaN();
  r.cases[1].kernels[0].accuracy->max_abs_error = std::numeric_limits<double>::infinity();
  Summary& s = r.summary;
  s.cases = 2;
  s.kernel_runs = 4;
  s.ok = 2;
  s.skipped = 0;
  s.errors = 2;
  s.int8_share = 1.0 / 3.0;
  s.geomean_speedup = 1.7320508075688772;
  s.worst_rel_l2 = 0.0141421356237309;
  s.worst_rel_l2_case = "case-a";
  s.worst_max_abs_error = 0.5;
  s.worst_max_abs_error_case = "case-b";
  return r;
}

// Exact equality, except that NaN equals NaN.
inline void expect_same(double a, double b, const char* what) {
  if (std::isnan(a) || std::isnan(b)) {
    EXPECT_TRUE(std::isnan(a) && std::isnan(b)) << what << ": " << a << " vs " << b;
  } else {
    EXPECT_EQ(a, b) << what;
  }
}

inline void expect_same(const LatencyStats& a, const LatencyStats& b) {
  expect_same(a.median_ms, b.median_ms, "median_ms");
  expect_same(a.mean_ms, b.mean_ms, "mean_ms");
  expect_same(a.min_ms, b.min_ms, "min_ms");
  expect_same(a.max_ms, b.max_ms, "max_ms");
  expect_same(a.p10_ms, b.p10_ms, "p10_ms");
  expect_same(a.p90_ms, b.p90_ms, "p90_ms");
  expect_same(a.stddev_ms, b.stddev_ms, "stddev_ms");
  EXPECT_EQ(a.samples, b.samples);
  expect_same(a.rel_noise, b.rel_noise, "rel_noise");
  EXPECT_EQ(a.stop_reason, b.stop_reason);
  ASSERT_EQ(a.raw_ms.size(), b.raw_ms.size());
  for (size_t i = 0; i < a.raw_ms.size(); ++i) expect_same(a.raw_ms[i], b.raw_ms[i], "raw_ms");
  ASSERT_EQ(a.sm_clock.has_value(), b.sm_clock.has_value());
  if (a.sm_clock) {
    expect_same(a.sm_clock->median_mhz, b.sm_clock->median_mhz, "sm_clock.median_mhz");
    expect_same(a.sm_clock->min_mhz, b.sm_clock->min_mhz, "sm_clock.min_mhz");
    EXPECT_EQ(a.sm_clock->samples, b.sm_clock->samples);
  }
}

inline void expect_same(const Accuracy& a, const Accuracy& b) {
  expect_same(a.mse, b.mse, "mse");
  expect_same(a.max_abs_error, b.max_abs_error, "max_abs_error");
  EXPECT_EQ(a.max_abs_index, b.max_abs_index);
  EXPECT_EQ(a.max_abs_at, b.max_abs_at);
  expect_same(a.mean_abs_error, b.mean_abs_error, "mean_abs_error");
  expect_same(a.rel_l2, b.rel_l2, "rel_l2");
  expect_same(a.cosine, b.cosine, "cosine");
  EXPECT_EQ(a.nonfinite, b.nonfinite);
}

template <class T>
void expect_same_optional(const std::optional<T>& a, const std::optional<T>& b, const char* what) {
  ASSERT_EQ(a.has_value(), b.has_value()) << what;
  if (a) expect_same(*a, *b);
}

inline void expect_same(const KernelResult& a, const KernelResult& b) {
  EXPECT_EQ(a.kernel, b.kernel);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.reason, b.reason);
  expect_same_optional(a.latency, b.latency, "latency");
  expect_same_optional(a.quantize_latency, b.quantize_latency, "quantize_latency");
  ASSERT_EQ(a.tops.has_value(), b.tops.has_value());
  if (a.tops) expect_same(*a.tops, *b.tops, "tops");
  expect_same_optional(a.accuracy, b.accuracy, "accuracy");
  ASSERT_EQ(a.memory.has_value(), b.memory.has_value());
  if (a.memory) {
    EXPECT_EQ(a.memory->tensor_bytes, b.memory->tensor_bytes);
    EXPECT_EQ(a.memory->fp16_tensor_bytes, b.memory->fp16_tensor_bytes);
    EXPECT_EQ(a.memory->workspace_bytes, b.memory->workspace_bytes);
    EXPECT_EQ(a.memory->peak_bytes, b.memory->peak_bytes);
  }
  ASSERT_EQ(a.fallback.has_value(), b.fallback.has_value());
  if (a.fallback) {
    EXPECT_EQ(a.fallback->decision, b.fallback->decision);
    EXPECT_EQ(a.fallback->reasons, b.fallback->reasons);
    ASSERT_EQ(a.fallback->rotated.has_value(), b.fallback->rotated.has_value());
    if (a.fallback->rotated) {
      const RotatedAttempt &x = *a.fallback->rotated, &y = *b.fallback->rotated;
      EXPECT_EQ(x.rotation, y.rotation);
      EXPECT_EQ(x.status, y.status);
      EXPECT_EQ(x.reason, y.reason);
      expect_same_optional(x.accuracy, y.accuracy, "rotated.accuracy");
      expect_same_optional(x.latency, y.latency, "rotated.latency");
      ASSERT_EQ(x.speedup.has_value(), y.speedup.has_value());
      if (x.speedup) expect_same(*x.speedup, *y.speedup, "rotated.speedup");
      EXPECT_EQ(x.reasons, y.reasons);
    }
  }
}

inline void expect_same(const CaseResult& a, const CaseResult& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.dims.batch, b.dims.batch);
  EXPECT_EQ(a.dims.heads, b.dims.heads);
  EXPECT_EQ(a.dims.kv_heads, b.dims.kv_heads);
  EXPECT_EQ(a.dims.seq_q, b.dims.seq_q);
  EXPECT_EQ(a.dims.seq_kv, b.dims.seq_kv);
  EXPECT_EQ(a.dims.head_dim, b.dims.head_dim);
  EXPECT_EQ(a.dims.causal, b.dims.causal);
  EXPECT_EQ(a.dims.sm_scale, b.dims.sm_scale);
  EXPECT_EQ(a.input.distribution, b.input.distribution);
  EXPECT_EQ(a.input.seed, b.input.seed);
  expect_same(a.input.scale, b.input.scale, "input.scale");
  expect_same(a.input.outlier_magnitude, b.input.outlier_magnitude, "input.magnitude");
  EXPECT_EQ(a.input.outlier_channels, b.input.outlier_channels);
  EXPECT_EQ(a.input.npy_dir, b.input.npy_dir);
  ASSERT_EQ(a.kernels.size(), b.kernels.size());
  for (size_t i = 0; i < a.kernels.size(); ++i) expect_same(a.kernels[i], b.kernels[i]);
  ASSERT_EQ(a.reference_check.has_value(), b.reference_check.has_value());
  if (a.reference_check) {
    EXPECT_EQ(a.reference_check->rows_checked, b.reference_check->rows_checked);
    expect_same(a.reference_check->max_abs_error, b.reference_check->max_abs_error, "ref max_abs");
    expect_same(a.reference_check->rel_l2, b.reference_check->rel_l2, "ref rel_l2");
  }
  expect_same(a.wall_seconds, b.wall_seconds, "wall_seconds");
}

}  // namespace int8attn::testing
