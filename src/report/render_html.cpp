// The HTML view: one self-contained page (inline CSS, SVG and a few lines of JS).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/io/schema_names.h"
#include "src/report/escape.h"
#include "src/report/render_common.h"
#include "src/report/svg_chart.h"

namespace int8attn::view {

namespace {

const char* kPalette[] = {"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#db2777"};

// Cases of one shape group (everything but the sequence length), in report order.
struct Group {
  std::string label;
  std::vector<const CaseResult*> cases;
};

std::vector<Group> group_by(const Report& r, bool with_batch) {
  std::vector<Group> groups;
  std::map<std::string, size_t> index_of;
  for (const auto& c : r.cases) {
    const std::string label = group_label(c, with_batch);
    const auto [it, added] = index_of.emplace(label, groups.size());
    if (added) groups.push_back({label, {}});
    groups[it->second].cases.push_back(&c);
  }
  return groups;
}

// A page a browser can open whatever the sweep's size (40 000 cases made 20 000 charts, 134 MB):
// charts for the first kMaxChartGroups shape groups and decision grids of the first
// kMaxGridRows; the results table below them has every case.
constexpr size_t kMaxChartGroups = 48;
constexpr size_t kMaxGridRows = 300;

std::string omitted_note(size_t shown, size_t total, const char* what) {
  if (shown == total) return "";
  return fmt::format("<p class=\"hint\">{} for the first {} of {} shape groups; the table below has every case.</p>",
                     what, shown, total);
}

// Sweeps that hold batch*seq constant (one batch per seq_len) get one curve over seq_len,
// labelled with the batches; where a seq_len repeats with another batch, batch splits groups.
std::vector<Group> group_cases(const Report& r) {
  std::vector<Group> groups = group_by(r, false);
  for (Group& g : groups) {
    std::set<int64_t> seqs;
    std::vector<std::string> batches;
    for (const CaseResult* c : g.cases) {
      if (!seqs.insert(c->dims.seq_kv).second) return group_by(r, true);
      batches.push_back(std::to_string(c->dims.batch));
    }
    batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
    g.label = "b" + fmt::format("{}", fmt::join(batches, "/")) + " " + g.label;
  }
  return groups;
}

std::vector<std::string> kernel_names(const Report& r) {
  std::vector<std::string> names;
  for (const auto& c : r.cases) {
    for (const auto& k : c.kernels) {
      if (std::find(names.begin(), names.end(), k.kernel) == names.end()) names.push_back(k.kernel);
    }
  }
  return names;
}

std::string color_of(const std::vector<std::string>& kernels, const std::string& name) {
  const auto i = static_cast<size_t>(std::find(kernels.begin(), kernels.end(), name) - kernels.begin());
  return kPalette[i % std::size(kPalette)];
}

// Element ids from free text: letters, digits and '-' only.
// An element id from any name, one to one: letters, digits and '-' stay, every other byte is
// _XX (kernels named int8-fa, int8.fa and int8 fa got one id).
std::string safe_id(const std::string& s) {
  std::string out;
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    out += std::isalnum(byte) || c == '-' ? std::string(1, c) : fmt::format("_{:02x}", byte);
  }
  return out;
}

using Metric = std::optional<double> (*)(const CaseResult&, const KernelResult&);

std::optional<double> latency_metric(const CaseResult&, const KernelResult& k) {
  if (k.status != KernelStatus::Ok || !k.latency) return std::nullopt;
  return k.latency->median_ms;
}
std::optional<double> tops_metric(const CaseResult&, const KernelResult& k) {
  return k.status == KernelStatus::Ok ? k.tops : std::nullopt;
}
std::optional<double> rel_l2_metric(const CaseResult&, const KernelResult& k) {
  if (k.status != KernelStatus::Ok || !k.accuracy) return std::nullopt;
  return k.accuracy->rel_l2;
}
std::optional<double> max_abs_metric(const CaseResult&, const KernelResult& k) {
  if (k.status != KernelStatus::Ok || !k.accuracy) return std::nullopt;
  return k.accuracy->max_abs_error;
}
// The median SM clock of the kernel's samples: a power-capped GPU runs FP16 tensor work at lower
// clocks than INT8 (docs/methodology.md), which the latency and speedup charts do not show.
std::optional<double> sm_clock_metric(const CaseResult&, const KernelResult& k) {
  if (k.status != KernelStatus::Ok || !k.latency || !k.latency->sm_clock) return std::nullopt;
  return k.latency->sm_clock->median_mhz;
}
// Against each case's baseline (the fastest FP16 kernel of the case, or the configured one).
std::optional<double> speedup_metric(const CaseResult& c, const KernelResult& k) { return speedup_of(c, k); }

// What the speedup chart's title says it is measured against.
std::string speedup_title(const Report& r) {
  const std::string& rule = r.summary.baseline_rule;
  if (rule.empty() || rule == "fastest-fp16") return "Speedup vs the fastest FP16 kernel of each case";
  return "Speedup vs " + rule;
}

// A threshold of the config the report was made with (config.settings.thresholds), if set.
std::optional<double> threshold(const Report& r, const char* key) {
  const nlohmann::json& settings = r.config.settings;
  if (!settings.is_object() || !settings.contains("thresholds") || !settings["thresholds"].is_object()) return {};
  const nlohmann::json& t = settings["thresholds"];
  if (!t.contains(key) || !t[key].is_number()) return {};
  return t[key].get<double>();
}

struct ChartKind {
  const char* id;
  const char* title;
  const char* y_label;
  const char* unit;
  Metric metric;
  bool log_y;
  // Lines drawn across the chart: speedup 1, the accuracy thresholds.
  std::vector<ReferenceLine> (*references)(const Report&);
};

std::vector<ReferenceLine> no_lines(const Report&) { return {}; }
std::vector<ReferenceLine> speedup_lines(const Report&) { return {{1.0, "1x"}}; }
std::vector<ReferenceLine> rel_l2_lines(const Report& r) {
  if (auto t = threshold(r, "max_rel_l2")) return {{*t, fmt::format("max_rel_l2 {:.3g}", *t)}};
  return {};
}
std::vector<ReferenceLine> max_abs_lines(const Report& r) {
  if (auto t = threshold(r, "max_abs_error")) return {{*t, fmt::format("max_abs_error limit {:.3g}", *t)}};
  return {};
}

const ChartKind kCharts[] = {
    {"latency", "Latency (median)", "ms", "ms", latency_metric, true, no_lines},
    {"tops", "Throughput", "TOPS", "TOPS", tops_metric, false, no_lines},
    {"speedup", "Speedup", "x faster", "x", speedup_metric, false, speedup_lines},
    {"sm-clock", "SM clock the samples ran at (median)", "MHz", "MHz", sm_clock_metric, false, no_lines},
    {"rel-l2", "Error vs reference (rel. L2)", "rel. L2", "", rel_l2_metric, true, rel_l2_lines},
    {"max-abs", "Max abs error vs reference", "max |error|", "", max_abs_metric, true, max_abs_lines},
};

// Kinds with no value anywhere in the report are not drawn (a CPU report has no latencies).
bool report_has(const Report& r, Metric metric) {
  return std::any_of(r.cases.begin(), r.cases.end(), [&](const CaseResult& c) {
    return std::any_of(c.kernels.begin(), c.kernels.end(), [&](const KernelResult& k) { return metric(c, k).has_value(); });
  });
}

std::string chart_for(const Report& r, const Group& g, size_t group_index, const ChartKind& kind,
                      const std::vector<std::string>& kernels) {
  const std::string title = kind.metric == speedup_metric ? speedup_title(r) : std::string(kind.title);
  LineChart chart{fmt::format("chart-{}-{}", kind.id, group_index), title, "seq_kv", kind.y_label, kind.log_y,
                  kind.references(r), {}, {}};
  for (const auto& name : kernels) {
    ChartSeries series{name, color_of(kernels, name), {}};
    for (const CaseResult* c : g.cases) {
      for (const auto& k : c->kernels) {
        if (k.kernel != name) continue;
        if (auto v = kind.metric(*c, k)) {
          series.points.push_back({static_cast<double>(c->dims.seq_kv), *v,
                                   fmt::format("{} {}: {:.4g} {}", name, c->id, *v, kind.unit)});
        }
      }
    }
    if (!series.points.empty()) chart.series.push_back(std::move(series));
  }
  return svg_line_chart(chart);
}

bool has_samples(const Report& r) {
  return std::any_of(r.cases.begin(), r.cases.end(), [](const CaseResult& c) {
    return std::any_of(c.kernels.begin(), c.kernels.end(),
                       [](const KernelResult& k) { return k.latency && !k.latency->raw_ms.empty(); });
  });
}

// Every latency sample kept (--keep-samples) as a dot: each kernel's dots sit side by side
// around their seq_kv, so the spread and the outliers show, not only the median.
std::string samples_chart(const Group& g, size_t group_index, const std::vector<std::string>& kernels) {
  LineChart chart{fmt::format("chart-samples-{}", group_index), "Latency samples (every kept sample)", "seq_kv", "ms",
                  true, {}, {}, {}};
  const double n = static_cast<double>(kernels.size());
  for (size_t i = 0; i < kernels.size(); ++i) {
    ChartSeries series{kernels[i], color_of(kernels, kernels[i]), {}, /*dots_only=*/true};
    const double offset = std::exp2((static_cast<double>(i) - (n - 1) / 2) * 0.08);  // side by side on log2 x
    for (const CaseResult* c : g.cases) {
      for (const auto& k : c->kernels) {
        if (k.kernel != kernels[i] || k.status != KernelStatus::Ok || !k.latency) continue;
        for (double ms : k.latency->raw_ms) series.points.push_back({c->dims.seq_kv * offset, ms, ""});
      }
    }
    if (!series.points.empty()) chart.series.push_back(std::move(series));
  }
  for (const CaseResult* c : g.cases) chart.x_ticks.push_back(static_cast<double>(c->dims.seq_kv));
  return svg_line_chart(chart);
}

std::string charts_section(const Report& r, const std::vector<Group>& groups,
                           const std::vector<std::string>& kernels) {
  const size_t shown = std::min(groups.size(), kMaxChartGroups);
  std::string out = "<section id=\"charts\"><h2>Charts</h2>" + omitted_note(shown, groups.size(), "Charts");
  std::vector<const ChartKind*> kinds;
  for (const auto& kind : kCharts) {
    if (report_has(r, kind.metric)) kinds.push_back(&kind);
  }
  const bool samples = has_samples(r);
  if (kinds.empty()) return out + "<p>No latency or accuracy was measured in this report.</p></section>";
  for (size_t i = 0; i < shown; ++i) {
    out += fmt::format("<h3>{}</h3><div class=\"chart-row\">", html_escape(groups[i].label));
    for (const ChartKind* kind : kinds) out += chart_for(r, groups[i], i, *kind, kernels);
    if (samples) out += samples_chart(groups[i], i, kernels);
    out += "</div>";
  }
  return out + "</section>";
}

GridCell decision_cell(const CaseResult& c, const KernelResult& k) {
  std::string tip = fmt::format("{} {}: {}", c.id, k.kernel, to_string(k.status));
  if (k.status != KernelStatus::Ok) {
    const bool skipped = k.status == KernelStatus::Skipped;
    return {skipped ? "skipped" : "error", skipped ? "#9ca3af" : "#dc2626", tip + " — " + k.reason};
  }
  if (k.fp8_verdict) {
    const bool fp8 = k.fp8_verdict->decision == Fp8Decision::Fp8;
    if (!fp8) tip += " — fp16: " + note(k);
    return {fp8 ? "fp8" : "fp16", fp8 ? "#16a34a" : "#f59e0b", tip};
  }
  if (!k.fallback) return {"ok", "#93c5fd", tip};
  switch (k.fallback->decision) {
    case Decision::Int8: return {"int8", "#16a34a", tip};
    case Decision::Int8Hadamard: return {"int8+H", "#0d9488", tip + " — int8-hadamard: " + note(k)};
    case Decision::Fp16Fallback: break;
  }
  return {"fp16", "#f59e0b", tip + " — fp16-fallback: " + note(k)};
}

std::string fallback_section(const Report& r, const std::vector<Group>& all_groups,
                             const std::vector<std::string>& kernels) {
  const size_t shown = std::min(all_groups.size(), kMaxGridRows);
  const std::vector<Group> groups(all_groups.begin(), all_groups.begin() + static_cast<ptrdiff_t>(shown));
  std::string out = "<section id=\"fallback\"><h2>Decisions by shape and length</h2>" +
                    omitted_note(groups.size(), all_groups.size(), "Decision grids") + "<div class=\"chart-row\">";
  std::set<int64_t> seqs;
  for (const auto& c : r.cases) seqs.insert(c.dims.seq_kv);
  int grids = 0;
  for (const auto& name : kernels) {
    const bool fp8_kernel = std::any_of(r.cases.begin(), r.cases.end(), [&](const CaseResult& c) {
      return std::any_of(c.kernels.begin(), c.kernels.end(),
                         [&](const KernelResult& k) { return k.kernel == name && k.family() == KernelFamily::Fp8; });
    });
    DecisionGrid grid{"fallback-" + safe_id(name), (fp8_kernel ? "FP8 verdict: " : "Decision: ") + name, {}, {}, {},
                      {{fp8_kernel ? "fp8" : "int8", "#16a34a"},
                       {fp8_kernel ? "fp16" : "fp16-fallback", "#f59e0b"},
                       {"skipped", "#9ca3af"},
                       {"error", "#dc2626"}}};
    if (!fp8_kernel) grid.legend.insert(grid.legend.begin() + 1, {"int8-hadamard (int8+H)", "#0d9488"});
    bool has_decisions = false;
    for (int64_t s : seqs) grid.column_labels.push_back(seq_label(static_cast<double>(s)));
    for (const auto& g : groups) {
      grid.row_labels.push_back(g.label);
      std::vector<GridCell> row(seqs.size());
      for (const CaseResult* c : g.cases) {
        const auto col = static_cast<size_t>(std::distance(seqs.begin(), seqs.find(c->dims.seq_kv)));
        for (const auto& k : c->kernels) {
          if (k.kernel != name) continue;
          has_decisions |= k.fallback.has_value() || k.fp8_verdict.has_value() || k.family() == KernelFamily::Int8 ||
                           k.family() == KernelFamily::Fp8;
          row[col] = decision_cell(*c, k);
        }
      }
      grid.cells.push_back(std::move(row));
    }
    if (!has_decisions) continue;
    out += svg_decision_grid(grid);
    ++grids;
  }
  if (grids == 0) out += "<p>No INT8 kernel in this report.</p>";
  return out + "</div></section>";
}

std::string verdict_section(const Report& r) {
  std::string out = "<section id=\"verdict\"><h2>Verdict</h2>";
  const std::vector<std::string> lines = verdict_lines(r);
  if (lines.empty()) out += "<p>No INT8 or FP8 kernel in this report.</p>";
  if (!lines.empty()) out += "<ul class=\"verdict\">";
  for (const std::string& line : lines) out += "<li>" + html_escape(line) + "</li>";
  if (!lines.empty()) out += "</ul>";
  out += "<p class=\"summary\">" + html_escape(summary_line(r)) + "</p>";
  if (const std::string fp8 = fp8_line(r); !fp8.empty()) out += "<p class=\"summary\">" + html_escape(fp8) + "</p>";
  return out + "</section>";
}

std::string environment_section(const Report& r) {
  std::string out = "<section id=\"environment\"><h2>Environment</h2><table class=\"env\">";
  auto row = [&](const std::string& k, const std::string& v) {
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", html_escape(k), html_escape(v));
  };
  row("tool", fmt::format("{} {} ({})", r.tool.name, r.tool.version, r.tool.git_commit));
  const auto environments = all_environments(r);
  for (size_t i = 0; i < environments.size(); ++i) {
    if (environments.size() > 1) row(fmt::format("environment {} of {}", i + 1, environments.size()), device_label(*environments[i]));
    for (const auto& [label, value] : environment_fields(*environments[i])) row(label, value);
  }
  if (!r.config.path.empty()) row("config", r.config.path);
  if (!r.config.sha256.empty()) row("config sha256", r.config.sha256);
  if (!r.started_at.empty()) row("started", r.started_at);
  if (!r.finished_at.empty()) row("finished", r.finished_at);
  return out + "</table></section>";
}

std::string results_section(const Report& r) {
  std::string out =
      "<section id=\"results\"><h2>All results</h2><p class=\"hint\">Click a column header to sort.</p>"
      "<div class=\"table-wrap\"><table id=\"results-table\" class=\"sortable\"><thead><tr>";
  const bool with_clock = has_sm_clock(r);
  for (const char* h : {"case", "kernel", "status", "seq_kv", "median ms", "TOPS", "SM MHz", "speedup", "rel_l2",
                        "max_abs", "decision", "note"}) {
    if (with_clock || std::string_view(h) != "SM MHz") out += fmt::format("<th>{}</th>", h);
  }
  out += "</tr></thead><tbody>";
  for (const auto& c : r.cases) {
    for (const auto& k : c.kernels) {
      const std::string status_class = k.status == KernelStatus::Ok ? "ok" : to_string(k.status);
      const bool fell_back = (k.fallback && k.fallback->decision == Decision::Fp16Fallback) ||
                             (k.fp8_verdict && k.fp8_verdict->decision == Fp8Decision::Fp16);
      const std::string decision_class = fell_back ? "fallback" : "";
      const std::string clock_cell = with_clock ? fmt::format("<td class=\"num\">{}</td>", sm_clock(k.latency)) : "";
      out += fmt::format(
          "<tr><td class=\"id\">{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td>{}<td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"{}\">{}</td><td class=\"note\">{}</td></tr>",
          html_escape(c.id), html_escape(k.kernel), status_class, to_string(k.status), c.dims.seq_kv, median_ms(k),
          tops(k), clock_cell, html_escape(speedup(c, k)), rel_l2(k), max_abs(k), decision_class, decision(k),
          html_escape(note(k)));
    }
  }
  return out + "</tbody></table></div></section>";
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px 32px;color:#1f2937;background:#fafafa}
h1{margin:0 0 4px;font-size:26px}h2{margin:28px 0 10px;font-size:20px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
h3{margin:18px 0 6px;font-size:15px;color:#374151;font-family:ui-monospace,monospace}
.headline{color:#4b5563;margin:2px 0}.summary{background:#eef2ff;border-left:4px solid #6366f1;padding:8px 12px;margin:12px 0}
.incomplete{background:#fef3c7;border-left:4px solid #f59e0b;padding:8px 12px}
.chart-row{display:flex;flex-wrap:wrap;gap:12px}
svg.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px}
svg .tick{font-size:11px;fill:#4b5563}svg .legend{font-size:12px;fill:#111827}
svg .chart-title{font-size:14px;font-weight:600;fill:#111827}svg .axis-label{font-size:12px;fill:#374151}
svg .grid{stroke:#eef0f3}svg .frame{fill:none;stroke:#9ca3af}svg .reference{stroke:#6b7280;stroke-dasharray:5 4}
svg .reference-label{font-size:11px;fill:#4b5563}
ul.verdict{margin:8px 0;padding-left:20px;font-size:16px;font-weight:600}ul.verdict li{margin:4px 0}
.table-wrap{max-width:100%;overflow-x:auto}
svg .empty{font-size:14px;fill:#9ca3af}svg .cell-label{font-size:11px;fill:#fff;font-weight:600}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}th,td{white-space:nowrap}td.note{white-space:normal;min-width:240px}
table.env th{background:#f3f4f6;font-weight:600}
table.sortable th{background:#f3f4f6;cursor:pointer;user-select:none;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.id{font-family:ui-monospace,monospace;font-size:12px;white-space:normal;overflow-wrap:anywhere;min-width:160px}
td.error{color:#b91c1c;font-weight:600}td.skipped{color:#6b7280}td.fallback{color:#b45309;font-weight:600}
.hint{color:#6b7280;font-size:12px}
)";

// Sorts the results table by the clicked column (numerically when both cells are numbers).
constexpr const char* kSortScript = R"(
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var body = th.closest('table').tBodies[0];
    var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a, b){
      var x = a.cells[col].textContent, y = b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});
)";

}  // namespace

std::string render_html(const Report& r) {
  const auto kernels = kernel_names(r);
  std::string out = std::string(kReportHtmlDoctype) + "\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += std::string(kReportHtmlTitle) + "<style>" + std::string(kStyle) + "</style></head><body>";
  out += "<header><h1>int8attn-bench report</h1><p class=\"headline\">" + html_escape(headline(r)) + "</p>";
  if (!r.complete) out += "<p class=\"incomplete\">This report is incomplete: the sweep was interrupted.</p>";
  out += "</header>";
  // The answer first, then where it holds (the grid), then the measurements behind it.
  const std::vector<Group> groups = group_cases(r);
  out += verdict_section(r);
  out += fallback_section(r, groups, kernels);
  out += charts_section(r, groups, kernels);
  out += results_section(r);
  out += environment_section(r);
  out += "<script>" + std::string(kSortScript) + "</script></body></html>\n";
  return out;
}

}  // namespace int8attn::view
