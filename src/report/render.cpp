#include "src/report/render.h"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "src/io/diagnostics.h"
#include "src/io/schema_names.h"
#include "src/report/escape.h"
#include "src/report/json_io.h"
#include "src/report/render_common.h"
#include "src/report/text_table.h"

namespace int8attn {

namespace view {

std::string number(const std::optional<double>& v, int digits) {
  if (!v) return "-";
  return fmt::format("{:.{}g}", *v, digits);
}

std::string fixed(double v, int decimals) {
  return std::fabs(v) < 1e6 ? fmt::format("{:.{}f}", v, decimals) : fmt::format("{:.3g}", v);
}

std::string median_ms(const KernelResult& k) {
  return k.latency ? number(k.latency->median_ms) : "-";
}

std::string tops(const KernelResult& k) {
  return k.tops ? fixed(*k.tops, 1) : "-";
}

std::string sm_clock(const std::optional<LatencyStats>& latency) {
  return latency && latency->sm_clock ? fixed(latency->sm_clock->median_mhz, 0) : "-";
}

bool has_sm_clock(const Report& r) {
  for (const auto& c : r.cases) {
    for (const auto& k : c.kernels) {
      if (k.latency && k.latency->sm_clock) return true;
    }
  }
  return false;
}

std::string rel_l2(const KernelResult& k) { return k.accuracy ? number(k.accuracy->rel_l2, 3) : "-"; }

std::string max_abs(const KernelResult& k) {
  return k.accuracy ? number(k.accuracy->max_abs_error, 3) : "-";
}

std::string speedup(const CaseResult& c, const KernelResult& k) {
  const std::optional<double> x = speedup_of(c, k);
  return x ? fixed(*x, 2) + "x" : "-";
}

std::string decision(const KernelResult& k) {
  if (k.status == KernelStatus::Skipped) return "skipped";  // it decided nothing
  if (k.fallback) return to_string(k.fallback->decision);
  if (k.fp8_verdict) return to_string(k.fp8_verdict->decision);
  return "-";
}

std::string note(const KernelResult& k) {
  if (k.status != KernelStatus::Ok) return k.reason;
  std::vector<std::string> parts;
  if (k.fallback) parts.insert(parts.end(), k.fallback->reasons.begin(), k.fallback->reasons.end());
  if (k.fp8_verdict) parts.insert(parts.end(), k.fp8_verdict->reasons.begin(), k.fp8_verdict->reasons.end());
  // An INT8 kernel that ran other blocks than 64 keys with V per channel ("auto" on Hopper), or
  // K per thread group or grouped: said, since its numbers are not those of the same kernel on another
  // device, length or option.
  if (k.quantization &&
      (k.quantization->kv_block != kGpuKvBlock || k.quantization->v_block != 0 || k.quantization->k_per_thread ||
       k.quantization->k_grouped)) {
    parts.push_back(to_string(*k.quantization));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string baseline_label(const CaseResult& c) {
  if (!c.baseline) return "";
  const Baseline& b = *c.baseline;
  const std::string rule = b.rule == "configured" ? "configured" : b.rule;
  if (b.median_ms) return fmt::format("baseline {} {:.4g} ms ({})", b.kernel, *b.median_ms, rule);
  return fmt::format("no baseline ({}): {}", rule, b.note);
}

std::string shape_label(const CaseResult& c) {
  const auto& d = c.dims;
  return fmt::format("b{} h{} kv{} q{} k{} d{} {} {}", d.batch, d.heads, d.kv_heads, d.seq_q, d.seq_kv,
                     d.head_dim, d.causal ? "causal" : "full", to_string(c.input.distribution));
}

std::string group_label(const CaseResult& c, bool with_batch) {
  const auto& d = c.dims;
  std::string label = fmt::format("{}h{} kv{} d{} {} {}", with_batch ? fmt::format("b{} ", d.batch) : "",
                                  d.heads, d.kv_heads, d.head_dim, d.causal ? "causal" : "full",
                                  to_string(c.input.distribution));
  if (d.seq_q != d.seq_kv) label += fmt::format(" q{}", d.seq_q);
  if (c.rotation != QkRotation::None) label += fmt::format(" {}", to_string(c.rotation));
  return label;
}

std::vector<const Environment*> all_environments(const Report& r) {
  if (r.environments.empty()) return {&r.environment};
  std::vector<const Environment*> out;
  for (const Environment& env : r.environments) out.push_back(&env);
  return out;
}

const Environment& environment_of(const Report& r, const CaseResult& c) {
  return c.environment ? *c.environment : r.environment;
}

std::string device_label(const Environment& env) {
  std::string name = env.backend == "cuda" || !env.gpu_name.empty()
                         ? env.gpu_name
                         : (env.cpu_model.empty() ? std::string("CPU") : env.cpu_model);
  if (env.device) name += fmt::format(" #{}", *env.device);
  return name;
}

std::string headline(const Report& r) {
  const auto& env = r.environment;
  std::string line = fmt::format("{} {} ({}) on {} [{}]", r.tool.name, r.tool.version, r.tool.git_commit,
                                 device_label(env), env.backend);
  if (!r.config.path.empty()) line += ", config " + r.config.path;
  if (!r.started_at.empty()) line += ", " + r.started_at;
  if (r.environments.size() > 1) line += fmt::format(" and {} more environment(s)", r.environments.size() - 1);
  if (!r.complete) {
    line += r.parts.empty() ? " (INCOMPLETE: interrupted sweep)" : " (INCOMPLETE: a part was interrupted or a shard is missing)";
  }
  return line;
}

std::string summary_line(const Report& r) {
  const auto& s = r.summary;
  std::string line = fmt::format("{} cases, {} kernel runs: {} ok, {} skipped, {} errors; INT8 kept {:.0f}%",
                                 s.cases, s.kernel_runs, s.ok, s.skipped, s.errors, s.int8_share * 100.0);
  if (s.int8_hadamard > 0) line += fmt::format(" ({} with the Hadamard rotation)", s.int8_hadamard);
  const std::string against = s.baseline_rule.empty() || s.baseline_rule == "fastest-fp16"
                                  ? std::string("the fastest FP16 kernel")
                                  : s.baseline_rule;
  if (s.geomean_speedup) line += fmt::format("; INT8 geomean speedup vs {} {}x", against, fixed(*s.geomean_speedup, 2));
  if (s.worst_rel_l2) line += fmt::format("; worst rel_l2 {:.3g} ({})", *s.worst_rel_l2, s.worst_rel_l2_case);
  if (s.worst_max_abs_error) {
    line += fmt::format("; worst max_abs {:.3g} ({})", *s.worst_max_abs_error, s.worst_max_abs_error_case);
  }
  return line;
}

std::string fp8_line(const Report& r) {
  const auto& s = r.summary;
  if (s.fp8_verdicts == 0) return "";
  std::string line = fmt::format("FP8: faster than the baseline and within the accuracy thresholds in {} of {} results",
                                 s.fp8_chosen, s.fp8_verdicts);
  if (s.fp8_geomean_speedup) line += fmt::format("; geomean speedup {}x", fixed(*s.fp8_geomean_speedup, 2));
  return line;
}

std::vector<std::pair<std::string, std::string>> environment_fields(const Environment& env) {
  std::vector<std::pair<std::string, std::string>> out;
  auto text = [&](const char* label, const std::string& v) {
    if (!v.empty()) out.emplace_back(label, v);
  };
  auto count = [&](const char* label, int64_t v, const char* unit) {
    if (v > 0) out.emplace_back(label, fmt::format("{}{}", v, unit));
  };
  text("backend", env.backend);
  text("host", env.hostname);
  text("GPU", env.gpu_name);
  text("compute capability", env.compute_capability);
  count("SMs", env.sm_count, "");
  if (env.memory_bytes > 0) out.emplace_back("memory", fmt::format("{:.1f} GiB", env.memory_bytes / 1073741824.0));
  count("SM clock (peak)", env.sm_clock_mhz, " MHz");  // rated; the measured clocks are the kernels'
  count("memory clock (peak)", env.memory_clock_mhz, " MHz");
  text("driver", env.driver_version);
  text("CUDA runtime", env.cuda_runtime_version);
  text("cuBLASLt", env.cublaslt_version);
  text("cuDNN", env.cudnn_version);
  text("CPU", env.cpu_model);
  count("CPU threads", env.cpu_threads, "");
  return out;
}

}  // namespace view

namespace {

// with_clock: an "SM MHz" column after TOPS (reports whose samples read the clock).
TextTable kernel_table(bool with_case, bool with_clock) {
  std::vector<TextTable::Column> cols;
  if (with_case) cols.push_back({"case"});
  cols.insert(cols.end(), {{"kernel"}, {"status"}, {"median ms", Align::Right}, {"TOPS", Align::Right}});
  if (with_clock) cols.push_back({"SM MHz", Align::Right});
  cols.insert(cols.end(), {{"speedup", Align::Right},
                           {"rel_l2", Align::Right},
                           {"max_abs", Align::Right},
                           {"decision"},
                           {"note"}});
  return TextTable(std::move(cols));
}

std::vector<std::string> kernel_cells(const CaseResult& c, const KernelResult& k, bool with_clock) {
  std::vector<std::string> cells = {k.kernel, to_string(k.status), view::median_ms(k), view::tops(k)};
  if (with_clock) cells.push_back(view::sm_clock(k.latency));
  cells.insert(cells.end(), {view::speedup(c, k), view::rel_l2(k), view::max_abs(k), view::decision(k), view::note(k)});
  return cells;
}

// The summary line, and the FP8 verdict line when the report has FP8 kernels.
std::string summary_lines(const Report& r, const char* fp8_prefix) {
  std::string out = view::summary_line(r);
  // Piece by piece: "\n" + std::string(...) + fp8 drew GCC 12's false -Wrestrict.
  if (const std::string fp8 = view::fp8_line(r); !fp8.empty()) out.append("\n").append(fp8_prefix).append(fp8);
  return out;
}

std::string render_table(const Report& r) {
  const bool with_clock = view::has_sm_clock(r);
  TextTable table = kernel_table(false, with_clock);
  for (const auto& c : r.cases) {
    const std::string baseline = view::baseline_label(c);
    const std::string where =
        r.environments.size() > 1 ? " on " + view::device_label(view::environment_of(r, c)) : std::string();
    table.add_section(fmt::format("{}  ({}){}{}", c.id, view::shape_label(c), where,
                                  baseline.empty() ? "" : "  " + baseline));
    for (const auto& k : c.kernels) table.add_row(kernel_cells(c, k, with_clock));
  }
  std::string verdict;
  for (const std::string& line : view::verdict_lines(r)) verdict += "\n  " + line;
  if (!verdict.empty()) verdict = "\nVerdict:" + verdict + "\n";
  return fmt::format("{}\n\n{}\n{}\n{}", view::headline(r), table.to_text(2), summary_lines(r, ""), verdict);
}

std::string render_markdown(const Report& r) {
  std::string out = std::string(kReportMarkdownHeading) + "\n\n" + markdown_cell(view::headline(r)) + "\n\n";
  for (const std::string& line : view::verdict_lines(r)) out += "- **" + markdown_cell(line) + "**\n";
  if (!view::verdict_lines(r).empty()) out += "\n";
  const auto environments = view::all_environments(r);
  for (size_t i = 0; i < environments.size(); ++i) {
    if (environments.size() > 1) out += fmt::format("{}**Environment {} of {}**\n\n", i ? "\n" : "", i + 1, environments.size());
    for (const auto& [label, value] : view::environment_fields(*environments[i])) {
      out += fmt::format("- **{}**: {}\n", label, markdown_cell(value));
    }
  }
  const bool with_clock = view::has_sm_clock(r);
  TextTable table = kernel_table(true, with_clock);
  for (const auto& c : r.cases) {
    for (const auto& k : c.kernels) {
      auto cells = kernel_cells(c, k, with_clock);
      cells.insert(cells.begin(), c.id);
      table.add_row(std::move(cells));
    }
  }
  out.append("\n").append(table.to_markdown()).append("\n**Summary:** ").append(markdown_cell(view::summary_line(r)));
  out += "\n";  // piece by piece: "\n" + a temporary drew GCC 12's false -Wrestrict
  if (const std::string fp8 = view::fp8_line(r); !fp8.empty()) out += "\n**FP8:** " + markdown_cell(fp8) + "\n";
  return out;
}

// ---- CSV -------------------------------------------------------------------------------

std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : (std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf")); }
std::string csv_number(int64_t v) { return std::to_string(v); }
template <typename T>
std::string csv_number(const std::optional<T>& v) {
  return v ? csv_number(*v) : std::string();
}

void latency_cells(const std::optional<LatencyStats>& l, std::vector<std::string>& row) {
  auto field = [&](auto member) { return l ? csv_number((*l).*member) : std::string(); };
  for (auto m : {&LatencyStats::median_ms, &LatencyStats::mean_ms, &LatencyStats::min_ms, &LatencyStats::max_ms,
                 &LatencyStats::p10_ms, &LatencyStats::p90_ms, &LatencyStats::stddev_ms}) {
    row.push_back(field(m));
  }
  row.push_back(field(&LatencyStats::samples));
  row.push_back(field(&LatencyStats::rel_noise));
}

// The family parameters only where the distribution reads them (empty cells elsewhere).
void input_cells(const InputSpec& in, std::vector<std::string>& row) {
  const bool outliers = in.distribution == Distribution::OutlierChannels || in.distribution == Distribution::OutlierScale;
  const bool sink = in.distribution == Distribution::AttentionSink;
  row.push_back(csv_number(in.scale));
  row.push_back(outliers ? csv_number(in.outlier_magnitude) : "");
  row.push_back(outliers ? csv_number(in.outlier_channels) : "");
  row.push_back(in.distribution == Distribution::OutlierScale ? csv_number(in.q_outlier_magnitude) : "");
  row.push_back(sink ? csv_number(in.sink_tokens) : "");
  row.push_back(sink ? csv_number(in.sink_magnitude) : "");
}

// "skipped" for kernels that did not run: they decided nothing.
std::string csv_decision(const KernelResult& k, bool fp8) {
  if (fp8 ? !k.fp8_verdict : !k.fallback) return "";
  if (k.status == KernelStatus::Skipped) return "skipped";
  return fp8 ? to_string(k.fp8_verdict->decision) : to_string(k.fallback->decision);
}

std::vector<std::string> csv_row(const Report& r, const CaseResult& c, const KernelResult& k) {
  const auto& d = c.dims;
  std::vector<std::string> row = {c.id,
                                  csv_number(d.batch),
                                  csv_number(d.heads),
                                  csv_number(d.kv_heads),
                                  csv_number(d.seq_q),
                                  csv_number(d.seq_kv),
                                  csv_number(d.head_dim),
                                  d.causal ? "true" : "false",
                                  to_string(c.input.distribution),
                                  std::to_string(c.input.seed)};
  input_cells(c.input, row);
  row.insert(row.end(), {to_string(c.rotation), k.kernel, to_string(k.status), k.reason});
  latency_cells(k.latency, row);
  row.push_back(k.quantize_latency ? csv_number(k.quantize_latency->median_ms) : "");
  row.push_back(csv_number(k.tops));
  const auto& a = k.accuracy;
  auto acc = [&](auto member) { return a ? csv_number((*a).*member) : std::string(); };
  for (auto m : {&Accuracy::mse, &Accuracy::max_abs_error}) row.push_back(acc(m));
  row.push_back(acc(&Accuracy::max_abs_index));
  for (auto m : {&Accuracy::mean_abs_error, &Accuracy::rel_l2, &Accuracy::cosine}) row.push_back(acc(m));
  row.push_back(acc(&Accuracy::nonfinite));
  const auto& m = k.memory;
  for (auto f : {&MemoryUse::tensor_bytes, &MemoryUse::fp16_tensor_bytes, &MemoryUse::workspace_bytes,
                 &MemoryUse::peak_bytes}) {
    row.push_back(m ? csv_number((*m).*f) : std::string());
  }
  row.push_back(csv_decision(k, false));
  row.push_back(k.fallback ? fmt::format("{}", fmt::join(k.fallback->reasons, "; ")) : "");
  row.push_back(csv_number(c.wall_seconds));
  row.push_back(csv_number(speedup_of(c, k)));
  row.push_back(c.baseline ? c.baseline->kernel : "");
  row.push_back(csv_decision(k, true));
  row.push_back(k.fp8_verdict ? fmt::format("{}", fmt::join(k.fp8_verdict->reasons, "; ")) : "");
  const Environment& env = view::environment_of(r, c);
  row.push_back(env.backend);
  row.push_back(view::device_label(env));
  row.push_back(r.tool.git_commit);
  row.push_back(k.latency && k.latency->sm_clock ? csv_number(k.latency->sm_clock->median_mhz) : "");
  return row;
}

std::string render_csv(const Report& r) {
  std::string out = csv_line(csv_columns());
  for (const auto& c : r.cases) {
    for (const auto& k : c.kernels) out += csv_line(csv_row(r, c, k));
  }
  return out;
}

}  // namespace

// The first two open the header as kReportCsvOpening spells them: an earlier CSV is recognised by it.
const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> columns = {
      "case_id", "batch", "heads", "kv_heads", "seq_q", "seq_kv", "head_dim", "causal", "distribution", "seed",
      "scale", "magnitude", "channels", "q_magnitude", "sink_tokens", "sink_magnitude", "rotation",
      "kernel", "status", "reason", "median_ms", "mean_ms", "min_ms", "max_ms", "p10_ms", "p90_ms", "stddev_ms",
      "samples", "rel_noise", "quantize_median_ms", "tops", "mse", "max_abs_error", "max_abs_index",
      "mean_abs_error", "rel_l2", "cosine", "nonfinite", "tensor_bytes", "fp16_tensor_bytes", "workspace_bytes",
      "peak_bytes", "decision", "fallback_reasons", "wall_seconds", "speedup", "baseline_kernel", "fp8_decision",
      "fp8_reasons", "backend", "device", "git_commit", "sm_clock_mhz"};
  return columns;
}

std::optional<ReportFormat> parse_report_format(const std::string& name) {
  return parse_output_format(name, kReportFormats);
}

std::string render_report(const Report& report, ReportFormat format) {
  switch (format) {
    case ReportFormat::Table: return terminal_safe_lines(render_table(report));
    case ReportFormat::Markdown: return render_markdown(report);
    case ReportFormat::Csv: return render_csv(report);
    case ReportFormat::Json: return report_json_text(report);
    case ReportFormat::Html: return view::render_html(report);
  }
  throw std::invalid_argument("unknown report format");
}

}  // namespace int8attn
