// Crafted reports for the compare / render / fuzz tests: a small H100-like sweep whose
// latencies are drawn from a seeded RNG around chosen true medians, so a "re-run" is the
// same sweep with another seed.
#pragma once
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "src/model/case.h"
#include "src/report/report.h"

namespace int8attn::testing {

struct SweepShape {
  std::vector<int64_t> seqs = {1024, 4096, 16384};
  std::vector<bool> causal = {false, true};
  int samples = 25;
  double rel_noise = 0.01;   // relative stddev of the latency samples
  bool keep_samples = true;  // raw_ms in the report
};

// Latency summary of `n` normal samples around `true_ms`.
inline LatencyStats draw_latency(double true_ms, double rel_noise, int n, bool keep, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0.0, rel_noise * true_ms);
  std::vector<double> xs(static_cast<size_t>(n));
  for (double& x : xs) x = std::max(true_ms + noise(rng), 1e-6);
  std::vector<double> sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  auto quantile = [&](double q) { return sorted[static_cast<size_t>(q * (n - 1) + 0.5)]; };
  LatencyStats s;
  s.samples = n;
  s.median_ms = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  double sum = 0;
  for (double x : xs) sum += x;
  s.mean_ms = sum / n;
  double var = 0;
  for (double x : xs) var += (x - s.mean_ms) * (x - s.mean_ms);
  s.stddev_ms = n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  s.rel_noise = s.stddev_ms / s.mean_ms;
  s.min_ms = sorted.front();
  s.max_ms = sorted.back();
  s.p10_ms = quantile(0.1);
  s.p90_ms = quantile(0.9);
  if (keep) s.raw_ms = xs;
  return s;
}

// True median latency of a kernel on a case: FP16 ~ 4·s²·d work at 350 TFLOPS, INT8 faster.
inline double true_latency_ms(const AttnDims& d, const std::string& kernel) {
  const double flop = 4.0 * d.batch * d.heads * d.seq_q * d.seq_kv * d.head_dim * (d.causal ? 0.5 : 1.0);
  const double tflops = kernel == "int8-fa" ? 600 : kernel == "int8-qk" ? 450 : kernel == "fp16-fa" ? 350 : 300;
  return flop / (tflops * 1e12) * 1e3 + 0.01;
}

inline KernelResult make_kernel(const AttnDims& d, const std::string& name, const SweepShape& shape,
                                std::mt19937_64& rng) {
  KernelResult k;
  k.kernel = name;
  k.latency = draw_latency(true_latency_ms(d, name), shape.rel_noise, shape.samples, shape.keep_samples, rng);
  const double flop = 4.0 * d.batch * d.heads * d.seq_q * d.seq_kv * d.head_dim * (d.causal ? 0.5 : 1.0);
  k.tops = flop / (k.latency->median_ms * 1e-3) / 1e12;
  k.memory = MemoryUse{1 << 20, 2 << 20, 4096, 3 << 20};
  if (name == "fp16-ref-cublaslt") return k;
  Accuracy a;
  // Error grows slowly with the sequence length, like the real INT8 kernels.
  const double base = name == "int8-fa" ? 0.010 : name == "int8-qk" ? 0.004 : 0.0003;
  a.rel_l2 = base * (1.0 + 0.05 * std::log2(static_cast<double>(d.seq_kv) / 1024.0));
  a.mse = a.rel_l2 * a.rel_l2 * 1e-2;
  a.max_abs_error = a.rel_l2 * 3.0;
  a.mean_abs_error = a.rel_l2 * 0.08;
  a.cosine = 1.0 - a.rel_l2 * a.rel_l2 / 2;
  a.max_abs_index = 12345;
  a.max_abs_at = {0, 1, 2, 3};
  k.accuracy = a;
  if (name.rfind("int8", 0) == 0) k.fallback = FallbackDecision{};
  return k;
}

inline Report make_report(const SweepShape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Report r;
  r.tool = {"int8attn-bench", "0.1.0", "abc123def456"};
  r.environment.backend = "cuda";
  r.environment.hostname = "gpu-runner-7";
  r.environment.gpu_name = "NVIDIA H100 80GB HBM3";
  r.environment.compute_capability = "9.0";
  r.environment.sm_count = 132;
  r.environment.memory_bytes = 85520809984;
  r.config.path = "configs/default.json";
  r.config.sha256 = std::string(64, 'a');
  r.config.settings = nlohmann::json::object();
  r.started_at = "2026-11-24T10:00:00Z";
  r.finished_at = "2026-11-24T10:05:00Z";
  for (bool causal : shape.causal) {
    for (int64_t s : shape.seqs) {
      CaseResult c;
      c.dims = AttnDims{1, 16, 16, s, s, 128, causal, 0.f};
      c.input = InputSpec{};
      c.id = make_case_id(c.dims, c.input);
      for (const char* name : {"fp16-ref-cublaslt", "int8-fa", "int8-qk", "fp16-fa"}) {
        c.kernels.push_back(make_kernel(c.dims, name, shape, rng));
      }
      c.wall_seconds = 1.5;
      r.cases.push_back(std::move(c));
    }
  }
  r.summary.cases = static_cast<int64_t>(r.cases.size());
  r.summary.kernel_runs = r.summary.cases * 4;
  r.summary.ok = r.summary.kernel_runs;
  r.summary.int8_share = 1.0;
  return r;
}

inline KernelResult& kernel_of(Report& r, size_t case_index, const std::string& name) {
  for (auto& k : r.cases.at(case_index).kernels) {
    if (k.kernel == name) return k;
  }
  throw std::out_of_range("no kernel " + name);
}

// Scales every latency field (and raw sample) of a kernel result by `factor`.
inline void scale_latency(KernelResult& k, double factor) {
  auto& l = *k.latency;
  for (double* v : {&l.median_ms, &l.mean_ms, &l.min_ms, &l.max_ms, &l.p10_ms, &l.p90_ms, &l.stddev_ms}) *v *= factor;
  for (double& x : l.raw_ms) x *= factor;
}

}  // namespace int8attn::testing
