#include "src/io/output_format.h"

#include <algorithm>

namespace int8attn {
namespace {

struct Spelling {
  const char* name;
  OutputFormat format;
};
// Names first, aliases after: format_spellings keeps this order.
constexpr Spelling kSpellings[] = {
    {"table", OutputFormat::Table}, {"markdown", OutputFormat::Markdown}, {"csv", OutputFormat::Csv},
    {"json", OutputFormat::Json},   {"html", OutputFormat::Html},         {"text", OutputFormat::Table},
    {"md", OutputFormat::Markdown},
};

bool allows(const FormatList& allowed, OutputFormat f) {
  return std::find(allowed.begin(), allowed.end(), f) != allowed.end();
}

}  // namespace

const char* to_string(OutputFormat f) {
  for (const Spelling& s : kSpellings) {
    if (s.format == f) return s.name;
  }
  return "?";
}

std::optional<OutputFormat> parse_output_format(std::string_view name, const FormatList& allowed) {
  for (const Spelling& s : kSpellings) {
    if (name == s.name && allows(allowed, s.format)) return s.format;
  }
  return std::nullopt;
}

std::vector<std::string> format_spellings(const FormatList& allowed) {
  std::vector<std::string> names;
  for (const Spelling& s : kSpellings) {
    if (allows(allowed, s.format)) names.push_back(s.name);
  }
  return names;
}

std::string describe_formats(const FormatList& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += i + 1 == allowed.size() ? " or " : ", ";
    out += to_string(allowed[i]);
  }
  return out;
}

}  // namespace int8attn
