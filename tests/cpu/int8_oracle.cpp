#include "int8_oracle.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace int8attn::oracle {
namespace {

constexpr float kLog2e = 1.4426950408889634f;  // the FP32 constant folded into Q's scale
constexpr int64_t kKMeanSamples = 128;         // the tokens K's documented mean samples at most
constexpr int64_t kKMeanGroups = 16;           // and the FP32 groups it sums them in
constexpr double kFp32Unit = 0x1p-24;          // FP32 unit roundoff
constexpr double kRadiusSafety = 2.0;

int64_t group_tokens(const QuantConfig& cfg) {
  return cfg.qk_granularity == QkGranularity::PerBlock ? cfg.qk_block : 1;
}
int64_t group_count(int64_t tokens, const QuantConfig& cfg) {
  return (tokens + group_tokens(cfg) - 1) / group_tokens(cfg);
}

// V scale blocks of `seq_kv` keys: one (over every key) unless cfg.v_block.
int64_t v_block_count(int64_t seq_kv, const QuantConfig& cfg) {
  return cfg.v_block > 0 ? (seq_kv + cfg.v_block - 1) / cfg.v_block : 1;
}

float sm_scale_of(const AttnDims& dims) {
  return dims.sm_scale > 0.f ? dims.sm_scale : 1.f / std::sqrt(static_cast<float>(dims.head_dim));
}

// Symmetric INT8 with the group's largest magnitude amax: code = x * (127 / amax), the
// product exact (two floats multiply exactly in a double) and rounded once to nearest even,
// clamped to ±127; all codes 0 when amax is 0.
int8_t int8_code(float x, float multiplier) {
  if (!(multiplier > 0.f)) return 0;
  const double code = std::nearbyint(static_cast<double>(x) * static_cast<double>(multiplier));
  return static_cast<int8_t>(std::clamp(code, -127.0, 127.0));
}

// Q's multiplier is the FP16 number nearest 127 / amax (FP16's largest, 65504, where that is
// larger), and Q's scale its reciprocal; K's and V's multiplier is 127 / amax and their scale
// amax / 127.
enum class Tensor { Q, K };
float multiplier_of(float amax, Tensor tensor) {
  if (!(amax > 0.f)) return 0.f;
  const float exact = 127.f / amax;
  return tensor == Tensor::Q ? static_cast<float>(static_cast<_Float16>(std::min(exact, 65504.f))) : exact;
}
float scale_of(float amax, Tensor tensor) {
  if (tensor == Tensor::K || !(amax > 0.f)) return amax / 127.f;
  return 1.f / multiplier_of(amax, tensor);
}

// The rows the scales are taken from: each token of the (batch·head) slab of `seq` tokens ×
// d channels at x, minus `mean` ([d] or null; K smoothing), then rotated when asked.
std::vector<float> quantizer_input(const float* x, const float* mean, int64_t seq, int64_t d, bool rotate) {
  std::vector<float> rows(x, x + seq * d);
  for (int64_t j = 0; j < seq; ++j) {
    if (mean) {
      for (int64_t c = 0; c < d; ++c) rows[j * d + c] = x[j * d + c] - mean[c];
    }
    if (rotate) hadamard_rotate(rows.data() + j * d, d);
  }
  return rows;
}

// Codes and the scale of each group of `group` tokens of a slab of `seq` tokens × d channels.
void quantize_token_groups(const float* x, int64_t seq, int64_t d, int64_t group, Tensor tensor, int8_t* codes,
                           float* scales) {
  for (int64_t g = 0; g * group < seq; ++g) {
    const int64_t first = g * group, last = std::min(seq, first + group);
    float amax = 0.f;
    for (int64_t j = first; j < last; ++j)
      for (int64_t c = 0; c < d; ++c) amax = std::max(amax, std::fabs(x[j * d + c]));
    const float multiplier = multiplier_of(amax, tensor);
    for (int64_t j = first; j < last; ++j)
      for (int64_t c = 0; c < d; ++c) codes[j * d + c] = int8_code(x[j * d + c], multiplier);
    scales[g] = scale_of(amax, tensor);
  }
}

// Per-thread K scales: in each span of 128 keys from `span`, the group g (0..3) is the keys
// span + 8m + 2g and span + 8m + 2g + 1 for m = 0..15 (those present); each key gets its group's
// scale (stored per token).
void quantize_thread_key_groups(const float* x, int64_t seq, int64_t d, int8_t* codes, float* scales) {
  for (int64_t span = 0; span < seq; span += 128)
    for (int64_t g = 0; g < 4; ++g) {
      std::vector<int64_t> keys;
      for (int64_t m = 0; m < 16; ++m)
        for (int64_t pair = 0; pair < 2; ++pair)
          if (span + 8 * m + 2 * g + pair < seq) keys.push_back(span + 8 * m + 2 * g + pair);
      float amax = 0.f;
      for (const int64_t j : keys)
        for (int64_t c = 0; c < d; ++c) amax = std::max(amax, std::fabs(x[j * d + c]));
      for (const int64_t j : keys) {
        for (int64_t c = 0; c < d; ++c) codes[j * d + c] = int8_code(x[j * d + c], multiplier_of(amax, Tensor::K));
        scales[j] = amax / 127.f;
      }
    }
}

// Grouped K scales (KGranularity::Grouped), restated from common/k_groups.h's description: each
// full block of 128 keys is ranked by its keys' amax (largest first, equal ones by position); the
// block's sizes are level = rint(amax · (127 / the largest amax)); for L = 0 .. 16 leaders the
// ranks are dealt: rank i < L leads group i, then the led groups from L - 1 down to 0 take 7 ranks
// each in turn, then the free groups from 15 down to L take 8 each; the block takes the L with the
// smallest Σ_g (largest level in g)² · Σ_{j in g} level_j⁶ (the fewest on a tie). The s-th of a
// group's ranks sits at the column of slot s of group g: quad thread g / 4's pair 2(g/4), +1 of
// n-tile 4(g % 4) + s / 2, i.e. 8 · that n-tile + 2(g/4) + s % 2. A partial last block keeps its
// order, column c in group 4((c mod 8) div 2) + c div 32. Each key is coded with its group's
// largest amax; order[column] = the key's offset in its block.
std::vector<std::vector<int>> dealt_groups(int leaders) {
  std::vector<std::vector<int>> groups(16);
  int rank = 0;
  for (int g = 0; g < leaders; ++g) groups[g].push_back(rank++);
  for (int g = leaders - 1; g >= 0; --g)
    while (groups[g].size() < 8) groups[g].push_back(rank++);
  for (int g = 15; g >= leaders; --g)
    while (groups[g].size() < 8) groups[g].push_back(rank++);
  return groups;
}

void quantize_grouped_keys(const float* x, int64_t seq, int64_t d, int8_t* codes, float* scales, uint8_t* order) {
  std::vector<float> amax(seq, 0.f);
  for (int64_t j = 0; j < seq; ++j)
    for (int64_t c = 0; c < d; ++c) amax[j] = std::max(amax[j], std::fabs(x[j * d + c]));
  for (int64_t block = 0; block < seq; block += 128) {
    const int64_t keys = std::min<int64_t>(128, seq - block);
    std::vector<std::vector<int64_t>> members(16);  // each group's keys (offsets), slot order
    if (keys < 128) {
      for (int64_t c = 0; c < keys; ++c) order[block + c] = static_cast<uint8_t>(c);
    } else {
      std::vector<int64_t> by_rank(128);
      for (int64_t j = 0; j < 128; ++j) by_rank[j] = j;
      std::stable_sort(by_rank.begin(), by_rank.end(),
                       [&](int64_t a, int64_t b) { return amax[block + a] > amax[block + b]; });
      std::vector<unsigned __int128> level(128);
      const float top = amax[block + by_rank[0]];
      for (int64_t r = 0; r < 128; ++r) {
        level[r] = amax[block + by_rank[r]] == top ? 127u
                                                   : static_cast<unsigned>(std::nearbyint(amax[block + by_rank[r]] * (127.f / top)));
      }
      int best = -1;
      unsigned __int128 best_cost = 0;
      for (int leaders = 0; leaders <= 16; ++leaders) {
        unsigned __int128 cost = 0;
        for (const std::vector<int>& g : dealt_groups(leaders)) {
          unsigned __int128 top = 0, sum = 0;
          for (const int r : g) {
            top = std::max(top, level[r]);
            sum += level[r] * level[r] * level[r] * level[r] * level[r] * level[r];
          }
          cost += top * top * sum;
        }
        if (best < 0 || cost < best_cost) best = leaders, best_cost = cost;
      }
      const std::vector<std::vector<int>> groups = dealt_groups(best);
      for (int g = 0; g < 16; ++g)
        for (int s = 0; s < 8; ++s) {
          const int64_t column = 8 * (4 * (g % 4) + s / 2) + 2 * (g / 4) + s % 2;
          order[block + column] = static_cast<uint8_t>(by_rank[groups[g][s]]);
        }
    }
    for (int64_t c = 0; c < keys; ++c) members[4 * ((c % 8) / 2) + c / 32].push_back(c);
    for (const std::vector<int64_t>& g : members) {
      float top = 0.f;
      for (const int64_t c : g) top = std::max(top, amax[block + order[block + c]]);
      for (const int64_t c : g) {
        const float* row = x + (block + order[block + c]) * d;
        for (int64_t e = 0; e < d; ++e) codes[(block + c) * d + e] = int8_code(row[e], multiplier_of(top, Tensor::K));
        scales[block + c] = top / 127.f;
      }
    }
  }
}

// The `seq` rows (d values each) of kv slab bkv at x in the order grouped K put its keys
// (qz.k_order; unchanged without it).
std::vector<float> keys_as_ordered(const Quantized& qz, int64_t bkv, const float* x, int64_t seq, int64_t d) {
  std::vector<float> rows(x, x + seq * d);
  if (qz.k_order.empty()) return rows;
  for (int64_t j = 0; j < seq; ++j) {
    const int64_t key = j / 128 * 128 + qz.k_order[bkv * seq + j];
    for (int64_t c = 0; c < d; ++c) rows[j * d + c] = x[key * d + c];
  }
  return rows;
}

// Mean of each channel over the slab's sampled tokens as documented: every token of a slab of up
// to 128; else one token from each 128th of it, [i·seq/128, (i+1)·seq/128), at offset
// hash(i) mod its width (hash: i times 0x9E3779B1 in 32 bits, shifted right by 8; hash(0) = 0, so
// the first is token 0). FP32 sums over 16 groups (group g: samples g, g+16, ...), pairs of groups, then the
// pairs in order; divided by the samples.
std::vector<float> channel_mean(const float* x, int64_t seq, int64_t d) {
  std::vector<int64_t> tokens;
  for (int64_t i = 0; i < std::min<int64_t>(seq, kKMeanSamples); ++i) {
    if (seq <= kKMeanSamples) {
      tokens.push_back(i);
      continue;
    }
    const int64_t lo = i * seq / kKMeanSamples, width = (i + 1) * seq / kKMeanSamples - lo;
    const uint32_t hash = static_cast<uint32_t>(static_cast<uint64_t>(i) * 2654435761ull) >> 8;
    tokens.push_back(lo + static_cast<int64_t>(hash % static_cast<uint64_t>(width)));
  }
  std::vector<float> mean(d);
  for (int64_t c = 0; c < d; ++c) {
    std::vector<float> group(kKMeanGroups, 0.f);
    for (size_t i = 0; i < tokens.size(); ++i) group[i % kKMeanGroups] += x[tokens[i] * d + c];
    float total = 0.f;
    for (int64_t w = 0; w < kKMeanGroups; w += 2) total += group[w] + group[w + 1];
    mean[c] = total / static_cast<float>(tokens.size());
  }
  return mean;
}

// One query row's visible scores and the V rows it reads.
struct RowInputs {
  std::vector<float> s;  // log2-domain scores of keys 0 .. n_visible-1
  int64_t head_dim = 0;
  int64_t kv_block = 64;
};

// Accumulators of one row, exact up to the double rounding of a few terms.
struct RowSums {
  std::vector<double> acc, acc_abs;  // Σ_blocks w · (block's P·V), and the same of |terms|
  double l = 0;
  int64_t blocks = 0;
};

// t rounded to 11 significant bits, ties to even: FP16's rounding of a t in [0, 256] (below
// 2^-14, FP16's subnormal step 2^-24), written apart from common/half.h's bit arithmetic.
float fp16_rounded(float t) {
  if (t < 0x1p-14f) return std::nearbyint(t * 0x1p24f) * 0x1p-24f;
  int e = 0;
  std::frexp(t, &e);  // t = f * 2^e, f in [0.5, 1)
  return std::ldexp(std::nearbyint(std::ldexp(t, 11 - e)), e - 11);
}

// The FP16 row sum of int8-fa's per-thread-K kernel of 128-key blocks (numerics.h's contract,
// restated): a 128-key block's t_j = levels · p_j, each rounded to FP16, are added per
// quad thread u and pair lane e (keys 8n + 2u + e of the 16 n-tiles n) in FP16: four chains
// (n ≡ c mod 4, n ascending), then chain c + 2 into c and chain 1 into 0, every sum rounded to
// FP16. What the eight lane sums add up to afterwards is FP32's, exact here in double.
double half_pair_l(const std::vector<float>& t) {
  double total = 0;
  for (int u = 0; u < 4; ++u)
    for (int e = 0; e < 2; ++e) {
      float chain[4];
      for (int c = 0; c < 4; ++c)
        for (int n = c; n < 16; n += 4) {
          const size_t j = static_cast<size_t>(8 * n + 2 * u + e);
          const float term = j < t.size() ? fp16_rounded(t[j]) : 0.f;
          chain[c] = n == c ? term : fp16_rounded(chain[c] + term);
        }
      total += fp16_rounded(fp16_rounded(chain[0] + chain[2]) + fp16_rounded(chain[1] + chain[3]));
    }
  return total;
}

// int8-fa: per block, codes c_j = rint(levels · exp2(s_j - bm)) against the block's own max
// bm (for blocks of 128 keys and more, levels · exp2(s_j - bm) rounded to FP16 first), the
// block's exact INT32 P·V (times its V block's scales when cfg.v_block), weight
// w = exp2(bm - m_final).
RowSums int8_fa_row(const RowInputs& row, const QuantConfig& cfg, const int8_t* v8, const float* v_scale) {
  const float levels = cfg.p_quant == PQuant::U8x255 ? 255.f : 127.f;
  const int64_t n = static_cast<int64_t>(row.s.size()), d = row.head_dim;
  const float m_final = *std::max_element(row.s.begin(), row.s.end());
  RowSums sums{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0), 0.0, 0};
  for (int64_t j0 = 0; j0 < n; j0 += row.kv_block, ++sums.blocks) {
    const int64_t j1 = std::min(n, j0 + row.kv_block);
    const float bm = *std::max_element(row.s.begin() + j0, row.s.begin() + j1);
    const double w = std::exp2(static_cast<double>(bm) - m_final);
    std::vector<int64_t> pv(d, 0);
    std::vector<float> t_block;
    double l_block = 0;
    for (int64_t j = j0; j < j1; ++j) {
      const float p = std::exp2(row.s[j] - bm);
      const float t = p * levels;
      const int64_t code = static_cast<int64_t>(std::nearbyint(row.kv_block >= 128 ? fp16_rounded(t) : t));
      l_block += cfg.l_from_quantized_p ? code / static_cast<double>(levels) : p;
      t_block.push_back(t);
      for (int64_t c = 0; c < d; ++c) pv[c] += code * v8[j * d + c];
    }
    const bool half_pairs =
        row.kv_block == 128 && cfg.k_granularity != KGranularity::AsQ && !cfg.l_from_quantized_p;
    if (half_pairs) l_block = half_pair_l(t_block) / levels;
    const float* block_scale = cfg.v_block > 0 ? v_scale + (j0 / cfg.v_block) * d : nullptr;
    for (int64_t c = 0; c < d; ++c) {
      const double term = w * static_cast<double>(pv[c]) / levels * (block_scale ? block_scale[c] : 1.0);
      sums.acc[c] += term;
      sums.acc_abs[c] += std::fabs(term);
    }
    sums.l += w * l_block;
  }
  return sums;
}

// int8-qk: P = fp16(exp2(s_j - m)) against the running max m after each block, FP16 V,
// weight w = exp2(m - m_final).
RowSums int8_qk_row(const RowInputs& row, const QuantConfig& cfg, const float* v) {
  const int64_t n = static_cast<int64_t>(row.s.size()), d = row.head_dim;
  const float m_final = *std::max_element(row.s.begin(), row.s.end());
  RowSums sums{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0), 0.0, 0};
  float m = -INFINITY;
  for (int64_t j0 = 0; j0 < n; j0 += row.kv_block, ++sums.blocks) {
    const int64_t j1 = std::min(n, j0 + row.kv_block);
    m = std::max(m, *std::max_element(row.s.begin() + j0, row.s.begin() + j1));
    const double w = std::exp2(static_cast<double>(m) - m_final);
    for (int64_t j = j0; j < j1; ++j) {
      const float p = std::exp2(row.s[j] - m);
      const float p16 = to_fp16(p);
      sums.l += w * (cfg.l_from_quantized_p ? p16 : p);
      for (int64_t c = 0; c < d; ++c) {
        sums.acc[c] += w * p16 * v[j * d + c];
        sums.acc_abs[c] += w * p16 * std::fabs(v[j * d + c]);
      }
    }
  }
  return sums;
}

}  // namespace

float to_fp16(double x) { return static_cast<float>(static_cast<_Float16>(x)); }

void hadamard_rotate(float* x, int64_t d) {
  if (d <= 0 || (d & (d - 1)) != 0) throw std::invalid_argument("oracle: the rotation needs head_dim a power of two");
  for (int64_t half = 1; half < d; half *= 2) {  // stage `half`: pairs at distance half, first stages first
    for (int64_t block = 0; block < d; block += 2 * half) {
      for (int64_t j = block; j < block + half; ++j) {
        const float a = x[j], b = x[j + half];
        x[j] = a + b;
        x[j + half] = a - b;
      }
    }
  }
}

Quantized quantize(const AttnDims& dims, const QuantConfig& cfg, const std::vector<float>& q,
                   const std::vector<float>& k, const std::vector<float>& v) {
  const int64_t d = dims.head_dim, group = group_tokens(cfg);
  const int64_t q_groups = group_count(dims.seq_q, cfg), k_groups = group_count(dims.seq_kv, cfg);
  const bool rotate = cfg.rotation == QkRotation::Hadamard;
  const float fold = sm_scale_of(dims) * kLog2e;
  Quantized out;
  out.q8.resize(q.size());
  out.q_scale.resize(dims.batch * dims.heads * q_groups);
  for (int64_t bh = 0; bh < dims.batch * dims.heads; ++bh) {
    const int64_t at = bh * dims.seq_q * d;
    const std::vector<float> rows = quantizer_input(q.data() + at, nullptr, dims.seq_q, d, rotate);
    quantize_token_groups(rows.data(), dims.seq_q, d, group, Tensor::Q, out.q8.data() + at, out.q_scale.data() + bh * q_groups);
  }
  // Scores of rotated rows are d times too large (x·H·Hᵀ·kᵀ = d·x·kᵀ): Q's scale takes the 1/d.
  for (float& s : out.q_scale) s = rotate ? s * fold / static_cast<float>(d) : s * fold;

  out.k8.resize(k.size());
  out.k_scale.resize(dims.batch * dims.kv_heads * k_groups);
  out.v8.resize(v.size());
  const int64_t v_blocks = v_block_count(dims.seq_kv, cfg);
  const int64_t v_block_keys = cfg.v_block > 0 ? cfg.v_block : dims.seq_kv;
  out.v_scale.resize(dims.batch * dims.kv_heads * v_blocks * d);
  for (int64_t bkv = 0; bkv < dims.batch * dims.kv_heads; ++bkv) {
    const int64_t at = bkv * dims.seq_kv * d;
    std::vector<float> mean;
    if (cfg.smooth_k) {
      mean = channel_mean(k.data() + at, dims.seq_kv, d);
      out.k_mean.insert(out.k_mean.end(), mean.begin(), mean.end());
    }
    const std::vector<float> rows =
        quantizer_input(k.data() + at, cfg.smooth_k ? mean.data() : nullptr, dims.seq_kv, d, rotate);
    if (cfg.k_granularity == KGranularity::Grouped) {
      out.k_order.resize(dims.batch * dims.kv_heads * dims.seq_kv);
      quantize_grouped_keys(rows.data(), dims.seq_kv, d, out.k8.data() + at, out.k_scale.data() + bkv * k_groups,
                            out.k_order.data() + bkv * dims.seq_kv);
    } else if (cfg.k_granularity == KGranularity::PerThread) {
      quantize_thread_key_groups(rows.data(), dims.seq_kv, d, out.k8.data() + at, out.k_scale.data() + bkv * k_groups);
    } else {
      quantize_token_groups(rows.data(), dims.seq_kv, d, group, Tensor::K, out.k8.data() + at, out.k_scale.data() + bkv * k_groups);
    }
    const std::vector<float> v_rows = keys_as_ordered(out, bkv, v.data() + at, dims.seq_kv, d);
    for (int64_t b = 0; b < v_blocks; ++b) {  // V: one scale per channel of each V block
      const int64_t j0 = b * v_block_keys, j1 = std::min(dims.seq_kv, j0 + v_block_keys);
      for (int64_t c = 0; c < d; ++c) {
        float amax = 0.f;
        for (int64_t j = j0; j < j1; ++j) amax = std::max(amax, std::fabs(v_rows[j * d + c]));
        for (int64_t j = j0; j < j1; ++j) out.v8[at + j * d + c] = int8_code(v_rows[j * d + c], multiplier_of(amax, Tensor::K));
        out.v_scale[(bkv * v_blocks + b) * d + c] = amax / 127.f;
      }
    }
  }
  return out;
}

// The radius: a faithful FP32 evaluation differs from the exact sums by at most
//   acc: k_acc · Σ|terms|, k_acc = (keys per block [the FP32 sum inside a block; int8-fa's
//        is exact in INT32] + 4 per block [the weight or alpha: a subtraction and an exp2f;
//        a product; the addition] + 4) · u
//   l:   k_l · l,  k_l = (keys per block + 4 per block + 4) · u  (positive terms)
//   the epilogue (1/l and two products): 4 u relative,
// u = 2^-24, all times kRadiusSafety. Scores, p and the codes are not in it: they are exact.
Output attention(const AttnDims& dims, const QuantConfig& cfg, const Quantized& qz, Variant variant,
                 const std::vector<float>& v_fp16) {
  if (cfg.kv_block <= 0 || (cfg.qk_granularity == QkGranularity::PerBlock && cfg.qk_block <= 0)) {
    throw std::invalid_argument("oracle: block sizes must be positive");
  }
  const int64_t d = dims.head_dim, group = group_tokens(cfg);
  const int64_t q_groups = group_count(dims.seq_q, cfg), k_groups = group_count(dims.seq_kv, cfg);
  const int64_t group_size = dims.heads / dims.kv_heads;
  const int64_t v_blocks = v_block_count(dims.seq_kv, cfg);
  Output out{std::vector<double>(dims.q_elements(), 0.0), std::vector<double>(dims.q_elements(), 0.0)};
  std::vector<std::vector<float>> v_ordered;  // int8-qk's FP16 V, rows as K's
  if (variant == Variant::Int8Qk)
    for (int64_t bkv = 0; bkv < dims.batch * dims.kv_heads; ++bkv)
      v_ordered.push_back(keys_as_ordered(qz, bkv, v_fp16.data() + bkv * dims.seq_kv * d, dims.seq_kv, d));
  for (int64_t b = 0; b < dims.batch; ++b)
    for (int64_t h = 0; h < dims.heads; ++h) {
      const int64_t bh = b * dims.heads + h;
      const int64_t bkv = b * dims.kv_heads + h / group_size;  // GQA: consecutive heads share a kv head
      const int8_t* k8 = qz.k8.data() + bkv * dims.seq_kv * d;
      for (int64_t i = 0; i < dims.seq_q; ++i) {
        // Causal, aligned bottom-right: row i sees key j iff j <= i + seq_kv - seq_q.
        const int64_t visible =
            dims.causal ? std::clamp<int64_t>(i + dims.seq_kv - dims.seq_q + 1, 0, dims.seq_kv) : dims.seq_kv;
        if (visible == 0) continue;  // no key: zeros
        const int8_t* q8 = qz.q8.data() + (bh * dims.seq_q + i) * d;
        const float q_scale = qz.q_scale[bh * q_groups + i / group];
        // Grouped K: the rows up to the end of the last visible key's block, a row masked (its
        // p 0) where the key it holds is not visible.
        const bool ordered = !qz.k_order.empty();
        const int64_t rows = ordered ? std::min(dims.seq_kv, (visible + 127) / 128 * 128) : visible;
        RowInputs row{std::vector<float>(rows), d, cfg.kv_block};
        for (int64_t j = 0; j < rows; ++j) {
          if (ordered && j / 128 * 128 + qz.k_order[bkv * dims.seq_kv + j] >= visible) {
            row.s[j] = -INFINITY;
            continue;
          }
          int64_t dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += int64_t{q8[c]} * k8[j * d + c];
          row.s[j] = static_cast<float>(dot) * (q_scale * qz.k_scale[bkv * k_groups + j / group]);
        }
        const bool full = variant == Variant::Int8Fa;
        const RowSums sums = full ? int8_fa_row(row, cfg, qz.v8.data() + bkv * dims.seq_kv * d,
                                                qz.v_scale.data() + bkv * v_blocks * d)
                                  : int8_qk_row(row, cfg, v_ordered[bkv].data());
        const double per_block_keys = full ? 0.0 : static_cast<double>(cfg.kv_block);
        const double per_block_ops = full && cfg.v_block > 0 ? 5.0 : 4.0;  // + the V block's scale product
        const double k_acc = (per_block_keys + per_block_ops * sums.blocks + 4.0) * kFp32Unit;
        const double k_l = (cfg.kv_block + 4.0 * sums.blocks + 4.0) * kFp32Unit;
        for (int64_t c = 0; c < d; ++c) {
          const double v_scale = full && cfg.v_block == 0 ? qz.v_scale[bkv * d + c] : 1.0;
          const double o = sums.acc[c] / sums.l * v_scale;
          const double r = v_scale / sums.l * (k_acc * sums.acc_abs[c] + k_l * std::fabs(sums.acc[c])) +
                           4.0 * kFp32Unit * std::fabs(o);
          out.value[(bh * dims.seq_q + i) * d + c] = o;
          out.radius[(bh * dims.seq_q + i) * d + c] = kRadiusSafety * r;
        }
      }
    }
  return out;
}

std::vector<double> exact_attention(const AttnDims& dims, const std::vector<float>& q, const std::vector<float>& k,
                                    const std::vector<float>& v) {
  const int64_t d = dims.head_dim, group_size = dims.heads / dims.kv_heads;
  const double scale = sm_scale_of(dims);
  std::vector<double> out(dims.q_elements(), 0.0);
  for (int64_t bh = 0; bh < dims.batch * dims.heads; ++bh) {
    const int64_t bkv = (bh / dims.heads) * dims.kv_heads + (bh % dims.heads) / group_size;
    const float* kh = k.data() + bkv * dims.seq_kv * d;
    const float* vh = v.data() + bkv * dims.seq_kv * d;
    for (int64_t i = 0; i < dims.seq_q; ++i) {
      const int64_t visible =
          dims.causal ? std::clamp<int64_t>(i + dims.seq_kv - dims.seq_q + 1, 0, dims.seq_kv) : dims.seq_kv;
      std::vector<double> s(visible);
      for (int64_t j = 0; j < visible; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += double{q[(bh * dims.seq_q + i) * d + c]} * kh[j * d + c];
        s[j] = dot * scale;
      }
      if (visible == 0) continue;
      const double m = *std::max_element(s.begin(), s.end());
      double l = 0;
      for (double& x : s) l += (x = std::exp(x - m));
      for (int64_t j = 0; j < visible; ++j)
        for (int64_t c = 0; c < d; ++c) out[(bh * dims.seq_q + i) * d + c] += s[j] / l * vh[j * d + c];
    }
  }
  return out;
}

}  // namespace int8attn::oracle
