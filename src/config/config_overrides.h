// Sweep settings given on the command line instead of (or on top of) a config file:
// `sweep -a seq_len=1024,4096 -a heads=32 --min-samples 20`, nvbench's habit. They are
// applied to the config's JSON before it is read, so every value passes the same checks as
// in a file; an error names the option that gave it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/config/sweep_config.h"

namespace int8attn {

struct ConfigOverrides {
  std::vector<std::string> axes;        // "-a" values as given: "seq_len=1024,4096"
  std::optional<int64_t> min_samples;   // measurement.min_samples
  std::optional<double> max_seconds;    // measurement.max_seconds
  std::optional<double> max_noise;      // measurement.target_noise
  std::optional<std::string> k_granularity;  // quantization.k_granularity
  bool empty() const { return axes.empty() && !min_samples && !max_seconds && !max_noise && !k_granularity; }
};

// The names `-a` accepts: the config's axes, `distribution` and `seed` (the input list) and
// `rotation` (quantization.rotation).
const std::vector<std::string>& axis_option_names();

// Applies the overrides to a config document (`{}` when there is no file). Throws
// std::invalid_argument naming the option for a malformed `-a` (no '=', an empty value, an
// unknown axis, an axis given twice).
void apply_overrides(nlohmann::json& document, const ConfigOverrides& overrides);

// The config at `path` with the overrides applied; `path` empty: the axes alone (heads,
// head_dim and a sequence length are then required), every other setting its default.
// The recorded SHA-256 covers the file's bytes and the overrides, so sweeps of different
// cases never share one. ConfigErrors at a path an override wrote name that option instead
// of the file.
SweepConfig load_sweep_config(const std::string& path, const ConfigOverrides& overrides);

}  // namespace int8attn
