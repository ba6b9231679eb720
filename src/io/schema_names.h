// The "schema" names of the tool's JSON files and the first lines of its text outputs, at the
// bottom layer: report writes them (and reads the schemas), and io (which report includes, so
// never the other way) recognises a checkpoint, or an earlier output it may replace, by them.
// One spelling for both.
#pragma once
#include <string>
#include <string_view>

namespace int8attn {

// "int8attn-bench/<kind>/" of "int8attn-bench/<kind>/v<N>": any version's name holds it.
constexpr std::string_view schema_prefix(std::string_view schema) { return schema.substr(0, schema.rfind('/') + 1); }

inline constexpr const char* kReportSchema = "int8attn-bench/report/v1";
inline constexpr std::string_view kReportSchemaPrefix = schema_prefix(kReportSchema);
inline constexpr const char* kCheckpointSchema = "int8attn-bench/checkpoint/v1";
inline constexpr std::string_view kCheckpointSchemaPrefix = schema_prefix(kCheckpointSchema);
inline constexpr const char* kCompareSchema = "int8attn-bench/compare/v1";  // compare -f json
inline constexpr std::string_view kCompareSchemaPrefix = schema_prefix(kCompareSchema);

// A schema prefix as a JSON string value begins: the quote before it, so that text merely
// naming the schema is not taken for the file.
inline std::string quoted_schema_prefix(std::string_view prefix) { return std::string("\"").append(prefix); }

// Whether text opens as a sweep's checkpoint (OUTPUT.ckpt.jsonl: one JSON object a line, its
// header first), which a JSON reader given it as a report or a config calls "invalid JSON at
// line 2": the readers name it for what it is instead.
inline bool starts_as_checkpoint(std::string_view text) {
  return text.substr(0, text.find('\n')).find(quoted_schema_prefix(kCheckpointSchemaPrefix)) != std::string_view::npos;
}

// The first lines of the text outputs, matched exactly, so that notes which merely mention the
// tool are not taken for its output. A report's table opens with its headline, "<tool name>
// <version> (<commit>) on ...".
inline constexpr std::string_view kToolName = "int8attn-bench";
inline constexpr std::string_view kReportMarkdownHeading = "## int8attn-bench report";
inline constexpr std::string_view kReportHtmlDoctype = "<!DOCTYPE html>";
inline constexpr std::string_view kReportHtmlTitle = "<title>int8attn-bench report</title>";  // in its <head>
// The CSV header's first columns (csv_columns() lists them; a CLI test rewrites each format).
inline constexpr std::string_view kReportCsvOpening = "case_id,batch,";
// compare -f csv's header's first columns.
inline constexpr std::string_view kCompareCsvOpening = "case,kernel,verdict,";
// compare's title: its text's first line, its markdown's after "### <pass mark> ".
inline constexpr std::string_view kCompareTitleOpening = "int8attn-bench compare: ";
inline constexpr std::string_view kJunitXmlDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";
inline constexpr std::string_view kJunitSuitesOpening = R"(<testsuites name="int8attn-bench compare")";  // its 2nd line

}  // namespace int8attn
