#include "src/config/json_node.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/config/sweep_config.h"
#include "src/io/diagnostics.h"
#include "src/io/json_text.h"

namespace int8attn {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  for (const auto& w : words) quoted.push_back(fmt::format("\"{}\"", w));
  return fmt::format("{}", fmt::join(quoted, ", "));
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  return best;
}

std::string describe_json(const nlohmann::json& value) {
  constexpr size_t kMaxShown = 40;
  std::string text = dump_json(value);
  if (text.size() > kMaxShown) text = std::string(utf8_prefix(text, kMaxShown)) + "...";
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "boolean " + text;
  if (value.is_number_integer()) return "integer " + text;
  if (value.is_number()) return "number " + text;
  return fmt::format("{} {}", value.type_name(), text);
}

void JsonNode::fail_expected(std::string_view expected) const {
  fail(fmt::format("expected {}, found {}", expected, describe_json(*value_)));
}

void JsonNode::fail(const std::string& message) const { throw ConfigError(*file_, path_, message); }

void JsonNode::expect_object(const std::vector<std::string>& known) const {
  if (!value_->is_object()) fail_expected("an object");
  for (const auto& [key, child] : value_->items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    JsonNode unknown(child, path_.empty() ? key : path_ + "." + key, *file_);
    unknown.fail(fmt::format("unknown key \"{}\" (did you mean \"{}\"? known keys here: {})", key,
                             closest_match(key, known), join_quoted(known)));
  }
}

bool JsonNode::has(std::string_view key) const {
  return value_->is_object() && value_->contains(key);
}

std::optional<JsonNode> JsonNode::find(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  std::string child_path = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  return JsonNode(value_->find(key).value(), std::move(child_path), *file_);
}

JsonNode JsonNode::at(std::string_view key) const {
  if (auto child = find(key)) return *child;
  std::string child_path = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  throw ConfigError(*file_, child_path, "required key is missing");
}

std::vector<JsonNode> JsonNode::elements(bool non_empty) const {
  if (!value_->is_array()) fail_expected(non_empty ? "a non-empty list" : "a list");
  if (non_empty && value_->empty()) fail_expected("a non-empty list");
  std::vector<JsonNode> out;
  for (size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back((*value_)[i], fmt::format("{}[{}]", path_, i), *file_);
  }
  return out;
}

int64_t JsonNode::as_int(int64_t min, int64_t max) const {
  auto range = [&] { return fmt::format("an integer in [{}, {}]", min, max); };
  if (!value_->is_number_integer()) fail_expected(range());
  if (value_->is_number_unsigned() && value_->get<uint64_t>() > uint64_t(max)) fail_expected(range());
  int64_t v = value_->get<int64_t>();
  if (v < min || v > max) fail_expected(range());
  return v;
}

uint64_t JsonNode::as_uint64() const {
  if (value_->is_number_integer() && !value_->is_number_unsigned() && value_->get<int64_t>() == 0) return 0;  // -0
  if (!value_->is_number_unsigned()) fail_expected("a non-negative integer");
  return value_->get<uint64_t>();
}

double JsonNode::as_number(double min, double max) const {
  auto range = [&] {
    if (max == std::numeric_limits<double>::infinity()) return fmt::format("a number >= {}", min);
    return fmt::format("a number in [{}, {}]", min, max);
  };
  if (!value_->is_number()) fail_expected(min == -std::numeric_limits<double>::infinity() ? "a number" : range());
  double v = value_->get<double>();
  if (!std::isfinite(v) || v < min || v > max) fail_expected(range());
  return v == 0 ? 0.0 : v;  // -0.0 is 0: one case id, not two ("x-0" and "x0")
}

bool JsonNode::as_bool() const {
  if (!value_->is_boolean()) fail_expected("true or false");
  return value_->get<bool>();
}

std::string JsonNode::as_string() const {
  if (!value_->is_string()) fail_expected("a string");
  return value_->get<std::string>();
}

std::string JsonNode::as_choice(const std::vector<std::string>& choices) const {
  std::string expected = fmt::format("one of {}", join_quoted(choices));
  if (!value_->is_string()) fail_expected(expected);
  std::string s = value_->get<std::string>();
  if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
    fail(fmt::format("{}, found \"{}\" (did you mean \"{}\"?)", "expected " + expected, s,
                     closest_match(s, choices)));
  }
  return s;
}

}  // namespace int8attn
