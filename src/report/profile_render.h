// The views of `int8attn-bench profile` (src/model/profile_result.h): a short table for the terminal
// and a JSON document (schema int8attn-bench/profile/v1, docs/profile.md) for --json.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "src/model/profile_result.h"
#include "src/report/report.h"

namespace int8attn {

inline constexpr const char* kProfileSchema = "int8attn-bench/profile/v1";

// A headline (case, device, mode) and one row per kernel: kernel ms, TOPS, quantize ms,
// end-to-end ms and TOPS, samples, and why a kernel did not run.
std::string render_profile_table(const ProfileResult& result);

// Every measurement, with the latencies' full statistics (as a report's LatencyStats).
// measurement: the sampling settings as the config writes them (measure_to_json), so the
// two stay one field list.
nlohmann::json profile_to_json(const ProfileResult& result, const ToolInfo& tool, const nlohmann::json& measurement);

}  // namespace int8attn
