// Internal helpers shared by the report renderers (not part of the public API).
#pragma once
#include <optional>
#include <string>

#include "src/bench/registry.h"
#include "src/report/report.h"

namespace int8attn::view {

// "-" for absent values; otherwise `digits` significant digits.
std::string number(const std::optional<double>& v, int digits = 4);
std::string median_ms(const KernelResult& k);
std::string tops(const KernelResult& k);
std::string rel_l2(const KernelResult& k);
std::string max_abs(const KernelResult& k);
// "int8", "fp16-fallback", or "-" for kernels without a fallback decision.
std::string decision(const KernelResult& k);
// Why it was skipped / failed / fell back; empty when there is nothing to say.
std::string note(const KernelResult& k);

// "b1 h32 kv8 q4096 k4096 d128 causal normal"
std::string shape_label(const CaseResult& c);
// The shape without the sequence length (the charts' grouping key); seq_q appears only
// when it differs from seq_kv (decode-style cases).
std::string group_label(const CaseResult& c, bool with_batch = true);

// Kernel family from the registry; unknown names count as INT8 when they carry a fallback
// decision, else as FP16.
KernelFamily family_of(const KernelResult& k);

// One line: tool, device, config, time.
std::string headline(const Report& r);
std::string summary_line(const Report& r);
// (label, value) pairs of the environment, non-empty fields only.
std::vector<std::pair<std::string, std::string>> environment_fields(const Environment& env);

std::string render_html(const Report& report);

}  // namespace int8attn::view
