// One vocabulary of output formats for every subcommand: each command writes the subset that
// makes sense for it, under the same names (and the same aliases).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace int8attn {

enum class OutputFormat { Table, Markdown, Csv, Json, Html };
using FormatList = std::vector<OutputFormat>;

const char* to_string(OutputFormat f);  // "table", "markdown", "csv", "json", "html"

// A format's name or alias ("text" for table, "md" for markdown), if it is in `allowed`.
std::optional<OutputFormat> parse_output_format(std::string_view name, const FormatList& allowed);

// Every accepted spelling of the allowed formats, names first (for option checks).
std::vector<std::string> format_spellings(const FormatList& allowed);

// "table, markdown, csv or json" (for help texts).
std::string describe_formats(const FormatList& allowed);

// What each command writes.
inline const FormatList kReportFormats = {OutputFormat::Table, OutputFormat::Markdown, OutputFormat::Csv,
                                          OutputFormat::Json, OutputFormat::Html};
inline const FormatList kCompareFormats = {OutputFormat::Table, OutputFormat::Markdown, OutputFormat::Csv,
                                           OutputFormat::Json};
// validate, sweep --dry-run, list-kernels, devices.
inline const FormatList kListingFormats = {OutputFormat::Table, OutputFormat::Markdown, OutputFormat::Json};

}  // namespace int8attn
