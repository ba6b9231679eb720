// A table of strings that prints as an aligned terminal table or a GitHub markdown table.
// The report and compare views both build one, so their layouts stay consistent.
#pragma once
#include <string>
#include <vector>

namespace int8attn {

enum class Align { Left, Right };

class TextTable {
 public:
  struct Column {
    std::string title;
    Align align = Align::Left;
  };
  explicit TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Rows shorter than the header are padded with empty cells; longer ones are cut.
  void add_row(std::vector<std::string> cells);
  // A title line spanning the table (text view: its own line before the rows that follow;
  // markdown: ignored, since GitHub tables have no spanning rows). Widths stay shared, so
  // every section lines up with the others.
  void add_section(std::string title);
  bool empty() const { return rows_.empty(); }

  // Space-aligned, a dashed rule under the header, `indent` spaces before each line.
  std::string to_text(int indent = 0) const;
  // GitHub-flavoured markdown; '|' and line breaks inside cells are escaped.
  std::string to_markdown() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::pair<size_t, std::string>> sections_;  // (index of the next row, title)
};

// Escapes a string for a markdown table cell or line: the text shows as it is, never as
// markup (a cell boundary, HTML, code, emphasis, a link or image, a heading).
std::string markdown_cell(const std::string& text);

// Display width of UTF-8 text (code points; the views only use narrow characters).
size_t display_width(const std::string& text);

}  // namespace int8attn
