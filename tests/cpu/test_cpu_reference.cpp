#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "src/cpu/quantize.h"
#include "src/host/reference.h"
#include "test_cpu_util.h"

namespace int8attn::cpu {
namespace {

using test::make_dims;
using test::make_input;

// Naive attention with an explicit additive mask matrix (0 or -inf), written independently
// of the library: key j is hidden from row i when j - i > seq_kv - seq_q.
std::vector<double> attention_with_explicit_mask(const AttnDims& dims, const host::HostQKV& in) {
  const int64_t d = dims.head_dim;
  const double scale = 1.f / std::sqrt(static_cast<float>(d));  // the FP32 sm_scale the tool defines
  const double kNegInf = -std::numeric_limits<double>::infinity();
  std::vector<double> out(dims.q_elements(), 0.0);
  for (int64_t b = 0; b < dims.batch; ++b) {
    for (int64_t h = 0; h < dims.heads; ++h) {
      const int64_t kvh = h * dims.kv_heads / dims.heads;
      for (int64_t i = 0; i < dims.seq_q; ++i) {
        std::vector<double> logits(dims.seq_kv);
        double mx = kNegInf;
        for (int64_t j = 0; j < dims.seq_kv; ++j) {
          const double mask = (dims.causal && j - i > dims.seq_kv - dims.seq_q) ? kNegInf : 0.0;
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) {
            dot += double{in.q[((b * dims.heads + h) * dims.seq_q + i) * d + c]} *
                   in.k[((b * dims.kv_heads + kvh) * dims.seq_kv + j) * d + c];
          }
          logits[j] = dot * scale + mask;
          mx = std::max(mx, logits[j]);
        }
        if (mx == kNegInf) continue;  // every key masked: zeros
        double sum = 0;
        for (double& x : logits) sum += (x = std::exp(x - mx));
        for (int64_t j = 0; j < dims.seq_kv; ++j) {
          for (int64_t c = 0; c < d; ++c) {
            out[((b * dims.heads + h) * dims.seq_q + i) * d + c] +=
                logits[j] / sum * in.v[((b * dims.kv_heads + kvh) * dims.seq_kv + j) * d + c];
          }
        }
      }
    }
  }
  return out;
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol) << "element " << i;
}

TEST(CpuReference, CausalEqualsExplicitMask) {
  for (auto [sq, skv] : {std::pair{16, 16}, {7, 20}, {20, 7}, {1, 33}}) {
    const AttnDims dims = make_dims(1, 2, 1, sq, skv, 16, true);
    const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 2));
    expect_close(host::reference_attention(dims, in.q, in.k, in.v), attention_with_explicit_mask(dims, in), 1e-12);
  }
}

TEST(CpuReference, NonCausalEqualsNaive) {
  const AttnDims dims = make_dims(2, 2, 2, 9, 13, 8, false);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Uniform, 4));
  expect_close(host::reference_attention(dims, in.q, in.k, in.v), attention_with_explicit_mask(dims, in), 1e-12);
}

TEST(CpuReference, CausalDiffersFromNonCausal) {  // guards against a mask that does nothing
  AttnDims dims = make_dims(1, 1, 1, 12, 12, 8, true);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 2));
  const std::vector<double> causal = host::reference_attention(dims, in.q, in.k, in.v);
  dims.causal = false;
  const std::vector<double> full = host::reference_attention(dims, in.q, in.k, in.v);
  EXPECT_GT(std::fabs(causal[0] - full[0]), 1e-3);
  // The last row sees every key in both.
  for (int64_t c = 0; c < 8; ++c) EXPECT_NEAR(causal[11 * 8 + c], full[11 * 8 + c], 1e-14);
}

TEST(CpuReference, GqaEqualsRepeatedKv) {
  const AttnDims gqa = make_dims(2, 6, 2, 10, 14, 8, true);
  const host::HostQKV in = host::generate_inputs(gqa, make_input(Distribution::Normal, 6));
  // Expand K/V to one kv head per query head.
  AttnDims mha = gqa;
  mha.kv_heads = gqa.heads;
  std::vector<float> k(mha.kv_elements()), v(mha.kv_elements());
  const int64_t head_elems = gqa.seq_kv * gqa.head_dim;
  for (int64_t b = 0; b < gqa.batch; ++b) {
    for (int64_t h = 0; h < gqa.heads; ++h) {
      const int64_t src = (b * gqa.kv_heads + h / 3) * head_elems, dst = (b * gqa.heads + h) * head_elems;
      std::copy_n(in.k.begin() + src, head_elems, k.begin() + dst);
      std::copy_n(in.v.begin() + src, head_elems, v.begin() + dst);
    }
  }
  expect_close(host::reference_attention(gqa, in.q, in.k, in.v), host::reference_attention(mha, in.q, k, v), 0.0);
}

TEST(CpuReference, DecodeRowHasNoNaN) {
  const AttnDims dims = make_dims(1, 4, 4, 1, 50, 32, true);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 8));
  const std::vector<double> out = host::reference_attention(dims, in.q, in.k, in.v);
  double norm = 0;
  for (double x : out) {
    ASSERT_TRUE(std::isfinite(x));
    norm += x * x;
  }
  EXPECT_GT(norm, 0);
}

TEST(CpuReference, FullyMaskedRowsAreZero) {
  // seq_q > seq_kv, causal: rows i < seq_q - seq_kv see no key.
  const AttnDims dims = make_dims(1, 1, 1, 10, 4, 8, true);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 8));
  const std::vector<double> out = host::reference_attention(dims, in.q, in.k, in.v);
  for (int64_t i = 0; i < 10; ++i) {
    double row_abs = 0;
    for (int64_t c = 0; c < 8; ++c) row_abs += std::fabs(out[i * 8 + c]);
    if (i < 6) {
      EXPECT_EQ(row_abs, 0.0) << "row " << i;
    } else {
      EXPECT_GT(row_abs, 0.0) << "row " << i;
    }
  }
}

TEST(CpuReference, SingleRowMatchesWholeOutput) {
  const AttnDims dims = make_dims(2, 4, 2, 9, 17, 16, true);
  const host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::Normal, 10));
  const std::vector<double> all = host::reference_attention(dims, in.q, in.k, in.v);
  for (auto [b, h, i] : {std::tuple{0, 0, 0}, {1, 3, 8}, {1, 2, 4}}) {
    const std::vector<double> row = host::reference_row(dims, in.q, in.k, in.v, b, h, i);
    for (int64_t c = 0; c < dims.head_dim; ++c) {
      EXPECT_EQ(row[c], all[((b * dims.heads + h) * dims.seq_q + i) * dims.head_dim + c]);
    }
  }
}

// K on a grid of 1/8 and seq_kv = 64, so the FP32 channel mean (a multiple of 1/512) and
// K - mean are exact in float: any difference is the reference's own arithmetic.
TEST(CpuReference, KSmoothingLeavesOutputUnchanged) {
  for (bool causal : {false, true}) {
    const AttnDims dims = make_dims(1, 2, 1, 32, 64, 32, causal);
    host::HostQKV in = host::generate_inputs(dims, make_input(Distribution::OutlierChannels, 12));
    for (float& x : in.k) x = std::round(x * 8.f) / 8.f;
    const std::vector<float> mean = k_channel_mean(dims, in.k);
    std::vector<float> k_smoothed = in.k;
    for (size_t idx = 0; idx < k_smoothed.size(); ++idx) {
      k_smoothed[idx] -= mean[(idx / (dims.seq_kv * dims.head_dim)) * dims.head_dim + idx % dims.head_dim];
    }
    ASSERT_NE(k_smoothed, in.k);
    expect_close(host::reference_attention(dims, in.q, in.k, in.v), host::reference_attention(dims, in.q, k_smoothed, in.v),
                 1e-12);
  }
}

}  // namespace
}  // namespace int8attn::cpu
