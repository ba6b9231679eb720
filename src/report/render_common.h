// Internal helpers shared by the report renderers (not part of the public API).
#pragma once
#include <optional>
#include <string>

#include "src/report/report.h"

namespace int8attn::view {

// "-" for absent values; otherwise `digits` significant digits.
std::string number(const std::optional<double>& v, int digits = 4);
// `decimals` after the point up to a million, three significant digits beyond (a report may
// hold 1e308: a 309-digit column otherwise).
std::string fixed(double v, int decimals);
std::string median_ms(const KernelResult& k);
std::string tops(const KernelResult& k);
// The median SM clock of a latency's samples in MHz ("1755"), or "-" (no latency or no reading).
std::string sm_clock(const std::optional<LatencyStats>& latency);
// Whether any kernel of the report read its SM clock (then the tables have an "SM MHz" column).
bool has_sm_clock(const Report& r);
std::string rel_l2(const KernelResult& k);
std::string max_abs(const KernelResult& k);
// "1.23x" against the case's baseline (speedup_of), or "-".
std::string speedup(const CaseResult& c, const KernelResult& k);
// "skipped" for a kernel that did not run; else "int8" / "fp16-fallback" (INT8 kernels),
// "fp8" / "fp16" (FP8 verdicts), or "-".
std::string decision(const KernelResult& k);
// Why it was skipped / failed / fell back; empty when there is nothing to say.
std::string note(const KernelResult& k);
// "baseline fp16-cudnn 0.87 ms (fastest-fp16)", "no baseline (...): why", or "" (no latencies).
std::string baseline_label(const CaseResult& c);

// "b1 h32 kv8 q4096 k4096 d128 causal normal"
std::string shape_label(const CaseResult& c);
// The shape without the sequence length (the charts' grouping key); seq_q appears only
// when it differs from seq_kv (decode-style cases).
std::string group_label(const CaseResult& c, bool with_batch = true);

// One line: tool, device, config, time.
std::string headline(const Report& r);
std::string summary_line(const Report& r);
// One line per INT8 kernel, then per FP8 kernel: where it kept its precision ("INT8 from 2K
// tokens"), its speedup range against the case baselines, its worst rel. L2 and max error
// ("int8-fa: INT8 from 2K tokens (FP16 below: speed in 4), 1.08–1.49× faster than fp16-cudnn,
// worst rel L2 0.0137, max abs 0.004"). Empty without such kernels.
std::vector<std::string> verdict_lines(const Report& r);
// The FP8 verdict line ("FP8: faster ... in 3 of 10 results; ..."), empty without FP8 kernels.
std::string fp8_line(const Report& r);
// (label, value) pairs of the environment, non-empty fields only.
std::vector<std::pair<std::string, std::string>> environment_fields(const Environment& env);
// Every environment of the report (several GPUs, merged reports), else just `environment`.
std::vector<const Environment*> all_environments(const Report& r);
// The environment that ran the case (its own, else the report's).
const Environment& environment_of(const Report& r, const CaseResult& c);
// "NVIDIA H200", "NVIDIA H200 #1" (--devices), or the CPU model.
std::string device_label(const Environment& env);

std::string render_html(const Report& report);

}  // namespace int8attn::view
