// The report model (schema int8attn-bench/report/v1). Backends fill it, report/json_io.cpp
// writes and reads it, renderers and compare read it. docs/report-schema.md documents every
// field; docs/report.schema.json is the machine-checkable form.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/bench/case.h"

namespace int8attn {

inline constexpr const char* kReportSchema = "int8attn-bench/report/v1";

struct LatencyStats {
  double median_ms = 0, mean_ms = 0, min_ms = 0, max_ms = 0, p10_ms = 0, p90_ms = 0;
  double stddev_ms = 0;
  int64_t samples = 0;
  double rel_noise = 0;           // stddev / mean
  std::vector<double> raw_ms;     // every sample, only with measure.keep_samples
};

// Error of a kernel's output against the reference, accumulated in FP64 over every element.
struct Accuracy {
  double mse = 0;
  double max_abs_error = 0;
  int64_t max_abs_index = 0;             // flat index into [batch, heads, seq_q, head_dim]
  std::vector<int64_t> max_abs_at;       // the same as {batch, head, row, col}
  double mean_abs_error = 0;
  double rel_l2 = 0;                     // ||out - ref|| / ||ref||
  double cosine = 1;
  int64_t nonfinite = 0;                 // NaN/Inf elements in the output
};

struct MemoryUse {
  int64_t tensor_bytes = 0;       // analytic: this kernel's Q/K/V storage incl. scales
  int64_t fp16_tensor_bytes = 0;  // analytic: the same tensors in FP16
  int64_t workspace_bytes = 0;    // temporaries the kernel allocated
  int64_t peak_bytes = 0;         // measured peak of device (or host) allocations
};

enum class KernelStatus { Ok, Skipped, Error };
const char* to_string(KernelStatus s);

enum class Decision { Int8, Fp16Fallback };
const char* to_string(Decision d);

struct FallbackDecision {
  Decision decision = Decision::Int8;
  std::vector<std::string> reasons;  // empty when decision == Int8
};

struct KernelResult;
// A result that carries only a status and its reason (skipped, or failed before measuring).
KernelResult status_result(const std::string& kernel, KernelStatus status, const std::string& reason);

struct KernelResult {
  std::string kernel;             // registry name
  KernelStatus status = KernelStatus::Ok;
  std::string reason;             // why skipped / the error message
  std::optional<LatencyStats> latency;           // end to end (quantization included)
  std::optional<LatencyStats> quantize_latency;  // INT8 kernels: the quantization alone
  std::optional<double> tops;     // 4*b*h*sq*skv*d (halved when causal) / median latency
  std::optional<Accuracy> accuracy;  // absent for the reference itself
  std::optional<MemoryUse> memory;
  std::optional<FallbackDecision> fallback;  // INT8 kernels only
};

// How far the reference itself is from an FP64 CPU computation of sampled rows.
struct ReferenceCheck {
  int64_t rows_checked = 0;
  double max_abs_error = 0;
  double rel_l2 = 0;
};

struct CaseResult {
  std::string id;
  AttnDims dims;
  InputSpec input;
  QkRotation rotation = QkRotation::None;  // the case's quantization rotation
  std::vector<KernelResult> kernels;
  std::optional<ReferenceCheck> reference_check;
  double wall_seconds = 0;
};

struct ToolInfo {
  std::string name = "int8attn-bench";
  std::string version;
  std::string git_commit;
};

struct Environment {
  std::string backend;  // "cpu" or "cuda"
  std::string hostname;
  // GPU (backend cuda)
  std::string gpu_name;
  std::string compute_capability;  // "9.0"
  int64_t sm_count = 0;
  int64_t memory_bytes = 0;
  int64_t sm_clock_mhz = 0;
  int64_t memory_clock_mhz = 0;
  std::string driver_version;
  std::string cuda_runtime_version;
  std::string cublaslt_version;
  // CPU (backend cpu)
  std::string cpu_model;
  int64_t cpu_threads = 0;
};

struct ConfigInfo {
  std::string path;
  std::string sha256;
  nlohmann::json settings;  // the expanded config, as parsed (defaults filled in)
};

struct Summary {
  int64_t cases = 0;
  int64_t kernel_runs = 0;
  int64_t ok = 0, skipped = 0, errors = 0;
  double int8_share = 0;                    // share of INT8 decisions that stayed int8
  std::optional<double> geomean_speedup;    // INT8 kernels vs the FP16 kernel, by latency
  std::optional<double> worst_rel_l2;
  std::string worst_rel_l2_case;
  std::optional<double> worst_max_abs_error;
  std::string worst_max_abs_error_case;
};

struct Report {
  std::string schema = kReportSchema;
  ToolInfo tool;
  Environment environment;
  ConfigInfo config;
  std::string started_at;   // ISO 8601 UTC
  std::string finished_at;
  bool complete = true;     // false for an interrupted sweep
  std::vector<CaseResult> cases;
  Summary summary;
};

// Recomputes report.summary from report.cases.
void summarize(Report& report);

}  // namespace int8attn
