// The fallback policy: for each INT8 kernel result, decide whether a user should run INT8
// or fall back to FP16, and say every reason.
#pragma once
#include <optional>
#include <string>

#include "src/bench/case.h"
#include "src/bench/registry.h"
#include "src/report/report.h"

namespace int8attn {

// Reasons, in order: support (architecture/shape, from the registry), skipped (e.g. out of
// memory), kernel error, each accuracy threshold crossed (with the measured value), and —
// when `fp16` carries a real (GPU) latency — INT8 being slower than the FP16 kernel.
FallbackDecision decide_fallback(const KernelResult& int8_result, const Thresholds& thresholds,
                                 const KernelResult* fp16, bool latencies_meaningful);

// Applies decide_fallback to every INT8-family kernel of a case (the FP16 comparison is the
// case's fp16-fa result when present).
void apply_fallback_policy(CaseResult& result, const Thresholds& thresholds,
                           bool latencies_meaningful);

}  // namespace int8attn
