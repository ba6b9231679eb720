#include "src/bench/case.h"

#include <fmt/format.h>

namespace int8attn {

const char* to_string(Distribution d) {
  switch (d) {
    case Distribution::Normal: return "normal";
    case Distribution::Uniform: return "uniform";
    case Distribution::OutlierChannels: return "outlier-channels";
  }
  return "?";
}

std::optional<Distribution> parse_distribution(const std::string& s) {
  for (Distribution d : {Distribution::Normal, Distribution::Uniform, Distribution::OutlierChannels}) {
    if (s == to_string(d)) return d;
  }
  return std::nullopt;
}

std::string make_case_id(const AttnDims& dims, const InputSpec& input) {
  std::string id = fmt::format("b{}-h{}-kv{}-q{}-k{}-d{}-{}-{}", dims.batch, dims.heads, dims.kv_heads,
                               dims.seq_q, dims.seq_kv, dims.head_dim,
                               dims.causal ? "causal" : "full", to_string(input.distribution));
  if (input.distribution == Distribution::OutlierChannels) {
    id += fmt::format("x{}c{}", input.outlier_magnitude, input.outlier_channels);
  }
  if (input.scale != 1.0) id += fmt::format("-sc{}", input.scale);
  if (dims.sm_scale > 0.f) id += fmt::format("-sm{}", dims.sm_scale);
  if (!input.npy_dir.empty()) return id + "-npy";
  return id + fmt::format("-s{}", input.seed);
}

}  // namespace int8attn
