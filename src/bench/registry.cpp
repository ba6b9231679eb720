#include "src/bench/registry.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/numerics.h"
#include "src/bench/devices.h"

namespace int8attn {

const char* to_string(BackendKind b) { return b == BackendKind::Cpu ? "cpu" : "cuda"; }

std::string KernelSpec::support_rules() const {
  std::vector<std::string> parts;
  std::vector<std::string> names;
  for (BackendKind b : backends) names.push_back(to_string(b));
  parts.push_back(fmt::format("backends: {}", fmt::join(names, ", ")));
  if (min_cc_major > 0) parts.push_back(fmt::format("GPU: compute capability >= {}.{}", min_cc_major, min_cc_minor));
  if (gpu_int8fa_blocks) {
    parts.push_back(fmt::format("GPU: quantization.kv_block {} with v_block 0, or {} with v_block {} (Hopper, per-token "
                                "Q/K scales, head_dim {}); k_granularity \"per-thread\" up to head_dim {}",
                                kGpuKvBlock, kGpuWideKvBlock, kGpuWideKvBlock, fmt::join(kFusedHeadDims, " or "),
                                kKThreadMaxHeadDim));
    parts.push_back(fmt::format("k_granularity \"grouped\": Hopper at head_dim {} with kv_block and v_block {}, u8 P "
                                "and l from the exact P",
                                kKThreadMaxHeadDim, kGpuWideKvBlock));
  } else if (gpu_kv_block_fixed) {
    parts.push_back(fmt::format("GPU: quantization.kv_block {}", kGpuKvBlock));
    parts.push_back("k_granularity \"grouped\": the CPU backend only (its FP16 V would not follow K's order)");
  }
  if (needs_cudnn) {
    const std::string missing = cudnn_missing_reason();
    parts.push_back(missing.empty() ? fmt::format("needs cuDNN 9 (this build: cuDNN {})", cudnn_version())
                                    : fmt::format("needs cuDNN 9 (unavailable in this build: {})", missing));
  }
  if (!shape_rule_text.empty()) {
    parts.push_back(shape_rule_text);
  } else {
    parts.push_back(head_dims.empty() ? std::string("head_dim: any")
                                      : fmt::format("head_dim: {}", fmt::join(head_dims, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::optional<std::string> KernelSpec::unsupported_reason(const AttnDims& dims, const DeviceCaps& dev,
                                                          const QuantConfig& quant) const {
  if (std::find(backends.begin(), backends.end(), dev.backend) == backends.end()) {
    return fmt::format("not available on the {} backend", to_string(dev.backend));
  }
  if (dev.backend == BackendKind::Cuda &&
      dev.cc_major * 10 + dev.cc_minor < min_cc_major * 10 + min_cc_minor) {
    return fmt::format("architecture: needs compute capability >= {}.{}, {} is {}.{}", min_cc_major,
                       min_cc_minor, dev.name, dev.cc_major, dev.cc_minor);
  }
  if (needs_cudnn && !dev.cudnn_missing.empty()) return "cuDNN: " + dev.cudnn_missing;
  if (dev.backend == BackendKind::Cuda) {
    if (auto why = gpu_block_reason(dims, dev, quant)) return why;
  }
  if (shape_rule) {
    if (auto why = shape_rule(dims, dev)) return *why;
  }
  if (!head_dims.empty() &&
      std::find(head_dims.begin(), head_dims.end(), dims.head_dim) == head_dims.end()) {
    return fmt::format("shape: head_dim {} not supported (supported: {})", dims.head_dim,
                       fmt::join(head_dims, ", "));
  }
  return std::nullopt;
}

bool KernelSpec::has_wide_blocks(const AttnDims& dims, const DeviceCaps& dev, const QuantConfig& quant) const {
  return gpu_int8fa_blocks && dev.backend == BackendKind::Cuda && dev.hopper_kernels &&
         quant.qk_granularity == QkGranularity::PerToken && hopper_kernels_head_dim(dims.head_dim);
}

// The shortest key ranges where int8-fa's wide pair measured faster on the H200
// (docs/perf-log.md "auto", s15, s17, s18 and s23): below them the 64-key kernels win.
// - Full rows, both head dims, and causal rows at head_dim 128: from 256 keys. Full rows since
//   s18 (end to end at 256 / 512 keys, 16 heads, batch·seq 16K: head_dim 128 11% / 15% faster,
//   64 5% / 10%; configs/int8fa-short.json, results/h200-int8fa-short-*.json; 256 is the
//   shortest measured). Causal rows at 128 since s23 (4K before): 9% / 25% / 6% / 7% faster at
//   256 / 512 / 1K / 2K keys (16 heads, batch·seq 16K); Llama-3-8B's GQA (32/8 heads, batch 1)
//   +2.7% at 512 and +2.2% at 2K, −2.3% at 1K. At head_dim 128 the wide kernel reads the
//   quantizer's Q below kFusedQMinKeys (1K) and where the grid has fewer than
//   kFusedQMinTilesPerSm (4) tiles an SM.
// - Causal rows at head_dim 64: from 512 since s23 (13.5% faster at 512, the 64-key pair 5.3%
//   faster at 256; 16 heads, batch·seq 16K); 1K before (8-14% at 1K-2K, s17).
constexpr int64_t kAutoWideMinKeys = 256;
constexpr int64_t kAutoWideMinKeysD64Causal = 512;

bool KernelSpec::wide_blocks_by_default(const AttnDims& dims, const DeviceCaps& dev, const QuantConfig& quant) const {
  if (!has_wide_blocks(dims, dev, quant)) return false;
  return dims.seq_kv >= (dims.causal && dims.head_dim <= 64 ? kAutoWideMinKeysD64Causal : kAutoWideMinKeys);
}

std::optional<std::string> KernelSpec::gpu_block_reason(const AttnDims& dims, const DeviceCaps& dev,
                                                         const QuantConfig& quant) const {
  if (quant.k_granularity == KGranularity::Grouped && gpu_kv_block_fixed && !gpu_int8fa_blocks) {
    return std::string("quantization: k_granularity \"grouped\" is int8-fa's alone on the GPU (int8-qk's FP16 V would "
                       "not follow K's order); the CPU backend emulates it");
  }
  if (quant.k_granularity == KGranularity::Grouped && gpu_int8fa_blocks &&
      !(has_wide_blocks(dims, dev, quant) && dims.head_dim == kKThreadMaxHeadDim && quant.kv_block == kGpuWideKvBlock &&
        quant.v_block == kGpuWideKvBlock && quant.p_quant == PQuant::U8x255 && !quant.l_from_quantized_p)) {
    return fmt::format("quantization: k_granularity \"grouped\" on the GPU: int8-fa's Hopper kernel at head_dim {} "
                       "with kv_block and v_block {}, u8 P and l from the exact P; the CPU backend emulates any",
                       kKThreadMaxHeadDim, kGpuWideKvBlock);
  }
  if (gpu_int8fa_blocks && quant.k_granularity == KGranularity::PerThread && dims.head_dim > kKThreadMaxHeadDim) {
    return fmt::format("quantization: k_granularity \"per-thread\" on the GPU up to head_dim {} (its quantizer "
                       "stages a 128-key group span a CTA), head_dim is {}; the CPU backend emulates any",
                       kKThreadMaxHeadDim, dims.head_dim);
  }
  if (gpu_int8fa_blocks) {
    const bool wide = quant.kv_block == kGpuWideKvBlock && quant.v_block == kGpuWideKvBlock;
    if ((quant.kv_block == kGpuKvBlock && quant.v_block == 0) || (wide && has_wide_blocks(dims, dev, quant)))
      return std::nullopt;
    return fmt::format("quantization: kv_block {} with v_block {} not supported on the GPU here (int8-fa's kernels "
                       "take kv_block {} with v_block 0, or {} with v_block {} on Hopper with per-token Q/K scales "
                       "at head_dim {}; {} is {}.{}{}, Q/K scales {}, head_dim {}; the CPU backend emulates any)",
                       quant.kv_block, quant.v_block, kGpuKvBlock, kGpuWideKvBlock, kGpuWideKvBlock,
                       fmt::join(kFusedHeadDims, " or "), dev.name, dev.cc_major, dev.cc_minor,
                       dev.cc_major == 9 && !dev.hopper_kernels ? " (this build has no sm_90a kernels)" : "",
                       quant.qk_granularity == QkGranularity::PerToken ? "per token" : "per block", dims.head_dim);
  }
  if (gpu_kv_block_fixed && quant.kv_block != kGpuKvBlock) {
    return fmt::format("quantization: kv_block {} not supported on the GPU (its INT8 kernels step {} keys; the "
                       "CPU backend emulates any)",
                       quant.kv_block, kGpuKvBlock);
  }
  return std::nullopt;
}

namespace {

// k_granularity "auto": the shortest key range where int8-fa's grouped-K kernel is taken, the
// shortest measured. End to end on an H100 in one run (16 heads, head_dim 128, 8186c9a,
// docs/perf-log.md s76): +6.7% over per-token K at 1K keys × batch 16, +4.6% at 4K, +7-9% at
// 16K-32K, +4% / +7% causal at 4K / 16K, for 0.0134 rel L2 against 0.0132-0.0133. (s74's
// slower quantizer lost 3% at 1K.) Below 1K keys: not measured.
constexpr int64_t kAutoGroupedMinKeys = 1024;

// ... and on causal rows only where the first query row sees a whole 128-key block. A row that
// sees a few keys averages nothing out: grouped K's shared scales (a group's 8 keys, the largest
// setting the step) move its few scores, and such rows hold the case's largest error. CPU
// emulation, 32 heads on 8, head_dim 128, 128-key P and V blocks, seeds 0-5 (docs/accuracy.md):
// square causal 1K, max abs 0.029-0.037 with per-token K against 0.032-0.049 with grouped K (4K
// seed 0: 0.037 against 0.054, past the default 0.05 limit: the H100 sweep of configs/default.json
// at ec80d95 chose FP16 there on accuracy); with the first row seeing 128 keys, 0.014-0.022
// against 0.015-0.026.
constexpr int64_t kAutoGroupedMinFirstRowKeys = 128;

bool first_row_sees_a_block(const AttnDims& d) {
  return visible_keys(0, d.seq_q, d.seq_kv, d.causal) >= kAutoGroupedMinFirstRowKeys;
}

// The kv_block / v_block pair `spec` runs q with when the settings leave them "auto". Grouped
// K's groups are 128-key blocks' columns, so it takes 128-key blocks.
QuantConfig with_blocks(const KernelSpec& spec, const RunSettings& settings, const BenchCase& c,
                        const DeviceCaps& dev, QuantConfig q) {
  if (settings.auto_kv_blocks &&
      (q.k_granularity == KGranularity::Grouped || spec.wide_blocks_by_default(c.dims, dev, q)))
    q.kv_block = q.v_block = kGpuWideKvBlock;
  return q;
}

}  // namespace

QuantConfig kernel_quant(const KernelSpec& spec, const RunSettings& settings, const BenchCase& c,
                         const DeviceCaps& dev) {
  const QuantConfig q = case_quant(settings, c);
  // k_granularity "auto": grouped K for int8-fa where its GPU kernel runs it with these options,
  // the keys are long enough for it to pay and no causal row sees only a few of them; K's scales
  // as Q's otherwise.
  if (settings.auto_k_granularity && spec.gpu_int8fa_blocks && dev.backend == BackendKind::Cuda &&
      c.dims.seq_kv >= kAutoGroupedMinKeys && first_row_sees_a_block(c.dims)) {
    QuantConfig grouped = q;
    grouped.k_granularity = KGranularity::Grouped;
    grouped = with_blocks(spec, settings, c, dev, grouped);
    if (!spec.gpu_block_reason(c.dims, dev, grouped)) return grouped;
  }
  return with_blocks(spec, settings, c, dev, q);
}

std::optional<KernelQuantization> recorded_quantization(const KernelSpec& spec, const QuantConfig& quant) {
  if (spec.family != KernelFamily::Int8) return std::nullopt;
  return KernelQuantization{quant.kv_block, quant.v_block, quant.k_granularity == KGranularity::PerThread,
                            quant.k_granularity == KGranularity::Grouped};
}

namespace {

// cuDNN's SDPA support surface (cudnn_frontend/node/sdpa_support_surface.h) as far as our
// problems reach: head_dim limits, and the causal mask that we align bottom-right.
std::optional<std::string> cudnn_head_dim_rule(const AttnDims& d, int64_t multiple) {
  if (d.head_dim % multiple != 0 || d.head_dim > 256) {
    return fmt::format("shape: head_dim {} not supported (cuDNN: a multiple of {} up to 256)", d.head_dim, multiple);
  }
  return std::nullopt;
}

std::optional<std::string> cudnn_causal_rule(const AttnDims& d) {
  if (d.causal && d.seq_q > d.seq_kv) {
    return fmt::format("shape: causal with seq_q {} > seq_kv {}: cuDNN's bottom-right mask needs seq_q <= seq_kv",
                       d.seq_q, d.seq_kv);
  }
  return std::nullopt;
}

std::optional<std::string> fp16_cudnn_rule(const AttnDims& d, const DeviceCaps&) {
  if (auto why = cudnn_head_dim_rule(d, 8)) return why;
  return cudnn_causal_rule(d);
}

std::optional<std::string> fp8_cudnn_rule(const AttnDims& d, const DeviceCaps& dev) {
  if (auto why = cudnn_head_dim_rule(d, 16)) return why;
  if (auto why = cudnn_causal_rule(d)) return why;
  if (d.causal && d.seq_q != d.seq_kv && dev.cc_major < 10) {
    return fmt::format(
        "shape: causal with seq_q {} != seq_kv {}: cuDNN's FP8 SDPA has the bottom-right mask only on "
        "compute capability >= 10.0 ({} is {}.{})",
        d.seq_q, d.seq_kv, dev.name, dev.cc_major, dev.cc_minor);
  }
  return std::nullopt;
}

// A kernel's support rules, by what it computes (one kernel per KernelId).
KernelSpec spec_of(const KernelIdentity& identity) {
  // The fused GPU kernels' own support facts (common/attn_types.h), as the kernels' dispatch reads them.
  static const std::vector<int64_t> fused_head_dims(std::begin(kFusedHeadDims), std::end(kFusedHeadDims));
  static const std::vector<int64_t> int8fa_head_dims(std::begin(kInt8FaHeadDims), std::end(kInt8FaHeadDims));
  switch (identity.id) {
    case KernelId::Reference: return {identity, {BackendKind::Cpu, BackendKind::Cuda}, 0, 0, {}, false, nullptr, ""};
    case KernelId::Int8Full:
    case KernelId::Int8QK:
    case KernelId::Fp16Flash: {
      const bool int8_steps_fixed = identity.id != KernelId::Fp16Flash;  // the INT8 kernels step kGpuKvBlock keys
      const bool int8_v = identity.id == KernelId::Int8Full;             // the one with INT8 V (and 128-key blocks)
      return {identity, {BackendKind::Cpu, BackendKind::Cuda}, kFusedMinCcMajor, 0,
              int8_v ? int8fa_head_dims : fused_head_dims, false, nullptr, "",
              int8_steps_fixed, int8_v};
    }
    case KernelId::Fp16Cudnn:
      return {identity, {BackendKind::Cuda}, 8, 0, {}, true, fp16_cudnn_rule,
              "head_dim: a multiple of 8 up to 256; causal needs seq_q <= seq_kv"};
    case KernelId::Fp8Cudnn:
      return {identity, {BackendKind::Cuda}, 9, 0, {}, true, fp8_cudnn_rule,
              "head_dim: a multiple of 16 up to 256; causal needs seq_q == seq_kv below compute capability 10.0"};
  }
  throw std::logic_error("kernel " + identity.name + ": no support rules for its KernelId");
}

}  // namespace

const std::vector<KernelSpec>& kernel_registry() {
  static const std::vector<KernelSpec> registry = [] {
    std::vector<KernelSpec> specs;
    for (const KernelIdentity& id : kernel_identities()) specs.push_back(spec_of(id));
    return specs;
  }();
  return registry;
}

std::vector<const KernelSpec*> reference_first(const std::vector<const KernelSpec*>& kernels) {
  const KernelSpec* reference = nullptr;
  for (const KernelSpec* k : kernels) {
    if (k->id == KernelId::Reference && !reference) reference = k;
  }
  for (const KernelSpec& k : kernel_registry()) {
    if (!reference && k.id == KernelId::Reference) reference = &k;
  }
  std::vector<const KernelSpec*> ordered{reference};
  for (const KernelSpec* k : kernels) {
    if (k->id != KernelId::Reference) ordered.push_back(k);
  }
  return ordered;
}

const KernelSpec* find_kernel(std::string_view name) {
  for (const KernelSpec& k : kernel_registry()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace int8attn
