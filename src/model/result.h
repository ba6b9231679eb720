// A case's and a kernel's results: what a backend measures and the runner decides (latency,
// accuracy, memory, fallback and FP8 verdicts, the baseline), and the environment a case ran
// in. The report (src/report/report.h) is made of them; report/json_io.cpp writes and reads
// them; docs/report-schema.md documents every field.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/attn_types.h"
#include "src/model/case.h"
#include "src/model/kernel.h"

namespace int8attn {

// The SM clock the samples ran at, read on the GPU around each one (common/sm_clock.h).
struct SmClockStats {
  double median_mhz = 0, min_mhz = 0;
  int64_t samples = 0;  // samples with a reading
};

struct LatencyStats {
  double median_ms = 0, mean_ms = 0, min_ms = 0, max_ms = 0, p10_ms = 0, p90_ms = 0;
  double stddev_ms = 0;
  int64_t samples = 0;
  double rel_noise = 0;           // stddev / mean
  std::string stop_reason;        // why sampling stopped ("noise 0.3% < 0.5%", "max_seconds 5", ...)
  std::vector<double> raw_ms;     // every sample, only with measure.keep_samples
  std::optional<SmClockStats> sm_clock;  // backends that read the clock (GPU)
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

// Int8Hadamard: the kernel missed an accuracy threshold as configured, but passes every check
// with Q and K rotated (RunSettings::fallback_rotation): deploy it with the rotation.
enum class Decision { Int8, Int8Hadamard, Fp16Fallback };
const char* to_string(Decision d);
// Int8 and Int8Hadamard: INT8 stays (with or without the rotation).
bool keeps_int8(Decision d);

// The fallback's second try: the same INT8 kernel on the same inputs with Q and K rotated,
// run when the kernel without rotation missed accuracy thresholds and nothing else.
struct RotatedAttempt {
  QkRotation rotation = QkRotation::Hadamard;
  KernelStatus status = KernelStatus::Ok;
  std::string reason;                    // why skipped / the error
  std::optional<Accuracy> accuracy;
  std::optional<LatencyStats> latency;   // backends that time kernels: end to end, rotation included
  std::optional<double> speedup;         // against the case's baseline, like KernelResult::speedup
  std::vector<std::string> reasons;      // what the rotated run still misses; empty when it passed
};

// How the reasons that come from a rotated try start: "with the hadamard rotation: ".
std::string rotated_reason_prefix(QkRotation rotation);

// How a speed reason of a decision starts ("speed: int8-qk 0.28 ms is slower than ..."):
// compare tells a decision that moved with the speed line's noise from one that moved for
// other reasons by it.
inline constexpr const char* kSpeedReasonPrefix = "speed: ";

struct FallbackDecision {
  Decision decision = Decision::Int8;
  // Int8: empty. Int8Hadamard: why the kernel without rotation was not enough, then what the
  // rotation reached. Fp16Fallback: every reason, those of a rotated try included.
  std::vector<std::string> reasons;
  std::optional<RotatedAttempt> rotated;  // present when the rotated variant was tried
};

// FP8 kernels' verdict: fp8 when the kernel ran, is within every accuracy threshold and is
// faster than the case's baseline; fp16 otherwise, with every reason.
enum class Fp8Decision { Fp8, Fp16 };
const char* to_string(Fp8Decision d);

struct Fp8Verdict {
  Fp8Decision decision = Fp8Decision::Fp8;
  std::vector<std::string> reasons;  // empty when decision == Fp8
};

// What a case's speedups and speed decisions are measured against: the fastest FP16 kernel
// that produced a latency in the case (rule "fastest-fp16"), or the kernel the config names
// (rule "configured"). `kernel`/`median_ms` are absent when no such latency exists; `note`
// then says why (nothing measured, or the configured kernel was skipped / failed).
struct Baseline {
  std::string rule;
  std::string kernel;
  std::optional<double> median_ms;
  std::string note;
};

// The P-code and V-scale blocks an INT8 kernel ran with (QuantConfig::kv_block / v_block),
// which "auto" chooses per kernel and device, and whether K was scaled per thread group
// (QuantConfig::k_granularity per-thread).
struct KernelQuantization {
  int64_t kv_block = 0;
  int64_t v_block = 0;
  bool k_per_thread = false;
  bool k_grouped = false;  // K per group of 8 keys led by each block's largest (common/k_groups.h)
  bool operator==(const KernelQuantization&) const = default;
};
// "kv_block 128, v_block 128" (", K per thread"), as the views, profile and compare print it.
std::string to_string(const KernelQuantization& q);

struct KernelResult;
// A result that carries only a status and its reason (skipped, or failed before measuring).
KernelResult status_result(const std::string& kernel, KernelStatus status, const std::string& reason);

struct KernelResult {
  std::string kernel;             // the kernel's name (src/model/kernel.h)
  KernelStatus status = KernelStatus::Ok;
  std::string reason;             // why skipped / the error message
  std::optional<LatencyStats> latency;           // end to end (quantization included)
  std::optional<LatencyStats> quantize_latency;  // INT8 kernels: the quantization alone
  std::optional<double> tops;     // 4*b*h*sq*skv*d (halved when causal) / median latency
  std::optional<Accuracy> accuracy;  // absent for the reference itself
  std::optional<MemoryUse> memory;
  std::optional<FallbackDecision> fallback;  // INT8 kernels only
  std::optional<double> speedup;  // the case baseline's median latency / this kernel's
  std::optional<Fp8Verdict> fp8_verdict;     // FP8 kernels only
  std::optional<KernelQuantization> quantization;  // INT8 kernels that were not skipped

  // The kernel's family, the one rule every reader of results uses: the kernel table's
  // (src/model/kernel.h); a name this build does not know (another version's report) is
  // INT8 when the result carries a fallback decision (only INT8 kernels get one), else Unknown.
  KernelFamily family() const;
};

struct Environment {
  std::string backend;  // "cpu" or "cuda"
  std::string hostname;
  // GPU (backend cuda)
  std::string gpu_name;
  std::string compute_capability;  // "9.0"
  int64_t sm_count = 0;
  int64_t memory_bytes = 0;
  int64_t sm_clock_mhz = 0;      // rated peak (the driver's figure); each kernel's measured clock: LatencyStats::sm_clock
  int64_t memory_clock_mhz = 0;
  std::string driver_version;
  std::string cuda_runtime_version;
  std::string cublaslt_version;
  std::string cudnn_version;  // empty when the build has no cuDNN kernels
  // CPU (backend cpu)
  std::string cpu_model;
  int64_t cpu_threads = 0;
  // The device's index on its host as the sweep numbered it (--devices; CPU workers: the
  // worker's number); absent for a single-device sweep.
  std::optional<int64_t> device;

  bool operator==(const Environment&) const = default;
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
  std::optional<Baseline> baseline;  // GPU backend (latencies) only
  double wall_seconds = 0;
  // Where the case ran, when the report combines several devices or machines (a sweep on
  // several GPUs, a merge); absent: the report's `environment`.
  std::optional<Environment> environment;
};

// A kernel's speedup against its case's baseline: the stored `speedup`; for reports written
// before baselines were recorded (no case baseline), the fastest FP16 kernel's median over
// this kernel's. nullopt for the reference and for kernels without a latency.
std::optional<double> speedup_of(const CaseResult& c, const KernelResult& k);

// The fastest FP16-family kernel with a latency in the case, or nullptr.
const KernelResult* fastest_fp16(const CaseResult& c);

}  // namespace int8attn
