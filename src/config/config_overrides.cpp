#include "src/config/config_overrides.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/config/json_node.h"
#include "src/config/sha256.h"
#include "src/io/json_text.h"

namespace int8attn {
namespace {

using nlohmann::json;

// An `-a` name and where in the config document it writes (for error messages).
struct AxisTarget {
  const char* name;
  const char* json_path;
};
constexpr AxisTarget kAxisTargets[] = {
    {"batch", "axes.batch"},       {"heads", "axes.heads"},       {"kv_heads", "axes.kv_heads"},
    {"seq_len", "axes.seq_len"},   {"seq_q", "axes.seq_q"},       {"seq_kv", "axes.seq_kv"},
    {"head_dim", "axes.head_dim"}, {"causal", "axes.causal"},     {"distribution", "axes.input"},
    {"seed", "axes.input"},        {"rotation", "quantization.rotation"},
};

struct AxisOption {
  std::string text;  // as given
  std::string name;
  json values;       // array
};

// "1024" -> 1024, "true" -> true, "1.5" -> 1.5, anything else a string: the config reader
// then checks the type and range exactly as it does for a file. A number that cannot be held
// as written (1e-400, 1e400, an integer beyond 64 bits) is refused here, as parse_json_text
// refuses it in a file, while its text is known: read, it would be shown as 0, 1e+20 or taken
// for a string.
json token_value(const std::string& option_text, const std::string& token) {
  try {
    const json parsed = parse_json_text(token);
    return parsed.is_number() || parsed.is_boolean() ? parsed : json(token);
  } catch (const JsonTextError& e) {
    if (e.syntax()) return json(token);
    throw std::invalid_argument(fmt::format("-a {}: {}", option_text, e.what()));
  }
}

AxisOption parse_axis_option(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument(fmt::format("-a {}: expected NAME=VALUE[,VALUE...], e.g. -a seq_len=1024,4096", text));
  }
  AxisOption option{text, text.substr(0, eq), json::array()};
  const auto& names = axis_option_names();
  if (std::find(names.begin(), names.end(), option.name) == names.end()) {
    throw std::invalid_argument(fmt::format("-a {}: unknown axis \"{}\" (did you mean \"{}\"? axes: {})", text,
                                            option.name, closest_match(option.name, names), fmt::join(names, ", ")));
  }
  const std::string values = text.substr(eq + 1);
  size_t start = 0;
  while (true) {
    const size_t comma = values.find(',', start);
    const std::string token = values.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (token.empty()) {
      throw std::invalid_argument(fmt::format("-a {}: expected a value between the commas, found an empty one", text));
    }
    option.values.push_back(token_value(text, token));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return option;
}

const char* json_path_of(const std::string& name) {
  for (const AxisTarget& t : kAxisTargets) {
    if (name == t.name) return t.json_path;
  }
  return "";
}

// A sequence axis replaces the other form: seq_len drops seq_q/seq_kv; seq_q or seq_kv
// turns the config's seq_len into the other one.
void set_sequence_axis(json& axes, const std::string& name, const json& values) {
  if (name == "seq_len") {
    axes.erase("seq_q");
    axes.erase("seq_kv");
  } else if (axes.contains("seq_len")) {
    const char* other = name == "seq_q" ? "seq_kv" : "seq_q";
    if (!axes.contains(other)) axes[other] = axes["seq_len"];
    axes.erase("seq_len");
  }
  axes[name] = values;
}

// Each seed applies to every input of the list (the config's, or `distribution`'s). An
// `input` that is not a list is left for the reader to refuse.
void set_seeds(json& axes, const json& seeds) {
  if (axes.contains("input") && !axes["input"].is_array()) return;
  const json inputs = axes.contains("input") ? axes["input"] : json::array({json::object()});
  json seeded = json::array();
  for (const json& input : inputs) {
    for (const json& seed : seeds) {
      json copy = input;
      if (copy.is_object()) copy["seed"] = seed;
      seeded.push_back(std::move(copy));
    }
  }
  axes["input"] = std::move(seeded);
}

json& object_member(json& parent, const char* key) {
  if (!parent.contains(key)) parent[key] = json::object();
  return parent[key];
}

void apply_axis(json& document, const AxisOption& option) {
  if (option.name == "rotation") {
    json& quantization = object_member(document, "quantization");
    if (quantization.is_object()) quantization["rotation"] = option.values;
    return;
  }
  json& axes = object_member(document, "axes");
  if (!axes.is_object()) return;  // the reader says what is wrong with it
  if (option.name == "distribution") {
    axes["input"] = json::array();
    for (const json& d : option.values) axes["input"].push_back({{"distribution", d}});
  } else if (option.name == "seed") {
    set_seeds(axes, option.values);
  } else if (option.name.rfind("seq_", 0) == 0) {
    set_sequence_axis(axes, option.name, option.values);
  } else {
    axes[option.name] = option.values;
  }
}

std::vector<AxisOption> parse_axis_options(const ConfigOverrides& overrides) {
  std::vector<AxisOption> options;
  for (const std::string& text : overrides.axes) {
    AxisOption option = parse_axis_option(text);
    for (const AxisOption& earlier : options) {
      if (earlier.name == option.name) {
        throw std::invalid_argument(fmt::format("-a {}: axis \"{}\" given twice (also -a {}); list every value in one "
                                                "-a, separated by commas", text, option.name, earlier.text));
      }
    }
    options.push_back(std::move(option));
  }
  const auto given = [&](const char* name) {
    return std::any_of(options.begin(), options.end(), [&](const AxisOption& o) { return o.name == name; });
  };
  if (given("seq_len") && given("seq_q") && given("seq_kv")) {
    throw std::invalid_argument("-a seq_len with both -a seq_q and -a seq_kv: seq_len would set neither; give "
                                "seq_len, or seq_q and seq_kv, or seq_len with one of them (it gives the other)");
  }
  // seq_len first, whatever the order given: -a seq_q=1 -a seq_len=4096 is a decode sweep too.
  std::stable_partition(options.begin(), options.end(), [](const AxisOption& o) { return o.name == "seq_len"; });
  // Seeds multiply the input list, so they go after `distribution` replaces it.
  std::stable_partition(options.begin(), options.end(), [](const AxisOption& o) { return o.name != "seed"; });
  return options;
}

// A setting one option writes: `key` of the config's `section` object.
struct Knob {
  const char* option;
  const char* section;
  const char* key;
  json value;
};

std::vector<Knob> knobs_of(const ConfigOverrides& o) {
  std::vector<Knob> knobs;
  if (o.min_samples) knobs.push_back({"--min-samples", "measurement", "min_samples", *o.min_samples});
  if (o.max_seconds) knobs.push_back({"--max-seconds", "measurement", "max_seconds", *o.max_seconds});
  if (o.max_noise) knobs.push_back({"--max-noise", "measurement", "target_noise", *o.max_noise});
  if (o.k_granularity) knobs.push_back({"--k-granularity", "quantization", "k_granularity", *o.k_granularity});
  return knobs;
}

// The option as a user writes it: "--max-noise 0.02", "--k-granularity as-q".
std::string knob_text(const Knob& k) {
  return fmt::format("{} {}", k.option, k.value.is_string() ? k.value.get<std::string>() : dump_json(k.value));
}

std::string describe(const ConfigOverrides& overrides) {
  std::string out;
  for (const std::string& a : overrides.axes) out += " -a " + a;
  for (const Knob& k : knobs_of(overrides)) out += " " + knob_text(k);
  return out;
}

bool starts_with_path(const std::string& path, const std::string& prefix) {
  return path.rfind(prefix, 0) == 0 &&
         (path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[');
}

// Whether -a NAME wrote `json_path`: distribution and seed write one key of each input
// object, and an error elsewhere in the file's inputs is the file's.
bool axis_wrote(const std::string& name, const std::string& json_path) {
  if (!starts_with_path(json_path, json_path_of(name))) return false;
  if (name != "distribution" && name != "seed") return true;
  const std::string key = "." + name;
  return json_path.size() > key.size() && json_path.compare(json_path.size() - key.size(), key.size(), key) == 0;
}

// The option that wrote `json_path`, e.g. "-a seq_len=1024,0" for "axes.seq_len[1]"; "".
std::string option_for_path(const ConfigOverrides& overrides, const std::string& json_path) {
  for (const std::string& text : overrides.axes) {
    const std::string name = text.substr(0, text.find('='));
    if (axis_wrote(name, json_path)) return "-a " + text;
  }
  for (const Knob& k : knobs_of(overrides)) {
    if (starts_with_path(json_path, fmt::format("{}.{}", k.section, k.key))) return knob_text(k);
  }
  return "";
}

// -a seed=S1..Sn made the file's input k into inputs k·n ... k·n + n−1: an error at one of them
// is the file's input k. nullopt where no seed was given, -a distribution replaced the list,
// or the path is not in it.
std::optional<std::string> file_input_path(const ConfigOverrides& overrides, const std::string& json_path) {
  size_t seeds = 0;
  for (const AxisOption& option : parse_axis_options(overrides)) {
    if (option.name == "distribution") return std::nullopt;
    if (option.name == "seed") seeds = option.values.size();
  }
  const std::string prefix = "axes.input[";
  if (seeds == 0 || json_path.rfind(prefix, 0) != 0) return std::nullopt;
  const size_t close = json_path.find(']', prefix.size());
  if (close == std::string::npos) return std::nullopt;
  const std::string index = json_path.substr(prefix.size(), close - prefix.size());
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return prefix + std::to_string(std::stoull(index) / seeds) + json_path.substr(close);
}

void require_axes_without_file(const json& document) {
  const json& axes = document.at("axes");
  std::vector<std::string> missing;
  for (const char* name : {"heads", "head_dim"}) {
    if (!axes.contains(name)) missing.push_back(name);
  }
  if (!axes.contains("seq_len") && !(axes.contains("seq_q") && axes.contains("seq_kv"))) {
    missing.push_back(axes.contains("seq_q") ? "seq_kv" : axes.contains("seq_kv") ? "seq_q" : "seq_len");
  }
  if (missing.empty()) return;
  throw std::invalid_argument(fmt::format(
      "sweep without -c: expected the axes heads, head_dim and seq_len (or seq_q and seq_kv) as -a NAME=VALUES, "
      "found no {} (e.g. -a {}=...)", fmt::join(missing, ", no "), missing.front()));
}

}  // namespace

const std::vector<std::string>& axis_option_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const AxisTarget& t : kAxisTargets) out.push_back(t.name);
    return out;
  }();
  return names;
}

void apply_overrides(json& document, const ConfigOverrides& overrides) {
  const std::vector<AxisOption> options = parse_axis_options(overrides);  // malformed -a first
  if (!document.is_object()) return;  // the reader says what is wrong with the file
  for (const AxisOption& option : options) apply_axis(document, option);
  for (const Knob& k : knobs_of(overrides)) {
    json& section = object_member(document, k.section);
    if (section.is_object()) section[k.key] = k.value;  // else the reader says what is wrong with it
  }
}

SweepConfig load_sweep_config(const std::string& path, const ConfigOverrides& overrides) {
  if (overrides.empty()) return load_sweep_config(path);
  const bool from_file = !path.empty();
  const std::string text = from_file ? read_config_text(path) : std::string();
  json document = from_file ? parse_config_json(text, path) : json::object();
  const bool file_seq_len = document.is_object() && document.contains("axes") && document["axes"].is_object() &&
                            document["axes"].contains("seq_len");
  apply_overrides(document, overrides);
  if (!from_file) {
    object_member(document, "axes");
    require_axes_without_file(document);
  }
  const std::string label = from_file ? path : "(command line)";
  try {
    SweepConfig config = parse_sweep_document(document, label, sha256_hex(text + describe(overrides)));
    config.path = path;
    return config;
  } catch (const ConfigError& e) {
    const std::string option = option_for_path(overrides, e.json_path());
    if (!option.empty()) throw ConfigError(option, e.json_path(), e.message());
    if (auto path = file_input_path(overrides, e.json_path())) throw ConfigError(e.file(), *path, e.message());
    // -a seq_q turned the file's seq_len into seq_kv (and -a seq_kv into seq_q): name the key
    // the file has.
    for (const char* renamed : {"axes.seq_q", "axes.seq_kv"}) {
      if (file_seq_len && starts_with_path(e.json_path(), renamed)) {
        throw ConfigError(e.file(), "axes.seq_len" + e.json_path().substr(std::strlen(renamed)), e.message());
      }
    }
    throw;
  }
}

}  // namespace int8attn
