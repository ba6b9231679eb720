// Faults on the GPU path, provoked with kernels/api.h's test-only fault injection: a kernel
// error in one case, out of memory for one kernel or for a whole case, and metrics against a
// reference that is all zeros or not finite. A sweep must record each one and go on, a failed
// kernel or case must not keep device memory, and no such output may be judged accurate.
// Skips cleanly when no CUDA device is present.
#include <cuda_runtime.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/half.h"
#include "kernels/api.h"
#include "src/bench/backend.h"
#include "src/bench/runner.h"
#include "src/cpu/metrics.h"
#include "src/host/inputs.h"
#include "src/host/npy.h"
#include "src/report/json_io.h"
#include "tests/cpu/test_cpu_util.h"

namespace int8attn {
namespace {

namespace fs = std::filesystem;
using cpu::test::make_dims;
using gpu::InjectedFault;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

int64_t device_free_bytes() {
  size_t free_bytes = 0, total = 0;
  EXPECT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  return static_cast<int64_t>(free_bytes);
}

// A fresh temporary folder per test, removed at the end.
fs::path test_dir() {
  const fs::path dir = fs::temp_directory_path() /
                       ("gpu-faults-" + std::to_string(::getpid()) + "-" +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Three MHA cases (seq 512, 768, 1024; 32 heads, d128: an op's output is 4-8 MiB, enough to
// show in the device's free memory if it leaked), reference + int8-fa + fp16-fa, short timing.
class GpuFaults : public ::testing::Test {
 protected:
  static constexpr int64_t kSeqs[] = {512, 768, 1024};

  void SetUp() override {
    std::string why;
    backend_ = make_cuda_backend(0, why);
    if (!backend_) GTEST_SKIP() << why;
    config_.path = "test_faults";
    for (int64_t seq : kSeqs) {
      BenchCase c;
      c.dims = make_dims(1, 32, 32, seq, seq, 128, false);
      c.input.seed = 5;
      c.id = make_case_id(c.dims, c.input);
      config_.cases.push_back(c);
    }
    if (auto not_here = find_kernel("int8-fa")->unsupported_reason(config_.cases[0].dims, backend_->caps())) {
      GTEST_SKIP() << "int8-fa: " << *not_here;
    }
    config_.settings.kernels = {"fp16-ref-cublaslt", "int8-fa", "fp16-fa"};
    MeasureOptions& m = config_.settings.measure;
    m.warmup_runs = 1;
    m.min_samples = 2;
    m.max_samples = 3;
    m.min_seconds = 0;
    m.max_seconds = 0.05;
    dir_ = test_dir();
  }

  void TearDown() override {
    gpu::inject_fault_for_testing({});
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  SweepOutcome sweep() {
    SweepOptions options;
    options.output_path = (dir_ / "report.json").string();
    options.write_checkpoint = false;
    options.progress = ProgressMode::None;
    return run_sweep(config_, *backend_, options, ToolInfo{});
  }

  // Every kernel of every case ran, except `kernel` (every kernel when empty) in the case of
  // `seq`, which `expect_failed` checks.
  template <class Check>
  void expect_only(const SweepOutcome& out, int64_t seq, const std::string& kernel, Check expect_failed) {
    ASSERT_EQ(out.report.cases.size(), std::size(kSeqs));
    for (const CaseResult& c : out.report.cases) {
      ASSERT_EQ(c.kernels.size(), 3u) << c.id;
      for (const KernelResult& k : c.kernels) {
        if (c.dims.seq_kv == seq && (kernel.empty() || k.kernel == kernel)) {
          expect_failed(k);
        } else {
          EXPECT_EQ(k.status, KernelStatus::Ok) << c.id << " " << k.kernel << ": " << k.reason;
        }
      }
    }
  }

  std::unique_ptr<Backend> backend_;
  SweepConfig config_;
  fs::path dir_;
};

TEST_F(GpuFaults, KernelErrorInOneCaseIsRecordedAndTheSweepGoesOn) {
  gpu::inject_fault_for_testing({InjectedFault::KernelError, KernelId::Int8Full, 768});
  const SweepOutcome out = sweep();
  EXPECT_EQ(out.kernel_errors, 1);
  EXPECT_FALSE(out.interrupted);
  expect_only(out, 768, "int8-fa", [](const KernelResult& k) {
    EXPECT_EQ(k.status, KernelStatus::Error);
    EXPECT_NE(k.reason.find("cudaErrorLaunchOutOfResources"), std::string::npos) << k.reason;
    EXPECT_NE(k.reason.find("injected by a test"), std::string::npos) << k.reason;
    ASSERT_TRUE(k.fallback);
    EXPECT_EQ(k.fallback->decision, Decision::Fp16Fallback);
    ASSERT_FALSE(k.fallback->reasons.empty());
    EXPECT_TRUE(starts_with(k.fallback->reasons.front(), "kernel error: ")) << k.fallback->reasons.front();
  });
  const Report written = read_report((dir_ / "report.json").string());  // the report holds it too
  EXPECT_EQ(written.summary.errors, 1);
  EXPECT_EQ(written.summary.cases, 3);
}

// Out of memory is a skip with the reason, never an error: for the reference (nothing to
// measure against: every kernel of the case) and for one kernel. Neither may keep device
// memory: after each sweep the backend holds what it held after a sweep without faults (the
// last case's inputs), to within less than one op's output.
TEST_F(GpuFaults, OutOfMemorySkipsWithAReasonAndLeaksNothingAcrossCases) {
  const SweepOutcome clean = sweep();  // also loads every kernel and library the sweep uses
  expect_only(clean, 0, "", [](const KernelResult&) {});
  const int64_t free_after_clean = device_free_bytes();
  constexpr int64_t kSlack = 4 << 20;  // allocation granularity; the smallest output here is 4 MiB

  auto expect_out_of_memory = [](const KernelResult& k) {
    EXPECT_EQ(k.status, KernelStatus::Skipped) << k.kernel;
    EXPECT_TRUE(starts_with(k.reason, "out of device memory: ")) << k.reason;
    EXPECT_NE(k.reason.find("cudaErrorMemoryAllocation"), std::string::npos) << k.reason;
  };
  gpu::inject_fault_for_testing({InjectedFault::OutOfMemory, KernelId::Reference, 768});
  const SweepOutcome no_reference = sweep();
  EXPECT_EQ(no_reference.kernel_errors, 0);
  expect_only(no_reference, 768, "", expect_out_of_memory);
  EXPECT_GE(device_free_bytes(), free_after_clean - kSlack);

  gpu::inject_fault_for_testing({InjectedFault::OutOfMemory, KernelId::Int8Full, 512});
  const SweepOutcome no_int8 = sweep();
  EXPECT_EQ(no_int8.kernel_errors, 0);
  expect_only(no_int8, 512, "int8-fa", [&](const KernelResult& k) {
    expect_out_of_memory(k);
    ASSERT_TRUE(k.fallback);
    EXPECT_EQ(k.fallback->decision, Decision::Fp16Fallback);
    EXPECT_EQ(k.fallback->reasons.front(), k.reason);
  });
  EXPECT_GE(device_free_bytes(), free_after_clean - kSlack);
}

// A session on GPU 0 with generated inputs of the given shape and the ops' default settings;
// skips where there is no device or the op under test does not run on it.
class GpuFaultSession : public ::testing::Test {
 protected:
  void open(const AttnDims& dims) {
    std::string why;
    if (gpu::device_count(why) == 0) GTEST_SKIP() << why;
    session_ = gpu::GpuSession::open(0, why);
    ASSERT_TRUE(session_) << why;
    session_->set_op_settings({});
    ASSERT_TRUE(session_->set_inputs(dims, gpu::InputGenSpec{}).ok);
  }
  void prepare_or_skip(KernelId op, const char* name) {
    const gpu::GpuStatus st = session_->prepare(op);
    if (st.not_supported) GTEST_SKIP() << name << " not on this device: " << st.message;
    ASSERT_TRUE(st.ok) << st.message;
  }
  bool stopped() const { return IsSkipped() || HasFatalFailure(); }
  // A test that stops with a fault injected must not leave it to the tests after it.
  void TearDown() override { gpu::inject_fault_for_testing({}); }

  std::unique_ptr<gpu::GpuSession> session_;
};

// The allocator's own count, exactly: a kernel whose allocation fails leaves its output buffer
// allocated until released, and releasing it returns the count to what it was.
TEST_F(GpuFaultSession, OutOfMemoryReleasesWhatTheKernelHadAllocated) {
  const AttnDims dims = make_dims(1, 4, 4, 256, 256, 128, false);
  open(dims);
  if (stopped()) return;
  gpu::GpuSession* s = session_.get();
  gpu::inject_fault_for_testing({InjectedFault::OutOfMemory, KernelId::Int8Full, dims.seq_kv});
  ASSERT_TRUE(s->prepare(KernelId::Reference).ok);
  s->release_workspace(KernelId::Reference);
  const int64_t before = s->allocated_bytes();

  const gpu::GpuStatus st = s->prepare(KernelId::Int8Full);
  gpu::inject_fault_for_testing({});
  EXPECT_FALSE(st.ok);
  EXPECT_TRUE(st.out_of_memory) << st.message;
  EXPECT_FALSE(st.not_supported);
  EXPECT_FALSE(st.context_lost) << st.message;
  EXPECT_EQ(s->allocated_bytes(), before + 2 * dims.q_elements());  // its FP16 output, allocated first
  s->release(KernelId::Int8Full);
  EXPECT_EQ(s->allocated_bytes(), before);

  // Without the fault the same op runs in the same session.
  prepare_or_skip(KernelId::Int8Full, "int8-fa");
  if (stopped()) return;
  gpu::ErrorMetrics m;
  ASSERT_TRUE(s->compare(KernelId::Int8Full, m).ok);
  EXPECT_LT(m.rel_l2, 0.02);
  s->release(KernelId::Int8Full);
  EXPECT_EQ(s->allocated_bytes(), before);
}

// The stream hold (kernels/harness/stream_hold.cuh) keeps the host's time to enqueue an op out
// of its sample: with the host sleeping kSlowEnqueueMs before each enqueue (a slow launch
// plan), an unheld sample holds the sleep and a held one only the GPU's work; the reference is
// never held. Then the held op times as it did before the fault, within the GPU's own spread.
TEST_F(GpuFaultSession, HeldLaunchesKeepHostTimeOutOfTheSample) {
  const AttnDims dims = make_dims(1, 4, 4, 256, 256, 64, false);
  open(dims);
  if (stopped()) return;
  gpu::GpuSession* s = session_.get();
  ASSERT_TRUE(s->prepare(KernelId::Reference).ok);
  prepare_or_skip(KernelId::Fp16Flash, "fp16-fa");
  if (stopped()) return;
  const double sleep_ms = gpu::kSlowEnqueueMs;
  auto time = [&](KernelId op, bool held) {
    gpu::TimedRun run{-1, 0};
    const gpu::GpuStatus st = s->time_once(op, {true, held}, run);
    EXPECT_TRUE(st.ok) << st.message;
    return run.ms;
  };
  const double quiet = time(KernelId::Fp16Flash, true);
  ASSERT_LT(quiet, sleep_ms / 4) << "a 256-token fp16-fa run should take microseconds";
  gpu::inject_fault_for_testing({InjectedFault::SlowEnqueue, KernelId::Fp16Flash, dims.seq_kv});
  EXPECT_GE(time(KernelId::Fp16Flash, false), 0.9 * sleep_ms) << "unheld, the sleep is between the events";
  const double held = time(KernelId::Fp16Flash, true);
  EXPECT_LT(held, sleep_ms / 4) << "held, the GPU waits until the op is enqueued";
  gpu::inject_fault_for_testing({InjectedFault::SlowEnqueue, KernelId::Reference, dims.seq_kv});
  EXPECT_GE(time(KernelId::Reference, true), 0.9 * sleep_ms) << "the reference is never held";
  gpu::inject_fault_for_testing({});
  // A failed enqueue releases the stream: the next held sample runs at once.
  gpu::inject_fault_for_testing({InjectedFault::KernelError, KernelId::Fp16Flash, dims.seq_kv});
  gpu::TimedRun failed;
  EXPECT_FALSE(s->time_once(KernelId::Fp16Flash, {true, true}, failed).ok);
  gpu::inject_fault_for_testing({});
  EXPECT_LT(time(KernelId::Fp16Flash, true), sleep_ms / 4);
}

// Each timed run reads the SM clock it ran at (kernels/harness/sm_clock_probe.cuh): a broken
// probe (the timer misread, stamps of another run, a missing SM) gives a figure far outside
// what the device can run at; with the reading off the run says 0.
TEST_F(GpuFaultSession, TimedRunsReadTheSmClock) {
  open(make_dims(1, 16, 16, 2048, 2048, 128, false));
  if (stopped()) return;
  gpu::GpuSession* s = session_.get();
  prepare_or_skip(KernelId::Fp16Flash, "fp16-fa");
  if (stopped()) return;
  const double peak_mhz = static_cast<double>(s->device().sm_clock_mhz);
  for (bool held : {true, false}) {
    gpu::TimedRun run;
    ASSERT_TRUE(s->time_once(KernelId::Fp16Flash, {true, held, true}, run).ok);
    EXPECT_GT(run.ms, 0);
    EXPECT_GT(run.sm_clock_mhz, 200) << "held " << held;
    if (peak_mhz > 0) EXPECT_LT(run.sm_clock_mhz, 1.1 * peak_mhz) << "held " << held << ", peak " << peak_mhz;
  }
  gpu::TimedRun unread{0, -1};
  ASSERT_TRUE(s->time_once(KernelId::Fp16Flash, {true, true, false}, unread).ok);
  EXPECT_EQ(unread.sm_clock_mhz, 0);
}

std::vector<float> download(gpu::GpuSession& s, gpu::GpuTensor t, KernelId op, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  const gpu::GpuStatus st = s.download(t, op, 0, count, out.data());
  EXPECT_TRUE(st.ok) << st.message;
  return out;
}

// FP16-representable inputs: Q and K in [-1, 1), V as given.
struct HostInputs {
  std::vector<float> q, k, v;
};
HostInputs host_inputs(const AttnDims& dims, float v_value) {
  HostInputs in{std::vector<float>(dims.q_elements()), std::vector<float>(dims.kv_elements()),
                std::vector<float>(dims.kv_elements(), v_value)};
  for (size_t i = 0; i < in.q.size(); ++i) in.q[i] = round_to_half(static_cast<float>(i * 37 % 200) / 100.f - 1.f);
  for (size_t i = 0; i < in.k.size(); ++i) in.k[i] = round_to_half(static_cast<float>(i * 53 % 200) / 100.f - 1.f);
  return in;
}

// The device's metrics follow the CPU's conventions on the same tensors: an all-zero
// reference (V = 0) gives NaN rel_l2 and cosine, never 0 and 1; a reference that is not
// finite (an infinite Q element) gives NaN everywhere, pointing at its first bad element.
TEST(GpuMetrics, ZeroOrNonFiniteReferenceIsNeverAccurate) {
  std::string why;
  if (gpu::device_count(why) == 0) GTEST_SKIP() << why;
  auto s = gpu::GpuSession::open(0, why);
  ASSERT_TRUE(s) << why;
  const AttnDims dims = make_dims(1, 2, 2, 64, 64, 64, false);
  s->set_op_settings({});
  for (const bool infinite_q : {false, true}) {
    SCOPED_TRACE(infinite_q ? "a Q element is +inf" : "V is all zeros");
    HostInputs in = host_inputs(dims, infinite_q ? 0.5f : 0.f);
    if (infinite_q) in.q[3 * dims.head_dim + 5] = std::numeric_limits<float>::infinity();  // row 3 of head 0
    ASSERT_TRUE(s->set_inputs(dims, in.q.data(), in.k.data(), in.v.data()).ok);
    ASSERT_TRUE(s->prepare(KernelId::Reference).ok);
    const gpu::GpuStatus st = s->prepare(KernelId::Fp16Flash);
    if (st.not_supported) GTEST_SKIP() << "fp16-fa not on this device: " << st.message;
    ASSERT_TRUE(st.ok) << st.message;
    gpu::ErrorMetrics m;
    ASSERT_TRUE(s->compare(KernelId::Fp16Flash, m).ok);
    const std::vector<float> out = download(*s, gpu::GpuTensor::Output, KernelId::Fp16Flash, dims.q_elements());
    const std::vector<float> ref = download(*s, gpu::GpuTensor::Output, KernelId::Reference, dims.q_elements());
    const Accuracy want = cpu::compute_accuracy(out, std::vector<double>(ref.begin(), ref.end()), host::q_shape(dims));

    EXPECT_TRUE(std::isnan(m.rel_l2)) << m.rel_l2;
    EXPECT_TRUE(std::isnan(m.cosine)) << m.cosine;
    EXPECT_TRUE(std::isnan(want.rel_l2) && std::isnan(want.cosine));
    EXPECT_EQ(std::isnan(m.mse), std::isnan(want.mse));
    EXPECT_EQ(m.max_abs_index, want.max_abs_index);
    EXPECT_EQ(m.nonfinite, want.nonfinite);
    if (infinite_q) {
      EXPECT_TRUE(std::isnan(m.mse) && std::isnan(m.max_abs_error));
      EXPECT_EQ(m.max_abs_index / dims.head_dim, 3);  // the first element of the row the inf reached
    } else {
      EXPECT_EQ(m.mse, 0);  // zero output against zero reference: no error, and still not accurate
      EXPECT_EQ(m.max_abs_error, 0);
      EXPECT_EQ(m.nonfinite, 0);
    }
    s->release(KernelId::Fp16Flash);
    s->release(KernelId::Reference);
  }
}

// End to end: an INT8 kernel on inputs whose reference is all zeros falls back, saying why.
TEST(GpuMetrics, BackendFallsBackOnAnAllZeroReference) {
  std::string why;
  auto backend = make_cuda_backend(0, why);
  if (!backend) GTEST_SKIP() << why;
  BenchCase c;
  c.dims = make_dims(1, 2, 2, 128, 128, 64, false);
  if (auto not_here = find_kernel("int8-fa")->unsupported_reason(c.dims, backend->caps())) {
    GTEST_SKIP() << "int8-fa: " << *not_here;
  }
  const fs::path dir = test_dir();
  const HostInputs in = host_inputs(c.dims, 0.f);
  host::write_npy((dir / "q.npy").string(), host::q_shape(c.dims), in.q, host::NpyDtype::Float16);
  host::write_npy((dir / "k.npy").string(), host::kv_shape(c.dims), in.k, host::NpyDtype::Float16);
  host::write_npy((dir / "v.npy").string(), host::kv_shape(c.dims), in.v, host::NpyDtype::Float16);
  c.input.npy_dir = dir.string();
  c.id = make_case_id(c.dims, c.input);
  RunSettings settings;
  settings.kernels = {"int8-fa"};
  settings.measure.min_samples = 2;
  settings.measure.max_seconds = 0.05;
  const CaseResult r = run_one_case(c, *backend, settings);
  fs::remove_all(dir);
  ASSERT_EQ(r.kernels.size(), 1u);
  const KernelResult& k = r.kernels[0];
  ASSERT_EQ(k.status, KernelStatus::Ok) << k.reason;
  ASSERT_TRUE(k.accuracy && k.fallback);
  EXPECT_TRUE(std::isnan(k.accuracy->rel_l2));
  EXPECT_EQ(k.fallback->decision, Decision::Fp16Fallback);
  bool says_why = false;
  for (const std::string& reason : k.fallback->reasons) says_why |= reason.find("all zeros") != std::string::npos;
  EXPECT_TRUE(says_why) << "reasons: " << ::testing::PrintToString(k.fallback->reasons);
  EXPECT_FALSE(k.fallback->rotated) << "no rotation fixes a zero reference";
}

}  // namespace
}  // namespace int8attn
