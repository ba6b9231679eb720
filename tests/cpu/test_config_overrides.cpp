// Axes and measurement options from the command line (src/config/config_overrides.h): the
// sweep they build, how they change a config file, and errors that name the option.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "src/config/config_overrides.h"
#include "src/model/kernel.h"

namespace int8attn {
namespace {

std::string config_path(const std::string& name) { return std::string(INT8ATTN_SOURCE_DIR) + "/configs/" + name; }

ConfigOverrides axes(std::vector<std::string> values) {
  ConfigOverrides o;
  o.axes = std::move(values);
  return o;
}

// The message of the exception `load` throws, or "" when it throws none.
template <class Error, class F>
std::string error_of(F load) {
  try {
    load();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigOverrides, AxesAloneBuildASweepWithDefaults) {
  const SweepConfig config =
      load_sweep_config("", axes({"seq_len=1024,4096", "head_dim=128", "heads=32", "kv_heads=8", "causal=true,false"}));
  ASSERT_EQ(config.cases.size(), 4u);
  EXPECT_EQ(config.cases[0].id, "b1-h32-kv8-q1024-k1024-d128-causal-normal-s0");
  EXPECT_EQ(config.cases[3].id, "b1-h32-kv8-q4096-k4096-d128-full-normal-s0");
  EXPECT_EQ(config.path, "");
  EXPECT_EQ(config.sha256.size(), 64u);
  EXPECT_EQ(config.settings.kernels.size(), kernel_identities().size());
  EXPECT_EQ(config.expanded["axes"]["kv_heads"], nlohmann::json({8}));
}

TEST(ConfigOverrides, AxesReplaceTheFilesAndTheHashCoversThem) {
  const std::string path = config_path("ci-cpu.json");
  const SweepConfig file = load_sweep_config(path);
  const SweepConfig same = load_sweep_config(path, ConfigOverrides{});
  EXPECT_EQ(same.sha256, file.sha256);
  const SweepConfig changed = load_sweep_config(path, axes({"head_dim=64"}));
  EXPECT_NE(changed.sha256, file.sha256);
  EXPECT_EQ(changed.path, path);
  ASSERT_FALSE(changed.cases.empty());
  for (const BenchCase& c : changed.cases) EXPECT_EQ(c.dims.head_dim, 64) << c.id;
  EXPECT_NE(load_sweep_config(path, axes({"head_dim=128"})).sha256, changed.sha256);
}

TEST(ConfigOverrides, OneSequenceFormReplacesTheOther) {
  // seq_q after seq_len: seq_len's values become seq_kv (a decode sweep).
  const SweepConfig decode = load_sweep_config("", axes({"heads=2", "head_dim=64", "seq_len=32,64", "seq_q=1"}));
  ASSERT_EQ(decode.cases.size(), 2u);
  EXPECT_EQ(decode.cases[0].id, "b1-h2-kv2-q1-k32-d64-full-normal-s0");
  EXPECT_EQ(decode.cases[1].id, "b1-h2-kv2-q1-k64-d64-full-normal-s0");
  // In either order, and seq_len with both of the others is refused (it would set neither).
  const SweepConfig reversed = load_sweep_config("", axes({"heads=2", "head_dim=64", "seq_q=1", "seq_len=32,64"}));
  ASSERT_EQ(reversed.cases.size(), 2u);
  EXPECT_EQ(reversed.cases[1].id, decode.cases[1].id);
  EXPECT_NE(error_of<std::invalid_argument>([] {
              load_sweep_config("", axes({"heads=2", "head_dim=64", "seq_q=16", "seq_kv=8", "seq_len=4"}));
            }).find("seq_len would set neither"),
            std::string::npos);
  // The same on a file's seq_len.
  const SweepConfig file = load_sweep_config(config_path("default.json"), axes({"seq_q=1"}));
  for (const BenchCase& c : file.cases) EXPECT_EQ(c.dims.seq_q, 1) << c.id;
  EXPECT_TRUE(file.expanded["axes"].contains("seq_kv"));
  EXPECT_FALSE(file.expanded["axes"].contains("seq_len"));
  // seq_len replaces a file's seq_q and seq_kv.
  const SweepConfig square = load_sweep_config(config_path("ci-cpu.json"), axes({"seq_len=48"}));
  for (const BenchCase& c : square.cases) EXPECT_TRUE(c.dims.seq_q == 48 && c.dims.seq_kv == 48) << c.id;
}

TEST(ConfigOverrides, DistributionSeedAndRotationSetTheInputsAndTheQuantizer) {
  const SweepConfig config = load_sweep_config(
      "", axes({"seed=3,4", "heads=2", "head_dim=64", "seq_len=16", "distribution=normal,outlier-channels",
                "rotation=none,hadamard"}));
  ASSERT_EQ(config.cases.size(), 8u);  // 2 distributions x 2 seeds x 2 rotations
  EXPECT_EQ(config.cases[0].id, "b1-h2-kv2-q16-k16-d64-full-normal-s3");
  EXPECT_EQ(config.cases[1].id, "b1-h2-kv2-q16-k16-d64-full-normal-s3-hadamard");
  EXPECT_EQ(config.cases[7].input.distribution, Distribution::OutlierChannels);
  EXPECT_EQ(config.cases[7].input.seed, 4u);
}

TEST(ConfigOverrides, MeasurementKnobsReachTheSettings) {
  ConfigOverrides o = axes({"heads=2", "head_dim=64", "seq_len=16"});
  o.min_samples = 20;
  o.max_seconds = 0.5;
  o.max_noise = 0.02;
  const SweepConfig config = load_sweep_config("", o);
  EXPECT_EQ(config.settings.measure.min_samples, 20);
  EXPECT_DOUBLE_EQ(config.settings.measure.max_seconds, 0.5);
  EXPECT_DOUBLE_EQ(config.settings.measure.target_noise, 0.02);
  EXPECT_EQ(config.expanded["measurement"]["target_noise"], 0.02);
}

// --k-granularity writes quantization.k_granularity over the file's: the settings, the echo
// and the recorded hash (a --resume of the other choice is refused) follow it.
TEST(ConfigOverrides, KGranularityOptionSetsTheQuantizationKey) {
  const std::string dir = ::testing::TempDir();
  const std::string pinned = dir + "/pinned-k.json";
  std::ofstream(pinned) << R"({"axes": {"heads": [2], "seq_len": [2048], "head_dim": [128]},
                              "quantization": {"k_granularity": "as-q", "smooth_k": false}})";
  ConfigOverrides o;
  const SweepConfig file_only = load_sweep_config(pinned, o);
  EXPECT_FALSE(file_only.settings.auto_k_granularity);
  for (const char* name : {"auto", "grouped", "per-thread", "as-q"}) {
    o.k_granularity = name;
    const SweepConfig config = load_sweep_config(pinned, o);
    EXPECT_EQ(config.expanded["quantization"]["k_granularity"], name);
    EXPECT_EQ(config.settings.auto_k_granularity, std::string(name) == "auto") << name;
    EXPECT_FALSE(config.settings.quant.smooth_k) << name;  // the file's other keys stay
    EXPECT_NE(config.sha256, file_only.sha256) << name;
  }
  o.k_granularity = "grouped";
  EXPECT_EQ(load_sweep_config(pinned, o).settings.quant.k_granularity, KGranularity::Grouped);
  // Without a file, and without a quantization block in it: the option alone.
  ConfigOverrides only = axes({"heads=2", "head_dim=128", "seq_len=16"});
  only.k_granularity = "as-q";
  EXPECT_FALSE(load_sweep_config("", only).settings.auto_k_granularity);
}

TEST(ConfigOverrides, ErrorsNameTheOption) {
  const std::string ci = config_path("ci-cpu.json");
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci, axes({"seq_len=64,0"})); })
                .find("-a seq_len=64,0: axes.seq_len[1]: expected an integer in [1, 1048576], found integer 0"),
            std::string::npos);
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci, axes({"causal=yes"})); }).find("-a causal=yes: axes.causal[0]"),
            std::string::npos);
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci, axes({"distribution=gauss"})); })
                .find("-a distribution=gauss: axes.input[0].distribution"),
            std::string::npos);
  ConfigOverrides knob;
  knob.min_samples = 5000;
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci, knob); }).find("--min-samples 5000: measurement.min_samples"),
            std::string::npos);
  knob = {};
  knob.max_seconds = 0;
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci, knob); }).find("--max-seconds 0.0: measurement.max_seconds"),
            std::string::npos);
  knob = {};
  knob.k_granularity = "fastest";
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci, knob); })
                .find("--k-granularity fastest: quantization.k_granularity: expected one of"),
            std::string::npos);
  // A choice the file's other settings refuse: the file's key, and why.
  const std::string blocks64 = ::testing::TempDir() + "/blocks64.json";
  std::ofstream(blocks64) << R"({"axes": {"heads": [2], "seq_len": [16], "head_dim": [64]}, "quantization": {"kv_block": 64}})";
  knob.k_granularity = "grouped";
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(blocks64, knob); })
                .find(blocks64 + ": quantization.kv_block: expected 128 (k_granularity \"grouped\" groups the keys"),
            std::string::npos);
  // A mistake in the file still names the file.
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(ci + ".missing", axes({"heads=2"})); }).find(".missing"),
            std::string::npos);
}

// The file's own mistakes stay the file's: -a seed writes only each input's seed, and -a seq_q
// turns the file's seq_len into seq_kv without the file having a seq_kv to look for.
TEST(ConfigOverrides, TheFilesMistakesNameTheFileAndItsKey) {
  const std::string dir = ::testing::TempDir();
  const std::string bogus = dir + "/bogus-input.json", zero = dir + "/zero-seq.json";
  std::ofstream(bogus) << R"({"axes": {"heads": [1], "seq_len": [16], "head_dim": [64], "input": [{"distribution": "bogus"}]}})";
  std::ofstream(zero) << R"({"axes": {"heads": [1], "seq_len": [0], "head_dim": [64]}})";
  const std::string input_error = error_of<ConfigError>([&] { load_sweep_config(bogus, axes({"seed=1"})); });
  EXPECT_EQ(input_error.rfind(bogus + ": axes.input[0].distribution:", 0), 0u) << input_error;
  // -a seed multiplies the file's inputs: an error in its second input is still input[1], and
  // an `input` that is no list is still the file's error.
  const std::string two = dir + "/two-inputs.json", no_list = dir + "/no-list.json";
  std::ofstream(two) << R"({"axes": {"heads": [1], "seq_len": [16], "head_dim": [64], "input": [{}, {"scale": -1}]}})";
  std::ofstream(no_list) << R"({"axes": {"heads": [1], "seq_len": [16], "head_dim": [64], "input": "notalist"}})";
  const std::string second = error_of<ConfigError>([&] { load_sweep_config(two, axes({"seed=1,2,3"})); });
  EXPECT_EQ(second.rfind(two + ": axes.input[1].scale:", 0), 0u) << second;
  const std::string listless = error_of<ConfigError>([&] { load_sweep_config(no_list, axes({"seed=1"})); });
  EXPECT_EQ(listless.rfind(no_list + ": axes.input:", 0), 0u) << listless;
  const std::string seq_error = error_of<ConfigError>([&] { load_sweep_config(zero, axes({"seq_q=1"})); });
  EXPECT_EQ(seq_error.rfind(zero + ": axes.seq_len[0]:", 0), 0u) << seq_error;
  EXPECT_NE(error_of<ConfigError>([&] { load_sweep_config(zero, axes({"seed=2", "seq_len=16", "distribution=gauss"})); })
                .find("-a distribution=gauss: axes.input[0].distribution"),
            std::string::npos);
}

TEST(ConfigOverrides, MalformedAxisOptionsAreUsageErrors) {
  const std::string ci = config_path("ci-cpu.json");
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"seqlen=64"})); })
                .find("unknown axis \"seqlen\" (did you mean \"seq_len\"?"),
            std::string::npos);
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"seq_len"})); }).find("NAME=VALUE"),
            std::string::npos);
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"seq_len=64,,128"})); }).find("empty"),
            std::string::npos);
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"heads=2", "heads=4"})); })
                .find("given twice"),
            std::string::npos);
  // A number a double cannot hold is named as typed (it read as 0, or as the string "1e400").
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"seq_len=64,1e-400"})); })
                .find("-a seq_len=64,1e-400: expected 0 or a number of magnitude at least 4.9e-324 (the smallest "
                      "double), found 1e-400"),
            std::string::npos);
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"seed=1e400"})); })
                .find("-a seed=1e400: expected a number of magnitude at most 1.8e308 (the largest double), found 1e400"),
            std::string::npos);
  // So is an integer beyond 64 bits (it was shown as "found number 1e+20").
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config(ci, axes({"seq_len=99999999999999999999"})); })
                .find("-a seq_len=99999999999999999999: expected an integer from -9223372036854775808 to "
                      "18446744073709551615, found 99999999999999999999"),
            std::string::npos);
  EXPECT_NE(error_of<std::invalid_argument>([&] { load_sweep_config("", axes({"seq_len=64"})); })
                .find("found no heads, no head_dim"),
            std::string::npos);
}

}  // namespace
}  // namespace int8attn
