// Views of a CompareResult: terminal table, markdown (PR comment), JSON, JUnit XML.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/io/json_text.h"
#include "src/io/schema_names.h"
#include "src/report/compare.h"
#include "src/io/diagnostics.h"
#include "src/report/escape.h"
#include "src/report/json_io.h"
#include "src/report/text_table.h"

namespace int8attn {

std::optional<CompareFormat> parse_compare_format(const std::string& name) {
  return parse_output_format(name, kCompareFormats);
}

namespace {

std::string opt_ms(const std::optional<double>& v) { return v ? fmt::format("{:.4g}", *v) : "-"; }

std::string opt_change(const std::optional<double>& v) {
  return v ? fmt::format("{:+.1f}%", *v * 100.0) : "-";
}

std::string rel_l2_pair(const KernelComparison& row) {
  if (!row.baseline_rel_l2 || !row.candidate_rel_l2) return "-";
  return fmt::format("{:.3g} -> {:.3g}", *row.baseline_rel_l2, *row.candidate_rel_l2);
}

std::string speedup_pair(const KernelComparison& row) {
  if (!row.baseline_speedup && !row.candidate_speedup) return "-";
  auto x = [](const std::optional<double>& v) { return v ? fmt::format("{:.2f}x", *v) : std::string("-"); };
  return x(row.baseline_speedup) + " -> " + x(row.candidate_speedup);
}

std::string reasons(const KernelComparison& row) {
  std::string out;
  for (const auto& f : row.findings) {
    if (!out.empty()) out += "; ";
    out += f.message;
  }
  return out;
}

std::string verdict_cell(const KernelComparison& row) {
  std::string v = to_string(row.verdict);
  if ((row.verdict == Verdict::Missing || row.verdict == Verdict::New) && row.fails) v += " (fail)";
  return v;
}

TextTable comparison_table(const std::vector<const KernelComparison*>& rows, bool with_reasons) {
  std::vector<TextTable::Column> cols = {{"case"},
                                         {"kernel"},
                                         {"base ms", Align::Right},
                                         {"cand ms", Align::Right},
                                         {"change", Align::Right},
                                         {"rel_l2 base -> cand", Align::Right},
                                         {"speedup base -> cand", Align::Right},
                                         {"verdict"}};
  if (with_reasons) cols.push_back({"why"});
  TextTable table(std::move(cols));
  for (const auto* row : rows) {
    std::vector<std::string> cells = {row->case_id,          row->kernel,
                                      opt_ms(row->baseline_ms), opt_ms(row->candidate_ms),
                                      opt_change(row->latency_change), rel_l2_pair(*row),
                                      speedup_pair(*row),      verdict_cell(*row)};
    if (with_reasons) cells.push_back(reasons(*row));
    table.add_row(std::move(cells));
  }
  return table;
}

// A (case, kernel) that only one report has: summarised in one line per side, not listed.
bool presence_only(const KernelComparison& row) {
  return row.findings.size() == 1 && row.findings.front().metric == "presence";
}

// The rows compared on both sides (all, or only the notable ones).
std::vector<const KernelComparison*> select(const CompareResult& r, bool only_notable) {
  std::vector<const KernelComparison*> rows;
  for (const auto& row : r.rows) {
    if (presence_only(row)) continue;
    // A "same" row with a finding is a flip at the speed line: listed, as docs/ci.md says.
    const bool noted_same = row.verdict == Verdict::Same && !row.findings.empty();
    if (!only_notable || row.verdict == Verdict::Regression || row.verdict == Verdict::Missing || row.fails ||
        noted_same) {
      rows.push_back(&row);
    }
  }
  return rows;
}

// "missing: 80 (case, kernel) runs of the baseline are not in the candidate: 20 cases (a, b, c
// and 17 more), kernels x, y" — one line for all of them.
std::string presence_line(const CompareResult& r, Verdict verdict) {
  std::vector<std::string> cases, kernels;
  std::unordered_set<std::string> seen_cases, seen_kernels;  // 200 000 rows: a list search was minutes
  size_t runs = 0;
  bool fails = false;
  auto add_unique = [](std::vector<std::string>& list, std::unordered_set<std::string>& seen, const std::string& v) {
    if (seen.insert(v).second) list.push_back(v);
  };
  for (const auto& row : r.rows) {
    if (row.verdict != verdict || !presence_only(row)) continue;
    ++runs;
    fails |= row.fails;
    add_unique(cases, seen_cases, row.case_id);
    add_unique(kernels, seen_kernels, row.kernel);
  }
  if (runs == 0) return "";
  constexpr size_t kShown = 3;
  std::string case_list;
  for (size_t i = 0; i < cases.size() && i < kShown; ++i) case_list += (i ? ", " : "") + cases[i];
  if (cases.size() > kShown) case_list += fmt::format(" and {} more", cases.size() - kShown);
  const bool missing = verdict == Verdict::Missing;
  return fmt::format("{}: {} (case, kernel) run(s) {}: {} case(s) ({}), kernel(s) {}{}", missing ? "missing" : "new",
                     runs, missing ? "of the baseline are not in the candidate" : "are only in the candidate",
                     cases.size(), case_list, fmt::join(kernels, ", "), fails ? " [FAIL]" : "");
}

std::vector<std::string> presence_lines(const CompareResult& r) {
  std::vector<std::string> lines;
  for (Verdict v : {Verdict::Missing, Verdict::New}) {
    if (std::string line = presence_line(r, v); !line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

std::string summary_line(const CompareResult& r) {
  const int code = compare_exit_code(r);
  const std::string changed = r.options.fail_on_change ? fmt::format("{} changed, ", r.changed) : "";
  return fmt::format("{} regression(s), {}{} improvement(s), {} missing, {} new, {} unchanged -> {} (exit {})",
                     r.regressions, changed, r.improvements, r.missing, r.added, r.unchanged,
                     code == kExitPass ? "PASS" : "FAIL", code);
}

std::string title(const CompareResult& r) {
  const std::string base = r.baseline_label.empty() ? "baseline" : r.baseline_label;
  const std::string cand = r.candidate_label.empty() ? "candidate" : r.candidate_label;
  return fmt::format("{}{} (baseline) vs {} (candidate)", kCompareTitleOpening, base, cand);
}

std::string render_text(const CompareResult& r) {
  std::string out = title(r) + "\n";
  for (const auto& note : r.notes) out += "note: " + note + "\n";
  out += fmt::format("rules: latency +{:.1f}% beyond {:.3g} sigma of noise (Mann-Whitney p<{:.3g} with samples); "
                     "rel_l2 +{:.1f}%, mse +{:.1f}%, max_abs +{:.1f}%\n",
                     r.options.latency_tolerance * 100, r.options.noise_sigmas, r.options.significance,
                     r.options.rel_l2_tolerance * 100, r.options.mse_tolerance * 100,
                     r.options.max_abs_tolerance * 100);
  if (r.options.fail_on_change) {
    out += "fail on change: accuracy, fallback and status changes fail either way; so do new case/kernels\n";
  }
  out += fmt::format("\n{}", comparison_table(select(r, false), false).to_text());
  for (const std::string& line : presence_lines(r)) out += "\n" + line + "\n";
  const auto notable = select(r, true);
  if (!notable.empty()) {
    out += "\nWhy:\n";
    for (const auto* row : notable) {
      out += fmt::format("  {} {} [{}]\n", row->case_id, row->kernel, verdict_cell(*row));
      for (const auto& f : row->findings) out += fmt::format("    - {}: {}\n", f.metric, f.message);
    }
  }
  return out + "\n" + summary_line(r) + "\n";
}

std::string render_markdown(const CompareResult& r) {
  const bool pass = compare_exit_code(r) == kExitPass;
  std::string out = fmt::format("### {} {}\n\n", pass ? "✅" : "❌", markdown_cell(title(r)));
  out += "**" + summary_line(r) + "**\n\n";
  const std::vector<std::string> presence = presence_lines(r);
  for (const auto& note : r.notes) out += "> " + markdown_cell(note) + "\n";
  if (!r.notes.empty()) out += "\n";
  for (const auto& line : presence) out += "- " + markdown_cell(line) + "\n";
  if (!presence.empty()) out += "\n";
  const auto notable = select(r, true);
  if (!notable.empty()) out += comparison_table(notable, true).to_markdown() + "\n";
  const auto compared = select(r, false);
  out += "<details><summary>All " + std::to_string(compared.size()) + " kernel runs in both reports</summary>\n\n";
  out += comparison_table(compared, true).to_markdown();
  return out + "\n</details>\n";
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json compare_to_json(const CompareResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : row.findings) {
      findings.push_back({{"verdict", to_string(f.verdict)}, {"metric", f.metric}, {"message", f.message}});
    }
    rows.push_back({{"case", row.case_id},
                    {"kernel", row.kernel},
                    {"verdict", to_string(row.verdict)},
                    {"fails", row.fails},
                    {"baseline_median_ms", optional_json(row.baseline_ms)},
                    {"candidate_median_ms", optional_json(row.candidate_ms)},
                    {"latency_change", optional_json(row.latency_change)},
                    {"mann_whitney_p", optional_json(row.mann_whitney_p)},
                    {"baseline_rel_l2", optional_json(row.baseline_rel_l2)},
                    {"candidate_rel_l2", optional_json(row.candidate_rel_l2)},
                    {"baseline_speedup", optional_json(row.baseline_speedup)},
                    {"candidate_speedup", optional_json(row.candidate_speedup)},
                    {"findings", std::move(findings)}});
  }
  const auto& o = r.options;
  return {{"schema", kCompareSchema},
          {"baseline", r.baseline_label},
          {"candidate", r.candidate_label},
          {"options",
           {{"latency_tolerance", o.latency_tolerance},
            {"noise_sigmas", o.noise_sigmas},
            {"significance", o.significance},
            {"mse_tolerance", o.mse_tolerance},
            {"max_abs_tolerance", o.max_abs_tolerance},
            {"rel_l2_tolerance", o.rel_l2_tolerance},
            {"missing_policy", o.missing_policy == MissingPolicy::Fail ? "fail" : "warn"},
            {"case_filter", o.case_filter},
            {"allow_different_device", o.allow_different_device},
            {"fail_on_change", o.fail_on_change}}},
          {"notes", r.notes},
          {"summary",
           {{"regressions", r.regressions},
            {"improvements", r.improvements},
            {"missing", r.missing},
            {"new", r.added},
            {"unchanged", r.unchanged},
            {"changed", r.changed},
            {"passed", r.passed()},
            {"exit_code", compare_exit_code(r)}}},
          {"rows", std::move(rows)}};
}

namespace {

// One line per (case, kernel): the JSON rows' fields, findings joined into "why". The first three
// columns open the header as kCompareCsvOpening spells them: a saved summary is recognised by it.
std::string render_csv(const CompareResult& result) {
  static const char* const kColumns[] = {"case", "kernel", "verdict", "fails", "baseline_median_ms",
                                         "candidate_median_ms", "latency_change", "mann_whitney_p",
                                         "baseline_rel_l2", "candidate_rel_l2", "baseline_speedup",
                                         "candidate_speedup"};
  std::vector<std::string> header(std::begin(kColumns), std::end(kColumns));
  header.push_back("why");
  std::string out = csv_line(header);
  const nlohmann::json rows = compare_to_json(result).at("rows");
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> cells;
    for (const char* column : kColumns) {
      const nlohmann::json& v = rows[r].at(column);
      cells.push_back(v.is_null() ? "" : v.is_string() ? v.get<std::string>() : dump_json(v));
    }
    cells.push_back(reasons(result.rows[r]));
    out += csv_line(cells);
  }
  return out;
}

}  // namespace

std::string render_compare(const CompareResult& result, CompareFormat format) {
  switch (format) {
    case CompareFormat::Table: return terminal_safe_lines(render_text(result));
    case CompareFormat::Markdown: return render_markdown(result);
    case CompareFormat::Csv: return render_csv(result);
    case CompareFormat::Json: return dump_json(compare_to_json(result), 2) + "\n";
    case CompareFormat::Html: break;
  }
  throw std::invalid_argument(std::string("compare cannot write ") + to_string(format));
}

std::string junit_xml(const CompareResult& r) {
  int failures = 0, skipped = 0;
  std::string cases;
  for (const auto& row : r.rows) {
    cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\">", xml_escape(row.case_id),
                         xml_escape(row.kernel));
    const std::string why = xml_escape(reasons(row));
    if (row.fails) {
      ++failures;
      cases += fmt::format("\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    ", why,
                           to_string(row.verdict), why);
    } else if (row.verdict == Verdict::Missing) {
      ++skipped;
      cases += fmt::format("\n      <skipped message=\"{}\"/>\n    ", why);
    } else if (!row.findings.empty()) {
      cases += fmt::format("\n      <system-out>{}</system-out>\n    ", why);
    }
    cases += "</testcase>\n";
  }
  std::string props;
  for (const auto& note : r.notes) props += fmt::format("      <property name=\"note\" value=\"{}\"/>\n", xml_escape(note));
  return fmt::format(
      "{6}\n"
      "{7} tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\">\n"
      "  <testsuite name=\"{3}\" tests=\"{0}\" failures=\"{1}\" errors=\"0\" skipped=\"{2}\">\n"
      "    <properties>\n{4}    </properties>\n{5}  </testsuite>\n</testsuites>\n",
      r.rows.size(), failures, skipped, xml_escape(title(r)), props, cases, kJunitXmlDeclaration, kJunitSuitesOpening);
}

void write_junit(const CompareResult& result, const std::string& path) {
  write_text_file_atomic(junit_xml(result), path);
}

}  // namespace int8attn
