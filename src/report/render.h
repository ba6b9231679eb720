// Views of a saved report: terminal table, markdown, CSV and one self-contained HTML page.
// Every view renders from the Report alone, so any saved JSON can be viewed later.
#pragma once
#include <optional>
#include <string>

#include "src/io/output_format.h"
#include "src/report/report.h"

namespace int8attn {

using ReportFormat = OutputFormat;

// One of kReportFormats ("table" or "text", "markdown" or "md", "csv", "json", "html");
// nullopt otherwise.
std::optional<ReportFormat> parse_report_format(const std::string& name);

// Table: per case a row per kernel (status, median ms, TOPS, rel_l2, max_abs, decision)
//   and a summary line. Markdown: the same as a GitHub table with the environment.
// Csv: RFC 4180, a header row, then one row per (case, kernel) with every numeric field;
//   absent values are empty cells. Json: the report itself (schema report/v1). Html: one file with inline SVG charts and a little
//   inline JS for table sorting; no network access needed to view it.
std::string render_report(const Report& report, ReportFormat format);

// The CSV header, in column order (tests and docs use it).
const std::vector<std::string>& csv_columns();

}  // namespace int8attn
