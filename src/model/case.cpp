#include "src/model/case.h"

#include <fmt/format.h>

namespace int8attn {

const char* to_string(Distribution d) {
  switch (d) {
    case Distribution::Normal: return "normal";
    case Distribution::Uniform: return "uniform";
    case Distribution::OutlierChannels: return "outlier-channels";
    case Distribution::OutlierScale: return "outlier-scale";
    case Distribution::AttentionSink: return "attention-sink";
  }
  return "?";
}

std::optional<Distribution> parse_distribution(const std::string& s) {
  for (Distribution d : kAllDistributions) {
    if (s == to_string(d)) return d;
  }
  return std::nullopt;
}

const char* to_string(QkRotation r) {
  switch (r) {
    case QkRotation::None: return "none";
    case QkRotation::Hadamard: return "hadamard";
  }
  return "?";
}

std::optional<QkRotation> parse_rotation(const std::string& s) {
  for (QkRotation r : {QkRotation::None, QkRotation::Hadamard}) {
    if (s == to_string(r)) return r;
  }
  return std::nullopt;
}

namespace {

// The family's parameters, in the id so two parameter sets never share one.
std::string family_suffix(const InputSpec& input) {
  switch (input.distribution) {
    case Distribution::OutlierChannels: return fmt::format("x{}c{}", input.outlier_magnitude, input.outlier_channels);
    case Distribution::OutlierScale:
      return fmt::format("x{}q{}c{}", input.outlier_magnitude, input.q_outlier_magnitude, input.outlier_channels);
    case Distribution::AttentionSink: return fmt::format("t{}x{}", input.sink_tokens, input.sink_magnitude);
    default: return {};
  }
}

}  // namespace

std::string make_case_id(const AttnDims& dims, const InputSpec& input, QkRotation rotation) {
  std::string id = fmt::format("b{}-h{}-kv{}-q{}-k{}-d{}-{}-{}", dims.batch, dims.heads, dims.kv_heads,
                               dims.seq_q, dims.seq_kv, dims.head_dim,
                               dims.causal ? "causal" : "full", to_string(input.distribution));
  id += family_suffix(input);
  if (input.scale != 1.0) id += fmt::format("-sc{}", input.scale);
  if (dims.sm_scale > 0.f) id += fmt::format("-sm{}", dims.sm_scale);
  id += input.npy_dir.empty() ? fmt::format("-s{}", input.seed) : std::string("-npy");
  if (rotation != QkRotation::None) id += fmt::format("-{}", to_string(rotation));
  return id;
}

}  // namespace int8attn
