// The GPU harness as src/ sees it: plain C++, no CUDA types or headers. Behind it: the
// session, device memory, cuBLASLt and CUDA events in kernels/harness/, the fused kernels it
// calls (kernels/attn_kernels.h) in kernels/*.cu. Errors never escape as exceptions: every
// call returns a GpuStatus.
//
// One GpuSession owns one device, its stream, a cuBLASLt handle and an accounting
// allocator through which every device byte of a case is allocated, so the peak memory of
// each kernel is exact. A case is: set inputs -> prepare(op) -> run/time/compare -> release.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/attn_types.h"
#include "common/error_metrics.h"
#include "common/input_families.h"
#include "common/kernel_id.h"

namespace int8attn::gpu {

// What the runtime says about one device.
struct DeviceInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int64_t total_memory_bytes = 0;
  int64_t l2_cache_bytes = 0;
  int64_t sm_clock_mhz = 0;      // peak SM clock
  int64_t memory_clock_mhz = 0;  // peak memory clock
  std::string driver_version;    // CUDA driver API version, "13.0"
  std::string runtime_version;   // CUDA runtime the tool was built against, "13.0"
  std::string cublaslt_version;  // "13.0.0"
  std::string cudnn_version;     // "9.19.0"; empty when the cuDNN kernels are unavailable
  bool hopper_kernels = false;   // this build's sm_90a kernels run here (compute capability 9.0 and the image built)
};

// Whether the cuDNN SDPA ops (Fp16Cudnn, Fp8Cudnn) can run in this build: cuDNN's version,
// or why not ("built without cuDNN: ..."). Needs no GPU.
struct CudnnStatus {
  bool available = false;
  std::string version;
  std::string why_not;
};
CudnnStatus cudnn_status();

// "" when the environment variable INT8ATTN_FUSED_TUNING is unset or valid, else what is wrong
// with it (kernels/fused_tuning.h): the CLI refuses it before running anything (exit 2), since
// the kernels would end the program at their first launch.
std::string fused_tuning_environment_error();

// 0 devices with `why` set (no driver, no device, or the error the runtime gave).
int device_count(std::string& why);
bool device_info(int index, DeviceInfo& out, std::string& why);

// Outcome of a GPU call. not_supported: a kernel declined the problem (cudaErrorNotSupported)
// — a skip, not a failure. context_lost: a sticky error left the CUDA context unusable;
// nothing more can run on this device in this process.
struct GpuStatus {
  bool ok = true;
  bool not_supported = false;
  bool context_lost = false;
  std::string message;
  bool out_of_memory = false;  // a device allocation failed (cudaErrorMemoryAllocation)
  static GpuStatus success() { return {}; }
};

// The session's ops are the kernels (KernelId, common/kernel_id.h); each produces an attention
// output. Fp16Cudnn/Fp8Cudnn are cuDNN's SDPA forward; their graph is built and cached in
// prepare(), so run/time_once never include plan building. Fp8Cudnn end to end: Q/K/V to
// e4m3 (per-tensor scales), cuDNN FP8 SDPA, e4m3 O to FP16.
//
// Which part of a prepared op run() and time_once() run. Whole: the op end to end.
// KernelOnly: for an op with a quantization step (has_quantize_step), the attention alone on
// the quantized tensors its last run left in its buffers; any other op whole. QuantizeOnly:
// the quantization step alone, into the op's buffers; an error for an op without one.
// KernelOnly and QuantizeOnly timed apart are `profile`'s kernel-only and quantize times.
enum class RunPart { Whole, KernelOnly, QuantizeOnly };

// Generated inputs: the families and parameters of common/input_families.h.
using InputDistribution = InputFamily;
using InputGenSpec = ::int8attn::InputGenSpec;

struct ReferenceOptions {
  bool fp32 = false;                      // all-FP32 chain; else FP16 GEMMs and FP16 P
  int64_t workspace_bytes = int64_t{1} << 30;  // S/P chunk budget (cuBLASLt's own is extra)
  int64_t max_chunk_rows = 0;             // > 0: cap rows per chunk (tests of chunk edges)
};

struct OpSettings {
  ReferenceOptions reference;
  QuantConfig quant;
};

// Error of an op's output against the reference output, FP64 sums over every element, with
// the CPU backend's conventions (common/error_metrics.h): a non-finite reference gives NaN
// metrics, a non-finite output +inf ones, an all-zero reference NaN rel_l2 and cosine;
// `nonfinite` counts NaN/Inf in the output.
struct ErrorMetrics : ErrorValues {
  int64_t elements = 0;
};

// Device bytes of one op, measured by the allocator during prepare + the first run.
struct OpMemory {
  int64_t peak_bytes = 0;       // inputs + the op's output and temporaries, at their peak
  int64_t workspace_bytes = 0;  // the op's temporaries (everything but inputs and output)
};

// Which tensor to download.
enum class GpuTensor { Q, K, V, Output };

// What a timed run keeps out of its events. flush_l2: the L2 is flushed first, so the op reads
// its inputs from memory. hold_launches: the stream is held by a spinning kernel until the op
// is enqueued (kernels/harness/stream_hold.cuh), so the host's time to plan and enqueue the
// op's launches is not in the sample; the reference's many launches are never held (they could
// fill the launch queue). Where launches block (CUDA_LAUNCH_BLOCKING, a sanitizer or profiler
// that serializes them) the first hold waits out its second and the session holds no more; a
// hold not released within a second otherwise fails the run.
// read_sm_clock: each SM's cycle counter is read just before the start event and just after
// the stop event (kernels/harness/sm_clock_probe.cuh), outside the timed span; `profile --once`
// turns it off so that a profiler records the op's launches alone.
struct TimingIsolation {
  bool flush_l2 = true;
  bool hold_launches = true;
  bool read_sm_clock = true;
};

// One timed run: its GPU time and the SM clock it ran at (MHz; 0 when not read).
struct TimedRun {
  double ms = 0;
  double sm_clock_mhz = 0;
};

class GpuSession {
 public:
  // nullptr with `why` when the device cannot be opened.
  static std::unique_ptr<GpuSession> open(int device_index, std::string& why);
  ~GpuSession();
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  const DeviceInfo& device() const;
  bool context_lost() const;
  GpuStatus memory_info(int64_t& free_bytes, int64_t& total_bytes);

  // Starts a case: frees every buffer of the previous one, allocates FP16 Q/K/V.
  GpuStatus set_inputs(const AttnDims& dims, const InputGenSpec& spec);
  // Same, from host values (FP16-representable floats, BHSD; K/V with kv_heads heads).
  GpuStatus set_inputs(const AttnDims& dims, const float* q, const float* k, const float* v);
  void set_op_settings(const OpSettings& settings);

  // Allocates the op's output and temporaries and runs it once (its output is then valid).
  // The reference must be prepared before compare() is called for any op.
  GpuStatus prepare(KernelId op);
  // One more run of a part of a prepared op, untimed (warm-up).
  GpuStatus run(KernelId op, RunPart part = RunPart::Whole);
  // One timed run (CUDA events), isolated as asked (TimingIsolation).
  GpuStatus time_once(KernelId op, const TimingIsolation& isolation, TimedRun& out, RunPart part = RunPart::Whole);
  // cudaProfilerStart (on) / cudaProfilerStop (off): the window `ncu --profile-from-start off`
  // and `nsys profile --capture-range=cudaProfilerApi` record (profile --once).
  GpuStatus set_profiler_capture(bool on);
  OpMemory memory(KernelId op) const;
  GpuStatus compare(KernelId op, ErrorMetrics& out);
  // Elements [offset, offset+count) of a tensor as floats (Output: the op's output).
  GpuStatus download(GpuTensor tensor, KernelId op, int64_t offset, int64_t count, float* out);
  void release(KernelId op);
  // Frees the reference's chunk workspace but keeps its output (for the metrics), so the
  // other kernels run without it; the reference cannot run again until prepared again.
  // Other ops: no effect.
  void release_workspace(KernelId op);

  // Bytes of every device allocation live now (the allocator's count).
  int64_t allocated_bytes() const;

 private:
  struct Impl;
  explicit GpuSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Test-only fault injection (tests/gpu/test_faults.cpp): makes one op fail the way a real
// fault would, in the cases with a given key length, so tests can check that a sweep records
// the failure and goes on. Process-wide; inert until a test sets it (the tool never does).
enum class InjectedFault {
  None,
  KernelError,  // every launch of the op fails with a (non-sticky) launch error
  OutOfMemory,  // the op's allocations after its output buffer fail as cudaMalloc does
  SlowEnqueue,  // the host sleeps kSlowEnqueueMs before each enqueue of the op (slow planning)
};
inline constexpr int kSlowEnqueueMs = 20;
struct FaultInjection {
  InjectedFault fault = InjectedFault::None;
  KernelId op = KernelId::Reference;
  int64_t seq_kv = 0;  // the cases it applies to
};
void inject_fault_for_testing(const FaultInjection& fault);

// Device bytes a case needs at its peak (inputs, the reference output kept for the metrics,
// the largest op's output and temporaries, the L2 flush buffer), for the fits-in-memory check.
int64_t estimate_case_bytes(const AttnDims& dims, const OpSettings& settings,
                            const std::vector<KernelId>& ops, int64_t l2_cache_bytes);

// Bytes of the analytic tensor storage: INT8 Q/K/V (+ scales) for the INT8 ops, e4m3 Q/K/V
// (+ scales) for Fp8Cudnn, FP16 otherwise.
int64_t op_tensor_bytes(const AttnDims& dims, const QuantConfig& quant, KernelId op);

// The reference's S/P chunk plan (exposed for tests and the methodology notes).
struct ReferencePlan {
  int64_t rows_per_chunk = 0;    // query rows of one (batch, kv head) group per GEMM
  int64_t groups_per_chunk = 0;  // (batch, kv head) groups batched in one GEMM
  int64_t workspace_bytes = 0;   // S/P (+ FP32 copies) buffers
};
ReferencePlan plan_reference(const AttnDims& dims, const ReferenceOptions& options);

}  // namespace int8attn::gpu
