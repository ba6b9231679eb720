// `int8attn-bench profile` without a GPU: the command line resolved into one case (the config's
// names and checks, errors naming the flag), its views, and the command's exit codes. The
// measurement itself is tests/gpu/test_profile.cpp's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "src/bench/profile.h"
#include "tests/cpu/test_dir.h"
#include "src/config/sweep_config.h"
#include "src/report/profile_render.h"
#if INT8ATTN_HAVE_CUDA
#include "kernels/api.h"
#endif

namespace int8attn {
namespace {

namespace fs = std::filesystem;

ProfileRequest shape(std::vector<ShapeValue> flags) {
  ProfileRequest r;
  r.shape = std::move(flags);
  return r;
}

ProfileRequest basic() { return shape({{"--heads", "8"}, {"--head-dim", "128"}, {"--seq-len", "1024"}}); }

// The message of what plan_profile throws (std::invalid_argument or ConfigError), "" if nothing.
std::string error_of(const ProfileRequest& r) {
  try {
    plan_profile(r);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

class ProfileFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_test_dir("profile-test");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST(ProfilePlan, ShapeFlagsGiveOneCaseWithTheConfigDefaults) {
  ProfileRequest r = shape({{"--heads", "32"}, {"--kv-heads", "8"}, {"--seq-q", "1"}, {"--seq-kv", "8192"},
                            {"--head-dim", "64"}, {"--causal", "true"}, {"--distribution", "outlier-channels"},
                            {"--seed", "7"}, {"--batch", "2"}});
  const ProfilePlan plan = plan_profile(r);
  const AttnDims& d = plan.profiled_case.dims;
  EXPECT_EQ(d.batch, 2);
  EXPECT_EQ(d.heads, 32);
  EXPECT_EQ(d.kv_heads, 8);
  EXPECT_EQ(d.seq_q, 1);
  EXPECT_EQ(d.seq_kv, 8192);
  EXPECT_EQ(d.head_dim, 64);
  EXPECT_TRUE(d.causal);
  EXPECT_EQ(plan.profiled_case.input.distribution, Distribution::OutlierChannels);
  EXPECT_EQ(plan.profiled_case.input.seed, 7u);
  EXPECT_EQ(plan.profiled_case.id, make_case_id(d, plan.profiled_case.input));
  EXPECT_FALSE(plan.once);
  // No -k: the config's kernels (here the default list) without the reference.
  ASSERT_FALSE(plan.kernels.empty());
  for (const KernelSpec* k : plan.kernels) EXPECT_NE(k->id, KernelId::Reference) << k->name;
}

TEST(ProfilePlan, KernelsInTheOrderGivenAndRotationAndSamplingFlags) {
  ProfileRequest r = basic();
  r.shape.push_back({"--rotation", "hadamard"});
  r.kernels = {"fp16-fa", "int8-fa", "fp16-ref-cublaslt"};
  r.min_samples = 3;
  r.max_seconds = 0.5;
  r.max_noise = 0.02;
  r.k_granularity = "as-q";
  r.once = true;
  const ProfilePlan plan = plan_profile(r);
  ASSERT_EQ(plan.kernels.size(), 3u);
  EXPECT_EQ(plan.kernels[0]->name, "fp16-fa");
  EXPECT_EQ(plan.kernels[1]->name, "int8-fa");
  EXPECT_EQ(plan.kernels[2]->id, KernelId::Reference);  // asked for: timed like any other
  EXPECT_EQ(plan.profiled_case.rotation, QkRotation::Hadamard);
  EXPECT_EQ(plan.settings.measure.min_samples, 3);
  EXPECT_DOUBLE_EQ(plan.settings.measure.max_seconds, 0.5);
  EXPECT_DOUBLE_EQ(plan.settings.measure.target_noise, 0.02);
  EXPECT_FALSE(plan.settings.auto_k_granularity);  // --k-granularity as-q
  EXPECT_TRUE(plan_profile(basic()).settings.auto_k_granularity);
  EXPECT_TRUE(plan.once);
}

TEST(ProfilePlan, EveryShapeFlagIsAConfigAxis) {
  std::vector<std::string> flags;
  for (const ProfileShapeFlag& f : profile_shape_flags()) {
    std::string axis = f.axis;
    for (char& c : axis) c = c == '_' ? '-' : c;
    EXPECT_EQ(std::string("--") + axis, f.flag);  // the config's name, dashed
  }
  EXPECT_EQ(profile_shape_flags().size(), 11u);
}

TEST(ProfilePlan, BadValuesNameTheFlagAndWhatWasExpected) {
  ProfileRequest zero = shape({{"--heads", "0"}, {"--head-dim", "128"}, {"--seq-len", "1024"}});
  try {
    plan_profile(zero);
    FAIL() << "--heads 0 accepted";
  } catch (const ConfigError& e) {  // the config's own check, exit 2 in the CLI
    EXPECT_EQ(e.file(), "--heads 0");
    EXPECT_CONTAINS(e.message(), "expected");
  }
  ProfileRequest gqa = basic();
  gqa.shape.push_back({"--kv-heads", "3"});
  EXPECT_CONTAINS(error_of(gqa), "--kv-heads 3");
  ProfileRequest family = basic();
  family.shape.push_back({"--distribution", "gaussian"});
  EXPECT_CONTAINS(error_of(family), "--distribution gaussian");
  ProfileRequest causal = basic();
  causal.shape.push_back({"--causal", "maybe"});
  EXPECT_CONTAINS(error_of(causal), "--causal maybe");
  ProfileRequest dim = shape({{"--heads", "8"}, {"--head-dim", "-64"}, {"--seq-len", "1024"}});
  EXPECT_CONTAINS(error_of(dim), "--head-dim -64");
  ProfileRequest samples = basic();
  samples.min_samples = 0;
  EXPECT_CONTAINS(error_of(samples), "--min-samples");
}

TEST(ProfilePlan, OneValuePerFlagAndEachFlagOnce) {
  ProfileRequest several = shape({{"--heads", "8"}, {"--head-dim", "128"}, {"--seq-len", "1024,4096"}});
  const std::string e = error_of(several);
  EXPECT_CONTAINS(e, "--seq-len 1024,4096");
  EXPECT_CONTAINS(e, "expected one value");
  ProfileRequest twice = basic();
  twice.shape.push_back({"--heads", "16"});
  EXPECT_CONTAINS(error_of(twice), "--heads: given twice");
  ProfileRequest empty = basic();
  empty.shape.push_back({"--seed", ""});
  EXPECT_CONTAINS(error_of(empty), "--seed: expected a value");
}

TEST(ProfilePlan, AShapeNeedsHeadsHeadDimAndALength) {
  EXPECT_CONTAINS(error_of(ProfileRequest{}), "expected a shape");
  EXPECT_CONTAINS(error_of(shape({{"--heads", "8"}, {"--seq-len", "64"}})), "missing --head-dim");
  EXPECT_CONTAINS(error_of(shape({{"--head-dim", "64"}, {"--seq-len", "64"}})), "missing --heads");
  EXPECT_CONTAINS(error_of(shape({{"--heads", "8"}, {"--head-dim", "64"}})), "missing --seq-len");
  EXPECT_CONTAINS(error_of(shape({{"--heads", "8"}, {"--head-dim", "64"}, {"--seq-q", "64"}})), "missing --seq-kv");
}

TEST(ProfilePlan, UnknownAndRepeatedKernels) {
  ProfileRequest unknown = basic();
  unknown.kernels = {"int8-fa", "int9-fa"};
  const std::string e = error_of(unknown);
  EXPECT_CONTAINS(e, "-k int9-fa");
  EXPECT_CONTAINS(e, "int8-qk");  // lists what it expected
  ProfileRequest twice = basic();
  twice.kernels = {"int8-fa", "int8-fa"};
  EXPECT_CONTAINS(error_of(twice), "-k int8-fa: given twice");
}

TEST_F(ProfileFiles, CasePicksOneCaseOfTheConfigByIdOrPattern) {
  const std::string config = write("c.json", R"({"axes": {"heads": [8], "seq_len": [128, 256], "head_dim": [64],
      "causal": [false, true]}, "kernels": ["fp16-ref-cublaslt", "int8-qk"], "measurement": {"warmup_runs": 5}})");
  ProfileRequest r;
  r.config = config;
  r.case_pattern = "b1-h8-kv8-q256-k256-d64-causal-normal-s0";
  ProfilePlan plan = plan_profile(r);
  EXPECT_EQ(plan.profiled_case.id, r.case_pattern);
  EXPECT_TRUE(plan.profiled_case.dims.causal);
  EXPECT_EQ(plan.settings.measure.warmup_runs, 5);  // the config's settings
  ASSERT_EQ(plan.kernels.size(), 1u);
  EXPECT_EQ(plan.kernels[0]->name, "int8-qk");
  r.case_pattern = "*q128*causal*";  // a glob matching one case
  EXPECT_EQ(plan_profile(r).profiled_case.id, "b1-h8-kv8-q128-k128-d64-causal-normal-s0");
  r.case_pattern = "q128";  // two cases
  std::string e = error_of(r);
  EXPECT_CONTAINS(e, "--case q128: expected one case, found 2");
  r.case_pattern = "q512";
  EXPECT_CONTAINS(error_of(r), "--case");
  // The shape flags over a config must leave one case.
  ProfileRequest flags;
  flags.config = config;
  flags.shape = {{"--seq-len", "256"}};
  e = error_of(flags);
  EXPECT_CONTAINS(e, "gives 2 cases");
  EXPECT_CONTAINS(e, "--case");
  flags.shape.push_back({"--causal", "false"});
  EXPECT_EQ(plan_profile(flags).profiled_case.id, "b1-h8-kv8-q256-k256-d64-full-normal-s0");
  // -c alone: the config's one case, or an error that lists them and names --case.
  ProfileRequest alone;
  alone.config = config;
  e = error_of(alone);
  EXPECT_CONTAINS(e, "gives 4 cases");
  EXPECT_CONTAINS(e, "--case ID");
  EXPECT_CONTAINS(e, "--dry-run");
  EXPECT_EQ(e.find("shape flags gives"), std::string::npos) << e;  // no shape flag was given
  alone.config = write("one.json", R"({"axes": {"heads": [8], "seq_len": [128], "head_dim": [64]},
      "kernels": ["int8-qk"], "quantization": {"smooth_k": false}})");
  plan = plan_profile(alone);
  EXPECT_EQ(plan.profiled_case.id, "b1-h8-kv8-q128-k128-d64-full-normal-s0");
  EXPECT_FALSE(plan.settings.quant.smooth_k);  // the config's quantization settings come with it
}

TEST_F(ProfileFiles, CaseAndShapeFlagsDoNotMixAndNpyInputsAreRefused) {
  const std::string config = write("c.json", R"({"axes": {"heads": [8], "seq_len": [128], "head_dim": [64]}})");
  ProfileRequest both;
  both.config = config;
  both.case_pattern = "q128";
  both.shape = {{"--heads", "8"}};
  EXPECT_CONTAINS(error_of(both), "--heads: a shape flag cannot be given with --case");
  ProfileRequest no_config;
  no_config.case_pattern = "q128";
  EXPECT_CONTAINS(error_of(no_config), "--case: expected -c FILE");
  const std::string npy = write("npy.json", R"({"axes": {"heads": [8], "seq_len": [128], "head_dim": [64],
      "input": [{"npy_dir": "somewhere"}]}})");
  ProfileRequest files;
  files.config = npy;
  files.case_pattern = "q128";
  EXPECT_CONTAINS(error_of(files), ".npy");
}

TEST(ProfileRun, WithoutAGpuSaysSo) {
#if INT8ATTN_HAVE_CUDA
  std::string why;
  if (gpu::device_count(why) > 0) GTEST_SKIP() << "a GPU is present (tests/gpu/test_profile.cpp measures)";
#endif
  try {
    run_profile(plan_profile(basic()), 0);
    FAIL() << "run_profile without a GPU returned";
  } catch (const ProfileUnavailable& e) {
    EXPECT_CONTAINS(std::string(e.what()), "needs a GPU");
  }
}

ProfileResult sample_result() {
  ProfileResult r;
  r.profiled_case.dims = AttnDims{1, 32, 8, 4096, 4096, 128, true, 0.f};
  r.profiled_case.id = make_case_id(r.profiled_case.dims, r.profiled_case.input);
  r.environment.backend = "cuda";
  r.environment.gpu_name = "NVIDIA H200";
  LatencyStats kernel;
  kernel.median_ms = 0.5;
  kernel.samples = 42;
  LatencyStats quantize;
  quantize.median_ms = 0.05;
  LatencyStats end_to_end;
  end_to_end.median_ms = 0.56;
  ProfiledKernel int8;
  int8.kernel = "int8-fa";
  kernel.sm_clock = SmClockStats{1831.9, 1800, 1};
  int8.kernel_latency = kernel;
  int8.kernel_tops = attention_tops(r.profiled_case.dims, 0.5);
  int8.quantize_latency = quantize;
  int8.end_to_end_latency = end_to_end;
  int8.end_to_end_tops = attention_tops(r.profiled_case.dims, 0.56);
  int8.quantization = KernelQuantization{128, 128};
  ProfiledKernel skipped;
  skipped.kernel = "fp8-cudnn";
  skipped.status = KernelStatus::Skipped;
  skipped.reason = "built without cuDNN";
  r.kernels = {int8, skipped};
  return r;
}

TEST(ProfileViews, TableHasKernelMsTopsQuantizeAndEndToEnd) {
  const std::string text = render_profile_table(sample_result());
  EXPECT_CONTAINS(text, "b1-h32-kv8-q4096-k4096-d128-causal-normal-s0");
  EXPECT_CONTAINS(text, "NVIDIA H200");
  for (const char* column : {"kernel ms", "TOPS", "SM MHz", "quantize ms", "end-to-end ms", "end-to-end TOPS"}) {
    EXPECT_CONTAINS(text, column);
  }
  EXPECT_CONTAINS(text, " 1832 ");  // the kernel-only samples' SM clock
  EXPECT_CONTAINS(text, "0.5 ");
  EXPECT_CONTAINS(text, fmt::format("{:.1f}", attention_tops(sample_result().profiled_case.dims, 0.5)));
  EXPECT_CONTAINS(text, "skipped: built without cuDNN");
  EXPECT_CONTAINS(text, "kv_block 128, v_block 128");  // the INT8 kernel's blocks
  EXPECT_CONTAINS(text, "kernel-only");
  ProfileResult once = sample_result();
  once.once = true;
  EXPECT_CONTAINS(render_profile_table(once), "--once");
}

TEST(ProfileViews, JsonHasEveryMeasurement) {
  const nlohmann::json measurement = {{"warmup_runs", 3}, {"flush_l2", true}};
  const nlohmann::json j = profile_to_json(sample_result(), ToolInfo{"int8attn-bench", "0.1.0", "abc"}, measurement);
  EXPECT_EQ(j.at("schema"), kProfileSchema);
  EXPECT_EQ(j.at("measurement"), measurement);
  EXPECT_EQ(j.at("mode"), "kernel-only");
  EXPECT_EQ(j.at("case").at("dims").at("seq_kv"), 4096);
  EXPECT_EQ(j.at("environment").at("gpu_name"), "NVIDIA H200");
  const nlohmann::json& k = j.at("kernels").at(0);
  EXPECT_EQ(k.at("kernel"), "int8-fa");
  EXPECT_EQ(k.at("status"), "ok");
  EXPECT_DOUBLE_EQ(k.at("kernel_latency").at("median_ms").get<double>(), 0.5);
  EXPECT_EQ(k.at("kernel_latency").at("samples"), 42);
  EXPECT_DOUBLE_EQ(k.at("quantize_latency").at("median_ms").get<double>(), 0.05);
  EXPECT_DOUBLE_EQ(k.at("end_to_end_latency").at("median_ms").get<double>(), 0.56);
  EXPECT_DOUBLE_EQ(k.at("kernel_tops").get<double>(), attention_tops(sample_result().profiled_case.dims, 0.5));
  EXPECT_EQ(k.at("quantization"), (nlohmann::json{{"kv_block", 128}, {"v_block", 128}}));
  const nlohmann::json& s = j.at("kernels").at(1);
  EXPECT_EQ(s.at("status"), "skipped");
  EXPECT_FALSE(s.contains("kernel_latency"));
  EXPECT_FALSE(s.contains("quantization"));
}

// The command as a user runs it: exit 2 naming the flag on bad input (checked before the GPU
// is looked for), never replacing a file without --force.
class ProfileCli : public ProfileFiles {
 protected:
  int run(const std::string& args) { return run_with_env("", args); }
  int run_with_env(const std::string& env, const std::string& args) {
    const std::string command = (env.empty() ? "" : "env " + env + " ") + "\"" + INT8ATTN_BENCH_EXE + "\" profile " + args + " > \"" +
                                (dir_ / "out.txt").string() + "\" 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(dir_ / "out.txt");
    std::stringstream text;
    text << in.rdbuf();
    output_ = text.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string output_;
};

TEST_F(ProfileCli, BadInputExitsTwoNamingTheFlag) {
  EXPECT_EQ(run("--heads 0 --head-dim 128 --seq-len 1024"), 2);
  EXPECT_CONTAINS(output_, "--heads 0");
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024,2048"), 2);
  EXPECT_CONTAINS(output_, "expected one value");
  EXPECT_EQ(run("--heads 8 --seq-len 1024"), 2);
  EXPECT_CONTAINS(output_, "missing --head-dim");
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 -k nope"), 2);
  EXPECT_CONTAINS(output_, "-k nope");
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 --device -1"), 2);
  EXPECT_CONTAINS(output_, "--device");
  EXPECT_EQ(run(""), 2);
  EXPECT_CONTAINS(output_, "expected a shape");
}

// A count beyond int64_t is shown as typed: CLI11 alone would clamp it to INT64_MAX and the
// config's range check would then name 9223372036854775807, a number nobody wrote.
TEST_F(ProfileCli, ASampleCountBeyondInt64IsShownAsTyped) {
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 --min-samples 99999999999999999999"), 2);
  EXPECT_CONTAINS(output_, "--min-samples");
  EXPECT_CONTAINS(output_, "99999999999999999999");
  EXPECT_CONTAINS(output_, "expected an integer in [1, 1000000]");
  EXPECT_EQ(output_.find("9223372036854775807"), std::string::npos) << output_;
}

// Integer options are decimal only: CLI11 alone read 0x10 as 16 (and 010 as 8).
TEST_F(ProfileCli, IntegerOptionsAreDecimalOnly) {
  const std::string shape = "--heads 8 --head-dim 128 --seq-len 1024 ";
  for (const std::string text : {"0x10", "0b11", "0o17", "+16", "1e1"}) {
    EXPECT_EQ(run(shape + "--min-samples " + text), 2) << text;
    EXPECT_CONTAINS(output_,
                    "--min-samples: expected an integer in [1, 1000000], written in decimal, found '" + text + "'");
  }
  EXPECT_EQ(run(shape + "--device 0x1"), 2);
  EXPECT_CONTAINS(output_, "--device: expected a CUDA device index, written in decimal, found '0x1'");
}

// Beyond the option's int, CLI11 alone said only "Could not convert: --device = 99999999999".
TEST_F(ProfileCli, ADeviceIndexBeyondAnIntIsNamed) {
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 --device 99999999999"), 2);
  EXPECT_CONTAINS(output_, "--device: expected a CUDA device index, found '99999999999'");
}

// Float options are decimal too: CLI11 alone read 0x10 as 16 (strtold's hex floats).
TEST_F(ProfileCli, FloatOptionsAreDecimalOnly) {
  const std::string shape = "--heads 8 --head-dim 128 --seq-len 1024 ";
  for (const std::string text : {"0x10", "0X1p-3", "+2", "inf", "nan", "1s"}) {
    EXPECT_EQ(run(shape + "--max-seconds " + text), 2) << text;
    EXPECT_CONTAINS(output_, "--max-seconds: expected a finite decimal number > 0, found '" + text + "'");
  }
}

// A mistyped development knob (kernels/fused_tuning.h) stops the command before it runs: the
// default would run in its place and an A/B read "no difference".
TEST_F(ProfileCli, AMistypedTuningKnobExitsTwo) {
  EXPECT_EQ(run_with_env("INT8ATTN_FUSED_TUNING=retile_group=0", "--heads 8 --head-dim 128 --seq-len 1024"), 2);
  EXPECT_CONTAINS(output_, "INT8ATTN_FUSED_TUNING");
  EXPECT_CONTAINS(output_, "unknown key 'retile_group'");
  EXPECT_EQ(run_with_env("INT8ATTN_FUSED_TUNING=fused_q=yes", "--heads 8 --head-dim 128 --seq-len 1024"), 2);
  EXPECT_CONTAINS(output_, "expected an integer from -1 to 1");
}

TEST_F(ProfileCli, AnExistingJsonFileNeedsForce) {
  const std::string kept = write("kept.json", "{\"mine\": true}\n");
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 --json \"" + kept + "\""), 2);
  EXPECT_CONTAINS(output_, "--force");
  std::ifstream in(kept);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"mine\": true}\n");
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 --json \"" + (dir_ / "no-dir/x.json").string() + "\""), 2);
  EXPECT_CONTAINS(output_, "--json");
}

TEST_F(ProfileCli, HelpShowsTheNcuCommandLine) {
  EXPECT_EQ(run("--help"), 0);
  EXPECT_CONTAINS(output_, "ncu --profile-from-start off");
  EXPECT_CONTAINS(output_, "--once");
  EXPECT_CONTAINS(output_, "--seq-kv");
}

TEST_F(ProfileCli, WithoutAGpuExitsOneSayingSo) {
#if INT8ATTN_HAVE_CUDA
  std::string why;
  if (gpu::device_count(why) > 0) GTEST_SKIP() << "a GPU is present";
#endif
  const std::string json = (dir_ / "p.json").string();
  EXPECT_EQ(run("--heads 8 --head-dim 128 --seq-len 1024 -k int8-fa --json \"" + json + "\""), 1);
  EXPECT_CONTAINS(output_, "profile needs a GPU");
  EXPECT_FALSE(fs::exists(json));
}

}  // namespace
}  // namespace int8attn
