// sweep --devices on a machine with two or more GPUs, through the command line as a user
// runs it: one worker per GPU, one report whose cases say which GPU ran them, a killed
// worker failing only its case. Skips with fewer than two devices.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "kernels/api.h"
#include "src/report/json_io.h"

namespace int8attn {
namespace {

namespace fs = std::filesystem;

// The tool under test: the build's, or INT8ATTN_BENCH_EXE's where the binaries moved (the GPU
// machine's copy of a development machine's build: scripts/device-check.sh BINS).
std::string bench_exe() {
  const char* moved = std::getenv("INT8ATTN_BENCH_EXE");
  return moved != nullptr && *moved != '\0' ? moved : INT8ATTN_BENCH_EXE;
}

// Short GPU cases with a short sampling budget: about a second each.
const char* kConfig = R"({"axes": {"batch": [1], "heads": [8], "seq_len": [1024, 2048, 4096],
  "head_dim": [64, 128], "causal": [false, true]},
  "measurement": {"max_seconds": 0.3, "min_seconds": 0.05}})";

class MultiGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    gpus_ = gpu::device_count(why);
    if (gpus_ < 2) GTEST_SKIP() << "needs two GPUs, found " << gpus_ << (why.empty() ? "" : ": " + why);
    dir_ = fs::temp_directory_path() / ("multi-gpu-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.json") << kConfig;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs `sweep` with `args` (a shell fragment); returns its exit code.
  int sweep(const std::string& report, const std::string& args) {
    const std::string command = bench_exe() + " sweep --backend cuda -q --format none -c " +
                                (dir_ / "config.json").string() + " -o " + (dir_ / report).string() + " " + args;
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  int gpus_ = 0;
  fs::path dir_;
};

std::set<int64_t> devices_used(const Report& r) {
  std::set<int64_t> used;
  for (const CaseResult& c : r.cases) {
    EXPECT_TRUE(c.environment && c.environment->device) << c.id << " does not say which GPU ran it";
    if (c.environment && c.environment->device) used.insert(*c.environment->device);
  }
  return used;
}

TEST_F(MultiGpuTest, TwoGpusOneReportEachCaseWithTheGpuThatRanIt) {
  ASSERT_EQ(sweep("one.json", "--device 0"), 0);
  ASSERT_EQ(sweep("two.json", "--devices 0,1"), 0);
  const Report one = read_report((dir_ / "one.json").string());
  const Report two = read_report((dir_ / "two.json").string());
  EXPECT_TRUE(two.complete);
  ASSERT_EQ(two.cases.size(), one.cases.size());
  for (size_t i = 0; i < one.cases.size(); ++i) EXPECT_EQ(two.cases[i].id, one.cases[i].id);
  EXPECT_EQ(devices_used(two), (std::set<int64_t>{0, 1}));
  ASSERT_EQ(two.environments.size(), 2u);
  for (const Environment& env : two.environments) {
    EXPECT_EQ(env.backend, "cuda");
    EXPECT_FALSE(env.gpu_name.empty());
  }
  for (const CaseResult& c : two.cases) {
    for (const KernelResult& k : c.kernels) EXPECT_NE(k.status, KernelStatus::Error) << c.id << " " << k.kernel << ": " << k.reason;
  }
}

TEST_F(MultiGpuTest, DevicesAllUsesEveryGpu) {
  ASSERT_EQ(sweep("all.json", "--devices all"), 0);
  const Report all = read_report((dir_ / "all.json").string());
  EXPECT_EQ(all.environments.size(), static_cast<size_t>(gpus_));
  EXPECT_TRUE(all.complete);
}

TEST_F(MultiGpuTest, AKilledWorkerFailsOnlyItsCase) {
  // Kill one worker once both have started a case; the sweep goes on without losing cases.
  const std::string report = (dir_ / "killed.json").string();
  const std::string command =
      "bash -c '" + bench_exe() + " sweep --backend cuda -q --format none --devices 0,1 -c " +
      (dir_ / "config.json").string() + " -o " + report +
      " & p=$!; for i in $(seq 300); do [ $(pgrep -P $p | wc -l) = 2 ] && break; sleep 0.1; done; sleep 3; "
      "kill -KILL $(pgrep -P $p | head -1); wait $p'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "a failed case makes the exit code 1";
  const Report r = read_report(report);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.cases.size(), 12u);
  int failed = 0;
  for (const CaseResult& c : r.cases) {
    const KernelResult& reference = c.kernels.at(0);
    if (reference.status == KernelStatus::Error) {
      ++failed;
      EXPECT_NE(reference.reason.find("killed by signal 9"), std::string::npos) << reference.reason;
    }
  }
  EXPECT_EQ(failed, 1);
}

}  // namespace
}  // namespace int8attn
