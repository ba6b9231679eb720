// `profile` on a GPU: the attention kernel alone takes time, and less than the kernel with its
// quantization (end to end); --once times exactly one launch; the command writes its JSON.
// Skips without a device.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "kernels/api.h"
#include "src/bench/profile.h"

namespace int8attn {
namespace {

namespace fs = std::filesystem;

class ProfileGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (gpu::device_count(why) < 1) GTEST_SKIP() << "no CUDA device: " << why;
  }

  // b1 h16 d128 s4096: the quantization is a clear part of the int8 kernels' end-to-end time.
  static ProfileRequest request(std::vector<std::string> kernels) {
    ProfileRequest r;
    r.shape = {{"--heads", "16"}, {"--head-dim", "128"}, {"--seq-len", "4096"}};
    r.kernels = std::move(kernels);
    r.max_seconds = 0.5;
    return r;
  }
};

TEST_F(ProfileGpu, KernelOnlyIsPositiveAndBelowEndToEnd) {
  const ProfileResult result = run_profile(plan_profile(request({"int8-fa", "int8-qk", "fp16-fa"})), 0);
  ASSERT_EQ(result.kernels.size(), 3u);
  EXPECT_EQ(result.environment.backend, "cuda");
  for (const ProfiledKernel& k : result.kernels) {
    if (k.status == KernelStatus::Skipped) continue;  // not on this GPU: the registry says why
    ASSERT_EQ(k.status, KernelStatus::Ok) << k.kernel << ": " << k.reason;
    ASSERT_TRUE(k.kernel_latency && k.end_to_end_latency) << k.kernel;
    EXPECT_GT(k.kernel_latency->median_ms, 0) << k.kernel;
    EXPECT_GT(k.kernel_latency->samples, 1) << k.kernel;
    EXPECT_FALSE(k.kernel_latency->stop_reason.empty()) << k.kernel;
    ASSERT_TRUE(k.kernel_tops && k.end_to_end_tops) << k.kernel;
    EXPECT_DOUBLE_EQ(*k.kernel_tops, attention_tops(result.profiled_case.dims, k.kernel_latency->median_ms));
    if (k.kernel == "fp16-fa") {  // nothing to quantize: kernel-only is the whole kernel
      EXPECT_FALSE(k.quantize_latency) << k.kernel;
      continue;
    }
    ASSERT_TRUE(k.quantize_latency) << k.kernel;
    EXPECT_GT(k.quantize_latency->median_ms, 0) << k.kernel;
    EXPECT_LT(k.kernel_latency->median_ms, k.end_to_end_latency->median_ms) << k.kernel;
    EXPECT_GT(*k.kernel_tops, *k.end_to_end_tops) << k.kernel;
  }
}

TEST_F(ProfileGpu, OnceTimesOneLaunch) {
  ProfileRequest r = request({"int8-fa"});
  r.once = true;
  const ProfileResult result = run_profile(plan_profile(r), 0);
  ASSERT_EQ(result.kernels.size(), 1u);
  const ProfiledKernel& k = result.kernels[0];
  if (k.status == KernelStatus::Skipped) GTEST_SKIP() << k.reason;
  ASSERT_EQ(k.status, KernelStatus::Ok) << k.reason;
  ASSERT_TRUE(k.kernel_latency);
  EXPECT_EQ(k.kernel_latency->samples, 1);
  EXPECT_GT(k.kernel_latency->median_ms, 0);
  EXPECT_FALSE(k.end_to_end_latency);
  EXPECT_FALSE(k.quantize_latency);
}

TEST_F(ProfileGpu, CommandWritesJsonAndRefusesToReplaceIt) {
  const fs::path dir = fs::temp_directory_path() / ("profile-gpu-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string json = (dir / "p.json").string();
  auto run = [&](const std::string& extra) {
    const std::string command = std::string(INT8ATTN_BENCH_EXE) +
                                " profile --heads 8 --head-dim 128 --seq-len 2048 --causal -k int8-fa,fp16-fa "
                                "--max-seconds 0.3 --json " + json + extra + " > /dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run(""), 0);
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("schema"), "int8attn-bench/profile/v1");
  EXPECT_EQ(j.at("case").at("id"), "b1-h8-kv8-q2048-k2048-d128-causal-normal-s0");
  ASSERT_EQ(j.at("kernels").size(), 2u);
  EXPECT_EQ(run(""), 2);  // exists: needs --force
  EXPECT_EQ(run(" --force"), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace int8attn
