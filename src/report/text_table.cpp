#include "src/report/text_table.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "src/io/diagnostics.h"

namespace int8attn {

size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only
  }
  return width;
}

std::string markdown_cell(const std::string& text) {
  std::string out;
  const std::string safe = terminal_safe(text);
  out.reserve(safe.size());
  const auto word_char = [&](size_t i) { return i < safe.size() && std::isalnum(static_cast<unsigned char>(safe[i])); };
  for (size_t i = 0; i < safe.size(); ++i) {
    const char c = safe[i];
    if (c == '_' && i > 0 && word_char(i - 1) && word_char(i + 1)) {  // kv_block: GFM's _ inside a word is text
      out += c;
      continue;
    }
    switch (c) {
      case '|': out += "\\|"; break;
      case '\\': out += "\\\\"; break;  // else "\\|" in the text would end the cell
      case '<': out += "&lt;"; break;   // a report's strings are text, never markup: no
      case '>': out += "&gt;"; break;   // </details> or <img> of a case id in a PR comment
      case '&': out += "&amp;"; break;
      case '`': case '*': case '_': case '[': case ']': case '#': case '~':  // no code, emphasis, link,
        out += '\\';                                                       // image or heading from data
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) cell = terminal_safe(cell);  // a report's text, shown on a terminal
  rows_.push_back(std::move(cells));
}

void TextTable::add_section(std::string title) { sections_.emplace_back(rows_.size(), terminal_safe(title)); }

namespace {

std::string pad(const std::string& text, size_t width, Align align) {
  const size_t w = display_width(text);
  const std::string fill(width > w ? width - w : 0, ' ');
  return align == Align::Left ? text + fill : fill + text;
}

std::string rstrip(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

std::string TextTable::to_text(int indent) const {
  std::vector<size_t> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = display_width(columns_[c].title);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  const std::string margin(static_cast<size_t>(std::max(indent, 0)), ' ');
  auto line = [&](auto cell_of) {
    std::string s = margin;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (c) s += "  ";
      s += cell_of(c);
    }
    return rstrip(s) + "\n";
  };
  const std::string header = line([&](size_t c) { return pad(columns_[c].title, widths[c], columns_[c].align); }) +
                             line([&](size_t c) { return std::string(widths[c], '-'); });
  std::string out = sections_.empty() ? header : "";
  auto section = sections_.begin();
  for (size_t r = 0; r < rows_.size(); ++r) {
    for (; section != sections_.end() && section->first == r; ++section) {
      if (r) out += '\n';
      out += section->second;
      out += '\n';
      out += header;  // each section repeats the header
    }
    out += line([&](size_t c) { return pad(rows_[r][c], widths[c], columns_[c].align); });
  }
  return out;
}

std::string TextTable::to_markdown() const {
  std::string out = "|";
  for (const auto& col : columns_) out += fmt::format(" {} |", markdown_cell(col.title));
  out += "\n|";
  for (const auto& col : columns_) out += col.align == Align::Right ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : rows_) {
    out += "|";
    for (const auto& cell : row) out += fmt::format(" {} |", markdown_cell(cell));
    out += "\n";
  }
  return out;
}

}  // namespace int8attn
