// The "schema" names of the tool's JSON files, at the bottom layer: report writes and reads
// them, and io (which report includes, so never the other way) recognises a checkpoint or an
// earlier report by its schema before replacing a file. One spelling for both.
#pragma once
#include <string_view>

namespace int8attn {

// "int8attn-bench/<kind>/" of "int8attn-bench/<kind>/v<N>": any version's name holds it.
constexpr std::string_view schema_prefix(std::string_view schema) { return schema.substr(0, schema.rfind('/') + 1); }

inline constexpr const char* kReportSchema = "int8attn-bench/report/v1";
inline constexpr std::string_view kReportSchemaPrefix = schema_prefix(kReportSchema);
inline constexpr const char* kCheckpointSchema = "int8attn-bench/checkpoint/v1";
inline constexpr std::string_view kCheckpointSchemaPrefix = schema_prefix(kCheckpointSchema);

}  // namespace int8attn
