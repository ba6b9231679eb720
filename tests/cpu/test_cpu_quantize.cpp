#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include <gtest/gtest.h>

#include "common/half.h"
#include "common/k_groups.h"
#include "common/numerics.h"
#include "src/cpu/quantize.h"
#include "test_cpu_util.h"

namespace int8attn::cpu {
namespace {

using test::make_dims;
using test::make_input;

// Checks |x - code*scale| <= scale/2 for every element of a [groups of tokens] quantized
// tensor, and that each group's largest magnitude maps to +/-127 (the scale is tight).
void expect_token_groups_round_trip(const std::vector<float>& x, const std::vector<int8_t>& codes,
                                    const std::vector<float>& scales, int64_t heads, int64_t seq, int64_t d,
                                    int64_t group, const std::vector<float>* shift_per_head, float unfold) {
  const int64_t n_groups = (seq + group - 1) / group;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t g = 0; g < n_groups; ++g) {
      const float scale = scales[h * n_groups + g] / unfold;
      int max_code = 0;
      for (int64_t j = g * group; j < std::min(seq, (g + 1) * group); ++j) {
        for (int64_t c = 0; c < d; ++c) {
          const int64_t idx = (h * seq + j) * d + c;
          const float target = shift_per_head ? x[idx] - (*shift_per_head)[h * d + c] : x[idx];
          ASSERT_LE(std::fabs(target - codes[idx] * scale), scale * 0.5f * (1 + 1e-5f))
              << "head " << h << " token " << j << " channel " << c;
          max_code = std::max(max_code, std::abs(int{codes[idx]}));
        }
      }
      EXPECT_EQ(max_code, 127) << "group " << g;
    }
  }
}

class CpuQuantize : public ::testing::TestWithParam<QkGranularity> {};

TEST_P(CpuQuantize, QAndKRoundTripWithinHalfScale) {
  const AttnDims dims = make_dims(2, 4, 2, 100, 130, 32, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::OutlierChannels, 3));
  for (bool smooth : {false, true}) {
    QuantConfig cfg;
    cfg.qk_granularity = GetParam();
    cfg.qk_block = 64;
    cfg.smooth_k = smooth;
    const QuantizedHost qh = quantize_qkv_host(dims, cfg, in.q, in.k, in.v);
    const int64_t group = GetParam() == QkGranularity::PerBlock ? 64 : 1;
    const float unfold = effective_sm_scale(dims) * kLog2e;
    expect_token_groups_round_trip(in.q, qh.q8, qh.q_scale, dims.batch * dims.heads, dims.seq_q, dims.head_dim,
                                   group, nullptr, unfold);
    expect_token_groups_round_trip(in.k, qh.k8, qh.k_scale, dims.batch * dims.kv_heads, dims.seq_kv,
                                   dims.head_dim, group, smooth ? &qh.k_mean : nullptr, 1.f);
    EXPECT_EQ(qh.k_mean.empty(), !smooth);
  }
}

INSTANTIATE_TEST_SUITE_P(Granularity, CpuQuantize,
                         ::testing::Values(QkGranularity::PerToken, QkGranularity::PerBlock));

TEST(CpuQuantizeV, PerChannelRoundTripWithinHalfScale) {
  const AttnDims dims = make_dims(1, 2, 2, 8, 77, 16, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Uniform, 5));
  const QuantizedHost qh = quantize_qkv_host(dims, QuantConfig{}, in.q, in.k, in.v);
  const int64_t d = dims.head_dim;
  for (int64_t bh = 0; bh < dims.batch * dims.kv_heads; ++bh) {
    for (int64_t c = 0; c < d; ++c) {
      const float scale = qh.v_scale[bh * d + c];
      int max_code = 0;
      for (int64_t j = 0; j < dims.seq_kv; ++j) {
        const int64_t idx = (bh * dims.seq_kv + j) * d + c;
        ASSERT_LE(std::fabs(in.v[idx] - qh.v8[idx] * scale), scale * 0.5f * (1 + 1e-5f));
        max_code = std::max(max_code, std::abs(int{qh.v8[idx]}));
      }
      EXPECT_EQ(max_code, 127);
    }
  }
}

TEST(CpuQuantizeK, ChannelMeanIsTokenAverage) {
  const AttnDims dims = make_dims(1, 1, 1, 4, 50, 8, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::OutlierChannels, 9));
  const std::vector<float> mean = k_channel_mean(dims, in.k);
  for (int64_t c = 0; c < dims.head_dim; ++c) {
    double sum = 0;
    for (int64_t j = 0; j < dims.seq_kv; ++j) sum += in.k[j * dims.head_dim + c];
    EXPECT_NEAR(mean[c], sum / dims.seq_kv, 1e-5 * (1 + std::fabs(sum / dims.seq_kv)));
  }
}

// The K mean's FP32 sums run in the order kernels/quantize.cu uses: 16 row groups (group g sums
// samples g, g + 16, ... in order), the groups added in pairs (2w, 2w + 1), the pairs in order.
// 2^24 absorbs every +1 added to it one at a time, so a token-order sum stays at 2^24 where the
// grouped one gains the other groups' ones; the bits are compared, so any other order fails.
TEST(CpuQuantizeK, ChannelMeanSumsSixteenGroupsThenPairsInOrder) {
  const int64_t seq = 40;  // at most kKMeanSamples tokens: every token is a sample
  const AttnDims dims = make_dims(1, 1, 1, 1, seq, 2, false);
  std::vector<float> k(seq * 2, 1.f);
  k[0] = 16777216.f;  // channel 0, token 0 (group 0): 2^24
  for (int64_t j = 0; j < seq; ++j) k[j * 2 + 1] = 0.25f * static_cast<float>(j % 5);
  std::vector<float> want(2), token_order(2, 0.f);
  for (int64_t c = 0; c < 2; ++c) {
    float group[kKMeanGroups] = {};
    for (int64_t g = 0; g < kKMeanGroups; ++g)
      for (int64_t j = g; j < seq; j += kKMeanGroups) group[g] += k[j * 2 + c];
    float total = 0.f;
    for (int64_t w = 0; w < kKMeanGroups / 2; ++w) total += group[2 * w] + group[2 * w + 1];
    want[c] = total / static_cast<float>(seq);
    for (int64_t j = 0; j < seq; ++j) token_order[c] += k[j * 2 + c];
  }
  ASSERT_NE(want[0], token_order[0] / static_cast<float>(seq));  // the order shows in the bits
  const std::vector<float> mean = k_channel_mean(dims, k);
  EXPECT_EQ(mean[0], want[0]);
  EXPECT_EQ(mean[1], want[1]);
}

// A head of more than 128 tokens: one token of each of 128 strata [i·seq/128, (i+1)·seq/128), at
// the offset the Fibonacci hash of i gives (the first: token 0); the values below were worked out
// from the rule by hand. Each token holds its index in channel 0, so the mean names the tokens.
TEST(CpuQuantizeK, ChannelMeanOfALongHeadSamplesOneTokenAStratum) {
  const int64_t seq = 40001;
  ASSERT_EQ(k_mean_samples(seq), kKMeanSamples);
  const std::vector<int64_t> first = {0, 450, 660, 937, 1320, 1633};
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(k_mean_sample_token(seq, i), first[static_cast<size_t>(i)]) << i;
  EXPECT_EQ(k_mean_sample_token(seq, kKMeanSamples - 1), 39877);
  int64_t token_sum = 0;
  for (int64_t i = 0; i < kKMeanSamples; ++i) {
    const int64_t t = k_mean_sample_token(seq, i);
    EXPECT_GE(t, i * seq / kKMeanSamples) << i;
    EXPECT_LT(t, (i + 1) * seq / kKMeanSamples) << i;
    token_sum += t;
  }
  EXPECT_EQ(token_sum, 2559887);
  const AttnDims dims = make_dims(1, 1, 1, 1, seq, 2, false);
  std::vector<float> k(seq * 2, 1.f);
  for (int64_t j = 0; j < seq; ++j) k[j * 2] = static_cast<float>(j);
  const std::vector<float> mean = k_channel_mean(dims, k);
  // Every partial sum is an integer below 2^24: exact in any order.
  EXPECT_EQ(mean[0], 2559887.f / static_cast<float>(kKMeanSamples));
  EXPECT_EQ(mean[1], 1.f);
}

// Up to 128 tokens every token is a sample, in order; from 129 on, 128 of them.
TEST(CpuQuantizeK, ChannelMeanOfAShortHeadSamplesEveryToken) {
  for (int64_t seq : {int64_t{1}, int64_t{15}, int64_t{17}, int64_t{127}, int64_t{128}}) {
    EXPECT_EQ(k_mean_samples(seq), seq) << seq;
    for (int64_t i = 0; i < seq; ++i) EXPECT_EQ(k_mean_sample_token(seq, i), i);
  }
  EXPECT_EQ(k_mean_samples(129), kKMeanSamples);
  EXPECT_EQ(k_mean_sample_token(129, 127), 127);  // the last stratum [126, 128): 128 is left out
}

TEST(CpuQuantize, AllZeroGroupGivesZeroCodesAndScale) {
  const AttnDims dims = make_dims(1, 1, 1, 3, 3, 4, false);
  const std::vector<float> zeros(12, 0.f);
  const QuantizedHost qh = quantize_qkv_host(dims, QuantConfig{}, zeros, zeros, zeros);
  for (float s : qh.q_scale) EXPECT_EQ(s, 0.f);
  for (int8_t c : qh.k8) EXPECT_EQ(c, 0);
}

TEST(CpuQuantize, StorageBytesMatchTheQuantizedBuffers) {
  const AttnDims dims = make_dims(2, 4, 2, 100, 130, 32, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 1));
  for (bool smooth : {false, true}) {
    QuantConfig cfg;
    cfg.smooth_k = smooth;
    EXPECT_EQ(quantize_qkv_host(dims, cfg, in.q, in.k, in.v, true).bytes(), int8_full_tensor_bytes(dims, cfg));
    EXPECT_EQ(quantize_qkv_host(dims, cfg, in.q, in.k, in.v, false).bytes() + 2 * dims.kv_elements(),
              int8_qk_tensor_bytes(dims, cfg));
  }
  EXPECT_LT(int8_full_tensor_bytes(dims, QuantConfig{}), fp16_tensor_bytes(dims) * 0.6);
}

// common/k_groups.h: for every leader count the ranks fill the 16 groups' 8 slots once each, the
// columns of (group, slot) are the block's 128 once each with the groups a thread's n-tile
// quarters, leaders lead, and the smallest leader's group takes the largest run.
TEST(KGroups, PlacesAndColumnsAreBijections) {
  for (int leaders = 0; leaders <= kKGroups; ++leaders) {
    std::set<int> places;
    for (int rank = 0; rank < kKGroupSpan; ++rank) {
      const KGroupPlace p = k_group_place(rank, leaders);
      ASSERT_TRUE(p.group >= 0 && p.group < kKGroups && p.slot >= 0 && p.slot < kKGroupKeys) << rank;
      places.insert(p.group * kKGroupKeys + p.slot);
      if (rank < leaders) EXPECT_EQ(p.slot, 0) << "leader " << rank;
    }
    EXPECT_EQ(places.size(), size_t{kKGroupSpan}) << leaders << " leaders";
    if (leaders > 0) EXPECT_EQ(k_group_place(leaders, leaders).group, leaders - 1);
    if (leaders < kKGroups) EXPECT_EQ(k_group_place(kKGroupSpan - 1, leaders).group, leaders);
  }
  std::set<int> columns;
  for (int g = 0; g < kKGroups; ++g)
    for (int slot = 0; slot < kKGroupKeys; ++slot) {
      const int c = k_group_column(g, slot);
      columns.insert(c);
      EXPECT_EQ(k_group_of_column(c), g);
      EXPECT_EQ((c % 8) / 2, g / 4) << "the quad thread's pair of each n-tile";
      EXPECT_EQ(c / 32, g % 4) << "the thread's n-tile quarter";
    }
  EXPECT_EQ(columns.size(), size_t{kKGroupSpan});
}

// The proxy: a flat block takes no leaders (a tie takes the fewest), and so does one loud key
// (one leader's group is the ranked layout's first: the same cost) or four equal ones (they
// share a scale at no loss); loud keys of different sizes lead groups of their own (the values
// as research/k_scale_granularity.py's proxy_grouped_int gives them). The cost of 16 groups of
// the largest levels stays below 2^63.
TEST(KGroups, LeadersFollowTheBlocksTail) {
  uint8_t levels[kKGroupSpan];
  std::fill(levels, levels + kKGroupSpan, uint8_t{127});
  EXPECT_EQ(k_group_leaders(levels), 0);
  EXPECT_LT(k_group_cost(levels, kKGroups), uint64_t{1} << 63);
  std::fill(levels, levels + kKGroupSpan, uint8_t{40});
  levels[0] = 127;
  EXPECT_EQ(k_group_cost(levels, 0), k_group_cost(levels, 1));
  EXPECT_EQ(k_group_leaders(levels), 0);
  for (int r = 0; r < 4; ++r) levels[r] = 127;
  EXPECT_EQ(k_group_leaders(levels), 0);
  std::fill(levels, levels + kKGroupSpan, uint8_t{20});
  levels[0] = 127, levels[1] = 60;
  EXPECT_EQ(k_group_leaders(levels), 2);
  EXPECT_EQ(k_group_cost(levels, 2), uint64_t{67854901633018881});
  std::fill(levels, levels + kKGroupSpan, uint8_t{10});
  levels[0] = 127, levels[1] = 90, levels[2] = 60, levels[3] = 40;
  EXPECT_EQ(k_group_leaders(levels), 4);
  EXPECT_EQ(k_group_level(2.f, 4.f), 64);  // rint(63.5): ties to even
  EXPECT_EQ(k_group_level(4.f, 4.f), 127);
  EXPECT_EQ(k_group_level(0.f, 0.f), 127);
  EXPECT_EQ(k_group_level(1.f, INFINITY), 0);
}

// KGranularity::Grouped: k_order is each full block's permutation (the partial last block's
// identity), K's and V's rows are the keys it names, every column's scale is its group's largest
// amax / 127 (so each group's largest element codes to ±127), and the block's loudest key leads.
TEST(CpuQuantizeK, GroupedKeysArePermutedWithTheirGroupsScale) {
  const AttnDims dims = make_dims(1, 2, 2, 16, 300, 64, false);
  InputSpec spec = make_input(Distribution::OutlierScale, 5);
  spec.outlier_magnitude = 20, spec.outlier_channels = 4;
  const host::HostQKV in = host::generate_inputs(dims, spec);
  QuantConfig cfg;
  cfg.k_granularity = KGranularity::Grouped, cfg.kv_block = 128, cfg.v_block = 128, cfg.smooth_k = false;
  const QuantizedHost qh = quantize_qkv_host(dims, cfg, in.q, in.k, in.v, true);
  const QuantizedHost plain = quantize_qkv_host(dims, QuantConfig{}, in.q, in.k, in.v, true);
  const int64_t d = dims.head_dim, seq = dims.seq_kv;
  ASSERT_EQ(qh.k_order.size(), static_cast<size_t>(2 * seq));
  EXPECT_EQ(qh.bytes(), int8_full_tensor_bytes(dims, cfg));
  int led_blocks = 0;
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t block = 0; block < seq; block += kKGroupSpan) {
      const int64_t keys = std::min<int64_t>(kKGroupSpan, seq - block);
      std::set<int> offsets;
      float group_amax[kKGroups] = {};
      std::vector<float> amax(keys, 0.f);
      for (int64_t c = 0; c < keys; ++c) {
        const int offset = qh.k_order[h * seq + block + c];
        offsets.insert(offset);
        if (keys < kKGroupSpan) EXPECT_EQ(offset, c) << "the partial block keeps its order";
        const float* k_row = in.k.data() + (h * seq + block + offset) * d;
        for (int64_t e = 0; e < d; ++e) amax[c] = std::max(amax[c], std::fabs(k_row[e]));
        float& g = group_amax[k_group_of_column(static_cast<int>(c))];
        g = std::max(g, amax[c]);
        // V's row c is the key's: V per 128 keys codes it with the block's channel scales.
        for (int64_t e = 0; e < d; ++e) {
          const float v = in.v[(h * seq + block + offset) * d + e];
          const float scale = qh.v_scale[(h * ((seq + 127) / 128) + block / 128) * d + e];
          ASSERT_LE(std::fabs(v - qh.v8[(h * seq + block + c) * d + e] * scale), scale * 0.5f * (1 + 1e-5f));
        }
      }
      EXPECT_EQ(offsets.size(), static_cast<size_t>(keys)) << "a permutation of the block";
      int max_code[kKGroups] = {};
      for (int64_t c = 0; c < keys; ++c) {
        const int g = k_group_of_column(static_cast<int>(c));
        EXPECT_EQ(qh.k_scale[h * seq + block + c], int8_scale(group_amax[g])) << "column " << c;
        for (int64_t e = 0; e < d; ++e)
          max_code[g] = std::max(max_code[g], std::abs(int{qh.k8[(h * seq + block + c) * d + e]}));
      }
      for (int g = 0; g < kKGroups; ++g)
        if (group_amax[g] > 0) EXPECT_EQ(max_code[g], 127) << "group " << g;
      if (keys < kKGroupSpan) continue;
      // The loudest key sits at slot 0 of group 0 (it leads) or of group 15 (no leaders: the
      // ranked layout's first run).
      const int64_t loudest = std::max_element(amax.begin(), amax.end()) - amax.begin();
      const int loudest_group = k_group_of_column(static_cast<int>(loudest));
      EXPECT_EQ(k_group_column(loudest_group, 0), loudest);
      EXPECT_TRUE(loudest_group == 0 || loudest_group == kKGroups - 1) << loudest_group;
      led_blocks += loudest_group == 0;
    }
  EXPECT_GT(led_blocks, 0) << "outlier-scale keys give some block a leader";
  EXPECT_EQ(qh.q8, plain.q8);  // Q as before
}

TEST(CpuInputs, GeneratedValuesAreHalfRoundedAndOutliersOnlyInK) {
  const AttnDims dims = make_dims(1, 2, 1, 16, 64, 32, false);
  InputSpec spec = make_input(Distribution::OutlierChannels, 11);
  spec.outlier_magnitude = 20;
  spec.outlier_channels = 4;
  const host::HostQKV in = host::generate_inputs(dims, spec);
  for (size_t i = 0; i < in.k.size(); ++i) {
    ASSERT_EQ(in.k[i], round_to_half(host::generated_value(dims, spec, TensorId::K, i)));
  }
  // Outlier channels have a mean near +/-20, the others near 0; Q has none.
  const std::vector<float> k_mean = k_channel_mean(dims, in.k);
  int outliers = 0;
  for (float m : k_mean) outliers += std::fabs(m) > 10;
  EXPECT_EQ(outliers, 4);
  for (float x : in.q) ASSERT_LT(std::fabs(x), 10.f);
}

// The Hopper kernel's Q-quantizing producer warps scale without a division (numerics.h:
// int8_inv_scale_fp16, int8_scale_fp16). For every amax FP16 data can have, they must give the
// divisions' bits, from any reciprocal seed within 3 ulp (PTX's rcp.approx is within 1).
TEST(CpuQuantize, DivisionFreeScalesMatchTheDivisionsForEveryFp16Amax) {
  EXPECT_EQ(int8_inv_scale_fp16(0.f, 0.f), 0.f);
  EXPECT_EQ(int8_scale_fp16(0.f), 0.f);
  int checked = 0;
  for (uint32_t bits = 1; bits < 0x7c00u; ++bits) {  // every positive finite FP16 value
    const float amax = half_bits_to_float(static_cast<uint16_t>(bits));
    ASSERT_EQ(int8_scale_fp16(amax), int8_scale(amax)) << "amax " << amax;
    const float exact_rcp = 1.f / amax;
    for (int ulps = -3; ulps <= 3; ++ulps) {
      float seed = exact_rcp;
      for (int i = 0; i < std::abs(ulps); ++i) seed = std::nextafter(seed, ulps > 0 ? INFINITY : 0.f);
      ASSERT_EQ(int8_inv_scale_fp16(amax, seed), int8_inv_scale(amax)) << "amax " << amax << " seed off " << ulps;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 0x7c00 - 1);
}

// Q's multiplier is an FP16 number (numerics.h q_inv_scale), so that the Hopper kernel's
// Q-quantizing warps code two channels by one HFMA2. For every amax FP16 data can have: the
// multiplier is 127 / amax rounded to FP16 (an independent rounding: the compiler's _Float16),
// capped at 65504; its reciprocal without a division equals the division from any seed within 3
// ulp; the codes need no clamp; and +-amax code as +-127 wherever 127 / amax fits FP16 (below
// 127 / 65504 the row may code smaller, as documented).
TEST(CpuQuantize, QMultiplierIsAnFp16NumberWhoseReciprocalIsExactWithoutADivision) {
  EXPECT_EQ(q_inv_scale(0.f), 0.f);
  EXPECT_EQ(q_scale_of_inv(0.f), 0.f);
  EXPECT_EQ(q_scale_of_inv_fp16(0.f, 0.f), 0.f);
  int checked = 0, capped = 0;
  for (uint32_t bits = 1; bits < 0x7c00u; ++bits) {  // every positive finite FP16 value
    const float amax = half_bits_to_float(static_cast<uint16_t>(bits));
    const float exact = int8_inv_scale(amax);
    const float q_inv = q_inv_scale(exact);
    ASSERT_EQ(q_inv, static_cast<float>(static_cast<_Float16>(std::min(exact, 65504.f)))) << "amax " << amax;
    const float want = 1.f / q_inv;
    for (int ulps = -3; ulps <= 3; ++ulps) {
      float seed = want;
      for (int i = 0; i < std::abs(ulps); ++i) seed = std::nextafter(seed, ulps > 0 ? INFINITY : 0.f);
      ASSERT_EQ(q_scale_of_inv_fp16(q_inv, seed), want) << "amax " << amax << " seed off " << ulps;
    }
    for (float x : {amax, std::nextafter(amax, 0.f), amax * 0.5f, amax / 3.f}) {
      ASSERT_EQ(quantize_s8_in_range(x, q_inv), quantize_s8(x, q_inv)) << "amax " << amax << " x " << x;
      ASSERT_EQ(quantize_s8_in_range(-x, q_inv), quantize_s8(-x, q_inv)) << "amax " << amax << " x " << -x;
    }
    if (exact <= 65504.f) {
      ASSERT_EQ(quantize_s8_in_range(amax, q_inv), 127) << "amax " << amax;
    } else {
      ++capped;
      ASSERT_EQ(q_inv, 65504.f) << "amax " << amax;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 0x7c00 - 1);
  EXPECT_GT(capped, 0);  // the small amax below 127 / 65504 were reached
}

// The GPU quantizer and the Hopper kernel's Q-quantizing warps code with quantize_s8_in_range
// (no clamp) where |x| <= amax. For every amax FP16 data can have, the extremes x = +-amax (the
// largest |x * inv_scale|), their neighbours and a spread of values in between must code as
// quantize_s8 does; a clamp that could act would show at the extremes.
TEST(CpuQuantize, CodesWithoutTheClampMatchQuantizeS8WhereverXIsWithinAmax) {
  int checked = 0;
  for (uint32_t bits = 1; bits < 0x7c00u; ++bits) {  // every positive finite FP16 value
    const float amax = half_bits_to_float(static_cast<uint16_t>(bits));
    const float inv = int8_inv_scale(amax);
    ASSERT_EQ(quantize_s8_in_range(amax, inv), 127) << "amax " << amax;
    ASSERT_EQ(quantize_s8_in_range(-amax, inv), -127) << "amax " << amax;
    const float below = std::nextafter(amax, 0.f);
    for (float x : {amax, below, amax * 0.5f, amax * (126.5f / 127.f), amax * (0.5f / 127.f), amax / 3.f, 0.f}) {
      ASSERT_EQ(quantize_s8_in_range(x, inv), quantize_s8(x, inv)) << "amax " << amax << " x " << x;
      ASSERT_EQ(quantize_s8_in_range(-x, inv), quantize_s8(-x, inv)) << "amax " << amax << " x " << -x;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 0x7c00 - 1);
}

// The GPU quantizer takes the same codes from the rounding bias (quantize_s8_in_range_bits: the
// low byte of x * inv_scale + 1.5 * 2^23, one fused multiply-add), and every code is the exact
// product rounded once to nearest even (two floats multiply exactly in a double). For every FP16
// amax: the extremes, and the values whose products lie on and next to each tie k + 1/2 (the
// rounding's hard cases), both signs. Among those are products that round to a float tie first
// (x = amax / 2 with inv_scale a little under 127 / amax): there the product rounded to a float
// and then to an integer (the FMUL + FADD before s71) gives the farther code, so they must occur.
TEST(CpuQuantize, CodesAreTheExactProductRoundedOnce) {
  const auto code_of_bits = [](float x, float inv) {
    return static_cast<int8_t>(static_cast<uint8_t>(quantize_s8_in_range_bits(x, inv) & 0xffu));
  };
  const auto exact_code = [](float x, float inv) {
    return static_cast<int8_t>(std::nearbyint(static_cast<double>(x) * static_cast<double>(inv)));
  };
  int checked = 0, twice_rounded_differs = 0;
  const auto expect_exact = [&](float x, float inv, float amax) {
    for (const float v : {x, -x}) {
      const int8_t want = exact_code(v, inv);
      ASSERT_EQ(code_of_bits(v, inv), want) << "amax " << amax << " x " << v;
      ASSERT_EQ(quantize_s8_in_range(v, inv), want) << "amax " << amax << " x " << v;
      ASSERT_EQ(quantize_s8(v, inv), want) << "amax " << amax << " x " << v;
      volatile float product = v * inv;  // rounded to a float first
      if (static_cast<int8_t>(std::nearbyint(product)) != want) ++twice_rounded_differs;
    }
  };
  for (uint32_t bits = 1; bits < 0x7c00u; ++bits) {
    const float amax = half_bits_to_float(static_cast<uint16_t>(bits));
    const float inv = int8_inv_scale(amax);
    for (float x : {amax, std::nextafter(amax, 0.f), amax / 3.f, 0.f}) expect_exact(x, inv, amax);
    for (int k = 0; k < 127; k += 7) {
      const float tie = amax * ((static_cast<float>(k) + 0.5f) / 127.f);
      for (float x : {tie, std::nextafter(tie, 0.f), std::nextafter(tie, amax)}) {
        if (x <= amax) expect_exact(x, inv, amax);
      }
    }
    expect_exact(amax * 0.5f, inv, amax);
    if (HasFatalFailure()) return;
    ++checked;
  }
  EXPECT_EQ(checked, 0x7c00 - 1);
  EXPECT_GT(twice_rounded_differs, 0) << "no hard case: the test would pass the product rounded twice";
}

}  // namespace
}  // namespace int8attn::cpu
