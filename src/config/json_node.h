// A JSON value together with its path in the config file, so that every validation error
// can name the file, the path ("axes.seq_len[1]") and what was expected vs found.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace int8attn {

// Closest candidate by edit distance (for "did you mean" hints); empty if none.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Short description of a JSON value for messages: `string "abc"`, `number 3.5`, `null`.
std::string describe_json(const nlohmann::json& value);

class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, std::string path, const std::string& file)
      : value_(&value), path_(std::move(path)), file_(&file) {}

  const nlohmann::json& value() const { return *value_; }
  const std::string& path() const { return path_; }
  bool is_null() const { return value_->is_null(); }

  // Throws ConfigError at this path: "expected <expected>, found <what is there>".
  [[noreturn]] void fail_expected(std::string_view expected) const;
  // Throws ConfigError at this path with a free-form message.
  [[noreturn]] void fail(const std::string& message) const;

  // Requires an object whose keys are all in `known` (an unknown key fails at its own path
  // with the closest known key suggested).
  void expect_object(const std::vector<std::string>& known) const;
  bool has(std::string_view key) const;
  // Member `key` of an object; nullopt when absent.
  std::optional<JsonNode> find(std::string_view key) const;
  JsonNode at(std::string_view key) const;  // fails when absent ("required key")

  // Elements of an array (fails if not an array, or if empty and non_empty is set).
  std::vector<JsonNode> elements(bool non_empty) const;

  int64_t as_int(int64_t min = std::numeric_limits<int64_t>::min(),
                 int64_t max = std::numeric_limits<int64_t>::max()) const;
  uint64_t as_uint64() const;
  double as_number(double min = -std::numeric_limits<double>::infinity(),
                   double max = std::numeric_limits<double>::infinity()) const;
  bool as_bool() const;
  std::string as_string() const;
  // A string that must be one of `choices`.
  std::string as_choice(const std::vector<std::string>& choices) const;

 private:
  const nlohmann::json* value_;
  std::string path_;
  const std::string* file_;
};

}  // namespace int8attn
