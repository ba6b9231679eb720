#include "src/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "src/report/escape.h"

namespace int8attn::view {

namespace {

constexpr double kWidth = 540, kHeight = 330;
constexpr double kLeft = 66, kRight = 18, kTop = 58, kBottom = 46;

// Maps data values to pixels along one axis.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double pixel_lo = 0, pixel_hi = 1;
  double map(double v) const {
    const double a = log ? std::log2(lo) : lo, b = log ? std::log2(hi) : hi;
    const double t = hi == lo ? 0.5 : ((log ? std::log2(v) : v) - a) / (b - a);
    return pixel_lo + t * (pixel_hi - pixel_lo);
  }
};

double nice_step(double range) {
  const double raw = range / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10.0 * magnitude;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e4 || a < 1e-3) return fmt::format("{:.0e}", v);
  return fmt::format("{:.4g}", v);
}

// Y axis range and tick values: linear from zero (or the data minimum when negative) with
// nice steps, or whole decades for log.
std::pair<Axis, std::vector<double>> y_axis(double lo, double hi, bool log) {
  Axis axis{lo, hi, log, kHeight - kBottom, kTop};
  std::vector<double> ticks;
  constexpr size_t kMaxTicks = 40;  // reports with absurd values still render in bounded time
  if (log) {
    // Decades within [1e-300, 1e300], so that the axis and its ticks stay finite whatever the data.
    const double low = std::clamp(lo, 1e-300, 1e299), high = std::clamp(hi, low, 1e300);
    axis.lo = std::pow(10.0, std::floor(std::log10(low)));
    axis.hi = std::pow(10.0, std::ceil(std::log10(high)));
    if (axis.hi <= axis.lo) axis.hi = axis.lo * 10;
    const double decades = std::ceil(std::log10(axis.hi / axis.lo) / kMaxTicks);
    const double factor = std::pow(10.0, std::max(decades, 1.0));
    for (double t = axis.lo; t <= axis.hi * 1.0001 && ticks.size() < kMaxTicks; t *= factor) ticks.push_back(t);
    return {axis, ticks};
  }
  axis.lo = std::max(std::min(0.0, lo), -1e300);
  axis.hi = hi > axis.lo ? std::min(hi * 1.08, 1e300) : axis.lo + 1;
  if (!(axis.hi - axis.lo > 1e-290)) axis.hi = axis.lo + 1e-290;  // a subnormal range has no nice step
  const double step = nice_step(axis.hi - axis.lo);
  axis.hi = std::ceil(axis.hi / step) * step;
  for (double t = std::floor(axis.lo / step) * step; t <= axis.hi + step * 1e-6 && ticks.size() < kMaxTicks;
       t += step) {
    ticks.push_back(t);
  }
  return {axis, ticks};
}

std::string text(double x, double y, const std::string& s, const char* anchor, const char* cls = "tick") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" class=\"{}\">{}</text>", x, y, anchor, cls,
                     xml_escape(s));
}

std::string legend(const std::vector<ChartSeries>& series) {
  std::string out;
  double x = kLeft;
  for (const auto& s : series) {
    out += fmt::format("<rect x=\"{:.1f}\" y=\"33\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>", x,
                       xml_escape(s.color));
    out += text(x + 16, 43, s.name, "start", "legend");
    x += 28 + 7.0 * static_cast<double>(s.name.size());
  }
  return out;
}

}  // namespace

std::string seq_label(double x) {
  const auto v = static_cast<long long>(std::llround(x));
  if (v >= 1024 && v % 1024 == 0) return fmt::format("{}K", v / 1024);
  return std::to_string(v);
}

std::string svg_line_chart(const LineChart& chart) {
  std::set<double> xs;  // tick positions
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const auto& s : chart.series) {
    for (const auto& p : s.points) {
      if (!std::isfinite(p.y) || !(p.x > 0) || (chart.log_y && !(p.y > 0))) continue;
      if (chart.x_ticks.empty() && !s.dots_only) xs.insert(p.x);
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y);
      y_hi = std::max(y_hi, p.y);
    }
  }
  for (double t : chart.x_ticks) {
    if (t > 0 && std::isfinite(t)) xs.insert(t);
  }
  if (!xs.empty()) x_lo = std::min(x_lo, *xs.begin()), x_hi = std::max(x_hi, *xs.rbegin());
  const bool has_data = y_lo <= y_hi;
  for (const ReferenceLine& line : chart.references) {
    if (!has_data || !std::isfinite(line.y) || (chart.log_y && !(line.y > 0))) continue;
    y_lo = std::min(y_lo, line.y);
    y_hi = std::max(y_hi, line.y);
  }
  std::string out = fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\"><title>{}</title>",
      xml_escape(chart.id), kWidth, kHeight, kWidth, kHeight, xml_escape(chart.title));
  out += text(kLeft, 20, chart.title, "start", "chart-title");
  if (!has_data) {
    out += text(kWidth / 2, kHeight / 2, "no data", "middle", "empty");
    return out + "</svg>";
  }
  Axis x_axis{x_lo, x_hi, true, kLeft + 14, kWidth - kRight - 14};
  auto [y, y_ticks] = y_axis(y_lo, y_hi, chart.log_y);
  // Grid, ticks and axis labels.
  for (double t : y_ticks) {
    const double py = y.map(t);
    out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>", kLeft,
                       kWidth - kRight, py, py);
    out += text(kLeft - 6, py + 4, tick_label(t), "end");
  }
  const size_t every = std::max<size_t>(1, (xs.size() + 9) / 10);  // at most ~10 x labels
  size_t i = 0;
  for (double v : xs) {
    if (i++ % every) continue;
    out += text(x_axis.map(v), kHeight - kBottom + 16, seq_label(v), "middle");
  }
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"frame\"/>", kLeft, kTop,
                     kWidth - kLeft - kRight, kHeight - kTop - kBottom);
  out += text((kLeft + kWidth - kRight) / 2, kHeight - 8, chart.x_label, "middle", "axis-label");
  out += fmt::format("<text transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\" "
                     "class=\"axis-label\">{}</text>",
                     (kTop + kHeight - kBottom) / 2, xml_escape(chart.y_label));
  for (const ReferenceLine& line : chart.references) {
    if (!std::isfinite(line.y) || (chart.log_y && !(line.y > 0))) continue;
    const double py = y.map(line.y);
    out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"reference\"/>", kLeft,
                       kWidth - kRight, py, py);
    if (!line.label.empty()) out += text(kWidth - kRight - 4, py - 4, line.label, "end", "reference-label");
  }
  // Series: a polyline through the points sorted by x, and a marker with a tooltip each.
  for (const auto& s : chart.series) {
    auto points = s.points;
    std::erase_if(points, [&](const ChartPoint& p) {
      return !std::isfinite(p.y) || !(p.x > 0) || (chart.log_y && !(p.y > 0));
    });
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
    const std::string color = xml_escape(s.color);
    if (s.dots_only) {
      out += "<g class=\"samples\">";
      for (const auto& p : points) {
        out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"1.8\" fill=\"{}\" fill-opacity=\"0.55\"/>",
                           x_axis.map(p.x), y.map(p.y), color);
      }
      out += "</g>";
      continue;
    }
    std::string path;
    for (const auto& p : points) path += fmt::format("{:.1f},{:.1f} ", x_axis.map(p.x), y.map(p.y));
    out += fmt::format("<g class=\"series\"><polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                       path, color);
    for (const auto& p : points) {
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}</title></circle>",
                         x_axis.map(p.x), y.map(p.y), color, xml_escape(p.tooltip));
    }
    out += "</g>";
  }
  return out + legend(chart.series) + "</svg>";
}

std::string svg_decision_grid(const DecisionGrid& grid) {
  constexpr double kCellW = 64, kCellH = 26, kTopPad = 62, kGap = 2;
  size_t longest = 0;
  for (const auto& l : grid.row_labels) longest = std::max(longest, l.size());
  const double left = 16 + 7.0 * static_cast<double>(longest);
  double legend_width = 12;
  for (const auto& entry : grid.legend) legend_width += 30 + 7.0 * static_cast<double>(entry.first.size());
  const double width =
      std::max({left + kCellW * static_cast<double>(grid.column_labels.size()) + 16, legend_width, 360.0});
  const double height = kTopPad + kCellH * static_cast<double>(grid.row_labels.size()) + 30;
  std::string out = fmt::format(
      "<svg id=\"{}\" class=\"chart grid-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\"><title>{}</title>",
      xml_escape(grid.id), width, height, width, height, xml_escape(grid.title));
  out += text(12, 20, grid.title, "start", "chart-title");
  double lx = 12;
  for (const auto& [label, color] : grid.legend) {
    out += fmt::format("<rect x=\"{:.1f}\" y=\"30\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>", lx,
                       xml_escape(color));
    out += text(lx + 16, 40, label, "start", "legend");
    lx += 30 + 7.0 * static_cast<double>(label.size());
  }
  for (size_t c = 0; c < grid.column_labels.size(); ++c) {
    out += text(left + kCellW * (c + 0.5), kTopPad - 4, grid.column_labels[c], "middle");
  }
  for (size_t r = 0; r < grid.row_labels.size(); ++r) {
    const double y = kTopPad + kCellH * static_cast<double>(r);
    out += text(left - 8, y + kCellH / 2 + 4, grid.row_labels[r], "end");
    for (size_t c = 0; c < grid.column_labels.size() && c < grid.cells[r].size(); ++c) {
      const GridCell& cell = grid.cells[r][c];
      if (cell.tooltip.empty()) continue;
      const double x = left + kCellW * static_cast<double>(c);
      out += fmt::format(
          "<g class=\"cell\"><title>{}</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" rx=\"3\" "
          "fill=\"{}\"/>",
          xml_escape(cell.tooltip), x + kGap / 2, y + kGap / 2, kCellW - kGap, kCellH - kGap, xml_escape(cell.color));
      out += text(x + kCellW / 2, y + kCellH / 2 + 4, cell.label, "middle", "cell-label") + "</g>";
    }
  }
  out += text(left + kCellW * grid.column_labels.size() / 2.0, height - 8, "seq_kv", "middle", "axis-label");
  return out + "</svg>";
}

}  // namespace int8attn::view
