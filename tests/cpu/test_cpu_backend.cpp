#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "src/bench/backend.h"
#include "src/bench/runner.h"
#include "src/config/sweep_config.h"
#include "src/host/npy.h"
#include "test_cpu_util.h"

namespace int8attn {
namespace {

// Every registry kernel the CPU backend implements (the cuDNN ones are CUDA only).
std::vector<const KernelSpec*> cpu_kernels() {
  std::vector<const KernelSpec*> kernels;
  for (const KernelSpec& k : kernel_registry()) {
    if (std::find(k.backends.begin(), k.backends.end(), BackendKind::Cpu) != k.backends.end()) kernels.push_back(&k);
  }
  return kernels;
}

BenchCase small_case() {
  BenchCase c;
  c.dims = cpu::test::make_dims(1, 2, 1, 64, 96, 64, true);
  c.input = cpu::test::make_input(Distribution::Normal, 3);
  c.id = make_case_id(c.dims, c.input);
  return c;
}

// What every case shares is the runner's, whichever backend ran it: the case's id, shape,
// input and rotation, and its wall time (fallback retries included).
TEST(CpuBackend, TheRunnerStampsTheCaseAndItsWallTime) {
  auto backend = make_cpu_backend(CpuOptions{});
  BenchCase c = small_case();
  c.rotation = QkRotation::Hadamard;
  c.id = make_case_id(c.dims, c.input, c.rotation);
  RunSettings settings;
  settings.kernels = {"fp16-ref-cublaslt", "int8-fa"};
  const CaseResult r = run_one_case(c, *backend, settings);
  EXPECT_EQ(r.id, c.id);
  EXPECT_EQ(r.dims.seq_kv, c.dims.seq_kv);
  EXPECT_EQ(r.input.distribution, c.input.distribution);
  EXPECT_EQ(r.rotation, QkRotation::Hadamard);
  EXPECT_GT(r.wall_seconds, 0);
  ASSERT_EQ(r.kernels.size(), 2u);
  EXPECT_EQ(r.kernels[1].kernel, "int8-fa");
}

TEST(CpuBackend, RunsEveryKernelWithAccuracyAndMemory) {
  auto backend = make_cpu_backend(CpuOptions{});
  EXPECT_EQ(backend->kind(), BackendKind::Cpu);
  EXPECT_EQ(backend->environment().backend, "cpu");
  EXPECT_GE(backend->environment().cpu_threads, 1);
  const BenchCase c = small_case();
  const CaseResult r = backend->run_case(c, cpu_kernels(), RunSettings{}, CaseDump());
  ASSERT_EQ(r.kernels.size(), cpu_kernels().size());
  EXPECT_EQ(r.kernels[0].kernel, "fp16-ref-cublaslt");
  EXPECT_FALSE(r.kernels[0].accuracy.has_value());
  for (const KernelResult& k : r.kernels) {
    EXPECT_EQ(k.status, KernelStatus::Ok) << k.kernel << ": " << k.reason;
    ASSERT_TRUE(k.memory.has_value());
    EXPECT_GT(k.memory->peak_bytes, 0);
    EXPECT_FALSE(k.fallback.has_value());
    if (k.kernel == "fp16-ref-cublaslt") continue;
    ASSERT_TRUE(k.accuracy.has_value()) << k.kernel;
    EXPECT_LT(k.accuracy->rel_l2, 0.03) << k.kernel;
    EXPECT_GT(k.accuracy->rel_l2, 0) << k.kernel;
  }
  const KernelResult& fa = r.kernels[1];
  ASSERT_EQ(fa.kernel, "int8-fa");
  EXPECT_LT(fa.memory->tensor_bytes, fa.memory->fp16_tensor_bytes * 0.6);
  // Emulation timings are not kernel speeds: the CPU backend reports none.
  EXPECT_FALSE(fa.latency.has_value());
  EXPECT_FALSE(fa.quantize_latency.has_value());
}

TEST(CpuBackend, SkipsCasesOverTheFlopLimit) {
  auto backend = make_cpu_backend(CpuOptions{});
  BenchCase c = small_case();
  RunSettings settings;
  EXPECT_EQ(backend->skip_reason(c, settings), "");
  c.dims.seq_q = c.dims.seq_kv = 8192;
  const std::string why = backend->skip_reason(c, settings);
  EXPECT_NE(why.find("cpu.max_case_gflop"), std::string::npos) << why;
  EXPECT_NE(why.find("17.2 GFLOP"), std::string::npos) << why;  // 4*1*2*8192^2*64/2 = 17.18e9
}

// The backend throws; the runner makes every kernel an error with the reason.
TEST(CpuBackend, BadInputsBecomeErrorsNotExceptions) {
  auto backend = make_cpu_backend(CpuOptions{});
  BenchCase c = small_case();
  c.input.npy_dir = "/nonexistent/dir";
  RunSettings settings;
  for (const KernelSpec* k : cpu_kernels()) settings.kernels.push_back(k->name);
  const CaseResult r = run_one_case(c, *backend, settings);
  ASSERT_EQ(r.kernels.size(), cpu_kernels().size());
  for (const KernelResult& k : r.kernels) {
    EXPECT_EQ(k.status, KernelStatus::Error);
    EXPECT_NE(k.reason.find("q.npy"), std::string::npos) << k.reason;
  }
}

TEST(CpuBackend, DumpsAndReloadsInputs) {
  auto backend = make_cpu_backend(CpuOptions{});
  const BenchCase c = small_case();
  const std::filesystem::path dump =
      std::filesystem::temp_directory_path() / ("int8attn_dump_" + std::to_string(::getpid()));
  const CaseResult generated = backend->run_case(c, cpu_kernels(), RunSettings{}, CaseDump(dump.string(), c));
  for (const char* name : {"q", "k", "v", "int8-fa", "int8-qk", "fp16-fa", "fp16-ref-cublaslt"}) {
    EXPECT_TRUE(std::filesystem::exists(dump / c.id / (std::string(name) + ".npy"))) << name;
  }
  // Loading the dumped inputs gives the same results.
  BenchCase reloaded = c;
  reloaded.input.npy_dir = (dump / c.id).string();
  const CaseResult from_files = backend->run_case(reloaded, cpu_kernels(), RunSettings{}, CaseDump());
  ASSERT_EQ(from_files.kernels.size(), generated.kernels.size());
  for (size_t i = 1; i < generated.kernels.size(); ++i) {
    ASSERT_TRUE(from_files.kernels[i].accuracy.has_value()) << from_files.kernels[i].reason;
    EXPECT_EQ(from_files.kernels[i].accuracy->rel_l2, generated.kernels[i].accuracy->rel_l2);
  }
  std::filesystem::remove_all(dump);
}

// The fallback's second try on the real emulation: loud channels varying per token
// (outlier-scale) miss max_rel_l2 without the rotation and meet it with it, so INT8 stays
// with the rotation; a sharper softmax misses it either way (docs/accuracy.md says why).
TEST(CpuBackendFallback, TriesTheHadamardRotationBeforeFp16) {
  auto config_text = [](const char* fallback_rotation) {
    return std::string(R"({"axes": {"heads": [2], "seq_len": [256], "head_dim": [128], "input": [
        {"distribution": "outlier-scale", "seed": 3}, {"distribution": "normal", "scale": 3, "seed": 3}]},
      "kernels": ["int8-fa", "int8-qk"],
      "thresholds": {"max_mse": 1e-3, "max_abs_error": 0.3, "max_rel_l2": 0.02},
      "quantization": {"fallback_rotation": ")") + fallback_rotation + R"("}})";
  };
  auto backend = make_cpu_backend(CpuOptions{});
  const SweepConfig config = parse_sweep_config(config_text("hadamard"), "fallback.json");
  ASSERT_EQ(config.cases.size(), 2u);
  const CaseResult loud = run_one_case(config.cases[0], *backend, config.settings);
  const CaseResult sharp = run_one_case(config.cases[1], *backend, config.settings);
  ASSERT_EQ(loud.kernels.size(), 3u);  // the reference first, then int8-fa and int8-qk
  for (size_t i = 1; i < 3; ++i) {
    const KernelResult& k = loud.kernels[i];
    ASSERT_TRUE(k.fallback && k.fallback->rotated && k.fallback->rotated->accuracy) << k.kernel;
    EXPECT_EQ(k.fallback->decision, Decision::Int8Hadamard) << k.kernel << ": " << k.fallback->reasons.back();
    EXPECT_GT(k.accuracy->rel_l2, 0.02) << k.kernel;
    EXPECT_LT(k.fallback->rotated->accuracy->rel_l2, 0.015) << k.kernel;
    EXPECT_TRUE(k.fallback->reasons.front().starts_with("accuracy: ")) << k.fallback->reasons.front();

    const FallbackDecision& d = *sharp.kernels[i].fallback;
    EXPECT_EQ(d.decision, Decision::Fp16Fallback) << k.kernel;
    ASSERT_TRUE(d.rotated) << k.kernel;
    EXPECT_FALSE(d.rotated->reasons.empty());
    EXPECT_TRUE(d.reasons.back().starts_with("with the hadamard rotation: accuracy: ")) << d.reasons.back();
  }
  const SweepConfig off = parse_sweep_config(config_text("none"), "fallback.json");
  const CaseResult loud_off = run_one_case(off.cases[0], *backend, off.settings);
  EXPECT_EQ(loud_off.kernels[1].fallback->decision, Decision::Fp16Fallback);
  EXPECT_FALSE(loud_off.kernels[1].fallback->rotated);
}

}  // namespace
}  // namespace int8attn
