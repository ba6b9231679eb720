// The GPU session behind kernels/api.h: device, stream, events, the accounting allocator,
// the case's inputs and each op's buffers. Every CUDA/cuBLASLt failure is caught here and
// returned as a GpuStatus; after one, the context is probed so a sticky error is reported
// as context_lost instead of failing every later call with a confusing message.
#include <cuda_fp16.h>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "common/half.h"
#include "kernels/api.h"
#include "kernels/attn_kernels.h"
#include "kernels/harness/cuda_check.cuh"
#include "kernels/harness/cudnn_sdpa.h"
#include "kernels/harness/device_allocator.cuh"
#include "kernels/harness/harness_ops.cuh"
#include "kernels/harness/reference.cuh"
#include "kernels/harness/sm_clock_probe.cuh"
#include "kernels/harness/stream_hold.cuh"

namespace int8attn::gpu {

std::string fused_tuning_environment_error() {
  kernels::FusedTuning tuning;
  return kernels::fused_tuning_from_environment(tuning);
}

CudnnStatus cudnn_status() {
  const cudnn::Availability& a = cudnn::availability();
  return {a.available, a.version, a.why_not};
}

namespace {

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string runtime_error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
}

bool is_int8(KernelId op) { return op == KernelId::Int8Full || op == KernelId::Int8QK; }
bool is_cudnn(KernelId op) { return op == KernelId::Fp16Cudnn || op == KernelId::Fp8Cudnn; }

cudnn::SdpaPrecision cudnn_precision(KernelId op) {
  return op == KernelId::Fp8Cudnn ? cudnn::SdpaPrecision::Fp8E4M3 : cudnn::SdpaPrecision::Fp16;
}

// e4m3 Q, K, V, O and the scales, carved from one allocation (kernels::carve_block).
struct Fp8Layout {
  std::array<size_t, 5> bytes;  // q, k, v, o, scales
  int64_t total() const { return static_cast<int64_t>(kernels::carved_block_bytes(bytes)); }
};
Fp8Layout fp8_layout(const AttnDims& d) {
  const auto q = static_cast<size_t>(d.q_elements()), kv = static_cast<size_t>(d.kv_elements());
  return {{q, kv, kv, q, size_t{cudnn::kFp8ScaleCount} * sizeof(float)}};
}

int64_t kv_bytes_fp16(const AttnDims& d) { return 2 * d.kv_elements() * 2; }

FaultInjection& injected_fault() {
  static FaultInjection fault;
  return fault;
}

// Refuses the allocator's allocations for its lifetime when `refuse` (InjectedFault::OutOfMemory).
class RefusedAllocations {
 public:
  RefusedAllocations(DeviceAllocator& alloc, bool refuse) : alloc_(alloc) { alloc_.refuse_allocations(refuse); }
  ~RefusedAllocations() { alloc_.refuse_allocations(false); }
  RefusedAllocations(const RefusedAllocations&) = delete;
  RefusedAllocations& operator=(const RefusedAllocations&) = delete;

 private:
  DeviceAllocator& alloc_;
};

}  // namespace

void inject_fault_for_testing(const FaultInjection& fault) { injected_fault() = fault; }

int device_count(std::string& why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    why = "no usable CUDA device: " + runtime_error_text(e);
    return 0;
  }
  if (count == 0) why = "no CUDA device found";
  return count;
}

bool device_info(int index, DeviceInfo& out, std::string& why) {
  try {
    out = DeviceInfo{};
    out.index = index;
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
    out.name = prop.name;
    out.cc_major = prop.major;
    out.cc_minor = prop.minor;
    out.hopper_kernels = prop.major == 9 && prop.minor == 0 && kernels::sm90a_image_built();
    out.sm_count = prop.multiProcessorCount;
    out.total_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
    out.l2_cache_bytes = prop.l2CacheSize;
    int khz = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, index));
    out.sm_clock_mhz = khz / 1000;
    CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, index));
    out.memory_clock_mhz = khz / 1000;
    int version = 0;
    CUDA_CHECK(cudaDriverGetVersion(&version));
    out.driver_version = version_string(version);
    CUDA_CHECK(cudaRuntimeGetVersion(&version));
    out.runtime_version = version_string(version);
    out.cublaslt_version = cublaslt_version_string();
    out.cudnn_version = cudnn::availability().version;
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

// Buffers of one op for the current case.
struct OpState {
  DeviceBuffer<float> out_f32;   // the reference's output
  DeviceBuffer<__half> out_f16;  // every other op's output
  std::unique_ptr<ReferenceAttention> reference;
  DeviceBuffer<uint8_t> quant_storage;
  kernels::QuantizedQKV quant;
  DeviceBuffer<uint32_t> tile_counter;  // Fp16Flash: its tile walk's (the INT8 ops': quant.ws_counters)
  DeviceBuffer<uint8_t> fp8_storage;  // Fp8Cudnn: e4m3 Q/K/V/O and the scales
  cudnn::Fp8Qkv fp8;
  uint8_t* fp8_out = nullptr;
  DeviceBuffer<uint8_t> cudnn_workspace;
  OpMemory memory;
};

struct GpuSession::Impl {
  DeviceInfo info;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  DeviceAllocator alloc;
  DeviceBuffer<uint8_t> flush;  // L2 flush, outside the tally
  StreamHold hold;              // keeps host time out of the timed runs (stream_hold.cuh)
  SmClockProbe clock_probe;     // the SM clock of each timed run (sm_clock_probe.cuh)
  bool holds_fail = false;      // launches block in this process: time_once
  DeviceBuffer<ErrorPartial> partials;
  AttnDims dims;
  OpSettings settings;
  DeviceBuffer<__half> q, k, v;
  std::map<KernelId, OpState> ops;
  // cuDNN handle and graphs, kept across cases (built once per shape); freed before the stream.
  std::unique_ptr<cudnn::SdpaPlans> sdpa = std::make_unique<cudnn::SdpaPlans>();
  bool lost = false;

  ~Impl() {
    ops.clear();
    q.reset(); k.reset(); v.reset();
    flush.reset();
    partials.reset();
    sdpa.reset();
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (stream) cudaStreamDestroy(stream);
  }

  int64_t input_bytes() const { return q.bytes() + k.bytes() + v.bytes(); }

  template <typename F>
  GpuStatus guarded(F&& body) {
    if (lost) return {false, false, true, "CUDA context lost earlier in this run; nothing more can run"};
    try {
      body();
      return GpuStatus::success();
    } catch (const CudaError& e) {
      return failure(e.what(), e.code());
    } catch (const std::exception& e) {
      return failure(e.what(), cudaSuccess);
    }
  }

  GpuStatus failure(const std::string& message, cudaError_t code) {
    GpuStatus s{false, code == cudaErrorNotSupported, false, message, code == cudaErrorMemoryAllocation};
    cudaGetLastError();  // clear a non-sticky error; a sticky one shows up again below
    const cudaError_t probe = cudaDeviceSynchronize();
    if (probe != cudaSuccess) {
      lost = true;
      s.context_lost = true;
      s.not_supported = s.out_of_memory = false;
      s.message += "; the CUDA context is now unusable: " + runtime_error_text(probe);
    }
    return s;
  }

  void start_case(const AttnDims& d) {
    ops.clear();
    q.reset(); k.reset(); v.reset();
    dims = d;
    try {
      q = DeviceBuffer<__half>(alloc, d.q_elements());
      k = DeviceBuffer<__half>(alloc, d.kv_elements());
      v = DeviceBuffer<__half>(alloc, d.kv_elements());
    } catch (...) {  // a case that cannot start holds no device memory
      q.reset(); k.reset(); v.reset();
      throw;
    }
  }

  // Whether the test-only fault injection targets `op` in this case.
  bool injected(InjectedFault fault, KernelId op) const {
    const FaultInjection& f = injected_fault();
    return f.fault == fault && f.op == op && f.seq_kv == dims.seq_kv;
  }

  // No Q codes or scales where the attention kernel quantizes Q itself (it reads FP16 Q).
  void allocate_quantized(OpState& s, bool int8_pv) {
    const kernels::QuantizedSizes sizes = kernels::quantized_sizes(
        dims, settings.quant, int8_pv, !kernels::attention_quantizes_q(dims, settings.quant, int8_pv));
    s.quant_storage = DeviceBuffer<uint8_t>(alloc, static_cast<int64_t>(kernels::quantized_block_bytes(sizes)));
    s.quant = kernels::carve_quantized(sizes, s.quant_storage.get());
    CUDA_CHECK(kernels::clear_ws_counters(s.quant, stream));
  }

  OpState& state(KernelId op) {
    auto it = ops.find(op);
    if (it == ops.end()) throw CudaError(std::string(to_string(op)) + " was not prepared", cudaSuccess);
    return it->second;
  }

  // A part of a prepared op (RunPart, kernels/api.h).
  void enqueue(KernelId op, RunPart part = RunPart::Whole) {
    if (part == RunPart::QuantizeOnly && !has_quantize_step(op)) {
      throw CudaError(std::string(to_string(op)) + " has no quantization step to run alone", cudaSuccess);
    }
    OpState& s = state(op);
    const QuantConfig& cfg = settings.quant;
    if (injected(InjectedFault::SlowEnqueue, op)) std::this_thread::sleep_for(std::chrono::milliseconds(kSlowEnqueueMs));
    if (injected(InjectedFault::KernelError, op)) {
      throw CudaError(std::string(to_string(op)) + " launch [injected by a test]: " +
                          runtime_error_text(cudaErrorLaunchOutOfResources),
                      cudaErrorLaunchOutOfResources);
    }
    if (part != RunPart::KernelOnly && has_quantize_step(op)) enqueue_quantize(op, s);
    if (part == RunPart::QuantizeOnly) return;
    switch (op) {
      case KernelId::Reference:
        if (!s.reference) throw CudaError("reference: workspace released; prepare it again", cudaSuccess);
        s.reference->run(q.get(), k.get(), v.get(), s.out_f32.get(), stream);
        break;
      case KernelId::Int8Full:
        CUDA_CHECK(kernels::int8_flash_attention(dims, cfg, s.quant, s.out_f16.get(), stream, q.get()));
        break;
      case KernelId::Int8QK:
        CUDA_CHECK(kernels::int8qk_flash_attention(dims, cfg, s.quant, v.get(), s.out_f16.get(), stream));
        break;
      case KernelId::Fp16Flash:
        CUDA_CHECK(kernels::fp16_flash_attention(dims, q.get(), k.get(), v.get(), s.out_f16.get(), stream,
                                                 s.tile_counter.get()));
        break;
      case KernelId::Fp16Cudnn:
        sdpa->run(dims, cudnn::SdpaPrecision::Fp16, {q.get(), k.get(), v.get(), s.out_f16.get(), nullptr},
                 s.cudnn_workspace.get(), stream);
        break;
      case KernelId::Fp8Cudnn:
        sdpa->run(dims, cudnn::SdpaPrecision::Fp8E4M3, {s.fp8.q, s.fp8.k, s.fp8.v, s.fp8_out, s.fp8.scales},
                 s.cudnn_workspace.get(), stream);
        CUDA_CHECK(cudnn::fp8_output_to_half(s.fp8_out, s.fp8.scales, s.out_f16.get(), dims.q_elements(), stream));
        break;
    }
  }

  // The op's quantization step: Q/K/V to INT8 (V too for int8-fa), or to e4m3 for fp8-cudnn.
  void enqueue_quantize(KernelId op, OpState& s) {
    if (op == KernelId::Fp8Cudnn) {
      CUDA_CHECK(cudnn::fp8_quantize_qkv(dims, q.get(), k.get(), v.get(), s.fp8, stream));
    } else {
      // Q's codes only where the attention kernel does not make them itself (then its time, the
      // kernel-only part, includes them).
      const bool int8_pv = op == KernelId::Int8Full;
      CUDA_CHECK(kernels::quantize_qkv(dims, settings.quant, q.get(), k.get(), v.get(), int8_pv, s.quant, stream,
                                       !kernels::attention_quantizes_q(dims, settings.quant, int8_pv)));
    }
  }

  void allocate_fp8(OpState& s) {
    const Fp8Layout layout = fp8_layout(dims);
    s.fp8_storage = DeviceBuffer<uint8_t>(alloc, layout.total());
    const std::array<uint8_t*, 5> at = kernels::carve_block(s.fp8_storage.get(), layout.bytes);
    s.fp8 = {at[0], at[1], at[2], reinterpret_cast<float*>(at[4])};
    s.fp8_out = at[3];
  }

  void prepare(KernelId op) {
    ops.erase(op);
    // cuDNN's graph first: a problem it declines allocates nothing.
    const int64_t cudnn_workspace = is_cudnn(op) ? sdpa->prepare(dims, cudnn_precision(op)) : 0;
    alloc.reset_peak();
    const int64_t base = alloc.current();
    OpState& s = ops[op];
    if (op == KernelId::Reference) {
      s.out_f32 = DeviceBuffer<float>(alloc, dims.q_elements());
    } else {
      s.out_f16 = DeviceBuffer<__half>(alloc, dims.q_elements());
    }
    const int64_t output_bytes = s.out_f32.bytes() + s.out_f16.bytes();
    {
      const RefusedAllocations refused(alloc, injected(InjectedFault::OutOfMemory, op));
      if (op == KernelId::Reference) s.reference = std::make_unique<ReferenceAttention>(alloc, dims, settings.reference);
      if (is_int8(op)) allocate_quantized(s, op == KernelId::Int8Full);
      if (op == KernelId::Fp16Flash) {  // zero, as every launch leaves it
        s.tile_counter = DeviceBuffer<uint32_t>(alloc, 1);
        CUDA_CHECK(cudaMemsetAsync(s.tile_counter.get(), 0, sizeof(uint32_t), stream));
      }
      if (op == KernelId::Fp8Cudnn) allocate_fp8(s);
      if (cudnn_workspace > 0) s.cudnn_workspace = DeviceBuffer<uint8_t>(alloc, cudnn_workspace);
    }
    enqueue(op);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    const int64_t own_peak = alloc.peak() - base;
    s.memory = {input_bytes() + own_peak, own_peak - output_bytes};
  }

  TimedRun time_once(KernelId op, const TimingIsolation& isolation, RunPart part) {
    if (isolation.flush_l2) {
      if (!flush) flush = DeviceBuffer<uint8_t>(alloc, std::max<int64_t>(2 * info.l2_cache_bytes, 1 << 20), false);
      CUDA_CHECK(cudaMemsetAsync(flush.get(), 0, static_cast<size_t>(flush.bytes()), stream));
    }
    if (isolation.read_sm_clock) clock_probe.prepare(stream);  // before the hold: it may wait for the GPU
    bool held = isolation.hold_launches && op != KernelId::Reference && !launches_block() && !holds_fail;
    if (held && !hold.hold(stream)) {  // launches block: this sample (a second late) and the rest unheld
      holds_fail = true;
      held = false;
    }
    {
      const ReleaseOnExit release(held ? &hold : nullptr);
      if (isolation.read_sm_clock) clock_probe.before(stream, info.sm_count);
      CUDA_CHECK(cudaEventRecord(start, stream));
      enqueue(op, part);
      CUDA_CHECK(cudaEventRecord(stop, stream));
      if (isolation.read_sm_clock) clock_probe.after(stream, info.sm_count);
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));  // the second probe too
    if (held && hold.gave_up()) {
      throw CudaError(std::string(to_string(op)) + ": the stream hold was not released within 1 s (the op's enqueue "
                          "waited for the GPU); the sample would hold host time; set measurement.hold_launches "
                          "to false",
                      cudaSuccess);
    }
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return {ms, isolation.read_sm_clock ? clock_probe.mhz() : 0.0};
  }

  // CUDA_LAUNCH_BLOCKING=1 makes each launch wait for its kernel, a hold's too; holds_fail: a
  // hold's launch returned only once it had given up (a sanitizer or profiler that serializes
  // launches), so the session holds no more.
  static bool launches_block() {
    const char* blocking = std::getenv("CUDA_LAUNCH_BLOCKING");
    return blocking != nullptr && std::strcmp(blocking, "1") == 0;
  }

  ErrorMetrics compare(KernelId op) {
    const OpState& ref = state(KernelId::Reference);
    const OpState& s = state(op);
    if (!s.out_f16) throw CudaError(std::string(to_string(op)) + " has no FP16 output to compare", cudaSuccess);
    if (!partials) partials = DeviceBuffer<ErrorPartial>(alloc, kErrorBlocks, false);
    error_partials(s.out_f16.get(), ref.out_f32.get(), dims.q_elements(), partials.get(), stream);
    std::vector<ErrorPartial> host(kErrorBlocks);
    CUDA_CHECK(cudaMemcpyAsync(host.data(), partials.get(), partials.bytes(), cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
    return finish_error_metrics(host.data(), dims.q_elements());
  }

  void download(GpuTensor tensor, KernelId op, int64_t offset, int64_t count, float* out) {
    const __half* half_src = nullptr;
    int64_t available = 0;
    switch (tensor) {
      case GpuTensor::Q: half_src = q.get(); available = q.size(); break;
      case GpuTensor::K: half_src = k.get(); available = k.size(); break;
      case GpuTensor::V: half_src = v.get(); available = v.size(); break;
      case GpuTensor::Output: {
        const OpState& s = state(op);
        if (s.out_f32) {
          if (offset < 0 || offset + count > s.out_f32.size()) throw std::out_of_range("download past the output");
          CUDA_CHECK(cudaMemcpy(out, s.out_f32.get() + offset, count * sizeof(float), cudaMemcpyDeviceToHost));
          return;
        }
        half_src = s.out_f16.get();
        available = s.out_f16.size();
        break;
      }
    }
    if (offset < 0 || offset + count > available) throw std::out_of_range("download past the tensor");
    constexpr int64_t kChunk = 1 << 22;
    std::vector<uint16_t> bits(static_cast<size_t>(std::min(count, kChunk)));
    for (int64_t done = 0; done < count; done += kChunk) {
      const int64_t n = std::min(kChunk, count - done);
      CUDA_CHECK(cudaMemcpy(bits.data(), half_src + offset + done, n * 2, cudaMemcpyDeviceToHost));
      for (int64_t i = 0; i < n; ++i) out[done + i] = half_bits_to_float(bits[i]);
    }
  }

  void upload(const float* src, __half* dst, int64_t count) {
    constexpr int64_t kChunk = 1 << 22;
    std::vector<uint16_t> bits(static_cast<size_t>(std::min(count, kChunk)));
    for (int64_t done = 0; done < count; done += kChunk) {
      const int64_t n = std::min(kChunk, count - done);
      for (int64_t i = 0; i < n; ++i) bits[i] = float_to_half_bits(src[done + i]);
      CUDA_CHECK(cudaMemcpy(dst + done, bits.data(), n * 2, cudaMemcpyHostToDevice));
    }
  }
};

GpuSession::GpuSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuSession::~GpuSession() = default;

std::unique_ptr<GpuSession> GpuSession::open(int device_index, std::string& why) {
  if (device_count(why) <= device_index) {
    if (why.empty()) why = "no CUDA device " + std::to_string(device_index);
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  if (!device_info(device_index, impl->info, why)) return nullptr;
  try {
    CUDA_CHECK(cudaSetDevice(device_index));
    CUDA_CHECK(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreate(&impl->start));
    CUDA_CHECK(cudaEventCreate(&impl->stop));
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
  return std::unique_ptr<GpuSession>(new GpuSession(std::move(impl)));
}

const DeviceInfo& GpuSession::device() const { return impl_->info; }
bool GpuSession::context_lost() const { return impl_->lost; }
int64_t GpuSession::allocated_bytes() const { return impl_->alloc.current(); }
void GpuSession::set_op_settings(const OpSettings& settings) { impl_->settings = settings; }

GpuStatus GpuSession::memory_info(int64_t& free_bytes, int64_t& total_bytes) {
  return impl_->guarded([&] {
    size_t f = 0, t = 0;
    CUDA_CHECK(cudaMemGetInfo(&f, &t));
    free_bytes = static_cast<int64_t>(f);
    total_bytes = static_cast<int64_t>(t);
  });
}

GpuStatus GpuSession::set_inputs(const AttnDims& dims, const InputGenSpec& spec) {
  return impl_->guarded([&] {
    impl_->start_case(dims);
    generate_tensor(dims, spec, TensorId::Q, impl_->q.get(), impl_->q.size(), impl_->stream);
    generate_tensor(dims, spec, TensorId::K, impl_->k.get(), impl_->k.size(), impl_->stream);
    generate_tensor(dims, spec, TensorId::V, impl_->v.get(), impl_->v.size(), impl_->stream);
    CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
  });
}

GpuStatus GpuSession::set_inputs(const AttnDims& dims, const float* q, const float* k, const float* v) {
  return impl_->guarded([&] {
    impl_->start_case(dims);
    impl_->upload(q, impl_->q.get(), impl_->q.size());
    impl_->upload(k, impl_->k.get(), impl_->k.size());
    impl_->upload(v, impl_->v.get(), impl_->v.size());
  });
}

GpuStatus GpuSession::prepare(KernelId op) { return impl_->guarded([&] { impl_->prepare(op); }); }

GpuStatus GpuSession::run(KernelId op, RunPart part) {
  return impl_->guarded([&] {
    impl_->enqueue(op, part);
    CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
  });
}

GpuStatus GpuSession::time_once(KernelId op, const TimingIsolation& isolation, TimedRun& out, RunPart part) {
  return impl_->guarded([&] { out = impl_->time_once(op, isolation, part); });
}

GpuStatus GpuSession::set_profiler_capture(bool on) {
  return impl_->guarded([&] {
    CUDA_CHECK(cudaStreamSynchronize(impl_->stream));  // the window holds only what follows
    CUDA_CHECK(on ? cudaProfilerStart() : cudaProfilerStop());
  });
}

OpMemory GpuSession::memory(KernelId op) const {
  auto it = impl_->ops.find(op);
  return it == impl_->ops.end() ? OpMemory{} : it->second.memory;
}

GpuStatus GpuSession::compare(KernelId op, ErrorMetrics& out) {
  return impl_->guarded([&] { out = impl_->compare(op); });
}

GpuStatus GpuSession::download(GpuTensor tensor, KernelId op, int64_t offset, int64_t count, float* out) {
  return impl_->guarded([&] { impl_->download(tensor, op, offset, count, out); });
}

void GpuSession::release(KernelId op) { impl_->ops.erase(op); }

void GpuSession::release_workspace(KernelId op) {
  auto it = impl_->ops.find(op);
  if (it == impl_->ops.end()) return;
  it->second.reference.reset();  // the INT8 ops' quantized tensors are their inputs: kept
}

// ---------------------------------------------------------------- estimates ------------

int64_t op_tensor_bytes(const AttnDims& dims, const QuantConfig& quant, KernelId op) {
  const int64_t fp16 = 2 * dims.q_elements() + kv_bytes_fp16(dims);
  switch (op) {
    case KernelId::Int8Full:
      return static_cast<int64_t>(kernels::quantized_sizes(dims, quant, true).total());
    case KernelId::Int8QK:  // INT8 Q/K plus the FP16 V the kernel reads
      return static_cast<int64_t>(kernels::quantized_sizes(dims, quant, false).total()) + dims.kv_elements() * 2;
    case KernelId::Fp8Cudnn: {  // e4m3 Q/K/V and the per-tensor scales
      const Fp8Layout layout = fp8_layout(dims);
      return static_cast<int64_t>(layout.bytes[0] + layout.bytes[1] + layout.bytes[2] + layout.bytes[4]);
    }
    default:
      return fp16;
  }
}

int64_t estimate_case_bytes(const AttnDims& dims, const OpSettings& settings,
                            const std::vector<KernelId>& ops, int64_t l2_cache_bytes) {
  constexpr int64_t kLtWorkspace = 32ll << 20, kMargin = 64ll << 20;
  // cuDNN's SDPA forward workspace is not known before its plan is built; an allowance stands
  // in for it (an inference forward keeps no O(seq^2) state, so it is expected to be small).
  constexpr int64_t kCudnnWorkspaceAllowance = 64ll << 20;
  const int64_t inputs = 2 * dims.q_elements() + kv_bytes_fp16(dims);
  const int64_t reference_out = 4 * dims.q_elements();
  int64_t largest_op = plan_reference(dims, settings.reference).workspace_bytes + kLtWorkspace;
  for (KernelId op : ops) {
    if (op == KernelId::Reference) continue;
    int64_t bytes = 2 * dims.q_elements();
    if (is_int8(op)) {
      const bool int8_pv = op == KernelId::Int8Full;
      bytes += static_cast<int64_t>(kernels::quantized_block_bytes(kernels::quantized_sizes(
          dims, settings.quant, int8_pv, !kernels::attention_quantizes_q(dims, settings.quant, int8_pv))));
    }
    if (op == KernelId::Fp8Cudnn) bytes += fp8_layout(dims).total();
    if (is_cudnn(op)) bytes += kCudnnWorkspaceAllowance;
    largest_op = std::max(largest_op, bytes);
  }
  return inputs + reference_out + largest_op + std::max<int64_t>(2 * l2_cache_bytes, 1 << 20) + kMargin;
}

}  // namespace int8attn::gpu
