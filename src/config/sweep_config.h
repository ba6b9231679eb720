// Sweep configs: parse, validate, expand. Every error names the file, the JSON path and
// what was expected (ConfigError); the CLI turns it into exit code 2.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/model/settings.h"

namespace int8attn {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string json_path, std::string message);
  const std::string& file() const { return file_; }
  const std::string& json_path() const { return json_path_; }  // e.g. "axes.seq_len[1]"
  const std::string& message() const { return message_; }      // without file and path

 private:
  std::string file_, json_path_, message_;
};

// The most warm-up runs or samples a config (or --min-samples) may ask for.
inline constexpr int64_t kMaxMeasurementCount = 1'000'000;

// Rule removing cases from the cartesian product: a case is excluded when every field the
// rule sets matches it.
struct ExcludeRule {
  std::optional<int64_t> batch, heads, kv_heads, seq_q, seq_kv, head_dim;
  std::optional<bool> causal;
  std::optional<Distribution> distribution;
};

struct SweepConfig {
  std::string path;       // as given
  std::string sha256;     // of the file's bytes
  std::string name;       // optional "name" field
  std::string description;
  std::vector<BenchCase> cases;  // expanded, in a stable order, ids unique
  RunSettings settings;
  nlohmann::json expanded;  // the config with every default filled in (goes in the report)
};

// Reads, validates and expands a config file. Throws ConfigError.
SweepConfig load_sweep_config(const std::string& path);
// The same from text already read (path used in messages only).
SweepConfig parse_sweep_config(const std::string& text, const std::string& path);
// Config text (comments allowed) as a JSON document. Throws ConfigError.
nlohmann::json parse_config_json(const std::string& text, const std::string& path);
// A document already parsed; `sha256` is recorded as given.
SweepConfig parse_sweep_document(const nlohmann::json& document, const std::string& path,
                                 const std::string& sha256);
// The file's bytes, or ConfigError naming it.
std::string read_config_text(const std::string& path);

// The ids of the cases an expanded config (a report's config.settings) gives, in its order;
// empty when this build cannot expand it (another version's config). `merge` orders the
// merged cases by it.
std::vector<std::string> expanded_case_ids(const nlohmann::json& expanded, const std::string& path);

// The kernels a sweep runs, in order: the reference first whatever the list says (every other
// kernel is compared to it), then each listed kernel once. The config's "kernels" and -k.
std::vector<std::string> kernels_in_run_order(const std::vector<std::string>& kernels);

// The settings as the expanded config writes them (kernels, quantization, reference,
// measurement, thresholds, cpu): what a checkpoint fingerprints.
nlohmann::json settings_to_json_expanded(const RunSettings& settings);

// The measurement settings as the expanded config writes them (its "measurement").
nlohmann::json measure_to_json(const MeasureOptions& measure);

}  // namespace int8attn
