// JSON form of the report (schema int8attn-bench/report/v1, docs/report-schema.md).
// Writing: optional fields are omitted when absent (never null); non-finite doubles are
// written as the strings "nan", "inf", "-inf" because JSON has no literal for them.
// Reading: unknown extra fields are ignored (additive changes stay v1), known fields must
// have their documented type; every failure is a ReportError naming the file and the path.
#pragma once
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "src/report/report.h"

namespace int8attn {

// A report or checkpoint that cannot be read: which file, where in it, what was expected.
class ReportError : public std::runtime_error {
 public:
  ReportError(std::string file, std::string json_path, std::string expected);
  const std::string& file() const { return file_; }
  const std::string& json_path() const { return json_path_; }  // "$.cases[2].kernels[0].status"
  const std::string& expected() const { return expected_; }

 private:
  std::string file_, json_path_, expected_;
};

// One part of a report as JSON, and back. Defined for Report and every struct in it:
// ToolInfo, Environment, ConfigInfo, ShardSpec, ReportPart, Summary, CaseResult, KernelResult,
// LatencyStats, Accuracy, MemoryUse, RotatedAttempt, FallbackDecision, Fp8Verdict,
// KernelQuantization, Baseline, ReferenceCheck, AttnDims, InputSpec. Both walk one field list per struct (json_io.cpp).
// A CaseResult carries its environment whole (checkpoint lines); a Report writes an index
// into its "environments" instead.
template <class T>
nlohmann::json to_json(const T& value);

// Parses one part of a report. `source` names the file (or "file:line") for errors and
// `path` is where `j` sits in it.
template <class T>
T from_json_as(const nlohmann::json& j, const std::string& source, const std::string& path = "$");

// Every key the format can hold, with default values and one item in each list: the field
// lists as JSON, for checking them against docs/report.schema.json.
nlohmann::json report_skeleton();

// Checks "schema" and parses the whole report.
Report report_from_json(const nlohmann::json& j, const std::string& source);

// The report as the JSON text a sweep writes (2-space indent, invalid UTF-8 replaced).
std::string report_json_text(const Report& report);

// Writes <path>.int8attn-tmp.<pid> in the same directory, fsyncs it and renames it over `path`, so a
// reader never sees a half-written report (a device or FIFO is written through; see
// src/io/output_file.h). Throws OutputError naming the path.
void write_report_atomic(const Report& report, const std::string& path);

// Throws ReportError for an unreadable file, invalid JSON, a missing or unsupported schema
// string, or a field of the wrong type.
Report read_report(const std::string& path);

// Shared with the checkpoint: whole-file text I/O with errors that name the path.
std::string read_text_file(const std::string& path);  // throws ReportError (at most kMaxReportBytes)
// Parses JSON text with the depth, duplicate-key and NUL checks of src/io/json_text.h;
// throws ReportError naming `source` and the path.
nlohmann::json parse_report_text(const std::string& text, const std::string& source);
// src/io/output_file.h's write_output_file: atomic for files, written through for devices
// and FIFOs; throws OutputError.
void write_text_file_atomic(const std::string& text, const std::string& path);

}  // namespace int8attn
