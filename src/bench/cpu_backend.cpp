// The CPU backend: FP64 reference plus the bit-faithful host emulation of every kernel
// (src/cpu/). It checks accuracy without a GPU; its timings are host wall time of the
// emulation and say nothing about kernel speed.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <limits>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "src/bench/backend.h"
#include "src/cpu/emulation.h"
#include "src/cpu/metrics.h"
#include "src/host/inputs.h"
#include "src/host/reference.h"

namespace int8attn {
namespace {

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

std::string read_hostname() {
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("unknown");
}

double case_gflop(const AttnDims& d) { return attention_flops(d) / 1e9; }

// Host memory a case needs at its peak: Q/K/V as floats, the FP64 reference, one kernel's
// output, and the INT8 codes with their scales (measured: a 234.9M-element Q, K and V case
// peaked at 7.1 GB, this says 7.0).
int64_t case_host_bytes(const AttnDims& d) {
  const double q = static_cast<double>(d.batch) * d.heads * d.seq_q * d.head_dim;
  const double kv = static_cast<double>(d.batch) * d.kv_heads * d.seq_kv * d.head_dim;
  const double bytes = 4 * (q + 2 * kv) + 8 * q + 4 * q + 2 * (q + 2 * kv);
  return bytes >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(bytes);
}

// What one emulated kernel produced.
struct KernelRun {
  std::vector<float> out;
  int64_t tensor_bytes = 0;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const CpuOptions& options) : options_(options) {}

  BackendKind kind() const override { return BackendKind::Cpu; }
  DeviceCaps caps() const override { return {BackendKind::Cpu, "cpu", 0, 0}; }

  Environment environment() const override {
    Environment env;
    env.backend = "cpu";
    env.hostname = read_hostname();
    env.cpu_model = read_cpu_model();
    env.cpu_threads = std::max(1u, std::thread::hardware_concurrency());
    return env;
  }

  std::string skip_reason(const BenchCase& c, const RunSettings& settings) const override {
    const double gflop = case_gflop(c.dims);
    if (gflop > settings.cpu.max_case_gflop) {
      const auto [needs, limit] = distinct_numbers(gflop, settings.cpu.max_case_gflop);
      return fmt::format("CPU backend: case needs {} GFLOP, limit {} (cpu.max_case_gflop)", needs, limit);
    }
    const int64_t bytes = case_host_bytes(c.dims);
    if (bytes > settings.cpu.max_case_bytes) {
      const auto [needs, limit] = distinct_numbers(bytes / 1e9, settings.cpu.max_case_bytes / 1e9);
      return fmt::format("CPU backend: case needs about {} GB of host memory, limit {} GB (cpu.max_case_bytes)", needs,
                         limit);
    }
    return {};
  }

  // Two numbers with 3 significant digits, or as many more as it takes to tell them apart
  // ("needs 2.0001 GFLOP, limit 2", not "needs 2, limit 2").
  static std::pair<std::string, std::string> distinct_numbers(double a, double b) {
    for (int digits = 3; digits < 17; ++digits) {
      std::string x = fmt::format("{:.{}g}", a, digits), y = fmt::format("{:.{}g}", b, digits);
      if (x != y) return {x, y};
    }
    return {fmt::format("{}", a), fmt::format("{}", b)};
  }

  CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                      const RunSettings& settings, const CaseDump& dump) override {
    const int threads = settings.cpu.threads > 0 ? settings.cpu.threads : options_.threads;
    const std::vector<const KernelSpec*> ordered = reference_first(kernels);
    const AttnDims& dims = c.dims;
    const host::HostQKV inputs = host::make_inputs(dims, c.input);
    dump.input(TensorId::Q, inputs.q);
    dump.input(TensorId::K, inputs.k);
    dump.input(TensorId::V, inputs.v);

    host::HostMemoryTally reference_tally;
    const std::vector<double> reference =
        host::reference_attention(dims, inputs.q, inputs.k, inputs.v, {threads, &reference_tally});
    if (dump.on()) dump.reference(ordered.front()->name, {reference.begin(), reference.end()});

    CaseResult result;
    for (const KernelSpec* spec : ordered) {
      result.kernels.push_back(spec->id == KernelId::Reference
                                   ? reference_result(spec->name, dims, reference_tally)
                                   : run_one(*spec, dims, kernel_quant(*spec, settings, c, caps()), inputs, reference, threads, dump));
    }
    return result;
  }

 private:
  // The reference's entry: its memory, and no accuracy (the others are measured against it).
  static KernelResult reference_result(const std::string& name, const AttnDims& dims,
                                       const host::HostMemoryTally& tally) {
    KernelResult r;
    r.kernel = name;
    r.memory = MemoryUse{cpu::fp16_tensor_bytes(dims), cpu::fp16_tensor_bytes(dims), 0, tally.peak()};
    return r;
  }

  static KernelRun emulate(KernelId kernel, const AttnDims& dims, const QuantConfig& quant,
                           const host::HostQKV& in, const host::CpuExec& exec) {
    KernelRun run;
    switch (kernel) {
      case KernelId::Int8Full:
      case KernelId::Int8QK: {
        const bool full = kernel == KernelId::Int8Full;
        const cpu::QuantizedHost qkv = cpu::quantize_qkv_host(dims, quant, in.q, in.k, in.v, full);
        const host::TalliedBytes quantized_bytes(exec.tally, qkv.bytes());
        run.out = cpu::int8_attention_from_quantized(dims, quant, qkv, kernel, &in.v, exec);
        run.tensor_bytes = full ? cpu::int8_full_tensor_bytes(dims, quant) : cpu::int8_qk_tensor_bytes(dims, quant);
        return run;
      }
      case KernelId::Fp16Flash:
        run.out = cpu::fp16_flash_attention_host(dims, quant.kv_block, in.q, in.k, in.v, exec);
        run.tensor_bytes = cpu::fp16_tensor_bytes(dims);
        return run;
      case KernelId::Reference:
      case KernelId::Fp16Cudnn:  // cuDNN kernels: CUDA only (the registry says so)
      case KernelId::Fp8Cudnn:
        break;
    }
    throw std::logic_error("CPU backend: no emulation for this kernel");
  }

  static KernelResult run_one(const KernelSpec& spec, const AttnDims& dims, const QuantConfig& quant,
                              const host::HostQKV& inputs, const std::vector<double>& reference, int threads,
                              const CaseDump& dump) {
    try {
      host::HostMemoryTally tally;
      KernelRun run = emulate(spec.id, dims, quant, inputs, {threads, &tally});
      // No latency: emulation time says nothing about kernel speed (the case's
      // wall_seconds still says how long the CPU took).
      KernelResult r;
      r.kernel = spec.name;
      r.accuracy = cpu::compute_accuracy(run.out, reference, host::q_shape(dims));
      r.memory = MemoryUse{run.tensor_bytes, cpu::fp16_tensor_bytes(dims), 0, tally.peak()};
      dump.output(spec.name, run.out);
      return r;
    } catch (const std::exception& e) {
      return failed_kernel(spec.name, e);
    }
  }

  CpuOptions options_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const CpuOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace int8attn
