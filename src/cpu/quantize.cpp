// Host mirror of kernels/quantize.cu. The one reduction whose order shows in the results is
// the K mean (FP32 sums): both sides sum each channel over at most 128 sampled tokens in 16 row
// groups, then pairs of groups, then the pairs in order (from 0.f each; common/numerics.h), and
// divide by float(the samples). The groups let the GPU sum them in parallel;
// everything else is an amax (order-free) or element-wise numerics.h rounding, except the
// optional Hadamard rotation of Q and K rows, whose butterfly order common/hadamard.h fixes
// for both sides.
#include "src/cpu/quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/hadamard.h"
#include "common/k_groups.h"
#include "common/numerics.h"
#include "src/host/inputs.h"

namespace int8attn::cpu {

int64_t QuantizedHost::bytes() const {
  const size_t codes = q8.size() + k8.size() + v8.size() + k_order.size();
  const size_t floats = q_scale.size() + k_scale.size() + v_scale.size() + k_mean.size();
  return static_cast<int64_t>(codes + floats * sizeof(float));
}

int64_t qk_group_tokens(const QuantConfig& cfg) {
  return cfg.qk_granularity == QkGranularity::PerBlock ? cfg.qk_block : 1;
}

int64_t qk_groups(int64_t seq, const QuantConfig& cfg) {
  const int64_t g = qk_group_tokens(cfg);
  return (seq + g - 1) / g;
}

void validate_quant_config(const QuantConfig& cfg) {
  if (cfg.qk_granularity == QkGranularity::PerBlock && cfg.qk_block <= 0) {
    throw std::invalid_argument(fmt::format("qk_block must be positive, got {}", cfg.qk_block));
  }
  if (cfg.k_granularity == KGranularity::PerThread && cfg.qk_granularity != QkGranularity::PerToken) {
    throw std::invalid_argument("per-thread K scales go with per-token Q scales (qk_granularity per-token)");
  }
  if (cfg.k_granularity == KGranularity::Grouped &&
      (cfg.qk_granularity != QkGranularity::PerToken || cfg.kv_block != kKGroupSpan)) {
    throw std::invalid_argument(fmt::format("grouped K scales go with per-token Q scales and kv_block {}", kKGroupSpan));
  }
  if (cfg.kv_block <= 0) throw std::invalid_argument(fmt::format("kv_block must be positive, got {}", cfg.kv_block));
  if (cfg.v_block < 0 || cfg.v_block % cfg.kv_block != 0) {
    throw std::invalid_argument(
        fmt::format("v_block must be 0 or a multiple of kv_block {}, got {}", cfg.kv_block, cfg.v_block));
  }
}

void validate_rotation(const AttnDims& dims, const QuantConfig& cfg) {
  if (cfg.rotation == QkRotation::Hadamard && !is_power_of_two(dims.head_dim)) {
    throw std::invalid_argument(
        fmt::format("the Hadamard rotation needs head_dim a power of two, got {}", dims.head_dim));
  }
}

std::vector<float> k_channel_mean(const AttnDims& dims, const std::vector<float>& k) {
  const int64_t d = dims.head_dim, n = k_mean_samples(dims.seq_kv);
  constexpr int64_t kPerGroup = kKMeanSamples / kKMeanGroups;
  std::vector<float> mean(dims.batch * dims.kv_heads * d);
  std::vector<float> part(kKMeanGroups * d);
  for (int64_t bh = 0; bh < dims.batch * dims.kv_heads; ++bh) {
    const float* head = k.data() + bh * dims.seq_kv * d;
    std::fill(part.begin(), part.end(), 0.f);
    for (int64_t g = 0; g < kKMeanGroups; ++g) {  // group g: samples g, g + 16, ... in order
      for (int64_t p = 0; p < kPerGroup && g + p * kKMeanGroups < n; ++p) {
        const float* row = head + k_mean_sample_token(dims.seq_kv, g + p * kKMeanGroups) * d;
        for (int64_t c = 0; c < d; ++c) part[g * d + c] += row[c];
      }
    }
    for (int64_t c = 0; c < d; ++c) {
      float total = 0.f;
      for (int64_t w = 0; w < kKMeanGroups / 2; ++w) total += part[2 * w * d + c] + part[(2 * w + 1) * d + c];
      mean[bh * d + c] = total / static_cast<float>(n);
    }
  }
  return mean;
}

namespace {

// The rows the quantizer scales and rounds: x - shift (K smoothing; shift [d] or nullptr),
// then, when rotating, each row times H (common/hadamard.h). The mean is subtracted before
// rotating, exactly as the GPU does: H(k - m) = Hk - Hm, so this is K smoothing in the
// rotated basis, and the stored k_mean stays the unrotated mean.
std::vector<float> quantizer_rows(const float* x, int64_t seq, int64_t d, const float* shift, bool rotate) {
  std::vector<float> rows(x, x + seq * d);
  for (int64_t j = 0; j < seq; ++j) {
    float* row = rows.data() + j * d;
    if (shift) {
      for (int64_t c = 0; c < d; ++c) row[c] -= shift[c];
    }
    if (rotate) hadamard_transform(row, d);
  }
  return rows;
}

// Quantizes one head ([seq, d] at x) in groups of `group` tokens: codes and unfolded scales.
// Q's multiplier is on the FP16 grid and its scale that multiplier's reciprocal (numerics.h
// q_inv_scale); K's are exact.
enum class Tensor { Q, K };
void quantize_token_groups(const float* x, int64_t seq, int64_t d, int64_t group, Tensor tensor, int8_t* codes,
                           float* scales) {
  for (int64_t g0 = 0, g = 0; g0 < seq; g0 += group, ++g) {
    const int64_t g1 = std::min(g0 + group, seq);
    float amax = 0.f;
    for (int64_t i = g0 * d; i < g1 * d; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float inv = tensor == Tensor::Q ? q_inv_scale(int8_inv_scale(amax)) : int8_inv_scale(amax);
    for (int64_t i = g0 * d; i < g1 * d; ++i) codes[i] = quantize_s8(x[i], inv);
    scales[g] = tensor == Tensor::Q ? q_scale_of_inv(inv) : int8_scale(amax);
  }
}

// Quantizes one K head ([seq, d] at x) with one scale per thread group of keys (k_thread_group:
// the keys j of a 128-key span with the same (j mod 8) div 2), stored per token.
void quantize_thread_groups(const float* x, int64_t seq, int64_t d, int8_t* codes, float* scales) {
  for (int64_t span = 0; span < seq; span += kKThreadSpan) {
    const int64_t end = std::min(span + kKThreadSpan, seq);
    float amax[kKThreadGroups] = {};
    for (int64_t j = span; j < end; ++j) {
      float& group_amax = amax[k_thread_group(j) % kKThreadGroups];
      for (int64_t c = 0; c < d; ++c) group_amax = std::max(group_amax, std::fabs(x[j * d + c]));
    }
    for (int64_t j = span; j < end; ++j) {
      const float group_amax = amax[k_thread_group(j) % kKThreadGroups];
      const float inv = int8_inv_scale(group_amax);
      for (int64_t c = 0; c < d; ++c) codes[j * d + c] = quantize_s8(x[j * d + c], inv);
      scales[j] = int8_scale(group_amax);
    }
  }
}

// Each key's largest magnitude, [seq] of one head ([seq, d] at x).
std::vector<float> row_amax(const float* x, int64_t seq, int64_t d) {
  std::vector<float> amax(seq, 0.f);
  for (int64_t j = 0; j < seq; ++j)
    for (int64_t c = 0; c < d; ++c) amax[j] = std::max(amax[j], std::fabs(x[j * d + c]));
  return amax;
}

// The original offset of each column of one full block of keys (amax: theirs, in order), as
// common/k_groups.h places them: ranked by amax (ties by position), the leaders by the proxy.
void key_group_order(const float* amax, uint8_t* order) {
  int rank_of[kKGroupSpan];
  uint8_t level_by_rank[kKGroupSpan];
  float amax_max = 0.f;  // the largest key's (rank 0)
  for (int j = 0; j < kKGroupSpan; ++j) {
    rank_of[j] = k_group_rank(amax, j);
    if (rank_of[j] == 0) amax_max = amax[j];
  }
  for (int j = 0; j < kKGroupSpan; ++j) level_by_rank[rank_of[j]] = static_cast<uint8_t>(k_group_level(amax[j], amax_max));
  const int leaders = k_group_leaders(level_by_rank);
  for (int j = 0; j < kKGroupSpan; ++j) {
    const KGroupPlace place = k_group_place(rank_of[j], leaders);
    order[k_group_column(place.group, place.slot)] = static_cast<uint8_t>(j);
  }
}

// Quantizes one K head ([seq, d] at x) with KGranularity::Grouped: the order of each block's
// columns (k_order; a partial last block keeps its own), the codes of its rows in that order,
// and each key's group scale (its group's largest amax), stored per column.
void quantize_key_groups(const float* x, int64_t seq, int64_t d, int8_t* codes, float* scales, uint8_t* order) {
  const std::vector<float> amax = row_amax(x, seq, d);
  for (int64_t span = 0; span < seq; span += kKGroupSpan) {
    const int64_t keys = std::min<int64_t>(kKGroupSpan, seq - span);
    if (keys == kKGroupSpan) {
      key_group_order(amax.data() + span, order + span);
    } else {
      for (int64_t c = 0; c < keys; ++c) order[span + c] = static_cast<uint8_t>(c);
    }
    float group_amax[kKGroups] = {};
    for (int64_t c = 0; c < keys; ++c) {
      float& g = group_amax[k_group_of_column(static_cast<int>(c))];
      g = std::max(g, amax[span + order[span + c]]);
    }
    for (int64_t c = 0; c < keys; ++c) {
      const float g = group_amax[k_group_of_column(static_cast<int>(c))], inv = int8_inv_scale(g);
      const float* row = x + (span + order[span + c]) * d;
      for (int64_t e = 0; e < d; ++e) codes[(span + c) * d + e] = quantize_s8(row[e], inv);
      scales[span + c] = int8_scale(g);
    }
  }
}

// Quantizes `seq` tokens of V ([seq, d] at x) with one scale per channel.
void quantize_channels(const float* x, int64_t seq, int64_t d, int8_t* codes, float* scales) {
  for (int64_t c = 0; c < d; ++c) {
    float amax = 0.f;
    for (int64_t j = 0; j < seq; ++j) amax = std::max(amax, std::fabs(x[j * d + c]));
    const float inv = int8_inv_scale(amax);
    for (int64_t j = 0; j < seq; ++j) codes[j * d + c] = quantize_s8(x[j * d + c], inv);
    scales[c] = int8_scale(amax);
  }
}

void check_sizes(const AttnDims& dims, const std::vector<float>& q, const std::vector<float>& k,
                 const std::vector<float>& v) {
  if (static_cast<int64_t>(q.size()) != dims.q_elements() || static_cast<int64_t>(k.size()) != dims.kv_elements() ||
      static_cast<int64_t>(v.size()) != dims.kv_elements()) {
    throw std::invalid_argument("quantize_qkv_host: tensor sizes do not match the dims");
  }
}

}  // namespace

QuantizedHost quantize_qkv_host(const AttnDims& dims, const QuantConfig& cfg, const std::vector<float>& q,
                                const std::vector<float>& k, const std::vector<float>& v, bool quantize_v) {
  host::validate_dims(dims);
  validate_quant_config(cfg);
  validate_rotation(dims, cfg);
  check_sizes(dims, q, k, v);
  const int64_t d = dims.head_dim;
  const int64_t group = qk_group_tokens(cfg);
  const int64_t q_groups = qk_groups(dims.seq_q, cfg);
  const int64_t k_groups = qk_groups(dims.seq_kv, cfg);
  const float sm_scale = effective_sm_scale(dims);
  const bool rotate = cfg.rotation == QkRotation::Hadamard;

  QuantizedHost out;
  out.q8.resize(q.size());
  out.q_scale.resize(dims.batch * dims.heads * q_groups);
  for (int64_t bh = 0; bh < dims.batch * dims.heads; ++bh) {
    float* scales = out.q_scale.data() + bh * q_groups;
    const std::vector<float> rows = quantizer_rows(q.data() + bh * dims.seq_q * d, dims.seq_q, d, nullptr, rotate);
    quantize_token_groups(rows.data(), dims.seq_q, d, group, Tensor::Q, out.q8.data() + bh * dims.seq_q * d, scales);
    for (int64_t g = 0; g < q_groups; ++g) {
      scales[g] = fold_softmax_scale(scales[g], sm_scale);
      if (rotate) scales[g] = hadamard_q_scale(scales[g], d);  // the rotation's 1/d, once for Q and K
    }
  }

  if (cfg.smooth_k) out.k_mean = k_channel_mean(dims, k);
  out.k8.resize(k.size());
  out.k_scale.resize(dims.batch * dims.kv_heads * k_groups);
  const bool grouped = cfg.k_granularity == KGranularity::Grouped;
  if (grouped) out.k_order.resize(dims.batch * dims.kv_heads * dims.seq_kv);
  for (int64_t bh = 0; bh < dims.batch * dims.kv_heads; ++bh) {
    const float* shift = cfg.smooth_k ? out.k_mean.data() + bh * d : nullptr;
    const std::vector<float> rows = quantizer_rows(k.data() + bh * dims.seq_kv * d, dims.seq_kv, d, shift, rotate);
    int8_t* codes = out.k8.data() + bh * dims.seq_kv * d;
    float* scales = out.k_scale.data() + bh * k_groups;
    if (grouped) {
      quantize_key_groups(rows.data(), dims.seq_kv, d, codes, scales, out.k_order.data() + bh * dims.seq_kv);
    } else if (cfg.k_granularity == KGranularity::PerThread) {
      quantize_thread_groups(rows.data(), dims.seq_kv, d, codes, scales);
    } else {
      quantize_token_groups(rows.data(), dims.seq_kv, d, group, Tensor::K, codes, scales);
    }
  }

  if (quantize_v) {
    const std::vector<float> v_keys = grouped ? keys_in_order(dims, out.k_order, v) : std::vector<float>();
    const std::vector<float>& v_rows = grouped ? v_keys : v;
    out.v8.resize(v.size());
    const int64_t v_blocks = v_scale_blocks(dims.seq_kv, cfg);
    const int64_t block = cfg.v_block > 0 ? cfg.v_block : dims.seq_kv;
    out.v_scale.resize(dims.batch * dims.kv_heads * v_blocks * d);
    for (int64_t bh = 0; bh < dims.batch * dims.kv_heads; ++bh) {
      for (int64_t b = 0; b < v_blocks; ++b) {  // each block of keys its own scale per channel
        const int64_t at = (bh * dims.seq_kv + b * block) * d;
        quantize_channels(v_rows.data() + at, std::min(block, dims.seq_kv - b * block), d, out.v8.data() + at,
                          out.v_scale.data() + (bh * v_blocks + b) * d);
      }
    }
  }
  return out;
}

namespace {

// INT8 Q/K codes + their scales + the K mean when smoothing.
int64_t int8_qk_part_bytes(const AttnDims& dims, const QuantConfig& cfg) {
  const int64_t k_order = cfg.k_granularity == KGranularity::Grouped ? dims.batch * dims.kv_heads * dims.seq_kv : 0;
  const int64_t codes = dims.q_elements() + dims.kv_elements() + k_order;
  const int64_t scales = dims.batch * dims.heads * qk_groups(dims.seq_q, cfg) +
                         dims.batch * dims.kv_heads * qk_groups(dims.seq_kv, cfg) +
                         (cfg.smooth_k ? dims.batch * dims.kv_heads * dims.head_dim : 0);
  return codes + scales * int64_t{sizeof(float)};
}

}  // namespace

std::vector<float> keys_in_order(const AttnDims& dims, const std::vector<uint8_t>& k_order, const std::vector<float>& x) {
  if (static_cast<int64_t>(k_order.size()) != dims.batch * dims.kv_heads * dims.seq_kv ||
      static_cast<int64_t>(x.size()) != dims.kv_elements()) {
    throw std::invalid_argument("keys_in_order: k_order or the tensor does not match the dims");
  }
  const int64_t d = dims.head_dim;
  std::vector<float> out(x.size());
  for (int64_t bh = 0; bh < dims.batch * dims.kv_heads; ++bh)
    for (int64_t j = 0; j < dims.seq_kv; ++j) {
      const int64_t from = bh * dims.seq_kv + j / kKGroupSpan * kKGroupSpan + k_order[bh * dims.seq_kv + j];
      std::copy_n(x.data() + from * d, d, out.data() + (bh * dims.seq_kv + j) * d);
    }
  return out;
}

int64_t int8_full_tensor_bytes(const AttnDims& dims, const QuantConfig& cfg) {
  const int64_t v_bytes = dims.kv_elements() + dims.batch * dims.kv_heads * v_scale_blocks(dims.seq_kv, cfg) *
                                                    dims.head_dim * int64_t{sizeof(float)};
  return int8_qk_part_bytes(dims, cfg) + v_bytes;
}

int64_t int8_qk_tensor_bytes(const AttnDims& dims, const QuantConfig& cfg) {
  return int8_qk_part_bytes(dims, cfg) + 2 * dims.kv_elements();
}

int64_t fp16_tensor_bytes(const AttnDims& dims) { return 2 * (dims.q_elements() + 2 * dims.kv_elements()); }

}  // namespace int8attn::cpu
