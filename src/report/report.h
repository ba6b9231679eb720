// The report model (schema int8attn-bench/report/v1): the case results (src/model/result.h)
// with the tool, environments, config, parts and summary around them. The runner fills it,
// report/json_io.cpp writes and reads it, renderers and compare read it.
// docs/report-schema.md documents every field; docs/report.schema.json is the
// machine-checkable form.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/io/schema_names.h"  // kReportSchema, kToolName
#include "src/model/result.h"
#include "src/model/shard.h"

namespace int8attn {

struct ToolInfo {
  std::string name = std::string(kToolName);
  std::string version;
  std::string git_commit;
};

struct ConfigInfo {
  std::string path;
  std::string sha256;
  nlohmann::json settings;  // the expanded config, as parsed (defaults filled in)
  // The settings after the command line's overrides, as a checkpoint fingerprints them
  // (kernels, quantization, measurement, thresholds, cpu, input folders): what `merge`
  // requires to be equal. Null in reports written before it existed.
  nlohmann::json options;
};

// One report that went into a merged report.
struct ReportPart {
  std::string source;  // the file as given to merge
  ToolInfo tool;
  std::string config_sha256;
  std::optional<ShardSpec> shard;
  bool complete = true;
  int64_t cases = 0;
  std::string started_at, finished_at;
};

struct Summary {
  int64_t cases = 0;
  int64_t kernel_runs = 0;
  int64_t ok = 0, skipped = 0, errors = 0;
  double int8_share = 0;                    // share of INT8 decisions that kept INT8 (rotated or not)
  int64_t int8_hadamard = 0;                // ... of which only with the Hadamard rotation
  std::optional<double> geomean_speedup;    // INT8 kernels vs each case's baseline, by latency
  std::string baseline_rule;                // "fastest-fp16" or the configured kernel; empty: none
  int64_t fp8_verdicts = 0;                 // FP8 kernel results that ran (ok), with a verdict
  int64_t fp8_chosen = 0;                   // ... of which fp8: faster and within thresholds
  std::optional<double> fp8_geomean_speedup;  // FP8 kernels vs each case's baseline
  std::optional<double> worst_rel_l2;
  std::string worst_rel_l2_case;
  std::optional<double> worst_max_abs_error;
  std::string worst_max_abs_error_case;
};

struct Report {
  std::string schema = kReportSchema;
  ToolInfo tool;
  Environment environment;
  ConfigInfo config;
  std::string started_at;   // ISO 8601 UTC
  std::string finished_at;
  bool complete = true;     // false for an interrupted sweep (or a merge with such a part)
  std::optional<ShardSpec> shard;        // the shard this sweep ran (--shard)
  // Every environment that took part (several GPUs, merged reports), the first being
  // `environment`; empty for a single-device sweep. Cases say which one ran them.
  std::vector<Environment> environments;
  std::vector<ReportPart> parts;         // a merged report's inputs, in merge order
  std::vector<CaseResult> cases;
  Summary summary;
};

// Recomputes report.summary from report.cases.
void summarize(Report& report);

}  // namespace int8attn
