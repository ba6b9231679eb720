// Sweeps on several worker processes (sweep --devices) with a scripted backend in each:
// every case once, each with the device that ran it; a worker's death fails only its case;
// Ctrl-C and --resume behave as for one device.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "src/bench/runner.h"
#include "tests/cpu/test_dir.h"
#include "src/bench/worker_pool.h"
#include "src/config/sweep_config.h"
#include "src/report/checkpoint.h"
#include "src/report/json_io.h"

using namespace int8attn;
namespace fs = std::filesystem;

namespace {

// What a worker's backend does with each case; runs in the worker process.
struct Script {
  std::string crash_on;      // abort() on this case id
  bool crash_always = false;
  std::string interrupt_on;  // send SIGINT to the parent (Ctrl-C) on this case id
  int fail_to_start = -1;    // this slot's backend cannot be made (-2: none can)
  int delay_ms = 0;          // each case but interrupt_on's takes this long
  std::string hang_on;       // this case takes 30 s (a hung GPU, as far as a test can wait)
  std::string hang_on_restart;  // a folder: a slot's restart, once it started there, takes 30 s
};

class WorkerBackend : public Backend {
 public:
  explicit WorkerBackend(Script script) : script_(std::move(script)) {}
  BackendKind kind() const override { return BackendKind::Cpu; }
  DeviceCaps caps() const override { return {BackendKind::Cpu, "scripted"}; }
  Environment environment() const override {
    Environment e;
    e.backend = "cpu";
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    e.hostname = visible ? std::string("visible=") + visible : "test-host";
    return e;
  }
  std::string skip_reason(const BenchCase&, const RunSettings&) const override { return {}; }
  CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels, const RunSettings&,
                      const CaseDump&) override {
    if (script_.crash_always || c.id == script_.crash_on) std::abort();
    for (int s = 0; s < 30 && c.id == script_.hang_on; ++s) std::this_thread::sleep_for(std::chrono::seconds(1));
    if (c.id == script_.interrupt_on) ::kill(::getppid(), SIGINT);
    else if (script_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(script_.delay_ms));
    CaseResult r = case_result_for(c);
    for (const KernelSpec* k : kernels) {
      KernelResult result = status_result(k->name, KernelStatus::Ok, "pid " + std::to_string(::getpid()));
      if (k->family != KernelFamily::Reference) result.accuracy = Accuracy{};
      r.kernels.push_back(result);
    }
    return r;
  }

 private:
  Script script_;
};

// The same backend in a sweep without workers, stopped as by Ctrl-C after `stop_after` cases.
class InlineBackend : public WorkerBackend {
 public:
  InlineBackend(Script script, int stop_after) : WorkerBackend(std::move(script)), stop_after_(stop_after) {}
  CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                      const RunSettings& settings, const CaseDump& dump) override {
    if (--stop_after_ == 0) sweep_interrupt_flag().store(true);
    return WorkerBackend::run_case(c, kernels, settings, dump);
  }

 private:
  int stop_after_;
};

class WorkerPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_test_dir("pool-test");
    options_.output_path = (dir_ / "report.json").string();
    options_.progress = ProgressMode::None;
    options_.notes = false;
  }
  void TearDown() override { fs::remove_all(dir_); }

  WorkerPoolOptions pool(const Script& script, int workers = 2) const {
    WorkerPoolOptions p;
    for (int i = 0; i < workers; ++i) p.slots.push_back({i, "w" + std::to_string(i)});
    p.make_backend = [script](const WorkerSlot& slot) -> std::unique_ptr<Backend> {
      if (script.fail_to_start == -2 || script.fail_to_start == slot.number) {
        throw std::runtime_error("no device " + std::to_string(slot.number) + " here");
      }
      if (!script.hang_on_restart.empty()) {
        const fs::path started = fs::path(script.hang_on_restart) / ("started-" + std::to_string(slot.number));
        if (fs::exists(started)) std::this_thread::sleep_for(std::chrono::seconds(30));
        std::ofstream{started};
      }
      return std::make_unique<WorkerBackend>(script);
    };
    return p;
  }

  SweepOutcome run(const Script& script, int workers = 2) {
    return run_sweep_on_workers(config_, pool(script, workers), options_, ToolInfo{});
  }

  std::string case_id(size_t i) const { return config_.cases.at(i).id; }

  SweepConfig config_ = parse_sweep_config(
      R"({"axes": {"batch": [1], "heads": [2], "seq_len": [16, 32, 48, 64, 80, 96, 112, 128], "head_dim": [64]}})",
      "pool.json");
  fs::path dir_;
  SweepOptions options_;
};

std::vector<std::string> ids_of(const Report& r) {
  std::vector<std::string> ids;
  for (const CaseResult& c : r.cases) ids.push_back(c.id);
  return ids;
}

std::vector<std::string> ids_of(const SweepConfig& config) {
  std::vector<std::string> ids;
  for (const BenchCase& c : config.cases) ids.push_back(c.id);
  return ids;
}

// Every case ran but `victim`, whose reference (and so every kernel) failed; returns it.
const CaseResult& only_failed_case(const Report& report, const std::string& victim) {
  const CaseResult* failed = nullptr;
  for (const CaseResult& c : report.cases) {
    if (c.id == victim) {
      failed = &c;
      continue;
    }
    EXPECT_EQ(c.kernels.at(0).status, KernelStatus::Ok) << c.id;
  }
  if (!failed) throw std::runtime_error("no case " + victim + " in the report");
  EXPECT_EQ(failed->kernels.at(0).status, KernelStatus::Error);
  return *failed;
}

}  // namespace

TEST_F(WorkerPoolTest, EveryCaseOnceInWorkerProcessesEachCaseWithItsDevice) {
  const SweepOutcome out = run({});
  EXPECT_EQ(ids_of(out.report), ids_of(config_));  // the config's order, whoever finished first
  EXPECT_TRUE(out.report.complete);
  EXPECT_EQ(out.kernel_errors, 0);
  std::set<std::string> pids;
  std::set<int64_t> devices;
  for (const CaseResult& c : out.report.cases) {
    ASSERT_TRUE(c.environment && c.environment->device) << c.id;
    devices.insert(*c.environment->device);
    pids.insert(c.kernels.at(0).reason);
  }
  EXPECT_EQ(devices, (std::set<int64_t>{0, 1}));
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_EQ(pids.count("pid " + std::to_string(::getpid())), 0u) << "a case ran in the parent";
  // On disk: both environments, each case's index resolving to its device.
  const Report read = read_report(options_.output_path);
  ASSERT_EQ(read.environments.size(), 2u);
  for (size_t i = 0; i < read.cases.size(); ++i) {
    EXPECT_EQ(read.cases[i].environment, out.report.cases[i].environment) << read.cases[i].id;
  }
  EXPECT_FALSE(fs::exists(checkpoint_path_for(options_.output_path)));
}

TEST_F(WorkerPoolTest, ACrashFailsOnlyItsCaseAndTheWorkerStartsAgain) {
  const std::string victim = case_id(2);
  const SweepOutcome out = run({.crash_on = victim});
  ASSERT_EQ(ids_of(out.report), ids_of(config_));
  EXPECT_TRUE(out.report.complete);
  EXPECT_FALSE(out.workers_lost);
  const CaseResult& failed = only_failed_case(out.report, victim);
  const std::string& reason = failed.kernels.at(0).reason;
  EXPECT_NE(reason.find("killed by signal 6"), std::string::npos) << reason;
  EXPECT_NE(reason.find("while running this case"), std::string::npos) << reason;
  for (const KernelResult& k : failed.kernels) {
    if (k.kernel == "fp16-cudnn") EXPECT_EQ(k.status, KernelStatus::Skipped) << "support rules still apply";
    if (k.kernel == "int8-fa") EXPECT_EQ(k.fallback->decision, Decision::Fp16Fallback);
  }
  EXPECT_EQ(out.kernel_errors, 4);  // the reference, int8-fa, int8-qk and fp16-fa of the one case
}

TEST_F(WorkerPoolTest, ACaseThatHangsIsKilledAfterTheTimeoutAndTheSweepGoesOn) {
  const std::string victim = case_id(3);
  WorkerPoolOptions p = pool({.hang_on = victim});
  p.case_timeout_s = 0.5;
  const auto start = std::chrono::steady_clock::now();
  const SweepOutcome out = run_sweep_on_workers(config_, p, options_, ToolInfo{});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_EQ(ids_of(out.report), ids_of(config_));
  EXPECT_TRUE(out.report.complete);
  const CaseResult& failed = only_failed_case(out.report, victim);
  const std::string& reason = failed.kernels.at(0).reason;
  EXPECT_NE(reason.find("no result within --case-timeout 0.5 s"), std::string::npos) << reason;
  EXPECT_GE(failed.wall_seconds, 0.5);
}

// A crash on a GPU that hung up: the restart hangs too (in CUDA's start-up). The sweep must
// neither wait for it after its last case nor, with --case-timeout, forever.
TEST_F(WorkerPoolTest, ARestartThatHangsHoldsNoSweep) {
  const std::string victim = case_id(3);
  const auto start = std::chrono::steady_clock::now();
  const SweepOutcome out = run({.crash_on = victim, .hang_on_restart = dir_.string()});  // w1 takes the rest
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(ids_of(out.report), ids_of(config_));
  EXPECT_TRUE(out.report.complete);

  fs::remove(options_.output_path);
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) fs::remove(e.path());
  WorkerPoolOptions alone = pool({.crash_on = victim, .hang_on_restart = dir_.string()}, 1);
  alone.case_timeout_s = 0.5;
  const auto again = std::chrono::steady_clock::now();
  const SweepOutcome lost = run_sweep_on_workers(config_, alone, options_, ToolInfo{});
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::seconds(20));
  EXPECT_TRUE(lost.workers_lost);  // killed at each restart, then retired: --resume continues
  EXPECT_FALSE(lost.report.complete);
}

TEST_F(WorkerPoolTest, AWorkerThatCannotStartLeavesItsCasesToTheOthers) {
  const SweepOutcome out = run({.fail_to_start = 1}, 3);
  EXPECT_EQ(ids_of(out.report), ids_of(config_));
  EXPECT_TRUE(out.report.complete);
  for (const CaseResult& c : out.report.cases) EXPECT_NE(c.environment->device, 1) << c.id;
}

TEST_F(WorkerPoolTest, NoWorkerStartingIsAnErrorWithEachReason) {
  try {
    run({.fail_to_start = -2});
    FAIL() << "a sweep without workers";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no device 0 here"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no device 1 here"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(options_.output_path));
}

TEST_F(WorkerPoolTest, WorkersThatKeepDyingAreRetiredAndTheReportSaysIncomplete) {
  WorkerPoolOptions p = pool({.crash_always = true}, 1);
  p.max_restarts = 1;
  const SweepOutcome out = run_sweep_on_workers(config_, p, options_, ToolInfo{});
  EXPECT_TRUE(out.workers_lost);
  EXPECT_FALSE(out.interrupted);
  EXPECT_FALSE(out.report.complete);
  ASSERT_EQ(out.report.cases.size(), 2u);  // the first start and the one restart each failed a case
  EXPECT_TRUE(fs::exists(checkpoint_path_for(options_.output_path)));
  // --resume with healthy workers runs the rest.
  options_.resume = true;
  const SweepOutcome resumed = run({});
  EXPECT_EQ(resumed.resumed_cases, 2);
  EXPECT_EQ(ids_of(resumed.report), ids_of(config_));
  EXPECT_TRUE(resumed.report.complete);
}

TEST_F(WorkerPoolTest, CtrlCLetsRunningCasesFinishThenResumeCompletes) {
  // Equal estimates: case 0 is handed out first. The others take 100 ms each, so that the other
  // worker cannot finish all of them before the first one has started and pressed Ctrl-C (on a
  // loaded 2-core CI machine it once did, in the 0.2 s the whole test took).
  const SweepOutcome out = run({.interrupt_on = case_id(0), .delay_ms = 100});
  EXPECT_TRUE(out.interrupted);
  EXPECT_FALSE(out.report.complete);
  EXPECT_LT(out.report.cases.size(), config_.cases.size());
  EXPECT_GE(out.report.cases.size(), 1u);  // the case that pressed Ctrl-C finished and is kept
  EXPECT_TRUE(fs::exists(checkpoint_path_for(options_.output_path)));
  options_.resume = true;
  const SweepOutcome resumed = run({});
  EXPECT_EQ(resumed.resumed_cases, static_cast<int64_t>(out.report.cases.size()));
  EXPECT_EQ(ids_of(resumed.report), ids_of(config_));
  EXPECT_TRUE(resumed.report.complete);
}

TEST_F(WorkerPoolTest, ResumesTheCheckpointOfASweepWithoutWorkers) {
  InlineBackend backend({}, 3);
  const SweepOutcome first = run_sweep(config_, backend, options_, ToolInfo{});
  ASSERT_TRUE(first.interrupted);
  ASSERT_EQ(first.report.cases.size(), 3u);
  options_.resume = true;
  const SweepOutcome resumed = run({});
  EXPECT_EQ(resumed.resumed_cases, 3);
  EXPECT_EQ(ids_of(resumed.report), ids_of(config_));
  EXPECT_TRUE(resumed.report.complete);
  // A case of the first run keeps that run's environment (from the checkpoint's header): it
  // is credited neither to a worker nor to the report's environment, which is a worker's now.
  ASSERT_TRUE(resumed.report.cases[0].environment.has_value());
  EXPECT_EQ(*resumed.report.cases[0].environment, first.report.environment);
  EXPECT_FALSE(resumed.report.cases[0].environment->device.has_value()) << "a case of the first run gained a device";
  EXPECT_NE(resumed.report.environment, first.report.environment);
  EXPECT_TRUE(resumed.report.cases[7].environment.has_value());
  EXPECT_TRUE(resumed.report.cases[7].environment->device.has_value());
}

TEST(DeviceList, AllOrDistinctIndices) {
  EXPECT_TRUE(parse_device_list("all").every_gpu);
  EXPECT_EQ(parse_device_list("0,1,3").indices, (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(parse_device_list("2").indices, (std::vector<int64_t>{2}));
  for (const char* bad : {"", "0,", ",1", "0,,1", "a", "-1", "1,1", "0 1", "All", "1234567"}) {
    EXPECT_THROW(parse_device_list(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(DeviceList, CudaVisibleDevicesMapThroughTheProcesssOwnList) {
  const char* saved = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string restore = saved ? saved : "";
  ::unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_EQ(cuda_visible_devices_for(3), "3");
  ::setenv("CUDA_VISIBLE_DEVICES", "5,7,GPU-1234", 1);  // what Slurm gives a job
  EXPECT_EQ(cuda_visible_devices_for(0), "5");
  EXPECT_EQ(cuda_visible_devices_for(1), "7");
  EXPECT_EQ(cuda_visible_devices_for(2), "GPU-1234");
  if (saved) ::setenv("CUDA_VISIBLE_DEVICES", restore.c_str(), 1); else ::unsetenv("CUDA_VISIBLE_DEVICES");
}

TEST_F(WorkerPoolTest, EachWorkerSeesOnlyItsOwnGpu) {
  const char* saved = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string restore = saved ? saved : "";
  ::setenv("CUDA_VISIBLE_DEVICES", "4,6", 1);
  WorkerPoolOptions p = pool({});
  p.cuda_visible_devices = true;
  const SweepOutcome out = run_sweep_on_workers(config_, p, options_, ToolInfo{});
  if (saved) ::setenv("CUDA_VISIBLE_DEVICES", restore.c_str(), 1); else ::unsetenv("CUDA_VISIBLE_DEVICES");
  for (const CaseResult& c : out.report.cases) {
    EXPECT_EQ(c.environment->hostname, *c.environment->device == 0 ? "visible=4" : "visible=6") << c.id;
  }
}
