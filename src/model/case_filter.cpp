#include "src/model/case_filter.h"

#include <stdexcept>

#include <fmt/format.h>

namespace int8attn {

namespace {

// Matches one [...] class at pattern[p] (p points at '['); returns the index after ']' or
// npos when the class is unterminated (then '[' is literal).
size_t match_class(const std::string& pattern, size_t p, char c, bool& matched) {
  size_t i = p + 1;
  const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool hit = false;
  const size_t first = i;
  for (; i < pattern.size() && (pattern[i] != ']' || i == first); ++i) {
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hit |= pattern[i] <= c && c <= pattern[i + 2];
      i += 2;
    } else {
      hit |= pattern[i] == c;
    }
  }
  if (i >= pattern.size()) return std::string::npos;
  matched = hit != negate;
  return i + 1;
}

bool glob_match(const std::string& text, const std::string& pattern) {
  size_t t = 0, p = 0;
  size_t star_p = std::string::npos, star_t = 0;  // backtrack point of the last '*'
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      bool matched = false;
      size_t next = p + 1;
      if (pattern[p] == '[') {
        const size_t after = match_class(pattern, p, text[t], matched);
        if (after == std::string::npos) {
          matched = text[t] == '[';
        } else {
          next = after;
        }
      } else {
        matched = pattern[p] == '?' || pattern[p] == text[t];
      }
      if (matched) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == std::string::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool case_id_matches(const std::string& id, const std::string& pattern) {
  if (pattern.empty()) return true;
  if (pattern.find_first_of("*?[") != std::string::npos) return glob_match(id, pattern);
  return id.find(pattern) != std::string::npos;
}

std::vector<BenchCase> select_cases(std::vector<BenchCase> cases, const std::string& pattern,
                                    const std::string& option) {
  if (pattern.empty()) return cases;
  std::vector<BenchCase> selected;
  for (BenchCase& c : cases) {
    if (case_id_matches(c.id, pattern)) selected.push_back(std::move(c));
  }
  if (!selected.empty()) return selected;
  std::string examples;
  for (size_t i = 0; i < cases.size() && i < 3; ++i) examples += (i ? ", " : "") + cases[i].id;
  throw std::invalid_argument(fmt::format(
      "{} '{}': expected a glob (*, ?, [...]) or a substring of a case id, found no match among the {} "
      "case(s) (ids look like {})", option, pattern, cases.size(), examples));
}

}  // namespace int8attn
