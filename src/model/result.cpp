#include "src/model/result.h"

namespace int8attn {

std::string to_string(const KernelQuantization& q) {
  return "kv_block " + std::to_string(q.kv_block) + ", v_block " + std::to_string(q.v_block) +
         (q.k_per_thread ? ", K per thread" : "") + (q.k_grouped ? ", K grouped" : "");
}

KernelResult status_result(const std::string& kernel, KernelStatus status, const std::string& reason) {
  KernelResult r;
  r.kernel = kernel;
  r.status = status;
  r.reason = reason;
  return r;
}

const char* to_string(KernelStatus s) {
  switch (s) {
    case KernelStatus::Ok: return "ok";
    case KernelStatus::Skipped: return "skipped";
    case KernelStatus::Error: return "error";
  }
  return "?";
}

const char* to_string(Decision d) {
  switch (d) {
    case Decision::Int8: return "int8";
    case Decision::Int8Hadamard: return "int8-hadamard";
    case Decision::Fp16Fallback: return "fp16-fallback";
  }
  return "?";
}

bool keeps_int8(Decision d) { return d != Decision::Fp16Fallback; }

std::string rotated_reason_prefix(QkRotation rotation) {
  return std::string("with the ") + to_string(rotation) + " rotation: ";
}

const char* to_string(Fp8Decision d) { return d == Fp8Decision::Fp8 ? "fp8" : "fp16"; }

KernelFamily KernelResult::family() const {
  if (const KernelIdentity* identity = find_kernel_identity(kernel)) return identity->family;
  return fallback ? KernelFamily::Int8 : KernelFamily::Unknown;
}

const KernelResult* fastest_fp16(const CaseResult& c) {
  const KernelResult* best = nullptr;
  for (const KernelResult& k : c.kernels) {
    if (k.family() != KernelFamily::Fp16 || k.status != KernelStatus::Ok || !k.latency ||
        !(k.latency->median_ms > 0)) {
      continue;
    }
    if (!best || k.latency->median_ms < best->latency->median_ms) best = &k;
  }
  return best;
}

std::optional<double> speedup_of(const CaseResult& c, const KernelResult& k) {
  if (k.speedup || c.baseline) return k.speedup;
  if (k.family() == KernelFamily::Reference || k.status != KernelStatus::Ok || !k.latency ||
      !(k.latency->median_ms > 0)) {
    return std::nullopt;
  }
  const KernelResult* base = fastest_fp16(c);
  if (!base) return std::nullopt;
  return base->latency->median_ms / k.latency->median_ms;
}

}  // namespace int8attn
