// Config support for the input families outlier-scale and attention-sink and for
// quantization.rotation (issue 15): parsing, defaults, case ids, errors naming the path,
// the expanded config, and the shipped accuracy study configs.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "src/config/sweep_config.h"

namespace int8attn {
namespace {

std::string config_with(const std::string& input, const std::string& extra = "", const char* head_dims = "[64]") {
  return std::string(R"({"axes": {"heads": [2], "seq_len": [32], "head_dim": )") + head_dims +
         R"(, "input": [)" + input + "]}" + extra + "}";
}

std::string error_path(const std::string& text) {
  try {
    parse_sweep_config(text, "families.json");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("families.json"), std::string::npos) << e.what();
    return e.json_path();
  }
  return "(no error)";
}

TEST(InputFamilyConfig, OutlierScaleDefaultsAndId) {
  const SweepConfig c = parse_sweep_config(config_with(R"({"distribution": "outlier-scale"})"), "x.json");
  ASSERT_EQ(c.cases.size(), 1u);
  const InputSpec& in = c.cases[0].input;
  EXPECT_EQ(in.distribution, Distribution::OutlierScale);
  EXPECT_EQ(in.outlier_magnitude, 20);
  EXPECT_EQ(in.q_outlier_magnitude, 5);
  EXPECT_EQ(in.outlier_channels, 4);
  EXPECT_EQ(c.cases[0].id, "b1-h2-kv2-q32-k32-d64-full-outlier-scalex20q5c4-s0");
  EXPECT_EQ(c.expanded["axes"]["input"][0]["q_magnitude"], 5.0);
}

TEST(InputFamilyConfig, AttentionSinkParameters) {
  const SweepConfig c = parse_sweep_config(
      config_with(R"({"distribution": "attention-sink", "sink_tokens": 4, "sink_magnitude": 3})"), "x.json");
  const InputSpec& in = c.cases[0].input;
  EXPECT_EQ(in.distribution, Distribution::AttentionSink);
  EXPECT_EQ(in.sink_tokens, 4);
  EXPECT_EQ(in.sink_magnitude, 3);
  EXPECT_EQ(c.cases[0].id, "b1-h2-kv2-q32-k32-d64-full-attention-sinkt4x3-s0");
}

TEST(InputFamilyConfig, ErrorsNameTheField) {
  EXPECT_EQ(error_path(config_with(R"({"q_magnitude": 5})")), "axes.input[0].q_magnitude");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-channels", "q_magnitude": 5})")),
            "axes.input[0].q_magnitude");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-scale", "sink_tokens": 1})")),
            "axes.input[0].sink_tokens");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "attention-sink", "channels": 4})")),
            "axes.input[0].channels");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "attention-sink", "sink_tokens": 0})")),
            "axes.input[0].sink_tokens");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "attention-sink", "sink_magnitude": -1})")),
            "axes.input[0].sink_magnitude");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-scale", "q_magnitude": "big"})")),
            "axes.input[0].q_magnitude");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-scale", "channels": 65})")),
            "axes.input[0].channels");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-sink"})")), "axes.input[0].distribution");
}

// Each parameter within its range, and together inside FP16: past 65504 every kernel of every
// case would fail on its inputs after validate said OK.
TEST(InputFamilyConfig, ParametersTogetherStayInsideFp16) {
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-channels", "scale": 10000, "magnitude": 60000})")),
            "axes.input[0]");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "outlier-scale", "scale": 1000, "q_magnitude": 20})")),
            "axes.input[0]");
  EXPECT_EQ(error_path(config_with(R"({"distribution": "attention-sink", "scale": 1000, "sink_magnitude": 60000})")),
            "axes.input[0]");
  // A sink key is scale·(n + m·u): both draws at their reach (5.77) in one element of a long K;
  // seed 2014 generates 89,000 at scale 7719, m 1 (the bound of one normal of variance 1 + m²
  // let it pass).
  EXPECT_EQ(error_path(config_with(R"({"distribution": "attention-sink", "scale": 7719, "sink_magnitude": 1})")),
            "axes.input[0]");
  for (const char* fits : {R"({"distribution": "outlier-channels", "scale": 100, "magnitude": 60000})",
                           R"({"distribution": "outlier-scale", "scale": 10, "magnitude": 1000})",
                           R"({"distribution": "attention-sink", "scale": 1000, "sink_magnitude": 10})",
                           R"({"distribution": "normal", "scale": 10000})"}) {
    EXPECT_EQ(error_path(config_with(fits)), "(no error)") << fits;
  }
}

TEST(InputFamilyConfig, MessageListsTheFamiliesThatTakeTheKey) {
  try {
    parse_sweep_config(config_with(R"({"distribution": "uniform", "channels": 4})"), "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("\"outlier-channels\" or \"outlier-scale\""), std::string::npos) << e.what();
  }
}

TEST(RotationConfig, DefaultIsNone) {
  const SweepConfig c = parse_sweep_config(config_with("{}"), "x.json");
  EXPECT_EQ(c.settings.quant.rotation, QkRotation::None);
  EXPECT_EQ(c.cases[0].rotation, QkRotation::None);
  EXPECT_EQ(c.expanded["quantization"]["rotation"], "none");
  EXPECT_EQ(c.cases[0].id.find("hadamard"), std::string::npos);
}

TEST(RotationConfig, OneValueSetsEveryCaseAndTheId) {
  const SweepConfig c = parse_sweep_config(config_with("{}", R"(, "quantization": {"rotation": "hadamard"})"), "x.json");
  EXPECT_EQ(c.settings.quant.rotation, QkRotation::Hadamard);
  ASSERT_EQ(c.cases.size(), 1u);
  EXPECT_EQ(c.cases[0].rotation, QkRotation::Hadamard);
  EXPECT_EQ(c.cases[0].id, "b1-h2-kv2-q32-k32-d64-full-normal-s0-hadamard");
  EXPECT_EQ(c.expanded["quantization"]["rotation"], "hadamard");
}

TEST(RotationConfig, AListIsTheInnermostAxis) {
  const SweepConfig c = parse_sweep_config(
      config_with(R"({"seed": 1}, {"seed": 2})", R"(, "quantization": {"rotation": ["none", "hadamard"]})"), "x.json");
  ASSERT_EQ(c.cases.size(), 4u);
  EXPECT_EQ(c.cases[0].input.seed, 1u);
  EXPECT_EQ(c.cases[0].rotation, QkRotation::None);
  EXPECT_EQ(c.cases[1].input.seed, 1u);
  EXPECT_EQ(c.cases[1].rotation, QkRotation::Hadamard);
  EXPECT_NE(c.cases[0].id, c.cases[1].id);  // compare sees two cases
  EXPECT_EQ(c.cases[2].input.seed, 2u);
  EXPECT_EQ(c.expanded["quantization"]["rotation"], nlohmann::json::array({"none", "hadamard"}));
  const SweepConfig again = parse_sweep_config(c.expanded.dump(), "expanded.json");
  ASSERT_EQ(again.cases.size(), c.cases.size());
  for (size_t i = 0; i < c.cases.size(); ++i) EXPECT_EQ(again.cases[i].id, c.cases[i].id);
}

TEST(RotationConfig, ErrorsNameTheField) {
  EXPECT_EQ(error_path(config_with("{}", R"(, "quantization": {"rotation": "walsh"})")), "quantization.rotation");
  EXPECT_EQ(error_path(config_with("{}", R"(, "quantization": {"rotation": []})")), "quantization.rotation");
  EXPECT_EQ(error_path(config_with("{}", R"(, "quantization": {"rotation": ["none", 1]})")),
            "quantization.rotation[1]");
  EXPECT_EQ(error_path(config_with("{}", R"(, "quantization": {"rotation": "hadamard"})", "[64, 96]")),
            "axes.head_dim[1]");
  // Without the rotation any multiple of 8 stays valid.
  EXPECT_EQ(error_path(config_with("{}", "", "[64, 96]")), "(no error)");
}

// quantization.fallback_rotation: the fallback's second try, on by default.
TEST(RotationConfig, FallbackRotationDefaultsToHadamardAndCanBeTurnedOff) {
  const SweepConfig by_default = parse_sweep_config(config_with("{}"), "x.json");
  EXPECT_EQ(by_default.settings.fallback_rotation, QkRotation::Hadamard);
  EXPECT_EQ(by_default.expanded["quantization"]["fallback_rotation"], "hadamard");
  const SweepConfig off =
      parse_sweep_config(config_with("{}", R"(, "quantization": {"fallback_rotation": "none"})"), "x.json");
  EXPECT_EQ(off.settings.fallback_rotation, QkRotation::None);
  EXPECT_EQ(off.settings.quant.rotation, QkRotation::None);  // the cases' own rotation is another setting
  EXPECT_EQ(off.expanded["quantization"]["fallback_rotation"], "none");
  EXPECT_EQ(error_path(config_with("{}", R"(, "quantization": {"fallback_rotation": "walsh"})")),
            "quantization.fallback_rotation");
  EXPECT_EQ(error_path(config_with("{}", R"(, "quantization": {"fallback_rotation": ["hadamard"]})")),
            "quantization.fallback_rotation");
}

std::string config_path(const std::string& name) { return std::string(INT8ATTN_SOURCE_DIR) + "/configs/" + name; }

// The accuracy study: every family, both rotations, ids unique and carrying the rotation.
TEST(AccuracyConfigs, EveryFamilyTimesEveryRotation) {
  for (const char* file : {"accuracy.json", "ci-cpu-accuracy.json"}) {
    const SweepConfig c = load_sweep_config(config_path(file));
    std::set<std::string> ids;
    std::set<std::pair<Distribution, QkRotation>> seen;
    for (const BenchCase& bc : c.cases) {
      EXPECT_TRUE(ids.insert(bc.id).second) << file << ": duplicate " << bc.id;
      EXPECT_EQ(bc.id, make_case_id(bc.dims, bc.input, bc.rotation));
      seen.insert({bc.input.distribution, bc.rotation});
    }
    for (Distribution d : kAllDistributions)
      for (QkRotation r : {QkRotation::None, QkRotation::Hadamard})
        EXPECT_TRUE(seen.count({d, r})) << file << ": no " << to_string(d) << " with " << to_string(r);
  }
}

}  // namespace
}  // namespace int8attn
