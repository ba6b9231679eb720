// The generated input families (common/input_families.h): each one does what docs/config.md
// says, element by element. The GPU generator calls the same generated_input_value with the
// same InputGenSpec (host::generator_spec), so these properties hold on the GPU too.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/input_families.h"
#include "src/host/inputs.h"
#include "test_cpu_util.h"

namespace int8attn::cpu {
namespace {

using test::make_dims;
using test::make_input;

float value_of(const AttnDims& dims, const InputSpec& in, TensorId t, uint64_t i) {
  return host::generated_value(dims, in, t, i);
}

// outlier-channels is unchanged by the refactor into common/: normal value + the K offset.
TEST(InputFamilies, OutlierChannelsIsNormalPlusTheKOffset) {
  const AttnDims dims = make_dims(2, 4, 2, 9, 33, 64, false);
  const InputSpec normal = make_input(Distribution::Normal, 8);
  const InputSpec outlier = make_input(Distribution::OutlierChannels, 8);
  for (uint64_t i = 0; i < static_cast<uint64_t>(dims.kv_elements()); ++i) {
    const uint64_t bh = i / (dims.seq_kv * dims.head_dim);
    const float offset = outlier_channel_offset(8, bh, static_cast<int64_t>(i % dims.head_dim), dims.head_dim, 4, 20.f);
    ASSERT_EQ(value_of(dims, outlier, TensorId::K, i), value_of(dims, normal, TensorId::K, i) + offset) << i;
    ASSERT_EQ(value_of(dims, outlier, TensorId::V, i), value_of(dims, normal, TensorId::V, i)) << i;
  }
  for (uint64_t i = 0; i < static_cast<uint64_t>(dims.q_elements()); ++i) {
    ASSERT_EQ(value_of(dims, outlier, TensorId::Q, i), value_of(dims, normal, TensorId::Q, i)) << i;
  }
}

// outlier-scale: the same `channels` channels of Q and K (per batch and kv head; a query
// head uses its kv head's) are the normal values times q_magnitude / magnitude.
TEST(InputFamilies, OutlierScaleScalesTheSameChannelsOfQAndK) {
  const AttnDims dims = make_dims(2, 4, 2, 9, 11, 64, false);  // GQA 2:1
  const InputSpec normal = make_input(Distribution::Normal, 3);
  InputSpec scaled = make_input(Distribution::OutlierScale, 3);
  scaled.outlier_magnitude = 20;
  scaled.q_outlier_magnitude = 5;
  scaled.outlier_channels = 4;
  auto check = [&](TensorId t, int64_t heads, int64_t seq, float factor) {
    for (int64_t b = 0; b < dims.batch; ++b)
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t kv_head = t == TensorId::Q ? h / dims.group_size() : h;
        const uint64_t kv_bh = static_cast<uint64_t>(b * dims.kv_heads + kv_head);
        int outliers = 0;
        for (int64_t c = 0; c < dims.head_dim; ++c) {
          const bool outlier = is_outlier_channel(3, kv_bh, c, dims.head_dim, 4);
          outliers += outlier;
          for (int64_t j = 0; j < seq; ++j) {
            const uint64_t i = static_cast<uint64_t>(((b * heads + h) * seq + j) * dims.head_dim + c);
            const float base = value_of(dims, normal, t, i);
            ASSERT_EQ(value_of(dims, scaled, t, i), outlier ? base * factor : base) << i;
          }
        }
        ASSERT_EQ(outliers, 4);
      }
  };
  check(TensorId::Q, dims.heads, dims.seq_q, 5.f);
  check(TensorId::K, dims.kv_heads, dims.seq_kv, 20.f);
  check(TensorId::V, dims.kv_heads, dims.seq_kv, 1.f);
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += double{a[c]} * b[c];
  return s;
}

// attention-sink: the first sink_tokens keys have a large norm and a clearly positive
// score with (almost) every query; other keys and V are normal.
TEST(InputFamilies, AttentionSinkKeysAreLargeAndAlignedWithTheQueries) {
  const AttnDims dims = make_dims(1, 2, 1, 200, 300, 128, false);
  InputSpec sink = make_input(Distribution::AttentionSink, 5);
  sink.sink_tokens = 2;
  const host::HostQKV in = host::generate_inputs(dims, sink);
  const host::HostQKV plain = host::generate_inputs(dims, make_input(Distribution::Normal, 5));
  const int64_t d = dims.head_dim;
  EXPECT_EQ(in.v, plain.v);
  for (int64_t j = 0; j < dims.seq_kv; ++j) {
    const double norm = std::sqrt(dot(&in.k[j * d], &in.k[j * d], d));
    if (j < 2) {
      EXPECT_GT(norm, 1.8 * std::sqrt(double(d))) << j;  // ≈ sqrt(1 + 2²)·sqrt(d)
    } else {
      ASSERT_EQ(std::vector<float>(&in.k[j * d], &in.k[(j + 1) * d]),
                std::vector<float>(&plain.k[j * d], &plain.k[(j + 1) * d])) << j;
    }
  }
  int aligned = 0;
  for (int64_t i = 0; i < dims.heads * dims.seq_q; ++i) {
    const double score = dot(&in.q[i * d], &in.k[0], d) / std::sqrt(double(d));
    aligned += score > 5.0;  // a normal key's score has a standard deviation of about 1.1
  }
  EXPECT_GT(aligned, 0.95 * dims.heads * dims.seq_q);
}

TEST(InputFamilies, GeneratorSpecCarriesEveryParameter) {
  InputSpec in = make_input(Distribution::AttentionSink, 77);
  in.scale = 0.5;
  in.sink_tokens = 3;
  in.sink_magnitude = 4;
  in.outlier_magnitude = 7;
  in.q_outlier_magnitude = 6;
  in.outlier_channels = 9;
  const InputGenSpec g = host::generator_spec(in);
  EXPECT_EQ(g.distribution, InputFamily::AttentionSink);
  EXPECT_EQ(g.seed, 77u);
  EXPECT_EQ(g.scale, 0.5f);
  EXPECT_EQ(g.sink_tokens, 3);
  EXPECT_EQ(g.sink_magnitude, 4.f);
  EXPECT_EQ(g.outlier_magnitude, 7.f);
  EXPECT_EQ(g.q_outlier_magnitude, 6.f);
  EXPECT_EQ(g.outlier_channels, 9);
  in.distribution = Distribution::OutlierScale;
  EXPECT_EQ(host::generator_spec(in).distribution, InputFamily::OutlierScale);
}

}  // namespace
}  // namespace int8attn::cpu
