#include "src/report/plan_render.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "src/io/json_text.h"
#include "src/report/json_io.h"
#include "src/report/text_table.h"

namespace int8attn {
namespace {

// "fp16-cudnn, fp8-cudnn: not available on the cpu backend; ..." ("all kernels: why" when one
// reason covers every kernel).
std::string skip_reasons(const CasePlan& c) {
  std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;  // reason -> kernels
  size_t skipped = 0;
  for (const KernelPlan& k : c.kernels) {
    if (k.runs()) continue;
    ++skipped;
    auto it = std::find_if(by_reason.begin(), by_reason.end(), [&](const auto& r) { return r.first == k.skip_reason; });
    if (it == by_reason.end()) it = by_reason.insert(by_reason.end(), {k.skip_reason, {}});
    it->second.push_back(k.kernel);
  }
  if (skipped == c.kernels.size() && by_reason.size() == 1) return "all kernels: " + by_reason.front().first;
  std::string out;
  for (const auto& [reason, kernels] : by_reason) {
    if (!out.empty()) out += "; ";
    for (size_t i = 0; i < kernels.size(); ++i) out += (i ? ", " : "") + kernels[i];
    out += ": " + reason;
  }
  return out;
}

std::string totals_line(const SweepPlan& plan) {
  const std::string device = plan.device == plan.backend ? "" : " (" + plan.device + ")";
  return fmt::format("{} case(s) on the {} backend{}: {} kernel run(s), {} skipped", plan.cases.size(), plan.backend,
                     device, plan.kernel_runs, plan.skipped);
}

// "64/0, 128/128": an INT8 kernel's kv_block/v_block pairs over the cases it runs ("auto" resolves
// them per device and length), "-" for other kernels.
std::string blocks_cell(const KernelTally& t) {
  std::vector<std::string> pairs;
  for (const KernelQuantization& q : t.blocks) pairs.push_back(fmt::format("{}/{}", q.kv_block, q.v_block));
  return pairs.empty() ? "-" : fmt::format("{}", fmt::join(pairs, ", "));
}

TextTable tally_table(const SweepPlan& plan) {
  TextTable table({{"kernel"}, {"runs", Align::Right}, {"skipped", Align::Right}, {"kv/v blocks"},
                   {"why skipped (first case)"}});
  for (const KernelTally& t : plan.kernels) {
    const std::string why = t.skipped ? fmt::format("{} ({})", t.first_skip_reason, t.first_skipped_case) : "";
    table.add_row({t.kernel, fmt::format("{}/{}", t.runs, plan.cases.size()), std::to_string(t.skipped), blocks_cell(t),
                   why});
  }
  return table;
}

TextTable case_table(const SweepPlan& plan) {
  std::vector<TextTable::Column> columns = {{"case"}};
  for (const KernelTally& t : plan.kernels) columns.push_back({t.kernel});
  columns.push_back({"skipped because"});
  TextTable table(std::move(columns));
  for (const CasePlan& c : plan.cases) {
    std::vector<std::string> cells = {c.bench_case->id};
    for (const KernelPlan& k : c.kernels) cells.push_back(k.runs() ? "run" : "skip");
    cells.push_back(skip_reasons(c));
    table.add_row(std::move(cells));
  }
  return table;
}

std::string table_text(const TextTable& table, OutputFormat format, int indent) {
  return format == OutputFormat::Markdown ? table.to_markdown() : table.to_text(indent);
}

void require_listing(OutputFormat format) {
  if (format != OutputFormat::Table && format != OutputFormat::Markdown && format != OutputFormat::Json) {
    throw std::invalid_argument(fmt::format("--format {}: expected {}", to_string(format),
                                            describe_formats(kListingFormats)));
  }
}

}  // namespace

nlohmann::json plan_to_json(const SweepPlan& plan) {
  nlohmann::json kernels = nlohmann::json::array(), cases = nlohmann::json::array();
  for (const KernelTally& t : plan.kernels) {
    nlohmann::json tally = {{"kernel", t.kernel}, {"runs", t.runs}, {"skipped", t.skipped}};
    if (!t.blocks.empty()) {
      tally["quantization"] = nlohmann::json::array();
      for (const KernelQuantization& q : t.blocks) tally["quantization"].push_back(to_json(q));
    }
    kernels.push_back(std::move(tally));
  }
  for (const CasePlan& c : plan.cases) {
    nlohmann::json runs = nlohmann::json::array();
    for (const KernelPlan& k : c.kernels) {
      nlohmann::json run = {{"kernel", k.kernel}, {"runs", k.runs()}, {"skip_reason", k.skip_reason}};
      if (k.runs() && k.quantization) run["quantization"] = to_json(*k.quantization);
      runs.push_back(std::move(run));
    }
    cases.push_back({{"id", c.bench_case->id}, {"kernels", std::move(runs)}});
  }
  return {{"config", plan.config_path}, {"backend", plan.backend}, {"device", plan.device},
          {"kernel_runs", plan.kernel_runs}, {"skipped", plan.skipped}, {"kernels", std::move(kernels)},
          {"cases", std::move(cases)}};
}

std::string render_dry_run(const SweepPlan& plan, OutputFormat format) {
  require_listing(format);
  if (format == OutputFormat::Json) return dump_json(plan_to_json(plan), 2) + "\n";
  const std::string title = fmt::format("dry run of {}: {}; nothing was run or written",
                                        plan.config_path.empty() ? "the command-line axes" : plan.config_path,
                                        totals_line(plan));
  const std::string heading = format == OutputFormat::Markdown ? "### " + markdown_cell(title) : title;
  return fmt::format("{}\n\n{}\n{}", heading, table_text(case_table(plan), format, 0),
                     table_text(tally_table(plan), format, 0));
}

std::string render_validation(const std::string& config_path, size_t cases, const std::vector<SweepPlan>& plans,
                              const std::string& no_gpu, OutputFormat format) {
  require_listing(format);
  if (format == OutputFormat::Json) {
    nlohmann::json backends = nlohmann::json::array();
    for (const SweepPlan& plan : plans) backends.push_back(plan_to_json(plan));
    return dump_json(nlohmann::json{{"config", config_path},
                                    {"ok", true},
                                    {"cases", cases},
                                    {"backends", std::move(backends)},
                                    {"gpu_unavailable", no_gpu.empty() ? nlohmann::json(nullptr) : nlohmann::json(no_gpu)}},
                     2) + "\n";
  }
  const bool markdown = format == OutputFormat::Markdown;
  std::string out = fmt::format("{}{}: OK, {} cases\n", markdown ? "### " : "", config_path, cases);
  for (const SweepPlan& plan : plans) {
    out += fmt::format("\n{}\n{}", totals_line(plan), table_text(tally_table(plan), format, 2));
  }
  if (!no_gpu.empty()) out += fmt::format("\n(no GPU here: {})\n", no_gpu);
  return out;
}

}  // namespace int8attn
