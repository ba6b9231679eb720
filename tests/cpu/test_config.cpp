// Sweep config parsing, validation and expansion (src/config/), and the SHA-256 helper.
#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "src/config/sha256.h"
#include "src/config/sweep_config.h"
#include "src/model/kernel.h"

namespace int8attn {
namespace {

std::string config_path(const std::string& name) {
  return std::string(INT8ATTN_SOURCE_DIR) + "/configs/" + name;
}

// A minimal valid config with `extra` spliced into the top-level object.
std::string minimal_config(const std::string& axes_extra = "", const std::string& extra = "") {
  return R"({"axes": {"heads": [4], "seq_len": [64], "head_dim": [64])" + axes_extra + "}" + extra + "}";
}

// --- SHA-256 ---------------------------------------------------------------------------

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Two-block message (padding spills into a second block).
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAs) {
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// --- shipped configs -------------------------------------------------------------------

struct ShippedConfig {
  const char* file;
  size_t expected_cases;
};

void PrintTo(const ShippedConfig& c, std::ostream* os) { *os << c.file; }

class ShippedConfigs : public ::testing::TestWithParam<ShippedConfig> {};

TEST_P(ShippedConfigs, LoadsAndExpands) {
  const SweepConfig config = load_sweep_config(config_path(GetParam().file));
  EXPECT_EQ(config.cases.size(), GetParam().expected_cases);
  EXPECT_EQ(config.sha256.size(), 64u);
  EXPECT_FALSE(config.name.empty());
  std::set<std::string> ids;
  for (const BenchCase& c : config.cases) {
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
    EXPECT_EQ(c.id, make_case_id(c.dims, c.input));
    EXPECT_EQ(c.dims.heads % c.dims.kv_heads, 0) << c.id;
  }
  ASSERT_FALSE(config.settings.kernels.empty());
  EXPECT_EQ(find_kernel_identity(config.settings.kernels.front())->family, KernelFamily::Reference);
}

INSTANTIATE_TEST_SUITE_P(Configs, ShippedConfigs,
                         ::testing::Values(ShippedConfig{"default.json", 24}, ShippedConfig{"ci-cpu.json", 39},
                                           ShippedConfig{"ci-cpu-options-a.json", 12},
                                           ShippedConfig{"ci-cpu-options-b.json", 12},
                                           ShippedConfig{"llama3-8b.json", 14},
                                           ShippedConfig{"long-context.json", 16},
                                           ShippedConfig{"int8fa-wide-d64.json", 10},
                                           ShippedConfig{"int8fa-d64-short.json", 6},
                                           ShippedConfig{"int8fa-short.json", 8},
                                           ShippedConfig{"int8-verdict-2k.json", 3},
                                           ShippedConfig{"int8-causal-short.json", 5},
                                           ShippedConfig{"causal-one-round.json", 4},
                                           ShippedConfig{"head-dim-256.json", 6},
                                           ShippedConfig{"int8-causal-grid.json", 12},
                                           ShippedConfig{"int8-full-grid.json", 21}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ShippedConfigs, CiCpuCoversTheEdgeCases) {
  const SweepConfig config = load_sweep_config(config_path("ci-cpu.json"));
  auto any = [&](auto predicate) { return std::any_of(config.cases.begin(), config.cases.end(), predicate); };
  EXPECT_TRUE(any([](const BenchCase& c) { return c.dims.seq_q == 1; }));
  EXPECT_TRUE(any([](const BenchCase& c) { return c.dims.seq_q != c.dims.seq_kv && c.dims.causal; }));
  EXPECT_TRUE(any([](const BenchCase& c) { return c.dims.kv_heads < c.dims.heads; }));
  EXPECT_TRUE(any([](const BenchCase& c) { return c.dims.batch == 2; }));
  EXPECT_TRUE(any([](const BenchCase& c) { return c.input.distribution == Distribution::OutlierChannels; }));
  for (const BenchCase& c : config.cases) EXPECT_LE(std::max(c.dims.seq_q, c.dims.seq_kv), 512) << c.id;
}

// --- bad configs: each error names the right JSON path ---------------------------------

struct BadConfig {
  const char* label;
  std::string text;
  std::string expected_path;
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.label; }

class BadConfigs : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigs, ErrorNamesThePath) {
  try {
    parse_sweep_config(GetParam().text, "bad.json");
    FAIL() << "no error for " << GetParam().label;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), GetParam().expected_path) << e.what();
    EXPECT_EQ(e.file(), "bad.json");
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigs,
    ::testing::Values(
        BadConfig{"unknown_top_key", minimal_config("", R"(, "kernel": ["int8-fa"])"), "kernel"},
        BadConfig{"unknown_axis_key", minimal_config(R"(, "seqlen": [1])"), "axes.seqlen"},
        BadConfig{"unknown_quant_key", minimal_config("", R"(, "quantization": {"pquant": "u8x255"})"),
                  "quantization.pquant"},
        BadConfig{"wrong_type_axis", minimal_config(R"(, "batch": 2)"), "axes.batch"},
        BadConfig{"wrong_type_element", minimal_config(R"(, "causal": [true, "no"])"), "axes.causal[1]"},
        BadConfig{"wrong_type_string", R"({"name": 3, "axes": {}})", "name"},
        BadConfig{"empty_axis", minimal_config(R"(, "batch": [])"), "axes.batch"},
        BadConfig{"zero_size", minimal_config(R"(, "batch": [1, 0])"), "axes.batch[1]"},
        BadConfig{"negative_heads", R"({"axes": {"heads": [-4], "seq_len": [64], "head_dim": [64]}})",
                  "axes.heads[0]"},
        BadConfig{"seq_over_limit", R"({"axes": {"heads": [4], "seq_len": [64, 2097152], "head_dim": [64]}})",
                  "axes.seq_len[1]"},
        BadConfig{"head_dim_not_multiple_of_8", R"({"axes": {"heads": [4], "seq_len": [64], "head_dim": [64, 60]}})",
                  "axes.head_dim[1]"},
        BadConfig{"heads_not_divisible", minimal_config(R"(, "kv_heads": [2, 3])"), "axes.kv_heads[1]"},
        BadConfig{"bad_distribution", minimal_config(R"(, "input": [{"distribution": "gaussian"}])"),
                  "axes.input[0].distribution"},
        BadConfig{"outlier_key_on_normal", minimal_config(R"(, "input": [{"magnitude": 3}])"),
                  "axes.input[0].magnitude"},
        BadConfig{"bad_kernel_name", minimal_config("", R"(, "kernels": ["int8-fa", "int9-fa"])"), "kernels[1]"},
        BadConfig{"bad_p_quant", minimal_config("", R"(, "quantization": {"p_quant": "u8"})"),
                  "quantization.p_quant"},
        BadConfig{"v_block_not_a_kv_block_multiple",
                  minimal_config("", R"(, "quantization": {"kv_block": 64, "v_block": 96})"), "quantization.v_block"},
        BadConfig{"negative_v_block", minimal_config("", R"(, "quantization": {"v_block": -64})"),
                  "quantization.v_block"},
        BadConfig{"grouped_k_with_per_block_q",
                  minimal_config("", R"(, "quantization": {"qk_granularity": "per-block", "k_granularity": "grouped"})"),
                  "quantization.k_granularity"},
        BadConfig{"grouped_k_with_64_key_blocks",
                  minimal_config("", R"(, "quantization": {"k_granularity": "grouped", "kv_block": 64})"),
                  "quantization.kv_block"},
        BadConfig{"grouped_k_with_the_default_kv_block",
                  minimal_config("", R"(, "quantization": {"k_granularity": "grouped", "v_block": 0})"),
                  "quantization.k_granularity"},
        BadConfig{"bad_exclude_type", minimal_config("", R"(, "exclude": [{"causal": 1}])"), "exclude[0].causal"},
        BadConfig{"empty_exclude_rule", minimal_config("", R"(, "exclude": [{}])"), "exclude[0]"},
        BadConfig{"everything_excluded", minimal_config("", R"(, "exclude": [{"head_dim": 64}])"), "exclude"},
        BadConfig{"negative_threshold", minimal_config("", R"(, "thresholds": {"max_mse": -1})"),
                  "thresholds.max_mse"},
        BadConfig{"hold_launches_not_a_bool", minimal_config("", R"(, "measurement": {"hold_launches": 1})"),
                  "measurement.hold_launches"},
        BadConfig{"min_over_max_samples", minimal_config("", R"(, "measurement": {"min_samples": 50, "max_samples": 20})"),
                  "measurement.min_samples"},
        BadConfig{"min_over_max_seconds_written", minimal_config("", R"(, "measurement": {"min_seconds": 0.5, "max_seconds": 0.1})"),
                  "measurement.min_seconds"},
        BadConfig{"seq_len_and_seq_q", minimal_config(R"(, "seq_q": [1], "seq_kv": [2])"), "axes.seq_q"},
        BadConfig{"seq_q_without_seq_kv", R"({"axes": {"heads": [4], "seq_q": [64], "head_dim": [64]}})",
                  "axes.seq_kv"},
        BadConfig{"missing_axes", R"({"name": "x"})", "axes"},
        BadConfig{"too_many_outlier_channels",
                  minimal_config(R"(, "input": [{"distribution": "outlier-channels", "channels": 65}])"),
                  "axes.input[0].channels"},
        BadConfig{"not_an_object", "[1, 2]", ""},
        BadConfig{"invalid_json", "{\"axes\": {\n  \"heads\": [4,]\n}}", ""}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(ConfigErrors, UnknownKeySuggestsClosest) {
  try {
    parse_sweep_config(minimal_config(R"(, "kv_head": [1])"), "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean \"kv_heads\""), std::string::npos) << e.what();
  }
}

// A report or a checkpoint as -c is named as one ('unknown key "cases" (did you mean "axes"?)'
// or "invalid JSON at line 2" sent the user into the file looking for a typo).
TEST(ConfigErrors, AReportOrCheckpointAsConfigIsNamedAsOne) {
  const std::string checkpoint_header = R"({"backend":"cpu","schema":"int8attn-bench/checkpoint/v1"})";
  const std::vector<std::pair<std::string, std::string>> files = {
      {R"({"cases": [], "schema": "int8attn-bench/report/v1"})", "found an int8attn-bench report"},
      {checkpoint_header + "\n", "found a sweep's checkpoint"},
      {checkpoint_header + "\n{\"id\": \"a\"}\n", "found a sweep's checkpoint"},
  };
  for (const auto& [text, says] : files) {
    try {
      parse_sweep_config(text, "x.json");
      ADD_FAILURE() << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}

TEST(ConfigErrors, InvalidJsonReportsLineAndColumn) {
  try {
    parse_sweep_config("{\"axes\": {\n  \"heads\": [4,]\n}}", "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

// A number the JSON reader cannot hold as written is refused at its field (path), named as
// written (found), with what was expected; never: text the message must not hold.
struct WrittenNumberCase {
  std::string config, path, found, expected, never;
};
void expect_refused_as_written(const WrittenNumberCase& c) {
  try {
    parse_sweep_config(c.config, "x.json");
    ADD_FAILURE() << c.found << ": no error";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.file(), "x.json");
    EXPECT_EQ(e.json_path(), c.path) << what;
    EXPECT_NE(what.find("found " + c.found), std::string::npos) << what;
    EXPECT_NE(what.find(c.expected), std::string::npos) << what;
    EXPECT_EQ(what.find(c.never), std::string::npos) << what;
  }
}

// 1e-400 would otherwise read as 0 and be reported as "found number 0.0", a value the user never
// wrote.
TEST(ConfigErrors, ANumberADoubleCannotHoldIsShownAsWrittenAtItsField) {
  const WrittenNumberCase cases[] = {
      {minimal_config(R"(, "input": [{"distribution": "normal", "scale": 1e-400}])"), "axes.input[0].scale", "1e-400",
       "expected 0 or a number of magnitude at least 4.9e-324", "0.0"},
      {minimal_config(R"(, "batch": [1, -2.5E-999])"), "axes.batch[1]", "-2.5E-999", "which would read as 0",
       "0.0"},
      {minimal_config("", R"(, "measurement": {"max_seconds": 1e400})"), "measurement.max_seconds", "1e400",
       "expected a number of magnitude at most 1.8e308", "0.0"},
  };
  for (const WrittenNumberCase& c : cases) expect_refused_as_written(c);
  // A zero written as such is a zero, whatever its exponent.
  EXPECT_NO_THROW(parse_sweep_config(minimal_config("", R"(, "measurement": {"min_seconds": 0e-400})"), "x.json"));
  EXPECT_NO_THROW(parse_sweep_config(minimal_config("", R"(, "measurement": {"min_seconds": -0.0})"), "x.json"));
}

// An integer beyond 64 bits: the JSON library reads it as a double, and the range check then
// said "found number 1e+20", a value nobody wrote.
TEST(ConfigErrors, AnIntegerBeyond64BitsIsShownAsWrittenAtItsField) {
  const std::string expected =
      "expected an integer from -9223372036854775808 to 18446744073709551615, found ";
  const WrittenNumberCase cases[] = {
      {minimal_config(R"(, "batch": [1, 99999999999999999999])"), "axes.batch[1]", "99999999999999999999",
       expected + "99999999999999999999", "found number"},
      {minimal_config(R"(, "input": [{"distribution": "normal", "seed": 18446744073709551616}])"),
       "axes.input[0].seed", "18446744073709551616", expected + "18446744073709551616", "found number"},
      {minimal_config("", R"(, "thresholds": {"max_mse": -99999999999999999999})"), "thresholds.max_mse",
       "-99999999999999999999", expected + "-99999999999999999999", "found number"},
  };
  for (const WrittenNumberCase& c : cases) expect_refused_as_written(c);
  // The same size written as a number is one.
  EXPECT_NO_THROW(parse_sweep_config(minimal_config("", R"(, "thresholds": {"max_mse": 1e20})"), "x.json"));
  EXPECT_NO_THROW(
      parse_sweep_config(minimal_config("", R"(, "thresholds": {"max_mse": 99999999999999999999.0})"), "x.json"));
}

// A quick time limit under the default floor lowers the floor (min_seconds was never written).
TEST(ConfigParsing, AShortTimeLimitLowersTheUnwrittenFloor) {
  const SweepConfig c = parse_sweep_config(minimal_config("", R"(, "measurement": {"max_seconds": 0.05})"), "m.json");
  EXPECT_EQ(c.settings.measure.max_seconds, 0.05);
  EXPECT_EQ(c.settings.measure.min_seconds, 0.05);
  const SweepConfig longer = parse_sweep_config(minimal_config("", R"(, "measurement": {"max_seconds": 3})"), "m.json");
  EXPECT_EQ(longer.settings.measure.min_seconds, MeasureOptions{}.min_seconds);
}

TEST(ConfigParsing, AcceptsComments) {
  const SweepConfig config = parse_sweep_config(
      "// sweep\n{\"axes\": {\"heads\": [2], /* two */ \"seq_len\": [8], \"head_dim\": [16]}}", "x.json");
  EXPECT_EQ(config.cases.size(), 1u);
}

TEST(ConfigErrors, UnknownKernelListsValidNames) {
  try {
    parse_sweep_config(minimal_config("", R"(, "kernels": ["nope"])"), "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    for (const KernelIdentity& k : kernel_identities()) {
      EXPECT_NE(std::string(e.what()).find(k.name), std::string::npos) << e.what();
    }
  }
}

TEST(ConfigErrors, HugeProductIsRejected) {
  std::string seqs;
  for (int s = 1; s <= 1000; ++s) seqs += (s > 1 ? "," : "") + std::to_string(s);
  const std::string text = R"({"axes": {"heads": [1], "seq_q": [)" + seqs + R"(], "seq_kv": [)" + seqs +
                           R"(], "head_dim": [8]}})";
  try {
    parse_sweep_config(text, "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "axes");
  }
}

TEST(ConfigErrors, MissingFile) {
  const std::string missing = config_path("does-not-exist.json");
  try {
    load_sweep_config(missing);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), missing);
    EXPECT_EQ(e.json_path(), "");
  }
}

// --- expansion -------------------------------------------------------------------------

TEST(Expansion, OrderIsBatchHeadsKvSeqHeadDimCausalInput) {
  const SweepConfig config = parse_sweep_config(R"({"axes": {
      "batch": [1, 2], "heads": [8], "kv_heads": [2, 8], "seq_len": [16, 32], "head_dim": [64, 128],
      "causal": [false, true], "input": [{"seed": 1}, {"seed": 2}]}})", "x.json");
  ASSERT_EQ(config.cases.size(), 64u);
  const BenchCase& first = config.cases[0];
  EXPECT_EQ(first.dims.batch, 1);
  EXPECT_EQ(first.dims.kv_heads, 2);
  EXPECT_EQ(first.input.seed, 1u);
  EXPECT_EQ(config.cases[1].input.seed, 2u);       // input is innermost
  EXPECT_TRUE(config.cases[2].dims.causal);        // then causal
  EXPECT_EQ(config.cases[4].dims.head_dim, 128);   // then head_dim
  EXPECT_EQ(config.cases[8].dims.seq_q, 32);       // then seq
  EXPECT_EQ(config.cases[16].dims.kv_heads, 8);    // then kv_heads
  EXPECT_EQ(config.cases[32].dims.batch, 2);       // batch is outermost
}

TEST(Expansion, SeqQAndSeqKvFormTheirProduct) {
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [1], "seq_q": [1, 7], "seq_kv": [5, 9, 11], "head_dim": [8]}})", "x.json");
  ASSERT_EQ(config.cases.size(), 6u);
  EXPECT_EQ(config.cases[0].dims.seq_q, 1);
  EXPECT_EQ(config.cases[0].dims.seq_kv, 5);
  EXPECT_EQ(config.cases[2].dims.seq_kv, 11);
  EXPECT_EQ(config.cases[3].dims.seq_q, 7);
}

TEST(Expansion, ExcludeRulesNeedEveryKeyToMatch) {
  const SweepConfig config = parse_sweep_config(R"({
      "axes": {"heads": [4], "seq_len": [64, 128], "head_dim": [64, 128], "causal": [false, true],
               "input": [{"distribution": "normal"}, {"distribution": "uniform"}]},
      "exclude": [{"seq_len": 128, "causal": false}, {"head_dim": 64, "distribution": "uniform"}]})",
                                                "x.json");
  // Count the survivors of the 16-case product independently of the implementation.
  size_t expected = 0;
  for (int64_t seq : {64, 128})
    for (int64_t d : {64, 128})
      for (bool causal : {false, true})
        for (bool uniform : {false, true}) {
          bool rule1 = seq == 128 && !causal;
          bool rule2 = d == 64 && uniform;
          expected += !(rule1 || rule2);
        }
  EXPECT_EQ(config.cases.size(), expected);
  for (const BenchCase& c : config.cases) {
    EXPECT_FALSE(c.dims.seq_q == 128 && !c.dims.causal) << c.id;
    EXPECT_FALSE(c.dims.head_dim == 64 && c.input.distribution == Distribution::Uniform) << c.id;
  }
}

TEST(Expansion, ExcludeCanDropNonDividingKvHeads) {
  const std::string text = R"({"axes": {"heads": [4, 6], "kv_heads": [2, 3], "seq_len": [64], "head_dim": [64]}, )";
  EXPECT_THROW(parse_sweep_config(text + R"("exclude": []})", "x.json"), ConfigError);
  const SweepConfig config =
      parse_sweep_config(text + R"("exclude": [{"heads": 4, "kv_heads": 3}]})", "x.json");
  ASSERT_EQ(config.cases.size(), 3u);
  for (const BenchCase& c : config.cases) EXPECT_EQ(c.dims.heads % c.dims.kv_heads, 0) << c.id;
}

TEST(Expansion, DuplicatesAreKeptOnce) {
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [4, 4], "seq_len": [64, 64, 32], "head_dim": [64]}})", "x.json");
  ASSERT_EQ(config.cases.size(), 2u);
  EXPECT_EQ(config.cases[0].dims.seq_q, 64);
  EXPECT_EQ(config.cases[1].dims.seq_q, 32);
}

TEST(Expansion, IdsAreStableAcrossParses) {
  const std::string text = minimal_config(R"(, "causal": [false, true], "kv_heads": [1, 2])");
  const SweepConfig a = parse_sweep_config(text, "a.json");
  const SweepConfig b = parse_sweep_config(text, "b.json");
  ASSERT_EQ(a.cases.size(), 4u);
  for (size_t i = 0; i < a.cases.size(); ++i) EXPECT_EQ(a.cases[i].id, b.cases[i].id);
  EXPECT_EQ(a.cases[0].id, "b1-h4-kv1-q64-k64-d64-full-normal-s0");
}

// --- defaults and the expanded config --------------------------------------------------

TEST(Defaults, AreFilledFromTheStructs) {
  const SweepConfig config = parse_sweep_config(minimal_config(), "x.json");
  ASSERT_EQ(config.cases.size(), 1u);
  const BenchCase& c = config.cases[0];
  EXPECT_EQ(c.dims.batch, 1);
  EXPECT_EQ(c.dims.kv_heads, 4);  // = heads
  EXPECT_FALSE(c.dims.causal);
  EXPECT_EQ(c.input.distribution, Distribution::Normal);

  const RunSettings defaults;
  EXPECT_EQ(config.settings.kernels.size(), kernel_identities().size());
  EXPECT_EQ(config.settings.quant.kv_block, defaults.quant.kv_block);
  EXPECT_EQ(config.settings.quant.p_quant, defaults.quant.p_quant);
  EXPECT_EQ(config.settings.measure.min_samples, defaults.measure.min_samples);
  EXPECT_EQ(config.settings.thresholds.max_mse, defaults.thresholds.max_mse);
  EXPECT_EQ(config.settings.reference_precision, defaults.reference_precision);

  const auto& expanded = config.expanded;
  EXPECT_EQ(expanded["quantization"]["p_quant"], "u8x255");
  EXPECT_EQ(expanded["quantization"]["qk_granularity"], "per-token");
  EXPECT_EQ(expanded["measurement"]["max_samples"], defaults.measure.max_samples);
  EXPECT_EQ(expanded["measurement"]["hold_launches"], true);  // host time kept out of the samples
  EXPECT_TRUE(expanded["thresholds"]["max_rel_l2"].is_null());
  EXPECT_EQ(expanded["reference"]["precision"], "fp32");
  EXPECT_EQ(expanded["axes"]["batch"], nlohmann::json::array({1}));
  EXPECT_EQ(expanded["axes"]["input"][0]["distribution"], "normal");
}

TEST(Defaults, ReferenceKernelRunsFirstEvenIfNotListed) {
  const SweepConfig config =
      parse_sweep_config(minimal_config("", R"(, "kernels": ["int8-qk", "int8-fa", "int8-qk"])"), "x.json");
  ASSERT_EQ(config.settings.kernels.size(), 3u);
  EXPECT_EQ(config.settings.kernels[0], "fp16-ref-cublaslt");
  EXPECT_EQ(config.settings.kernels[1], "int8-qk");
  EXPECT_EQ(config.settings.kernels[2], "int8-fa");
}

TEST(Defaults, SettingsAreRead) {
  const SweepConfig config = parse_sweep_config(minimal_config("", R"(,
      "quantization": {"qk_granularity": "per-block", "qk_block": 128, "p_quant": "s8x127", "smooth_k": false},
      "reference": {"precision": "fp16"},
      "thresholds": {"max_rel_l2": 0.02, "min_cosine": 0.99},
      "measurement": {"hold_launches": false},
      "cpu": {"threads": 3})"), "x.json");
  EXPECT_EQ(config.settings.quant.qk_granularity, QkGranularity::PerBlock);
  EXPECT_EQ(config.settings.quant.qk_block, 128);
  EXPECT_EQ(config.settings.quant.p_quant, PQuant::S8x127);
  EXPECT_FALSE(config.settings.quant.smooth_k);
  EXPECT_EQ(config.settings.reference_precision, ReferencePrecision::Fp16);
  EXPECT_EQ(config.settings.thresholds.max_rel_l2, 0.02);
  EXPECT_EQ(config.settings.thresholds.min_cosine, 0.99);
  EXPECT_EQ(config.settings.cpu.threads, 3);
  EXPECT_FALSE(config.settings.measure.hold_launches);
  EXPECT_EQ(config.expanded["measurement"]["hold_launches"], false);
}

// scripts/ci-gate.sh gates every configs/ci-cpu*.json: together they must give every
// quantization option each of its values, or a numerics change there would pass CI.
TEST(ShippedConfigs, CpuGateConfigsCoverEveryQuantizationOption) {
  std::set<std::string> seen;
  int gate_configs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(INT8ATTN_SOURCE_DIR) + "/configs")) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("ci-cpu", 0) != 0 || entry.path().extension() != ".json") continue;
    ++gate_configs;
    const SweepConfig config = load_sweep_config(entry.path().string());
    for (const BenchCase& c : config.cases) seen.insert(c.rotation == QkRotation::Hadamard ? "hadamard" : "no rotation");
    const QuantConfig q = config.settings.quant;
    seen.insert(q.qk_granularity == QkGranularity::PerBlock ? "per-block" : "per-token");
    seen.insert(q.k_granularity == KGranularity::PerThread ? "K per-thread"
                : q.k_granularity == KGranularity::Grouped ? "K grouped"
                                                           : "K as Q");
    seen.insert(q.smooth_k ? "smooth" : "no smoothing");
    seen.insert(q.p_quant == PQuant::U8x255 ? "u8x255" : "s8x127");
    seen.insert(q.l_from_quantized_p ? "l quantized" : "l exact");
    seen.insert(q.kv_block == 64 ? "kv_block 64" : "another kv_block");
    if (q.qk_granularity == QkGranularity::PerBlock) seen.insert("qk_block " + std::to_string(q.qk_block));
    seen.insert(q.v_block == 0 ? "V per channel" : "V per block");
  }
  EXPECT_GE(gate_configs, 3);
  for (const char* value : {"per-token", "per-block", "K as Q", "K per-thread", "K grouped", "smooth", "no smoothing", "u8x255", "s8x127", "l quantized",
                            "l exact", "kv_block 64", "another kv_block", "qk_block 64", "qk_block 128",
                            "no rotation", "hadamard", "V per channel", "V per block"}) {
    EXPECT_TRUE(seen.count(value)) << "no CPU gate config has " << value;
  }
}

TEST(Expanded, ReparsesToTheSameCases) {
  for (const char* file : {"default.json", "ci-cpu.json", "ci-cpu-options-a.json", "ci-cpu-options-b.json",
                           "llama3-8b.json", "long-context.json", "int8fa-wide-d64.json", "int8fa-wide-d128.json",
                           "int8fa-d64-short.json", "int8fa-short.json", "int8-verdict-2k.json",
                           "int8-causal-short.json", "int8-causal-grid.json", "causal-one-round.json",
                           "head-dim-256.json"}) {
    const SweepConfig original = load_sweep_config(config_path(file));
    const SweepConfig again = parse_sweep_config(original.expanded.dump(), "expanded.json");
    ASSERT_EQ(again.cases.size(), original.cases.size()) << file;
    for (size_t i = 0; i < again.cases.size(); ++i) EXPECT_EQ(again.cases[i].id, original.cases[i].id);
    EXPECT_EQ(again.expanded, original.expanded) << file;
  }
}

// k_granularity "auto" (the default; kernel_quant chooses per kernel and case): read, kept apart
// from the QuantConfig ("as-q" there), written back as "auto"; any other name as before, a bad
// one named with the choices.
TEST(Expanded, KGranularityAutoIsASettingWrittenBackAsRead) {
  const SweepConfig automatic =
      parse_sweep_config(minimal_config("", R"(, "quantization": {"k_granularity": "auto"})"), "x.json");
  EXPECT_TRUE(automatic.settings.auto_k_granularity);
  EXPECT_EQ(automatic.settings.quant.k_granularity, KGranularity::AsQ);
  EXPECT_EQ(automatic.expanded["quantization"]["k_granularity"], "auto");
  const SweepConfig again = parse_sweep_config(automatic.expanded.dump(), "expanded.json");
  EXPECT_TRUE(again.settings.auto_k_granularity);
  // Absent, in a quantization block or without one: "auto".
  for (const char* quantization : {"", R"(, "quantization": {"kv_block": 128})"}) {
    const SweepConfig plain = parse_sweep_config(minimal_config("", quantization), "x.json");
    EXPECT_TRUE(plain.settings.auto_k_granularity) << quantization;
    EXPECT_EQ(plain.settings.quant.k_granularity, KGranularity::AsQ) << quantization;
    EXPECT_EQ(plain.expanded["quantization"]["k_granularity"], "auto") << quantization;
  }
  const SweepConfig as_q =
      parse_sweep_config(minimal_config("", R"(, "quantization": {"k_granularity": "as-q"})"), "x.json");
  EXPECT_FALSE(as_q.settings.auto_k_granularity);
  EXPECT_EQ(as_q.expanded["quantization"]["k_granularity"], "as-q");
  EXPECT_FALSE(parse_sweep_config(as_q.expanded.dump(), "expanded.json").settings.auto_k_granularity);
  const SweepConfig grouped =
      parse_sweep_config(minimal_config("", R"(, "quantization": {"k_granularity": "grouped"})"), "x.json");
  EXPECT_FALSE(grouped.settings.auto_k_granularity);
  EXPECT_EQ(grouped.settings.quant.k_granularity, KGranularity::Grouped);
  // "auto" with per-block Q/K scales is fine: it resolves to K's scales as Q's there.
  EXPECT_NO_THROW(parse_sweep_config(
      minimal_config("", R"(, "quantization": {"k_granularity": "auto", "qk_granularity": "per-block"})"), "x.json"));
  try {
    parse_sweep_config(minimal_config("", R"(, "quantization": {"k_granularity": "fastest"})"), "x.json");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("quantization.k_granularity"), std::string::npos) << what;
    EXPECT_NE(what.find("auto"), std::string::npos) << what;
  }
}

// kv_block / v_block: "auto" unless a number is given (then an absent one takes its default),
// and written back as read, so that the expanded config reparses to the same settings.
TEST(Expanded, KvBlocksAreAutoUnlessANumberIsGiven) {
  const SweepConfig plain = parse_sweep_config(minimal_config(""), "x.json");
  EXPECT_TRUE(plain.settings.auto_kv_blocks);
  EXPECT_EQ(plain.settings.quant.kv_block, kGpuKvBlock);
  EXPECT_EQ(plain.settings.quant.v_block, 0);
  EXPECT_EQ(plain.expanded["quantization"]["kv_block"], "auto");
  EXPECT_EQ(plain.expanded["quantization"]["v_block"], "auto");
  const SweepConfig named =
      parse_sweep_config(minimal_config("", R"(, "quantization": {"kv_block": "auto", "v_block": "auto"})"), "x.json");
  EXPECT_TRUE(named.settings.auto_kv_blocks);
  const SweepConfig kv_only = parse_sweep_config(minimal_config("", R"(, "quantization": {"kv_block": 64})"), "x.json");
  EXPECT_FALSE(kv_only.settings.auto_kv_blocks);
  EXPECT_EQ(kv_only.settings.quant.v_block, 0);
  EXPECT_EQ(kv_only.expanded["quantization"]["kv_block"], 64);
  EXPECT_FALSE(kv_only.expanded["quantization"].contains("v_block"));  // as before the option existed
  const SweepConfig blocked =
      parse_sweep_config(minimal_config("", R"(, "quantization": {"kv_block": 64, "v_block": 128})"), "x.json");
  EXPECT_FALSE(blocked.settings.auto_kv_blocks);
  EXPECT_EQ(blocked.settings.quant.v_block, 128);
  EXPECT_EQ(blocked.expanded["quantization"]["v_block"], 128);
  const SweepConfig v_only = parse_sweep_config(minimal_config("", R"(, "quantization": {"v_block": 128})"), "x.json");
  EXPECT_FALSE(v_only.settings.auto_kv_blocks);
  EXPECT_EQ(v_only.settings.quant.kv_block, kGpuKvBlock);
  EXPECT_EQ(v_only.settings.quant.v_block, 128);
}

// "auto" picks both blocks: auto for one and a number for the other is an error that says so.
TEST(Expanded, KvBlocksAutoForOneAndANumberForTheOtherIsAnError) {
  auto error_of = [](const std::string& quantization) {
    try {
      parse_sweep_config(minimal_config("", ", \"quantization\": " + quantization), "x.json");
    } catch (const ConfigError& e) {
      return std::string(e.json_path()) + " | " + e.what();
    }
    return std::string("no error");
  };
  const std::string kv_auto = error_of(R"({"kv_block": "auto", "v_block": 128})");
  EXPECT_EQ(kv_auto.rfind("quantization.kv_block | ", 0), 0u) << kv_auto;
  EXPECT_NE(kv_auto.find("both or neither"), std::string::npos) << kv_auto;
  const std::string v_auto = error_of(R"({"kv_block": 128, "v_block": "auto"})");
  EXPECT_EQ(v_auto.rfind("quantization.v_block | ", 0), 0u) << v_auto;
  EXPECT_NE(v_auto.find("both or neither"), std::string::npos) << v_auto;
  const std::string word = error_of(R"({"kv_block": "fast"})");
  EXPECT_EQ(word.rfind("quantization.kv_block | ", 0), 0u) << word;
  EXPECT_NE(word.find("\"auto\""), std::string::npos) << word;
}

TEST(Expanded, KeepsSeqListsAsGiven) {
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [1], "seq_q": [8, 8, 16], "seq_kv": [32], "head_dim": [8]}})", "x.json");
  EXPECT_EQ(config.cases.size(), 2u);
  EXPECT_EQ(config.expanded["axes"]["seq_q"], nlohmann::json::array({8, 8, 16}));
  EXPECT_EQ(config.expanded["axes"]["seq_kv"], nlohmann::json::array({32}));
  EXPECT_FALSE(config.expanded["axes"].contains("seq_len"));
}

TEST(Expanded, Sha256IsOfTheFileBytes) {
  const std::string text = minimal_config();
  EXPECT_EQ(parse_sweep_config(text, "x.json").sha256, sha256_hex(text));
}

}  // namespace
}  // namespace int8attn
