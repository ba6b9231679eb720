// compare: decisions on crafted report pairs, the statistics behind them, and its outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <sys/wait.h>

#include "src/report/compare.h"
#include "src/report/json_io.h"
#include "src/report/stats.h"
#include "tests/cpu/views_fixture.h"

namespace int8attn {
namespace {

using testing::SweepShape;
using testing::kernel_of;
using testing::make_report;
using testing::scale_latency;

const KernelComparison& row_of(const CompareResult& r, const std::string& case_id, const std::string& kernel) {
  for (const auto& row : r.rows) {
    if (row.case_id == case_id && row.kernel == kernel) return row;
  }
  throw std::out_of_range("no row " + case_id + " " + kernel);
}

std::vector<const KernelComparison*> failing(const CompareResult& r) {
  std::vector<const KernelComparison*> out;
  for (const auto& row : r.rows) {
    if (row.fails) out.push_back(&row);
  }
  return out;
}

TEST(MannWhitney, SeparatedSamplesAreSignificantOnlyInTheirDirection) {
  std::vector<double> fast, slow;
  for (int i = 0; i < 12; ++i) {
    fast.push_back(1.0 + 0.001 * i);
    slow.push_back(1.1 + 0.001 * i);
  }
  EXPECT_LT(*mann_whitney_greater_p(slow, fast), 1e-4);
  EXPECT_GT(*mann_whitney_greater_p(fast, slow), 0.99);
  EXPECT_GT(*mann_whitney_greater_p(fast, fast), 0.4);  // identical: no evidence
  EXPECT_FALSE(mann_whitney_greater_p({}, fast).has_value());
  EXPECT_FALSE(mann_whitney_greater_p({std::nan("")}, fast).has_value());  // NaN ignored, no hang
  std::vector<double> slow_with_nan = slow;
  slow_with_nan.push_back(std::nan(""));
  EXPECT_LT(*mann_whitney_greater_p(slow_with_nan, fast), 1e-4);
  // Three samples a side can never reach p < 0.01 (smallest one-sided exact p is 0.05).
  EXPECT_GT(*mann_whitney_greater_p({2, 2.1, 2.2}, {1, 1.1, 1.2}), 0.01);
}

TEST(MedianStandardError, ShrinksWithSamplesAndFallsBackToRelNoise) {
  LatencyStats s;
  s.stddev_ms = 0.1;
  s.samples = 100;
  EXPECT_NEAR(median_standard_error(s), 1.2533 * 0.1 / 10, 1e-4);
  s.samples = 1;
  EXPECT_DOUBLE_EQ(median_standard_error(s), 0.1);
  s = LatencyStats{};
  s.rel_noise = 0.02;
  s.mean_ms = 5;
  s.samples = 4;
  EXPECT_NEAR(median_standard_error(s), 1.2533 * 0.1 / 2, 1e-4);
}

TEST(Compare, ReportAgainstItselfIsClean) {
  const Report r = make_report(SweepShape{}, 1);
  CompareOptions strict;
  strict.latency_tolerance = 0;
  strict.mse_tolerance = strict.max_abs_tolerance = strict.rel_l2_tolerance = 0;
  const CompareResult result = compare_reports(r, r, strict);
  EXPECT_EQ(result.regressions, 0);
  EXPECT_EQ(result.improvements, 0);
  EXPECT_EQ(result.unchanged, static_cast<int>(r.cases.size() * 4));
  EXPECT_EQ(compare_exit_code(result), kExitPass);
}

TEST(Compare, RerunWithNoiseIsCleanEvenAtZeroLatencyTolerance) {
  for (bool keep_samples : {true, false}) {
    SweepShape shape;
    shape.keep_samples = keep_samples;
    const Report base = make_report(shape, 1);
    for (uint64_t seed = 2; seed < 12; ++seed) {
      const Report rerun = make_report(shape, seed);
      CompareOptions opt;
      opt.latency_tolerance = 0;  // only the noise rule stands between noise and a failure
      const CompareResult result = compare_reports(base, rerun, opt);
      EXPECT_EQ(result.regressions, 0) << "seed " << seed << " samples " << keep_samples << "\n"
                                       << render_compare(result, CompareFormat::Table);
      EXPECT_EQ(compare_exit_code(result), kExitPass);
    }
  }
}

TEST(Compare, RealSlowdownIsARegressionWithTheNumbers) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = make_report(SweepShape{}, 2);
  scale_latency(kernel_of(cand, 1, "int8-fa"), 1.10);
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  const auto fails = failing(result);
  ASSERT_EQ(fails.size(), 1u) << render_compare(result, CompareFormat::Table);
  EXPECT_EQ(fails[0]->case_id, base.cases[1].id);
  EXPECT_EQ(fails[0]->kernel, "int8-fa");
  ASSERT_FALSE(fails[0]->findings.empty());
  EXPECT_EQ(fails[0]->findings[0].metric, "latency");
  EXPECT_NEAR(*fails[0]->latency_change, 0.10, 0.03);
  EXPECT_LT(*fails[0]->mann_whitney_p, 0.01);
  EXPECT_EQ(compare_exit_code(result), kExitRegression);
  const std::string table = render_compare(result, CompareFormat::Table);
  EXPECT_NE(table.find("REGRESSION"), std::string::npos);
  EXPECT_NE(table.find(base.cases[1].id), std::string::npos);
  EXPECT_NE(table.find("tolerance 5.0%"), std::string::npos);
}

// Where both runs read the SM clock, a latency finding says both: a slowdown at a lower
// clock may be the GPU's power cap, not the kernel. The verdict is the latency's alone.
TEST(Compare, LatencyFindingsSayBothRunsSmClocks) {
  const Report base_unread = make_report(SweepShape{}, 1);
  Report base = base_unread;
  Report cand = make_report(SweepShape{}, 2);
  scale_latency(kernel_of(cand, 1, "int8-fa"), 1.10);
  kernel_of(base, 1, "int8-fa").latency->sm_clock = SmClockStats{1980, 1965, 20};
  kernel_of(cand, 1, "int8-fa").latency->sm_clock = SmClockStats{1755, 1700, 20};
  const CompareResult read = compare_reports(base, cand, CompareOptions{});
  const auto fails = failing(read);
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0]->findings[0].verdict, Verdict::Regression);
  EXPECT_NE(fails[0]->findings[0].message.find("; SM clock 1980 -> 1755 MHz (-11.4%)"), std::string::npos)
      << fails[0]->findings[0].message;
  const CompareResult one_side = compare_reports(base_unread, cand, CompareOptions{});
  const auto unread = failing(one_side);
  ASSERT_EQ(unread.size(), 1u);
  EXPECT_EQ(unread[0]->findings[0].message.find("SM clock"), std::string::npos) << "one side has no reading";
}

// A run whose kernels all read lower clocks is said once, in the notes: the GPU's state, not
// one kernel. Shifts under 3% (the reading's own spread) and one side without readings say nothing.
TEST(Compare, AShiftOfEveryKernelsSmClockIsNoted) {
  Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  auto set_clocks = [](Report& r, double mhz) {
    double step = 0;
    for (auto& c : r.cases) {
      for (auto& k : c.kernels) {
        if (k.latency) k.latency->sm_clock = SmClockStats{mhz + step, mhz + step, 1};
        step += 1;
      }
    }
  };
  EXPECT_TRUE(compare_reports(base, cand, CompareOptions{}).notes.empty());
  set_clocks(base, 1900);
  EXPECT_TRUE(compare_reports(base, cand, CompareOptions{}).notes.empty()) << "the candidate read none";
  set_clocks(cand, 1900 * 0.98);
  EXPECT_TRUE(compare_reports(base, cand, CompareOptions{}).notes.empty()) << "2% is inside the reading's spread";
  set_clocks(cand, 1900 * 0.94);
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_NE(result.notes[0].find("the candidate's kernels ran at SM clocks 6.0% lower than the baseline's"),
            std::string::npos) << result.notes[0];
  EXPECT_NE(render_compare(result, CompareFormat::Table).find("note: the candidate's kernels ran at SM clocks"),
            std::string::npos);
}

TEST(Compare, SlowdownInsideToleranceOrNoisePasses) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = make_report(SweepShape{}, 2);
  scale_latency(kernel_of(cand, 0, "int8-fa"), 1.03);  // under 5%
  EXPECT_EQ(compare_reports(base, cand, CompareOptions{}).regressions, 0);

  // 10% slower but both sides have 40% noise on 3 samples: not distinguishable.
  SweepShape noisy;
  noisy.samples = 3;
  noisy.rel_noise = 0.4;
  noisy.keep_samples = false;
  Report noisy_base = make_report(noisy, 1);
  Report noisy_cand = noisy_base;
  scale_latency(kernel_of(noisy_cand, 0, "int8-fa"), 1.10);
  const CompareResult noisy_result = compare_reports(noisy_base, noisy_cand, CompareOptions{});
  EXPECT_EQ(noisy_result.regressions, 0) << render_compare(noisy_result, CompareFormat::Table);
  // The same slowdown with tight noise fails: the noise rule is what let it through.
  SweepShape tight = noisy;
  tight.rel_noise = 0.001;
  Report tight_base = make_report(tight, 1);
  Report tight_cand = tight_base;
  scale_latency(kernel_of(tight_cand, 0, "int8-fa"), 1.10);
  EXPECT_EQ(compare_reports(tight_base, tight_cand, CompareOptions{}).regressions, 1);
}

TEST(Compare, MannWhitneyMustAgreeWhenSamplesExist) {
  // Medians 10% apart, tiny stddev summaries, but overlapping raw samples: U test vetoes.
  Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  auto& b = *kernel_of(base, 0, "int8-fa").latency;
  auto& c = *kernel_of(cand, 0, "int8-fa").latency;
  b.raw_ms = {1.0, 1.2, 0.9, 1.3, 1.0, 1.25};
  c.raw_ms = {1.1, 1.0, 1.3, 0.95, 1.2, 1.25};
  b.median_ms = 1.0;
  c.median_ms = 1.1;
  b.stddev_ms = c.stddev_ms = 1e-4;
  const CompareResult vetoed = compare_reports(base, cand, CompareOptions{});
  EXPECT_EQ(vetoed.regressions, 0);
  EXPECT_GT(*row_of(vetoed, base.cases[0].id, "int8-fa").mann_whitney_p, 0.01);
  c.raw_ms.clear();  // without samples on both sides the summaries decide
  EXPECT_EQ(compare_reports(base, cand, CompareOptions{}).regressions, 1);
}

// The quantization step is judged on its own: e225277 slowed it by 10-14% while the end-to-end
// latency around it moved by 1-4%, inside the tolerance, and no gate saw it (perf-log s25).
TEST(Compare, QuantizeStepIsJudgedOnItsOwn) {
  std::mt19937_64 rng(7);
  Report base = make_report(SweepShape{}, 1);
  Report cand = base;  // end to end identical
  KernelResult& c = kernel_of(cand, 1, "int8-fa");
  kernel_of(base, 1, "int8-fa").quantize_latency = testing::draw_latency(0.079, 0.006, 100, true, rng);
  c.quantize_latency = testing::draw_latency(0.090, 0.006, 100, true, rng);
  const CompareResult slower = compare_reports(base, cand, CompareOptions{});
  const KernelComparison& row = row_of(slower, base.cases[1].id, "int8-fa");
  EXPECT_EQ(row.verdict, Verdict::Regression);
  ASSERT_EQ(row.findings.size(), 1u) << render_compare(slower, CompareFormat::Table);
  EXPECT_EQ(row.findings[0].metric, "quantize_latency");
  EXPECT_EQ(row.findings[0].message.rfind("quantize step: median 0.07", 0), 0u) << row.findings[0].message;
  EXPECT_FALSE(row.latency_change.has_value() && *row.latency_change != 0.0);  // the row's latency is end to end
  EXPECT_EQ(compare_exit_code(slower), kExitRegression);

  c.quantize_latency = testing::draw_latency(0.081, 0.006, 100, true, rng);  // +2.5%: inside the tolerance
  EXPECT_EQ(compare_reports(base, cand, CompareOptions{}).regressions, 0);
  c.quantize_latency = testing::draw_latency(0.070, 0.006, 100, true, rng);
  const CompareResult faster = compare_reports(base, cand, CompareOptions{});
  EXPECT_EQ(faster.improvements, 1);
  EXPECT_EQ(compare_exit_code(faster), kExitPass);
  c.quantize_latency.reset();  // a report without it (fp16 kernels, older reports): nothing to judge
  EXPECT_EQ(compare_reports(base, cand, CompareOptions{}).regressions, 0);
}

TEST(Compare, SpeedupIsAnImprovementAndNeverFails) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = make_report(SweepShape{}, 2);
  scale_latency(kernel_of(cand, 2, "int8-qk"), 0.7);
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  EXPECT_EQ(result.improvements, 1);
  EXPECT_EQ(row_of(result, base.cases[2].id, "int8-qk").verdict, Verdict::Improvement);
  EXPECT_EQ(compare_exit_code(result), kExitPass);
}

TEST(Compare, AccuracyGrowthBeyondToleranceFails) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  kernel_of(cand, 0, "int8-fa").accuracy->rel_l2 *= 1.2;    // +20% > 10%
  kernel_of(cand, 1, "int8-fa").accuracy->rel_l2 *= 1.05;   // +5%: allowed
  kernel_of(cand, 2, "int8-qk").accuracy->max_abs_error *= 1.5;
  kernel_of(cand, 3, "int8-qk").accuracy->mse *= 0.5;       // better
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  EXPECT_EQ(result.regressions, 2) << render_compare(result, CompareFormat::Table);
  EXPECT_EQ(row_of(result, base.cases[0].id, "int8-fa").findings.at(0).metric, "rel_l2");
  EXPECT_EQ(row_of(result, base.cases[1].id, "int8-fa").verdict, Verdict::Same);
  EXPECT_EQ(row_of(result, base.cases[2].id, "int8-qk").findings.at(0).metric, "max_abs_error");
  EXPECT_EQ(row_of(result, base.cases[3].id, "int8-qk").verdict, Verdict::Improvement);
}

TEST(Compare, ZeroToleranceFailsOnAnyGrowthAndFloorIgnoresTinyNoise) {
  Report base = make_report(SweepShape{}, 1);
  kernel_of(base, 0, "fp16-fa").accuracy->mse = 0.0;
  Report cand = base;
  kernel_of(cand, 0, "fp16-fa").accuracy->mse = 1e-13;  // 0 -> tiny: under the 1e-12 floor
  EXPECT_EQ(compare_reports(base, cand, CompareOptions{}).regressions, 0);
  CompareOptions zero;
  zero.mse_tolerance = zero.rel_l2_tolerance = zero.max_abs_tolerance = 0;
  EXPECT_EQ(compare_reports(base, cand, zero).regressions, 1);
  Report tiny = base;
  auto& a = *kernel_of(tiny, 1, "int8-fa").accuracy;
  a.rel_l2 = std::nextafter(a.rel_l2, 1.0);  // one ulp worse
  EXPECT_EQ(compare_reports(base, tiny, zero).regressions, 1);
}

// The exact gate: under fail_on_change a metric that moved either way fails; without it, a
// better number is an improvement that passes.
TEST(Compare, FailOnChangeFailsOnAnyAccuracyChangeEitherWay) {
  const Report base = make_report(SweepShape{}, 1);
  CompareOptions exact;
  exact.mse_tolerance = exact.rel_l2_tolerance = exact.max_abs_tolerance = 0;
  exact.fail_on_change = true;
  EXPECT_EQ(compare_exit_code(compare_reports(base, base, exact)), kExitPass);

  Report better = base;
  auto& a = *kernel_of(better, 1, "int8-fa").accuracy;
  a.rel_l2 = std::nextafter(a.rel_l2, 0.0);  // one ulp better
  EXPECT_EQ(compare_exit_code(compare_reports(base, better, CompareOptions{})), kExitPass);
  CompareResult result = compare_reports(base, better, exact);
  EXPECT_EQ(result.changed, 1);
  EXPECT_EQ(result.regressions, 0);
  EXPECT_EQ(row_of(result, base.cases[1].id, "int8-fa").verdict, Verdict::Changed);
  EXPECT_EQ(compare_exit_code(result), kExitRegression);
  EXPECT_NE(render_compare(result, CompareFormat::Table).find("1 changed"), std::string::npos);

  Report worse = base;
  kernel_of(worse, 1, "int8-fa").accuracy->mse *= 1.0 + 1e-12;
  EXPECT_EQ(compare_reports(base, worse, exact).regressions, 1);

  // Metrics without a tolerance, a decision and a status turning good, a new case: all fail.
  for (int what = 0; what < 5; ++what) {
    Report cand = base;
    auto& k = kernel_of(cand, 2, "int8-qk");
    if (what == 0) k.accuracy->cosine = std::nextafter(k.accuracy->cosine, 2.0);
    if (what == 1) k.accuracy->mean_abs_error *= 0.5;
    if (what == 2) k.accuracy->max_abs_index += 1;
    if (what == 3) kernel_of(cand, 2, "int8-fa").fallback->decision = Decision::Fp16Fallback;
    if (what == 4) {
      cand.cases.push_back(cand.cases[0]);
      cand.cases.back().id = "brand-new-case";
    }
    const Report& from = what == 3 ? cand : base;  // fp16-fallback -> int8 is the good way
    const Report& to = what == 3 ? base : cand;
    EXPECT_EQ(compare_exit_code(compare_reports(from, to, exact)), kExitRegression) << "change " << what;
    EXPECT_EQ(compare_exit_code(compare_reports(from, to, CompareOptions{})), kExitPass) << "change " << what;
  }
}

// An INT8 kernel that ran with other quantization ("auto" on another device or version):
// a note names the kernel, the case count and the change; the numbers are judged as usual; the
// exact gate fails on it. A side without the field (older reports) changes nothing.
TEST(Compare, ChangedQuantizationBlocksAreNotedAndFailOnlyTheExactGate) {
  Report base = make_report(SweepShape{}, 1);
  for (size_t i = 0; i < base.cases.size(); ++i) kernel_of(base, i, "int8-fa").quantization = KernelQuantization{64, 0};
  Report cand = base;
  for (size_t i = 0; i < 2; ++i) kernel_of(cand, i, "int8-fa").quantization = KernelQuantization{128, 128};
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  EXPECT_EQ(compare_exit_code(result), kExitPass);
  EXPECT_EQ(result.unchanged, static_cast<int>(result.rows.size()));
  const std::string note =
      "int8-fa ran with other quantization in 2 case(s) (kv_block 64, v_block 0 -> kv_block 128, v_block 128): its "
      "latency and accuracy changes include that";
  EXPECT_NE(std::find(result.notes.begin(), result.notes.end(), note), result.notes.end());
  EXPECT_NE(render_compare(result, CompareFormat::Table).find(note), std::string::npos);

  CompareOptions exact;
  exact.fail_on_change = true;
  const CompareResult gated = compare_reports(base, cand, exact);
  EXPECT_EQ(gated.changed, 2);
  EXPECT_EQ(row_of(gated, base.cases[0].id, "int8-fa").findings.at(0).metric, "quantization");

  Report older = base;  // written before kernel results recorded their blocks
  for (size_t i = 0; i < older.cases.size(); ++i) kernel_of(older, i, "int8-fa").quantization.reset();
  const CompareResult from_older = compare_reports(older, cand, exact);
  EXPECT_EQ(from_older.changed, 0);
  EXPECT_TRUE(std::none_of(from_older.notes.begin(), from_older.notes.end(),
                           [](const std::string& n) { return n.find("quantization blocks") != std::string::npos; }));
}

TEST(Compare, NonFiniteOutputsAndNaNMetricsAreRegressions) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  kernel_of(cand, 0, "int8-fa").accuracy->nonfinite = 3;
  kernel_of(cand, 1, "int8-fa").accuracy->rel_l2 = std::nan("");
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  EXPECT_EQ(result.regressions, 2);
}

TEST(Compare, FallbackFlipIsARegressionAndTheReverseAnImprovement) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  auto& flipped = *kernel_of(cand, 2, "int8-fa").fallback;
  flipped.decision = Decision::Fp16Fallback;
  flipped.reasons = {"accuracy: max_abs_error 0.07 > 0.05"};
  CompareResult result = compare_reports(base, cand, CompareOptions{});
  const auto& row = row_of(result, base.cases[2].id, "int8-fa");
  EXPECT_EQ(row.verdict, Verdict::Regression);
  EXPECT_NE(row.findings.at(0).message.find("max_abs_error 0.07"), std::string::npos);
  result = compare_reports(cand, base, CompareOptions{});
  EXPECT_EQ(row_of(result, base.cases[2].id, "int8-fa").verdict, Verdict::Improvement);
  EXPECT_EQ(compare_exit_code(result), kExitPass);
}

// A decision that flips only because the kernel crossed the case's baseline by less than the
// latency tolerance (two runs of one build at the 1.00x line) is noise, reported and not
// failed; a larger move, a flip for another reason, or reports without speedups still fail.
TEST(Compare, SpeedOnlyFlipWithinTheLatencyToleranceIsTheSpeedLinesNoise) {
  const Report base_report = make_report(SweepShape{}, 1);
  const std::string id = base_report.cases[2].id;
  auto with = [&](Decision d, std::optional<double> speedup, std::vector<std::string> reasons) {
    Report r = base_report;
    KernelResult& k = kernel_of(r, 2, "int8-fa");
    k.fallback->decision = d;
    k.fallback->reasons = std::move(reasons);
    k.speedup = speedup;
    return r;
  };
  const std::string slower = std::string(kSpeedReasonPrefix) + "int8-fa 0.2811 ms is slower than fp16-cudnn 0.2795 ms";
  const Report int8 = with(Decision::Int8, 1.004, {});
  const Report fp16 = with(Decision::Fp16Fallback, 0.994, {slower});
  for (const auto& [from, to] : {std::pair{&int8, &fp16}, std::pair{&fp16, &int8}}) {
    const CompareResult result = compare_reports(*from, *to, CompareOptions{});
    const auto& row = row_of(result, id, "int8-fa");
    EXPECT_EQ(row.verdict, Verdict::Same);
    ASSERT_EQ(row.findings.size(), 1u);
    EXPECT_NE(row.findings[0].message.find("at the speed line"), std::string::npos) << row.findings[0].message;
    EXPECT_EQ(compare_exit_code(result), kExitPass);
    // Listed in every view, the terminal's too.
    for (CompareFormat format : {CompareFormat::Table, CompareFormat::Markdown, CompareFormat::Json}) {
      EXPECT_NE(render_compare(result, format).find("at the speed line"), std::string::npos);
    }
  }
  CompareOptions tight;
  tight.latency_tolerance = 0.005;  // 1.004x -> 0.994x is a 1% move
  EXPECT_EQ(row_of(compare_reports(int8, fp16, tight), id, "int8-fa").verdict, Verdict::Regression);
  const Report much_slower = with(Decision::Fp16Fallback, 0.90, {slower});
  EXPECT_EQ(row_of(compare_reports(int8, much_slower, CompareOptions{}), id, "int8-fa").verdict, Verdict::Regression);
  const Report also_inaccurate =
      with(Decision::Fp16Fallback, 0.994, {"accuracy: max_abs_error 0.07 > max_abs_error limit 0.05", slower});
  EXPECT_EQ(row_of(compare_reports(int8, also_inaccurate, CompareOptions{}), id, "int8-fa").verdict,
            Verdict::Regression);
  const Report no_speedups = with(Decision::Fp16Fallback, std::nullopt, {slower});
  EXPECT_EQ(row_of(compare_reports(with(Decision::Int8, std::nullopt, {}), no_speedups, CompareOptions{}), id,
                   "int8-fa")
                .verdict,
            Verdict::Regression);
}

// int8-hadamard sits between the two: INT8 still, but only with the rotation.
TEST(Compare, Int8HadamardRanksBetweenInt8AndFallback) {
  const Report base = make_report(SweepShape{}, 1);
  auto with_decision = [&](Decision d) {
    Report r = base;
    auto& fallback = *kernel_of(r, 2, "int8-fa").fallback;
    fallback.decision = d;
    fallback.reasons = {"accuracy: rel_l2 0.03 > max_rel_l2 0.02"};
    return r;
  };
  const Report int8 = with_decision(Decision::Int8), rotated = with_decision(Decision::Int8Hadamard),
               fp16 = with_decision(Decision::Fp16Fallback);
  auto verdict = [&](const Report& from, const Report& to) {
    return row_of(compare_reports(from, to, CompareOptions{}), base.cases[2].id, "int8-fa").verdict;
  };
  EXPECT_EQ(verdict(int8, rotated), Verdict::Regression);
  EXPECT_EQ(verdict(rotated, fp16), Verdict::Regression);
  EXPECT_EQ(verdict(fp16, rotated), Verdict::Improvement);
  EXPECT_EQ(verdict(rotated, int8), Verdict::Improvement);
  const CompareResult result = compare_reports(int8, rotated, CompareOptions{});
  EXPECT_NE(row_of(result, base.cases[2].id, "int8-fa").findings.at(0).message.find("decision int8 -> int8-hadamard"),
            std::string::npos);
}

TEST(Compare, StatusOkToErrorFails) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  auto& k = kernel_of(cand, 4, "int8-qk");
  k.status = KernelStatus::Error;
  k.reason = "CUDA error: illegal memory access";
  k.latency.reset();
  k.accuracy.reset();
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  ASSERT_EQ(failing(result).size(), 1u);
  EXPECT_NE(failing(result)[0]->findings[0].message.find("illegal memory access"), std::string::npos);
}

TEST(Compare, MissingCasesFollowThePolicyAndNewCasesNeverFail) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  const std::string gone = cand.cases[3].id;
  cand.cases.erase(cand.cases.begin() + 3);
  auto& skipped = kernel_of(cand, 0, "int8-fa");
  skipped.status = KernelStatus::Skipped;
  skipped.reason = "shape: head_dim 128 not supported";
  skipped.fallback = FallbackDecision{Decision::Fp16Fallback, {skipped.reason}};  // as a sweep writes it
  CaseResult extra = cand.cases[0];
  extra.id = "brand-new-case";
  cand.cases.push_back(extra);

  CompareOptions warn;
  const CompareResult warned = compare_reports(base, cand, warn);
  EXPECT_EQ(warned.missing, 5);  // four kernels of the removed case + the skipped one
  EXPECT_EQ(warned.added, 4);
  EXPECT_EQ(row_of(warned, gone, "int8-fa").verdict, Verdict::Missing);
  EXPECT_EQ(compare_exit_code(warned), kExitPass);

  CompareOptions fail;
  fail.missing_policy = MissingPolicy::Fail;
  const CompareResult failed = compare_reports(base, cand, fail);
  EXPECT_EQ(failing(failed).size(), 5u);
  EXPECT_EQ(compare_exit_code(failed), kExitRegression);
}

// A measurement the candidate dropped was not compared: missing (and failing under
// --missing fail), never "same".
TEST(Compare, AMeasurementTheCandidateLacksIsMissingNotSame) {
  const Report base = make_report(SweepShape{}, 1);
  for (const char* what : {"latency", "accuracy", "fallback"}) {
    Report cand = base;
    KernelResult& k = kernel_of(cand, 1, "int8-fa");
    if (std::string(what) == "latency") k.latency.reset();
    if (std::string(what) == "accuracy") k.accuracy.reset();
    if (std::string(what) == "fallback") k.fallback.reset();
    const CompareResult warned = compare_reports(base, cand, CompareOptions{});
    const KernelComparison& row = row_of(warned, cand.cases[1].id, "int8-fa");
    EXPECT_EQ(row.verdict, Verdict::Missing) << what;
    ASSERT_FALSE(row.findings.empty()) << what;
    EXPECT_EQ(row.findings[0].metric, what);
    CompareOptions fail;
    fail.missing_policy = MissingPolicy::Fail;
    EXPECT_EQ(compare_exit_code(compare_reports(base, cand, fail)), kExitRegression) << what;
  }
}

// A candidate that shares no run with the baseline (an empty or interrupted sweep) has no
// verdict: an input error, never "0 regressions -> PASS".
TEST(Compare, ACandidateWithNoneOfTheBaselinesRunsIsAnInputError) {
  const Report base = make_report(SweepShape{}, 1);
  Report empty = base;
  empty.cases.clear();
  EXPECT_THROW(compare_reports(base, empty, CompareOptions{}), CompareInputError);
  Report one = base;
  one.cases.resize(1);
  EXPECT_NO_THROW(compare_reports(base, one, CompareOptions{}));
}

// Nor does an empty baseline give one: every candidate run would be "new" and the gate pass.
TEST(Compare, ABaselineWithNoRunIsAnInputError) {
  const Report cand = make_report(SweepShape{}, 1);
  Report empty = cand;
  empty.cases.clear();
  EXPECT_THROW(compare_reports(empty, cand, CompareOptions{}), CompareInputError);
  for (CaseResult& c : empty.cases = cand.cases) c.kernels.clear();
  EXPECT_THROW(compare_reports(empty, cand, CompareOptions{}), CompareInputError);
}

// FP8's verdict is judged like INT8's decision: fp8 -> fp16 fails, the reverse is better, and
// a verdict the candidate lacks is missing.
TEST(Compare, Fp8VerdictFlipIsARegressionAndItsAbsenceMissing) {
  Report base = make_report(SweepShape{}, 1);
  for (CaseResult& c : base.cases) {
    KernelResult fp8 = kernel_of(base, 0, "fp16-fa");
    fp8.kernel = "fp8-cudnn";
    fp8.fp8_verdict = Fp8Verdict{Fp8Decision::Fp8, {}};
    c.kernels.push_back(fp8);
  }
  Report cand = base;
  kernel_of(cand, 1, "fp8-cudnn").fp8_verdict = Fp8Verdict{Fp8Decision::Fp16, {"accuracy: rel_l2 0.2 > 0.1"}};
  kernel_of(cand, 2, "fp8-cudnn").fp8_verdict.reset();
  CompareResult result = compare_reports(base, cand, CompareOptions{});
  const KernelComparison& flipped = row_of(result, base.cases[1].id, "fp8-cudnn");
  EXPECT_EQ(flipped.verdict, Verdict::Regression);
  EXPECT_EQ(flipped.findings.at(0).metric, "fp8_verdict");
  EXPECT_NE(flipped.findings.at(0).message.find("fp8 -> fp16 (accuracy: rel_l2 0.2"), std::string::npos);
  EXPECT_EQ(row_of(result, base.cases[2].id, "fp8-cudnn").verdict, Verdict::Missing);
  EXPECT_EQ(compare_exit_code(result), kExitRegression);
  kernel_of(cand, 2, "fp8-cudnn").fp8_verdict = Fp8Verdict{Fp8Decision::Fp8, {}};
  result = compare_reports(cand, base, CompareOptions{});
  EXPECT_EQ(row_of(result, base.cases[1].id, "fp8-cudnn").verdict, Verdict::Improvement);
  EXPECT_EQ(compare_exit_code(result), kExitPass);
}

// A merged report whose shards ran on two GPU models is not the single-GPU baseline's device.
TEST(Compare, CasesOfAMergedReportOnAnotherDeviceAreADifferentDevice) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  Environment other = cand.environment;
  other.gpu_name = "NVIDIA A100-SXM4-80GB";
  cand.cases[2].environment = other;
  try {
    compare_reports(base, cand, CompareOptions{});
    ADD_FAILURE() << "no error";
  } catch (const CompareInputError& e) {
    EXPECT_NE(std::string(e.what()).find("A100"), std::string::npos) << e.what();
  }
  Report same = base;
  same.cases[2].environment = base.environment;  // a case's own copy of the same device
  EXPECT_NO_THROW(compare_reports(base, same, CompareOptions{}));
}

TEST(Compare, DifferentDeviceIsAnInputErrorUnlessAllowed) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  cand.environment.gpu_name = "NVIDIA A100-SXM4-80GB";
  EXPECT_THROW(compare_reports(base, cand, CompareOptions{}), CompareInputError);
  CompareOptions allow;
  allow.allow_different_device = true;
  const CompareResult result = compare_reports(base, cand, allow);
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_NE(result.notes[0].find("A100"), std::string::npos);
  EXPECT_NE(render_compare(result, CompareFormat::Table).find("different devices"), std::string::npos);
  EXPECT_NE(render_compare(result, CompareFormat::Markdown).find("different devices"), std::string::npos);
  Report cpu = base;
  cpu.environment.backend = "cpu";
  cpu.environment.gpu_name.clear();
  EXPECT_THROW(compare_reports(base, cpu, CompareOptions{}), CompareInputError);
}

TEST(Compare, SchemaMismatchIsAnInputError) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  cand.schema = "int8attn-bench/report/v2";
  EXPECT_THROW(compare_reports(base, cand, CompareOptions{}), CompareInputError);
}

class CompareFiles : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("views-compare-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

TEST_F(CompareFiles, ReadReportRejectsWrongSchemaAndTruncatedFiles) {
  const Report r = make_report(SweepShape{}, 1);
  nlohmann::json j = to_json(r);
  const std::string good = write("good.json", j.dump(1));
  const Report back = read_report(good);
  EXPECT_EQ(compare_reports(r, back, CompareOptions{}).regressions, 0);  // round trip compares clean

  j["schema"] = "int8attn-bench/report/v9";
  EXPECT_THROW(read_report(write("schema.json", j.dump())), ReportError);
  const std::string text = to_json(r).dump();
  EXPECT_THROW(read_report(write("truncated.json", text.substr(0, text.size() / 2))), ReportError);
  EXPECT_THROW(read_report((dir_ / "absent.json").string()), ReportError);
}

TEST_F(CompareFiles, JunitHasOneTestcasePerKernelAndFailuresWithReasons) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  kernel_of(cand, 0, "int8-fa").accuracy->rel_l2 *= 2;
  cand.cases.pop_back();
  CompareResult result = compare_reports(base, cand, CompareOptions{});
  result.candidate_label = "new<&>.json";
  const std::string path = (dir_ / "junit.xml").string();
  write_junit(result, path);
  std::ifstream in(path);
  const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = xml.find(needle); p != std::string::npos; p = xml.find(needle, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<testcase "), base.cases.size() * 4);
  EXPECT_EQ(count("<failure "), 1u);
  EXPECT_EQ(count("<skipped "), 4u);  // the dropped case, missing under Warn
  EXPECT_NE(xml.find("rel_l2"), std::string::npos);
  EXPECT_NE(xml.find("new&lt;&amp;&gt;.json"), std::string::npos);
  EXPECT_EQ(xml.find("new<&>"), std::string::npos);
}

TEST(Compare, CaseFilterSubstringAndGlob) {
  EXPECT_TRUE(case_id_matches("b1-h16-kv16-q4096-k4096-d128-causal-normal-s0", "causal"));
  EXPECT_TRUE(case_id_matches("b1-h16-kv16-q4096-k4096-d128-causal-normal-s0", "*q4096*causal*"));
  EXPECT_FALSE(case_id_matches("b1-h16-kv16-q4096-k4096-d128-full-normal-s0", "*causal*"));
  EXPECT_TRUE(case_id_matches("b1-h16-q1024", "b?-h16-q[0-9]*"));
  EXPECT_FALSE(case_id_matches("b1-h16-q1024", "b?-h16-q[!0-9]*"));
  EXPECT_TRUE(case_id_matches("anything", ""));

  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  for (auto& c : cand.cases) scale_latency(c.kernels[1], c.dims.causal ? 1.0 : 2.0);
  CompareOptions opt;
  opt.case_filter = "causal";
  const CompareResult result = compare_reports(base, cand, opt);
  EXPECT_EQ(result.rows.size(), 3u * 4u);
  EXPECT_EQ(result.regressions, 0);
}

TEST(Compare, FilterMatchingNoCaseIsAnInputError) {
  const Report base = make_report(SweepShape{}, 1);
  CompareOptions opt;
  opt.case_filter = "b9-*";
  EXPECT_THROW(compare_reports(base, base, opt), CompareInputError);
}

TEST(Compare, DifferentConfigsAreSaidInTheFirstLines) {
  Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  base.config.sha256 = std::string(64, 'a');
  base.config.settings = {{"name", "default"}};
  cand.config.sha256 = std::string(64, 'b');
  cand.config.settings = {{"name", "int8-targets"}};
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_NE(result.notes[0].find("'default' (sha256 aaaaaaaaaaaa) vs 'int8-targets' (sha256 bbbbbbbbbbbb)"),
            std::string::npos) << result.notes[0];
  const std::string table = render_compare(result, CompareFormat::Table);
  const size_t second_line = table.find('\n') + 1;
  EXPECT_EQ(table.find("note: the reports come from different configs"), second_line) << table;
  const std::string md = render_compare(result, CompareFormat::Markdown);
  EXPECT_LT(md.find("different configs"), md.find("| case |")) << md;
  EXPECT_TRUE(compare_reports(base, base, CompareOptions{}).notes.empty());
}

// A setting that changes what a sample holds (the L2 flush) is named when the reports differ in
// it, from the options where a report has them; the number of samples is not.
TEST(Compare, MeasuredDifferentlyIsSaid) {
  Report base = make_report(SweepShape{}, 1);
  base.config.settings = {{"measurement", {{"flush_l2", true}, {"min_samples", 10}}}};
  Report cand = base;
  cand.config.settings["measurement"]["min_samples"] = 50;
  EXPECT_TRUE(compare_reports(base, cand, CompareOptions{}).notes.empty());
  cand.config.settings["measurement"]["flush_l2"] = false;
  CompareResult result = compare_reports(base, cand, CompareOptions{});
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_NE(result.notes[0].find("measured differently: measurement.flush_l2 true vs false"), std::string::npos)
      << result.notes[0];
  cand.config.settings["measurement"].erase("flush_l2");  // a report from before the setting
  result = compare_reports(base, cand, CompareOptions{});
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_NE(result.notes[0].find("measurement.flush_l2 true vs absent"), std::string::npos) << result.notes[0];
  // Reports from before the stream hold held host time in their small cases' samples.
  cand = base;
  base.config.settings["measurement"]["hold_launches"] = true;
  result = compare_reports(base, cand, CompareOptions{});
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_NE(result.notes[0].find("measurement.hold_launches true vs absent"), std::string::npos) << result.notes[0];
  base.config.settings["measurement"].erase("hold_launches");
  // The options (after the command line) win over the config file's settings.
  cand = base;
  cand.config.options = {{"measurement", {{"flush_l2", false}}}};
  EXPECT_EQ(compare_reports(base, cand, CompareOptions{}).notes.size(), 1u);
  EXPECT_TRUE(compare_reports(base, base, CompareOptions{}).notes.empty());
}

TEST(Compare, MissingAndNewRowsAreOneLineEach) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  std::vector<std::string> gone;
  for (int i = 0; i < 3; ++i) {
    gone.push_back(cand.cases.back().id);
    cand.cases.pop_back();
  }
  CaseResult extra = cand.cases[0];
  extra.id = "brand-new-case";
  cand.cases.push_back(extra);
  CompareOptions opt;
  const CompareResult warned = compare_reports(base, cand, opt);
  const std::string table = render_compare(warned, CompareFormat::Table);
  size_t lines_naming_a_gone_case = 0;
  for (size_t at = 0; (at = table.find(gone[0], at)) != std::string::npos; ++at) ++lines_naming_a_gone_case;
  EXPECT_EQ(lines_naming_a_gone_case, 1u) << table;
  EXPECT_NE(table.find("missing: 12 (case, kernel) run(s) of the baseline are not in the candidate: 3 case(s)"),
            std::string::npos) << table;
  EXPECT_NE(table.find("new: 4 (case, kernel) run(s) are only in the candidate: 1 case(s) (brand-new-case)"),
            std::string::npos) << table;
  EXPECT_EQ(table.find("[FAIL]"), std::string::npos);
  EXPECT_EQ(compare_to_json(warned)["rows"].size(), warned.rows.size());  // programs still get every row

  opt.missing_policy = MissingPolicy::Fail;
  const CompareResult failed = compare_reports(base, cand, opt);
  EXPECT_NE(render_compare(failed, CompareFormat::Markdown).find("not in the candidate: 3 case(s)"), std::string::npos);
  EXPECT_NE(render_compare(failed, CompareFormat::Table).find("[FAIL]"), std::string::npos);
  EXPECT_EQ(compare_exit_code(failed), kExitRegression);
}

TEST(Compare, CsvHasAHeaderAndOneLinePerRow) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  scale_latency(kernel_of(cand, 0, "int8-fa"), 1.5);
  const CompareResult result = compare_reports(base, cand, CompareOptions{});
  const std::string csv = render_compare(result, CompareFormat::Csv);
  EXPECT_EQ(csv.rfind("case,kernel,verdict,fails,", 0), 0u) << csv.substr(0, 200);
  EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')), result.rows.size() + 1);
  EXPECT_NE(csv.find(",REGRESSION,true,"), std::string::npos);
  EXPECT_EQ(parse_compare_format("csv"), CompareFormat::Csv);
  EXPECT_FALSE(parse_compare_format("html").has_value());
}

TEST(Compare, RenderedViewsAreWellFormed) {
  const Report base = make_report(SweepShape{}, 1);
  Report cand = base;
  scale_latency(kernel_of(cand, 0, "int8-fa"), 1.5);
  CompareResult result = compare_reports(base, cand, CompareOptions{});
  const auto j = nlohmann::json::parse(render_compare(result, CompareFormat::Json));
  EXPECT_EQ(j["summary"]["regressions"], 1);
  EXPECT_EQ(j["summary"]["exit_code"], 1);
  EXPECT_EQ(j["rows"].size(), result.rows.size());
  const std::string md = render_compare(result, CompareFormat::Markdown);
  EXPECT_NE(md.find("❌"), std::string::npos);
  EXPECT_NE(md.find("| case | kernel |"), std::string::npos);
  EXPECT_EQ(parse_compare_format("md"), CompareFormat::Markdown);
  EXPECT_FALSE(parse_compare_format("yaml").has_value());
}

}  // namespace
}  // namespace int8attn

namespace int8attn {
namespace {

// The CLI's exit codes on the crafted reports in tests/data (see docs/ci.md).
int run_compare_cli(const std::string& baseline, const std::string& candidate, const std::string& extra = "") {
  const std::string data = std::string(INT8ATTN_SOURCE_DIR) + "/tests/data/";
  const std::string command = std::string("\"") + INT8ATTN_BENCH_EXE + "\" compare \"" + data + baseline + "\" \"" +
                              data + candidate + "\" " + extra + " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CompareCli, ExitCodesOnCraftedReports) {
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-h100-sample.json"), kExitPass);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-h100-regressed.json"), kExitRegression);
  EXPECT_EQ(run_compare_cli("report-h100-regressed.json", "report-h100-sample.json"), kExitPass);  // faster
  // ... but its int8-qk decision flips back from fp16-fallback: a change the exact gate fails on.
  EXPECT_EQ(run_compare_cli("report-h100-regressed.json", "report-h100-sample.json", "--fail-on-change"),
            kExitRegression);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-h100-sample.json", "--fail-on-change"), kExitPass);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-a100-sample.json"), kExitInputError);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-a100-sample.json", "--allow-different-device"),
            kExitPass);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-wrong-schema.json"), kExitInputError);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-truncated.json"), kExitInputError);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "does-not-exist.json"), kExitInputError);
  EXPECT_EQ(run_compare_cli("report-h100-sample.json", "report-h100-sample.json", "--filter 'no-such-*'"),
            kExitInputError);
}

}  // namespace
}  // namespace int8attn
