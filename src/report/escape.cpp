#include "src/report/escape.h"

#include <cstdlib>
#include <string_view>

#include "src/io/diagnostics.h"

namespace int8attn {

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    const auto c = static_cast<unsigned char>(ch);
    if (const size_t n = utf8_char_length(text, i); n != 1) {  // a character beyond ASCII, or bytes that are none
      out += n == 0 || is_bidi_control(text, i, n) ? std::string("\xEF\xBF\xBD") : text.substr(i, n);
      i += n == 0 ? 0 : n - 1;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xEF\xBF\xBD";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

namespace {

bool is_number(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

std::string csv_field(const std::string& raw) {
  std::string text = terminal_safe(raw, /*keep_line_breaks=*/true);
  // A spreadsheet runs a cell that starts with = + - @ as a formula (a case id of
  // =HYPERLINK(...)): such text gets a leading ', numbers and "-" stay as they are.
  if (!text.empty() && std::string_view("=+-@").find(text[0]) != std::string_view::npos && text != "-" &&
      !is_number(text)) {
    text = std::string(1, '\'') + text;  // not insert(0, ...): gcc 12 warns (-Wrestrict) on it
  }
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    line += csv_field(cells[i]);
  }
  return line + "\r\n";
}

}  // namespace int8attn
