// Inline SVG charts for the HTML report: a line chart with log2 x axis and a decision grid.
// The output is a standalone <svg> element; every string in it is escaped.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace int8attn::view {

struct ChartPoint {
  double x = 0, y = 0;
  std::string tooltip;
};

struct ChartSeries {
  std::string name;
  std::string color;  // CSS color
  std::vector<ChartPoint> points;
  bool dots_only = false;  // small dots, no line (a distribution of samples)
};

// A dashed horizontal line with its label at the right end (speedup = 1, a threshold).
struct ReferenceLine {
  double y = 0;
  std::string label;
};

struct LineChart {
  std::string id;  // element id (made safe by the caller)
  std::string title, x_label, y_label;
  bool log_y = false;
  std::vector<ReferenceLine> references;
  std::vector<ChartSeries> series;
  std::vector<double> x_ticks;  // empty: one tick per distinct x of the line series
};

std::string svg_line_chart(const LineChart& chart);

struct GridCell {
  std::string label;    // short text in the cell
  std::string color;
  std::string tooltip;  // empty: no cell drawn
};

struct DecisionGrid {
  std::string id, title;
  std::vector<std::string> row_labels, column_labels;
  std::vector<std::vector<GridCell>> cells;  // [row][column]
  std::vector<std::pair<std::string, std::string>> legend;  // (label, color)
};

std::string svg_decision_grid(const DecisionGrid& grid);

// 1024 -> "1K", 32768 -> "32K", 1000 -> "1000".
std::string seq_label(double x);

}  // namespace int8attn::view
