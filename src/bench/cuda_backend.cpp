// The CUDA backend: inputs, the cuBLASLt reference, the fused kernels, accuracy and timing
// on the GPU through kernels/api.h. Per case: inputs -> reference (kept for the metrics) ->
// the reference's own FP64 spot check -> each kernel (first run, metrics, timing, memory).
// A failing kernel becomes an error (or a skip, for cudaErrorNotSupported and out of memory);
// a lost CUDA context fails the rest of the case and every later case, with the reason.
#include "src/bench/backend.h"

#if INT8ATTN_HAVE_CUDA
#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "common/numerics.h"
#include "common/rng.h"
#include "kernels/api.h"
#include "src/bench/devices.h"
#include "src/bench/latency_stats.h"
#include "src/host/inputs.h"
#include "src/host/reference.h"
#endif

namespace int8attn {

#if INT8ATTN_HAVE_CUDA
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr int kReferenceCheckRows = 4;

// (batch, head, query row) triples the reference check recomputes on the CPU: both corners
// and a few seeded picks.
std::vector<std::array<int64_t, 3>> sampled_rows(const AttnDims& d, uint64_t seed) {
  std::set<std::array<int64_t, 3>> rows = {{0, 0, 0}, {d.batch - 1, d.heads - 1, d.seq_q - 1}};
  for (uint64_t i = 0; rows.size() < static_cast<size_t>(kReferenceCheckRows) && i < 16; ++i) {
    const uint64_t bits = mix64(seed ^ (0x5eed0000ull + i));
    rows.insert({static_cast<int64_t>(bits % d.batch), static_cast<int64_t>((bits >> 16) % d.heads),
                 static_cast<int64_t>((bits >> 32) % d.seq_q)});
  }
  return {rows.begin(), rows.end()};
}

// Releases an op's buffers when the scope ends, however it ends.
class ReleaseAtExit {
 public:
  ReleaseAtExit(gpu::GpuSession& session, KernelId op) : session_(session), op_(op) {}
  ~ReleaseAtExit() { session_.release(op_); }
  ReleaseAtExit(const ReleaseAtExit&) = delete;
  ReleaseAtExit& operator=(const ReleaseAtExit&) = delete;

 private:
  gpu::GpuSession& session_;
  KernelId op_;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(GpuDeviceSummary device, std::unique_ptr<gpu::GpuSession> session)
      : device_(std::move(device)), session_(std::move(session)) {}

  BackendKind kind() const override { return BackendKind::Cuda; }
  DeviceCaps caps() const override { return device_caps(device_); }
  Environment environment() const override { return gpu_environment(device_); }

  std::string skip_reason(const BenchCase& c, const RunSettings& settings) const override {
    if (session_->context_lost()) return "CUDA context lost in an earlier case: " + lost_reason_;
    // The case's peak is that of its largest op (each with its own quantization).
    int64_t need = 0;
    for (const std::string& name : settings.kernels) {
      if (const KernelSpec* k = find_kernel(name)) {
        need = std::max(need, gpu::estimate_case_bytes(c.dims, kernel_op_settings(settings, c, *k, caps()), {k->id},
                                                       device_.info.l2_cache_bytes));
      }
    }
    int64_t free_bytes = 0, total = 0;
    if (gpu::GpuStatus s = session_->memory_info(free_bytes, total); !s.ok) return "cudaMemGetInfo: " + s.message;
    // The previous case's inputs are still allocated; they are freed before this case starts.
    const int64_t available = free_bytes + session_->allocated_bytes();
    if (need > available) return fmt::format("needs {:.2f} GiB, {:.2f} GiB free", need / kGiB, available / kGiB);
    return {};
  }

  CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                      const RunSettings& settings, const CaseDump& dump) override {
    const std::vector<const KernelSpec*> ordered = reference_first(kernels);
    const bool report_reference = ordered.size() == kernels.size();  // asked for, not only needed
    // The reference's output stays for every kernel's metrics until the case ends.
    const ReleaseAtExit release_reference(*session_, KernelId::Reference);
    session_->set_op_settings(kernel_op_settings(settings, c, *ordered.front(), caps()));
    check(load_inputs(c), "inputs");  // a throw here or below: nothing to measure against
    check(session_->prepare(KernelId::Reference), "reference");
    CaseResult result;
    result.reference_check = reference_check(c);
    if (dump.on()) dump_inputs_and_reference(c.dims, dump, ordered.front()->name);
    if (!report_reference) session_->release_workspace(KernelId::Reference);
    for (size_t i = report_reference ? 0 : 1; i < ordered.size(); ++i) {
      const KernelSpec& spec = *ordered[i];
      if (session_->context_lost()) {
        result.kernels.push_back(
            status_result(spec.name, KernelStatus::Error, "not run: CUDA context lost: " + lost_reason_));
        continue;
      }
      result.kernels.push_back(run_kernel(spec, c, settings, dump));
      // The reference's output stays for the metrics; its 1 GiB of chunks need not.
      if (spec.id == KernelId::Reference) session_->release_workspace(KernelId::Reference);
    }
    return result;
  }

 private:
  void check(const gpu::GpuStatus& s, const char* what) {
    if (s.ok) return;
    if (s.context_lost && lost_reason_.empty()) lost_reason_ = s.message;
    // Out of memory: the kernel (or the case) is skipped, not failed; its memory is released
    // before the next kernel or case.
    if (s.out_of_memory) throw KernelSkipped(fmt::format("out of device memory: {}: {}", what, s.message));
    throw std::runtime_error(fmt::format("{}: {}", what, s.message));
  }

  gpu::GpuStatus load_inputs(const BenchCase& c) {
    if (c.input.npy_dir.empty()) return session_->set_inputs(c.dims, host::generator_spec(c.input));
    const host::HostQKV loaded = host::load_inputs(c.dims, c.input.npy_dir);
    return session_->set_inputs(c.dims, loaded.q.data(), loaded.k.data(), loaded.v.data());
  }

  std::vector<float> download(gpu::GpuTensor t, KernelId op, int64_t offset, int64_t count) {
    std::vector<float> out(static_cast<size_t>(count));
    check(session_->download(t, op, offset, count, out.data()), "download");
    return out;
  }

  // Sampled rows of the reference output against an FP64 CPU computation from the same
  // FP16 inputs: one query row against the keys it sees, as a 1-row problem.
  ReferenceCheck reference_check(const BenchCase& c) {
    const AttnDims& d = c.dims;
    ReferenceCheck check_result;
    double err_sq = 0, ref_sq = 0;
    for (const auto& [b, h, i] : sampled_rows(d, c.input.seed)) {
      const int64_t kvh = h / d.group_size();
      const int64_t visible = visible_keys(i, d.seq_q, d.seq_kv, d.causal);
      const int64_t row_offset = ((b * d.heads + h) * d.seq_q + i) * d.head_dim;
      const std::vector<float> got = download(gpu::GpuTensor::Output, KernelId::Reference, row_offset, d.head_dim);
      std::vector<double> want(static_cast<size_t>(d.head_dim), 0.0);
      if (visible > 0) {
        AttnDims row_dims = d;
        row_dims.batch = row_dims.heads = row_dims.kv_heads = row_dims.seq_q = 1;
        row_dims.seq_kv = visible;
        row_dims.causal = false;
        row_dims.sm_scale = effective_sm_scale(d);
        const int64_t kv_offset = (b * d.kv_heads + kvh) * d.seq_kv * d.head_dim;
        want = host::reference_row(row_dims, download(gpu::GpuTensor::Q, KernelId::Reference, row_offset, d.head_dim),
                                  download(gpu::GpuTensor::K, KernelId::Reference, kv_offset, visible * d.head_dim),
                                  download(gpu::GpuTensor::V, KernelId::Reference, kv_offset, visible * d.head_dim),
                                  0, 0, 0);
      }
      for (int64_t col = 0; col < d.head_dim; ++col) {
        const double e = got[col] - want[col];
        err_sq += e * e;
        ref_sq += want[col] * want[col];
        check_result.max_abs_error = std::max(check_result.max_abs_error, std::isfinite(e) ? std::fabs(e) : INFINITY);
      }
      ++check_result.rows_checked;
    }
    check_result.rel_l2 = ref_sq > 0 ? std::sqrt(err_sq / ref_sq) : (err_sq > 0 ? INFINITY : 0.0);
    return check_result;
  }

  LatencyStats measure(KernelId op, const MeasureOptions& m, gpu::RunPart part = gpu::RunPart::Whole) {
    return measure_latency(m, [&] { check(session_->run(op, part), "warm-up"); }, [&] {
      gpu::TimedRun run;
      check(session_->time_once(op, {m.flush_l2, m.hold_launches}, run, part), "timing");
      return LatencySample{run.ms, run.sm_clock_mhz};
    });
  }

  KernelResult run_kernel(const KernelSpec& spec, const BenchCase& c, const RunSettings& settings,
                          const CaseDump& dump) {
    const KernelId op = spec.id;
    const AttnDims& d = c.dims;
    KernelResult r;
    r.kernel = spec.name;
    const gpu::OpSettings kernel_settings = kernel_op_settings(settings, c, spec, caps());
    session_->set_op_settings(kernel_settings);
    try {
      if (op != KernelId::Reference) {
        const gpu::GpuStatus first = session_->prepare(op);
        if (first.not_supported) {
          session_->release(op);
          return status_result(spec.name, KernelStatus::Skipped, "kernel declined the problem: " + first.message);
        }
        check(first, "first run");
        gpu::ErrorMetrics metrics;
        check(session_->compare(op, metrics), "metrics");
        r.accuracy = host::to_accuracy(metrics, host::q_shape(d));
        if (dump.on()) dump.output(spec.name, download(gpu::GpuTensor::Output, op, 0, d.q_elements()));
      }
      r.latency = measure(op, settings.measure);
      r.tops = attention_tops(d, r.latency->median_ms);
      if (has_quantize_step(op)) r.quantize_latency = measure(op, settings.measure, gpu::RunPart::QuantizeOnly);
      const gpu::OpMemory mem = session_->memory(op);
      const int64_t fp16_bytes = gpu::op_tensor_bytes(d, kernel_settings.quant, KernelId::Fp16Flash);
      r.memory = MemoryUse{gpu::op_tensor_bytes(d, kernel_settings.quant, op), fp16_bytes, mem.workspace_bytes,
                           mem.peak_bytes};
    } catch (const std::exception& e) {
      r = failed_kernel(spec.name, e);
    }
    if (op != KernelId::Reference) session_->release(op);
    return r;
  }

  // One tensor at a time, so the host holds at most one of them.
  void dump_inputs_and_reference(const AttnDims& d, const CaseDump& dump, const std::string& reference_name) {
    const auto ref = KernelId::Reference;
    dump.input(TensorId::Q, download(gpu::GpuTensor::Q, ref, 0, d.q_elements()));
    dump.input(TensorId::K, download(gpu::GpuTensor::K, ref, 0, d.kv_elements()));
    dump.input(TensorId::V, download(gpu::GpuTensor::V, ref, 0, d.kv_elements()));
    dump.reference(reference_name, download(gpu::GpuTensor::Output, ref, 0, d.q_elements()));
  }

  GpuDeviceSummary device_;
  std::unique_ptr<gpu::GpuSession> session_;
  std::string lost_reason_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device_index, std::string& why) {
  std::vector<GpuDeviceSummary> devices = query_gpu_devices(why);
  if (devices.empty()) return nullptr;
  if (device_index < 0 || device_index >= static_cast<int>(devices.size())) {
    why = fmt::format("no CUDA device {} ({} present)", device_index, devices.size());
    return nullptr;
  }
  std::unique_ptr<gpu::GpuSession> session = gpu::GpuSession::open(device_index, why);
  if (!session) return nullptr;
  return std::make_unique<CudaBackend>(std::move(devices[device_index]), std::move(session));
}

#else

std::unique_ptr<Backend> make_cuda_backend(int, std::string& why) {
  why = "built without CUDA (configure with -DINT8ATTN_CUDA=ON and nvcc available)";
  return nullptr;
}

#endif

}  // namespace int8attn
