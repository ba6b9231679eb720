#include "src/report/json_diff.h"

#include <set>

#include <fmt/format.h>

#include "src/io/json_text.h"

namespace int8attn {
namespace {

void describe(const nlohmann::json& a, const nlohmann::json& b, const std::string& at, const std::string& a_label,
              const std::string& b_label, std::string& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : a.items()) keys.insert(key);
    for (const auto& [key, value] : b.items()) keys.insert(key);
    for (const std::string& key : keys) {
      const nlohmann::json none;
      describe(a.contains(key) ? a.at(key) : none, b.contains(key) ? b.at(key) : none,
               at.empty() ? key : at + "." + key, a_label, b_label, out);
    }
    return;
  }
  if (a == b) return;
  out += fmt::format("{}{}: {} {}, {} {}", out.empty() ? "" : "; ", at.empty() ? "$" : at, dump_json(a), a_label, dump_json(b),
                     b_label);
}

}  // namespace

std::string describe_json_differences(const nlohmann::json& a, const nlohmann::json& b, const std::string& a_label,
                                      const std::string& b_label) {
  std::string out;
  describe(a, b, "", a_label, b_label, out);
  return out;
}

}  // namespace int8attn
