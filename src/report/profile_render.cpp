#include "src/report/profile_render.h"

#include <fmt/format.h>

#include "src/report/json_io.h"
#include "src/report/render_common.h"
#include "src/report/text_table.h"

namespace int8attn {
namespace {

std::string ms(const std::optional<LatencyStats>& l) { return l ? view::number(l->median_ms) : "-"; }
std::string tops(const std::optional<double>& t) { return t ? fmt::format("{:.1f}", *t) : "-"; }

std::string mode_line(const ProfileResult& r) {
  const MeasureOptions& m = r.measure;
  const std::string flush = m.flush_l2 ? "L2 flushed before each timed run" : "L2 not flushed";
  if (r.once) {
    return fmt::format("--once: each kernel launched once after {} warm-up run(s), inside cudaProfilerStart/Stop; "
                       "{}; kernel ms is that one launch", m.warmup_runs, flush);
  }
  const std::string held = m.hold_launches ? "; launches held until enqueued (host time outside the events)" : "";
  return fmt::format("kernel-only: the attention kernel alone, its quantization timed apart; medians; {}{}", flush,
                     held);
}

}  // namespace

std::string render_profile_table(const ProfileResult& r) {
  TextTable table({{"kernel", Align::Left},
                   {"kernel ms", Align::Right},
                   {"TOPS", Align::Right},
                   {"SM MHz", Align::Right},
                   {"quantize ms", Align::Right},
                   {"end-to-end ms", Align::Right},
                   {"end-to-end TOPS", Align::Right},
                   {"samples", Align::Right},
                   {"note", Align::Left}});
  for (const ProfiledKernel& k : r.kernels) {
    const std::string samples = k.kernel_latency ? std::to_string(k.kernel_latency->samples) : "-";
    // An INT8 kernel that ran: the quantization blocks it ran with ("auto" chooses them per device and length).
    const std::string blocks = k.quantization ? to_string(*k.quantization) : "";
    const std::string note = k.status == KernelStatus::Ok ? blocks : fmt::format("{}: {}", to_string(k.status), k.reason);
    table.add_row({k.kernel, ms(k.kernel_latency), tops(k.kernel_tops), view::sm_clock(k.kernel_latency), ms(k.quantize_latency),
                   ms(k.end_to_end_latency), tops(k.end_to_end_tops), samples, note});
  }
  return fmt::format("profile {} on {} [{}]\n  {}\n\n{}", r.profiled_case.id, view::device_label(r.environment),
                     r.environment.backend, mode_line(r), table.to_text(2));
}

nlohmann::json profile_to_json(const ProfileResult& r, const ToolInfo& tool, const nlohmann::json& measurement) {
  using nlohmann::json;
  const BenchCase& c = r.profiled_case;
  json kernels = json::array();
  for (const ProfiledKernel& k : r.kernels) {
    json j = {{"kernel", k.kernel}, {"status", to_string(k.status)}};
    if (!k.reason.empty()) j["reason"] = k.reason;
    if (k.kernel_latency) j["kernel_latency"] = to_json(*k.kernel_latency);
    if (k.kernel_tops) j["kernel_tops"] = *k.kernel_tops;
    if (k.quantize_latency) j["quantize_latency"] = to_json(*k.quantize_latency);
    if (k.end_to_end_latency) j["end_to_end_latency"] = to_json(*k.end_to_end_latency);
    if (k.end_to_end_tops) j["end_to_end_tops"] = *k.end_to_end_tops;
    if (k.quantization) j["quantization"] = to_json(*k.quantization);
    kernels.push_back(std::move(j));
  }
  return {{"schema", kProfileSchema},
          {"tool", to_json(tool)},
          {"environment", to_json(r.environment)},
          {"case",
           {{"id", c.id}, {"dims", to_json(c.dims)}, {"input", to_json(c.input)}, {"rotation", to_string(c.rotation)}}},
          {"mode", r.once ? "once" : "kernel-only"},
          {"measurement", measurement},
          {"kernels", std::move(kernels)}};
}

}  // namespace int8attn
