// The sweep runner against a scripted backend: support checks, ordering, fallback, errors,
// interruption, checkpoint and resume.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

#include "src/bench/runner.h"
#include "tests/cpu/test_dir.h"
#include "src/model/case_filter.h"
#include "src/report/checkpoint.h"
#include "src/report/json_io.h"

using namespace int8attn;
namespace fs = std::filesystem;

namespace {

class ScriptedBackend : public Backend {
 public:
  std::function<void(const BenchCase&)> on_case;  // runs inside run_case (e.g. raise SIGINT)
  std::vector<std::string> ran;                   // case ids in order
  std::vector<size_t> kernels_asked;              // how many kernels each run was asked for
  std::string fail_kernel;                        // this kernel reports an error
  bool rotation_fixes_seq_77 = false;             // with the Hadamard rotation seq 77 is accurate

  BackendKind kind() const override { return BackendKind::Cpu; }
  DeviceCaps caps() const override { return {BackendKind::Cpu, "scripted"}; }
  Environment environment() const override { Environment e; e.backend = "cpu"; return e; }
  std::string skip_reason(const BenchCase& c, const RunSettings&) const override {
    return c.dims.seq_q > 1000 ? "too big for the test" : "";
  }
  CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                      const RunSettings&, const CaseDump&) override {
    ran.push_back(c.id);
    kernels_asked.push_back(kernels.size());
    if (on_case) on_case(c);
    const bool inaccurate = c.dims.seq_q == 77 && !(rotation_fixes_seq_77 && c.rotation == QkRotation::Hadamard);
    CaseResult r;
    for (auto it = kernels.rbegin(); it != kernels.rend(); ++it) {  // reversed on purpose
      KernelResult k;
      k.kernel = (*it)->name;
      if (k.kernel == fail_kernel) {
        k.status = KernelStatus::Error;
        k.reason = "boom";
      } else if ((*it)->family != KernelFamily::Reference) {
        k.accuracy = Accuracy{};
        k.accuracy->mse = inaccurate ? 1.0 : 1e-7;  // seq 77 crosses max_mse
        k.accuracy->cosine = 0.999;
      }
      r.kernels.push_back(k);
    }
    return r;
  }
};

BenchCase make_case(int64_t seq, int64_t head_dim) {
  BenchCase c;
  c.dims.seq_q = c.dims.seq_kv = seq;
  c.dims.head_dim = head_dim;
  c.id = make_case_id(c.dims, c.input);
  return c;
}

SweepConfig make_config() {
  SweepConfig cfg;
  cfg.path = "test.json";
  cfg.sha256 = "abc";
  cfg.cases = {make_case(16, 64), make_case(77, 64), make_case(16, 96), make_case(4096, 64)};
  cfg.settings.kernels = {"fp16-ref-cublaslt", "int8-fa", "int8-qk", "fp16-fa"};
  return cfg;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_test_dir("runner-test");
    options_.output_path = (dir_ / "report.json").string();
    options_.progress = ProgressMode::None;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  SweepOptions options_;
};

const KernelResult& kernel(const CaseResult& c, const std::string& name) {
  for (const KernelResult& k : c.kernels) {
    if (k.kernel == name) return k;
  }
  throw std::runtime_error("no kernel " + name);
}

}  // namespace

TEST_F(RunnerTest, RunsEveryCaseInConfigOrderAndAppliesPolicy) {
  ScriptedBackend backend;
  const SweepOutcome out = run_sweep(make_config(), backend, options_, ToolInfo{});
  ASSERT_EQ(out.report.cases.size(), 4u);
  EXPECT_TRUE(out.report.complete);
  EXPECT_FALSE(out.interrupted);
  // Kernels come back in the config's order even though the backend reversed them.
  EXPECT_EQ(out.report.cases[0].kernels[0].kernel, "fp16-ref-cublaslt");
  EXPECT_EQ(out.report.cases[0].kernels[3].kernel, "fp16-fa");
  EXPECT_EQ(kernel(out.report.cases[0], "int8-fa").fallback->decision, Decision::Int8);
  // The INT8 kernels that ran record the blocks the plan chose ("auto": 64 / 0 on this backend).
  EXPECT_EQ(kernel(out.report.cases[0], "int8-qk").quantization, (KernelQuantization{kGpuKvBlock, 0}));
  EXPECT_FALSE(kernel(out.report.cases[0], "fp16-fa").quantization);
  // seq 77: accuracy threshold crossed, also with the rotation the fallback tried.
  const FallbackDecision& seq77 = *kernel(out.report.cases[1], "int8-fa").fallback;
  EXPECT_EQ(seq77.decision, Decision::Fp16Fallback);
  ASSERT_TRUE(seq77.rotated);
  EXPECT_EQ(seq77.reasons.back(), "with the hadamard rotation: accuracy: mse 1 > max_mse 0.0001");
  // head_dim 96: the registry says shape unsupported; the reference still ran.
  const KernelResult& hd96 = kernel(out.report.cases[2], "int8-fa");
  EXPECT_EQ(hd96.status, KernelStatus::Skipped);
  EXPECT_NE(hd96.reason.find("head_dim 96"), std::string::npos);
  EXPECT_FALSE(hd96.quantization);  // skipped: nothing ran with them
  EXPECT_EQ(kernel(out.report.cases[2], "fp16-ref-cublaslt").status, KernelStatus::Ok);
  // seq 4096: the backend's skip reason applies to every kernel, and it never ran.
  EXPECT_EQ(kernel(out.report.cases[3], "fp16-ref-cublaslt").reason, "too big for the test");
  // seq 77 ran a second time, rotated, with its two INT8 kernels (and the reference they need).
  const std::vector<std::string> ran = {out.report.cases[0].id, out.report.cases[1].id,
                                        out.report.cases[1].id + "-hadamard", out.report.cases[2].id};
  EXPECT_EQ(backend.ran, ran);
  EXPECT_EQ(backend.kernels_asked, (std::vector<size_t>{4, 4, 2, 1}));
  // The report is on disk, readable, and the checkpoint is gone.
  EXPECT_EQ(read_report(options_.output_path).cases.size(), 4u);
  EXPECT_FALSE(fs::exists(checkpoint_path_for(options_.output_path)));
}

TEST_F(RunnerTest, RotatedVariantKeepsInt8WhereItPasses) {
  ScriptedBackend backend;
  backend.rotation_fixes_seq_77 = true;
  const SweepOutcome out = run_sweep(make_config(), backend, options_, ToolInfo{});
  for (const char* name : {"int8-fa", "int8-qk"}) {
    const FallbackDecision& d = *kernel(out.report.cases[1], name).fallback;
    EXPECT_EQ(d.decision, Decision::Int8Hadamard) << name;
    ASSERT_EQ(d.reasons.size(), 2u) << name;
    EXPECT_EQ(d.reasons[0], "accuracy: mse 1 > max_mse 0.0001");
    EXPECT_TRUE(d.reasons[1].starts_with("with the hadamard rotation: within every threshold")) << d.reasons[1];
    ASSERT_TRUE(d.rotated && d.rotated->accuracy);
    EXPECT_DOUBLE_EQ(d.rotated->accuracy->mse, 1e-7);
    EXPECT_DOUBLE_EQ(kernel(out.report.cases[1], name).accuracy->mse, 1.0);  // the case's own run
  }
  EXPECT_EQ(out.report.summary.int8_hadamard, 2);
  EXPECT_DOUBLE_EQ(out.report.summary.int8_share, 0.5);  // 4 of 8 kept INT8, 2 of them rotated; 4 skipped
  // The written report keeps the decision and the try.
  const CaseResult read_back = read_report(options_.output_path).cases[1];
  EXPECT_EQ(kernel(read_back, "int8-fa").fallback->decision, Decision::Int8Hadamard);
  EXPECT_DOUBLE_EQ(kernel(read_back, "int8-fa").fallback->rotated->accuracy->mse, 1e-7);
}

TEST_F(RunnerTest, NoRotatedTryWhenTheConfigTurnsItOffOrTheCaseIsRotatedAlready) {
  for (const bool turned_off : {true, false}) {
    ScriptedBackend backend;
    backend.rotation_fixes_seq_77 = true;
    SweepConfig config = make_config();
    if (turned_off) {
      config.settings.fallback_rotation = QkRotation::None;
    } else {  // the case's own run is the rotated one: nothing else to try
      backend.rotation_fixes_seq_77 = false;
      for (BenchCase& c : config.cases) {
        c.rotation = QkRotation::Hadamard;
        c.id = make_case_id(c.dims, c.input, c.rotation);
      }
    }
    const SweepOutcome out = run_sweep(config, backend, options_, ToolInfo{});
    EXPECT_EQ(backend.ran.size(), 3u) << "turned off: " << turned_off;
    const FallbackDecision& d = *kernel(out.report.cases[1], "int8-fa").fallback;
    EXPECT_EQ(d.decision, Decision::Fp16Fallback);
    EXPECT_FALSE(d.rotated);
  }
}

TEST_F(RunnerTest, KernelErrorIsRecordedAndTheSweepGoesOn) {
  ScriptedBackend backend;
  backend.fail_kernel = "int8-qk";
  const SweepOutcome out = run_sweep(make_config(), backend, options_, ToolInfo{});
  EXPECT_EQ(out.kernel_errors, 2);  // cases 0 and 1; head_dim 96 and seq 4096 are skipped
  EXPECT_EQ(kernel(out.report.cases[0], "int8-qk").fallback->decision, Decision::Fp16Fallback);
  EXPECT_EQ(kernel(out.report.cases[0], "int8-fa").status, KernelStatus::Ok);
}

// A backend that throws before any kernel ran (no inputs, no reference) fails every kernel
// of the case with the reason: an error, or a skip when the device cannot run it now.
TEST_F(RunnerTest, AFailureBeforeAnyKernelFailsEveryKernelOfTheCase) {
  ScriptedBackend backend;
  const RunSettings settings = make_config().settings;
  auto expect_every_kernel = [&](KernelStatus status, const std::string& reason) {
    const CaseResult r = run_one_case(make_case(16, 64), backend, settings);
    ASSERT_EQ(r.kernels.size(), settings.kernels.size());
    for (const KernelResult& k : r.kernels) {
      EXPECT_EQ(k.status, status) << k.kernel;
      EXPECT_EQ(k.reason, reason) << k.kernel;
    }
  };
  backend.on_case = [](const BenchCase&) { throw std::runtime_error("inputs: no q.npy"); };
  expect_every_kernel(KernelStatus::Error, "inputs: no q.npy");
  backend.on_case = [](const BenchCase&) { throw KernelSkipped("out of device memory: reference: 1 GiB"); };
  expect_every_kernel(KernelStatus::Skipped, "out of device memory: reference: 1 GiB");
}

TEST_F(RunnerTest, InterruptKeepsFinishedCasesAndResumeCompletesTheRest) {
  ScriptedBackend first;
  first.on_case = [&](const BenchCase& c) {
    if (c.dims.seq_q == 77) sweep_interrupt_flag().store(true);  // as SIGINT would
  };
  const SweepOutcome partial = run_sweep(make_config(), first, options_, ToolInfo{});
  EXPECT_TRUE(partial.interrupted);
  EXPECT_FALSE(partial.report.complete);
  EXPECT_EQ(partial.report.cases.size(), 2u);  // the running case finishes, then it stops
  EXPECT_FALSE(read_report(options_.output_path).complete);
  EXPECT_EQ(read_checkpoint(checkpoint_path_for(options_.output_path)).cases.size(), 2u);

  ScriptedBackend second;
  options_.resume = true;
  const SweepOutcome rest = run_sweep(make_config(), second, options_, ToolInfo{});
  EXPECT_TRUE(rest.report.complete);
  EXPECT_EQ(rest.resumed_cases, 2);
  EXPECT_EQ(second.ran.size(), 1u);  // only the head_dim-96 case was left to run on it
  ASSERT_EQ(rest.report.cases.size(), 4u);
  EXPECT_EQ(rest.report.cases[0].id, make_config().cases[0].id);
  EXPECT_EQ(rest.report.cases[3].id, make_config().cases[3].id);
}

// Ctrl-C before the first case finished: an earlier run's report at -o is kept, not replaced
// by one with no case; where -o is new, the incomplete report is written as before.
TEST_F(RunnerTest, InterruptBeforeAnyCaseKeepsAnEarlierReport) {
  ScriptedBackend backend;
  const SweepOutcome earlier = run_sweep(make_config(), backend, options_, ToolInfo{});
  ASSERT_TRUE(earlier.report_written);
  ASSERT_EQ(read_report(options_.output_path).cases.size(), 4u);

  const SweepConfig config = make_config();
  SweepOutcome stopped = SweepSession(config, options_, ToolInfo{}, {BackendKind::Cpu, "scripted", {}})
                             .finish(/*interrupted=*/true, /*all_ran=*/false);
  EXPECT_FALSE(stopped.report_written);
  EXPECT_TRUE(read_report(options_.output_path).complete);
  EXPECT_EQ(read_report(options_.output_path).cases.size(), 4u);

  options_.output_path = (dir_ / "new.json").string();
  stopped = SweepSession(config, options_, ToolInfo{}, {BackendKind::Cpu, "scripted", {}})
                .finish(/*interrupted=*/true, /*all_ran=*/false);
  EXPECT_TRUE(stopped.report_written);
  EXPECT_FALSE(read_report(options_.output_path).complete);
  EXPECT_TRUE(read_report(options_.output_path).cases.empty());
}

TEST_F(RunnerTest, ResumeRefusesACheckpointOfAnotherConfig) {
  ScriptedBackend backend;
  backend.on_case = [&](const BenchCase&) { sweep_interrupt_flag().store(true); };
  run_sweep(make_config(), backend, options_, ToolInfo{});
  SweepConfig other = make_config();
  other.sha256 = "different";
  options_.resume = true;
  EXPECT_THROW(run_sweep(other, backend, options_, ToolInfo{}), ResumeError);
}

// Cases of two builds (other kernels) would share one report and one commit.
TEST_F(RunnerTest, ResumeRefusesACheckpointOfAnotherBuild) {
  ScriptedBackend backend;
  backend.on_case = [&](const BenchCase&) { sweep_interrupt_flag().store(true); };
  const ToolInfo built{"int8attn-bench", "0.9.0", "aaaa111"};
  run_sweep(make_config(), backend, options_, built);
  options_.resume = true;
  backend.on_case = nullptr;
  try {
    run_sweep(make_config(), backend, options_, ToolInfo{"int8attn-bench", "0.9.0", "bbbb222"});
    FAIL() << "resumed a checkpoint of another commit";
  } catch (const ResumeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("another build of the tool"), std::string::npos) << what;
    EXPECT_NE(what.find("aaaa111"), std::string::npos) << what;
    EXPECT_NE(what.find("bbbb222"), std::string::npos) << what;
  }
  EXPECT_THROW(run_sweep(make_config(), backend, options_, ToolInfo{"int8attn-bench", "1.0.0", "aaaa111"}),
               ResumeError);
  const SweepOutcome same = run_sweep(make_config(), backend, options_, built);
  EXPECT_EQ(same.report.cases.size(), 4u);
}

// The same command run again with --resume after it finished: the error says the sweep is done.
TEST_F(RunnerTest, ResumeAfterAFinishedSweepSaysThereIsNothingToResume) {
  ScriptedBackend backend;
  ASSERT_TRUE(run_sweep(make_config(), backend, options_, ToolInfo{}).report.complete);
  options_.resume = true;
  try {
    run_sweep(make_config(), backend, options_, ToolInfo{});
    FAIL() << "resumed without a checkpoint";
  } catch (const ResumeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("is a complete report"), std::string::npos) << what;
    EXPECT_NE(what.find("nothing to resume"), std::string::npos) << what;
  }
  EXPECT_EQ(read_report(options_.output_path).cases.size(), 4u) << "the finished report is kept";
}

TEST_F(RunnerTest, ResumeWithoutCheckpointIsAnError) {
  ScriptedBackend backend;
  options_.resume = true;
  EXPECT_THROW(run_sweep(make_config(), backend, options_, ToolInfo{}), ResumeError);
}

TEST_F(RunnerTest, FilterSelectsCasesByGlobOrSubstring) {
  const SweepConfig config = make_config();
  const std::vector<BenchCase> by_substring = select_cases(config.cases, "-q77-", "--filter");
  ASSERT_EQ(by_substring.size(), 1u);
  EXPECT_EQ(by_substring[0].dims.seq_q, 77);
  const std::vector<BenchCase> by_glob = select_cases(config.cases, "b1-*-q7[0-9]-*", "--filter");
  ASSERT_EQ(by_glob.size(), 1u);
  EXPECT_EQ(by_glob[0].id, by_substring[0].id);
  EXPECT_EQ(select_cases(config.cases, "", "--filter").size(), config.cases.size());
}

TEST_F(RunnerTest, FilterMatchingNothingNamesTheOptionAndShowsIds) {
  const SweepConfig config = make_config();
  try {
    select_cases(config.cases, "b2-*", "--filter");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--filter 'b2-*'"), std::string::npos) << what;
    EXPECT_NE(what.find(config.cases[0].id), std::string::npos) << what;
  }
}

TEST(AttentionFlops, CausalIsHalf) {
  AttnDims d;
  d.batch = 2; d.heads = 4; d.seq_q = d.seq_kv = 1024; d.head_dim = 128;
  EXPECT_DOUBLE_EQ(attention_flops(d), 4.0 * 2 * 4 * 1024 * 1024 * 128);
  d.causal = true;
  EXPECT_DOUBLE_EQ(attention_flops(d), 2.0 * 2 * 4 * 1024 * 1024 * 128);
}

// GNU timeout sends its signal to the sweep and then to its own process group, which holds the
// sweep too: the two arrive together and are one stop. Before, the second killed the sweep
// before it wrote its report (the helper's 3-6 runs in 50 under `timeout 1`).
TEST(StopSignalGuard, TheSameStopDeliveredTwiceIsOneStop) {
  sweep_interrupt_flag().store(false);
  {
    StopSignalGuard guard;
    std::raise(SIGTERM);
    std::raise(SIGTERM);  // the process group's copy
    std::raise(SIGINT);
  }
  EXPECT_TRUE(sweep_interrupt_flag().load());
  sweep_interrupt_flag().store(false);
}

// A second stop after the window is a second request: it ends the process at once, with the
// signal's default action (as before, so a shell sees "killed by SIGTERM").
TEST(StopSignalGuardDeathTest, ASecondStopLaterKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignalGuard guard;
        std::raise(SIGTERM);
        std::this_thread::sleep_for(std::chrono::milliseconds(kSameStopWindowMs + 200));
        std::raise(SIGTERM);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGTERM), "");
}

// An earlier sweep's stop is not this guard's first: its first signal only stops.
TEST(StopSignalGuard, EachGuardStartsAfresh) {
  sweep_interrupt_flag().store(false);
  { StopSignalGuard guard; std::raise(SIGINT); }
  sweep_interrupt_flag().store(false);
  { StopSignalGuard guard; std::raise(SIGINT); }
  EXPECT_TRUE(sweep_interrupt_flag().load());
  sweep_interrupt_flag().store(false);
}

// A closed terminal (SIGHUP) stops the sweep as Ctrl-C does, so its report is written; under
// nohup (SIGHUP ignored before the sweep) it stays ignored.
TEST(StopSignalGuard, HangupStopsUnlessIgnored) {
  const auto outer = std::signal(SIGHUP, SIG_DFL);  // as in a terminal (this test may itself run under nohup)
  sweep_interrupt_flag().store(false);
  { StopSignalGuard guard; std::raise(SIGHUP); }
  EXPECT_TRUE(sweep_interrupt_flag().load());
  sweep_interrupt_flag().store(false);
  std::signal(SIGHUP, SIG_IGN);
  { StopSignalGuard guard; std::raise(SIGHUP); }
  EXPECT_FALSE(sweep_interrupt_flag().load()) << "nohup's SIGHUP was taken for a stop";
  EXPECT_EQ(std::signal(SIGHUP, outer), SIG_IGN) << "the guard did not give back the ignored SIGHUP";
}
