// The speed baseline end to end without a GPU: the config's "baseline" key, the report fields
// that carry it (case baseline, kernel speedup, FP8 verdict; additive in schema v1) and the
// speedups `compare` shows. The decision logic itself is in test_fallback.cpp.
#include <gtest/gtest.h>

#include <string>

#include "src/config/sweep_config.h"
#include "src/report/compare.h"
#include "src/report/json_io.h"
#include "tests/cpu/views_fixture.h"

namespace int8attn {
namespace {

using int8attn::testing::kernel_of;
using int8attn::testing::make_report;
using int8attn::testing::SweepShape;

std::string config_with(const std::string& extra) {
  return R"({"axes": {"heads": [4], "seq_len": [64], "head_dim": [64]},
             "kernels": ["int8-fa", "fp16-fa", "fp16-cudnn", "fp8-cudnn"])" +
         extra + "}";
}

TEST(BaselineConfig, DefaultIsTheFastestFp16Kernel) {
  const SweepConfig config = parse_sweep_config(config_with(""), "x.json");
  EXPECT_EQ(config.settings.baseline, "");
  EXPECT_EQ(config.expanded.at("baseline"), "fastest-fp16");
  const SweepConfig explicit_default = parse_sweep_config(config_with(R"(, "baseline": "fastest-fp16")"), "x.json");
  EXPECT_EQ(explicit_default.settings.baseline, "");
}

TEST(BaselineConfig, NamesAKernelOfTheSweep) {
  for (const char* name : {"fp16-fa", "fp16-cudnn", "fp8-cudnn"}) {
    const SweepConfig config =
        parse_sweep_config(config_with(std::string(R"(, "baseline": ")") + name + "\""), "x.json");
    EXPECT_EQ(config.settings.baseline, name);
    EXPECT_EQ(config.expanded.at("baseline"), name);
  }
}

void expect_config_error(const std::string& text, const std::string& needle) {
  try {
    parse_sweep_config(text, "bad.json");
    FAIL() << "no error for " << text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "baseline") << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(BaselineConfig, BadValuesNameTheKeyAndWhatIsExpected) {
  expect_config_error(config_with(R"(, "baseline": "int8-fa")"), "fp16-cudnn");  // INT8 is judged, not a baseline
  expect_config_error(config_with(R"(, "baseline": "fp16-ref-cublaslt")"), "fastest-fp16");
  expect_config_error(config_with(R"(, "baseline": 3)"), "");
  const std::string not_run = R"({"axes": {"heads": [4], "seq_len": [64], "head_dim": [64]},
      "kernels": ["int8-fa", "fp16-fa"], "baseline": "fp16-cudnn"})";
  expect_config_error(not_run, "a kernel this sweep runs");
}

Report report_with_baselines() {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(2);
  for (CaseResult& c : r.cases) {
    c.baseline = Baseline{"fastest-fp16", "fp16-fa", kernel_of(r, 0, "fp16-fa").latency->median_ms, ""};
    for (KernelResult& k : c.kernels) {
      if (k.kernel != "fp16-ref-cublaslt" && k.latency) k.speedup = c.baseline->median_ms.value() / k.latency->median_ms;
    }
  }
  r.cases[1].baseline = Baseline{"configured", "fp16-cudnn", std::nullopt, "baseline fp16-cudnn skipped: no speed comparison"};
  KernelResult fp8 = status_result("fp8-cudnn", KernelStatus::Ok, "");
  fp8.latency = LatencyStats{};
  fp8.latency->median_ms = 0.25;
  fp8.speedup = 2.0;
  fp8.fp8_verdict = Fp8Verdict{Fp8Decision::Fp16, {"accuracy: rel_l2 0.06 > max_rel_l2 0.05"}};
  r.cases[0].kernels.push_back(fp8);
  r.environment.cudnn_version = "9.19.0";
  summarize(r);
  return r;
}

TEST(BaselineReport, NewFieldsRoundTripThroughJson) {
  const Report r = report_with_baselines();
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["cases"][0]["baseline"]["rule"], "fastest-fp16");
  EXPECT_EQ(j["cases"][1]["baseline"]["rule"], "configured");
  EXPECT_FALSE(j["cases"][1]["baseline"].contains("median_ms"));
  EXPECT_EQ(j["environment"]["cudnn_version"], "9.19.0");
  EXPECT_EQ(j["summary"]["fp8_verdicts"], 1);
  EXPECT_EQ(j["summary"]["fp8_chosen"], 0);
  const Report back = report_from_json(j, "mem");
  ASSERT_TRUE(back.cases[1].baseline.has_value());
  EXPECT_EQ(back.cases[1].baseline->kernel, "fp16-cudnn");
  EXPECT_EQ(back.cases[1].baseline->note, r.cases[1].baseline->note);
  const KernelResult& fp8 = back.cases[0].kernels.back();
  ASSERT_TRUE(fp8.fp8_verdict.has_value());
  EXPECT_EQ(fp8.fp8_verdict->decision, Fp8Decision::Fp16);
  EXPECT_EQ(fp8.fp8_verdict->reasons, r.cases[0].kernels.back().fp8_verdict->reasons);
  EXPECT_EQ(fp8.speedup, 2.0);
  EXPECT_EQ(back.summary.fp8_geomean_speedup, r.summary.fp8_geomean_speedup);
  EXPECT_EQ(back.summary.baseline_rule, "fastest-fp16");
  EXPECT_EQ(to_json(back), j);
}

TEST(BaselineReport, OlderReportsStillGetSpeedupsAgainstTheFastestFp16) {
  Report r = make_report(SweepShape{}, 1);  // no baselines recorded, as before this field
  const CaseResult& c = r.cases[0];
  const KernelResult& int8 = kernel_of(r, 0, "int8-fa");
  const double want = kernel_of(r, 0, "fp16-fa").latency->median_ms / int8.latency->median_ms;
  ASSERT_TRUE(speedup_of(c, int8).has_value());
  EXPECT_DOUBLE_EQ(*speedup_of(c, int8), want);
  EXPECT_FALSE(speedup_of(c, kernel_of(r, 0, "fp16-ref-cublaslt")).has_value());
}

// A result's family is one rule (KernelResult::family) for the summary, the baseline and the
// views: the kernel table's; a name this build does not know (a newer build's report) is INT8
// when it carries a fallback decision, else of no family: never the FP16 baseline.
TEST(BaselineReport, AKernelsFamilyIsOneRuleForUnknownNamesToo) {
  EXPECT_EQ(status_result("fp16-cudnn", KernelStatus::Ok, "").family(), KernelFamily::Fp16);
  EXPECT_EQ(status_result("fp16-ref-cublaslt", KernelStatus::Ok, "").family(), KernelFamily::Reference);
  Report r = make_report(SweepShape{}, 1);
  CaseResult& c = r.cases[0];
  KernelResult newer = kernel_of(r, 0, "fp16-fa");
  newer.kernel = "fp16-fa-v2";
  newer.latency->median_ms = kernel_of(r, 0, "fp16-fa").latency->median_ms / 10;  // the fastest, if it counted
  EXPECT_EQ(newer.family(), KernelFamily::Unknown);
  KernelResult int8_newer = kernel_of(r, 0, "int8-fa");
  int8_newer.kernel = "int8-fa-v2";
  int8_newer.fallback = FallbackDecision{Decision::Fp16Fallback, {"accuracy: rel_l2 0.02 > max_rel_l2 0.0125"}};
  EXPECT_EQ(int8_newer.family(), KernelFamily::Int8);
  const KernelResult* before = fastest_fp16(c);
  ASSERT_NE(before, nullptr);
  const std::string fastest = before->kernel;
  c.kernels.push_back(newer);
  c.kernels.push_back(int8_newer);
  EXPECT_EQ(fastest_fp16(c)->kernel, fastest);
  summarize(r);
  // int8-fa-v2 fell back: its decision counts with int8-fa's and int8-qk's (which keep INT8).
  const double kept = 2.0 * static_cast<double>(r.cases.size());
  EXPECT_DOUBLE_EQ(r.summary.int8_share, kept / (kept + 1));
}

TEST(BaselineCompare, RowsShowBothSidesSpeedups) {
  const Report base = make_report(SweepShape{}, 1);  // older report: computed speedups
  Report cand = report_with_baselines();  // stored speedups
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  bool seen = false;
  for (const KernelComparison& row : result.rows) {
    if (row.case_id != cand.cases[0].id || row.kernel != "int8-fa") continue;
    seen = true;
    ASSERT_TRUE(row.baseline_speedup && row.candidate_speedup);
    EXPECT_DOUBLE_EQ(*row.candidate_speedup, *kernel_of(cand, 0, "int8-fa").speedup);
  }
  EXPECT_TRUE(seen);
  const std::string table = render_compare(result, CompareFormat::Table);
  EXPECT_NE(table.find("speedup base -> cand"), std::string::npos) << table;
  const nlohmann::json j = compare_to_json(result);
  EXPECT_TRUE(j["rows"][0].contains("candidate_speedup"));
}

}  // namespace
}  // namespace int8attn
