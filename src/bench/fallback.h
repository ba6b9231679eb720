// The fallback policy: for each INT8 kernel result, decide whether a user should run INT8
// or fall back to FP16, and say every reason; for each FP8 kernel, whether FP8 is worth it.
// Speed is judged against the case's baseline: the fastest FP16 kernel measured in the case
// (our fp16-fa, cuDNN's fp16-cudnn, ...) unless the config names one (RunSettings::baseline).
#pragma once
#include <optional>
#include <string>

#include "src/model/result.h"
#include "src/model/settings.h"

namespace int8attn {

inline constexpr const char* kFastestFp16Rule = "fastest-fp16";

// The case's baseline: `configured` (a kernel name) when non-empty, else the fastest
// FP16-family kernel with a latency. A configured kernel that did not produce a latency
// (skipped, failed, not in the case) gives a baseline without latency and a note saying so;
// another kernel never stands in for it silently.
Baseline choose_baseline(const CaseResult& result, const std::string& configured);

// Reasons, in order: support (architecture/shape, from the registry), skipped (e.g. out of
// memory), kernel error, each accuracy threshold crossed (with the measured value), and —
// when the baseline carries a latency — INT8 being slower than the baseline kernel.
FallbackDecision decide_fallback(const KernelResult& int8_result, const Thresholds& thresholds,
                                 const Baseline* baseline);

// Whether the rotated variant could turn an INT8 kernel's fp16-fallback into INT8: it ran,
// its accuracy is measurable (finite output, a finite and non-zero reference), it crossed at
// least one accuracy threshold and it is not slower than the baseline (rotating adds time).
bool rotation_may_help(const KernelResult& int8_result, const Thresholds& thresholds, const Baseline* baseline);

// Decides `int8_result` again with its rotated run (the same kernel, Q and K rotated by
// `rotation`): int8-hadamard when the rotated run passes every check decide_fallback makes,
// else fp16-fallback with the rotated run's reasons added. The try is kept in
// fallback.rotated either way.
void judge_rotated_attempt(KernelResult& int8_result, const KernelResult& rotated_run, QkRotation rotation,
                           const Thresholds& thresholds, const Baseline* baseline);

// The same checks for an FP8 kernel, except that FP8 is chosen only with evidence that it
// is faster: no baseline latency is a reason too.
Fp8Verdict decide_fp8(const KernelResult& fp8_result, const Thresholds& thresholds, const Baseline* baseline);

// With meaningful latencies (GPU backends): chooses the case's baseline and sets every
// kernel's speedup against it. Then the INT8 decisions and FP8 verdicts of every kernel.
void apply_fallback_policy(CaseResult& result, const RunSettings& settings, bool latencies_meaningful);

}  // namespace int8attn
