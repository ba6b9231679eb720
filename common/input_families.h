// The generated input families: the value of element i of Q, K or V as a pure function of
// (spec, dims, tensor, i). The GPU generator (kernels/harness/inputs.cu) and the host one
// (src/host/inputs.cpp) both call generated_input_value, so they compute the same FP32
// operations in the same order (mul_rn/add_rn keep nvcc from fusing them into an FMA the
// host does not do); only logf/cosf inside standard_normal may differ by an ulp.
//
//   normal            scale·n                      n ~ N(0, 1) per element
//   uniform           scale·u                      u ~ U[-1, 1)
//   outlier-channels  K: scale·n + offset          `channels` K channels carry ±magnitude (a
//                                                  constant per channel: what K smoothing removes)
//   outlier-scale     Q: scale·n·q_magnitude, K: scale·n·magnitude on `channels` channels, the
//                    same channels in Q and K (per batch and kv head), others scale·n: loud
//                    channels whose size varies per token, which smoothing cannot remove
//   attention-sink    u ~ N(0, I) a direction per (batch, kv head);
//                    Q: scale·n + kSinkQueryAlignment·scale·u   (every query leans towards u)
//                    K, the first sink_tokens keys: scale·n + sink_magnitude·scale·u
//                    (a large norm, aligned with the queries: they soak up attention, as the
//                    first token does in trained LLMs); other keys and V: scale·n
#pragma once
#include <cstdint>

#include "common/attn_types.h"
#include "common/hd.h"
#include "common/rng.h"

namespace int8attn {

enum class InputFamily : int32_t { Normal, Uniform, OutlierChannels, OutlierScale, AttentionSink };

// The generator's parameters in the precision it computes in.
struct InputGenSpec {
  InputFamily distribution = InputFamily::Normal;
  uint64_t seed = 0;
  float scale = 1.f;
  float outlier_magnitude = 20.f;   // outlier-channels: K offset; outlier-scale: K factor
  float q_outlier_magnitude = 5.f;  // outlier-scale: Q factor
  int64_t outlier_channels = 4;     // outlier-channels, outlier-scale
  float sink_magnitude = 2.f;       // attention-sink: the sink keys' weight on u
  int64_t sink_tokens = 1;          // attention-sink: how many leading keys are sinks
};

// Weight of the sink direction in every query (cos(q, u) ≈ 0.45).
constexpr float kSinkQueryAlignment = 0.5f;

I8A_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

I8A_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// Where flat element i of a BHSD tensor sits.
struct ElementPosition {
  uint64_t kv_bh;   // batch * kv_heads + the kv head the element's head reads
  int64_t token;
  int64_t channel;
};

I8A_HD ElementPosition element_position(const AttnDims& dims, TensorId tensor, uint64_t i) {
  const bool is_q = tensor == TensorId::Q;
  const uint64_t d = static_cast<uint64_t>(dims.head_dim);
  const uint64_t seq = static_cast<uint64_t>(is_q ? dims.seq_q : dims.seq_kv);
  const uint64_t bh = i / (seq * d);
  uint64_t kv_bh = bh;
  if (is_q) {  // query head h reads kv head h / (heads / kv_heads)
    const uint64_t heads = static_cast<uint64_t>(dims.heads), kv_heads = static_cast<uint64_t>(dims.kv_heads);
    kv_bh = (bh / heads) * kv_heads + (bh % heads) / (heads / kv_heads);
  }
  return {kv_bh, static_cast<int64_t>((i / d) % seq), static_cast<int64_t>(i % d)};
}

I8A_HD float generated_input_value(const InputGenSpec& s, const AttnDims& dims, TensorId tensor, uint64_t i) {
  if (s.distribution == InputFamily::Uniform) return mul_rn(uniform_pm1(s.seed, tensor, i), s.scale);
  float value = mul_rn(standard_normal(s.seed, tensor, i), s.scale);
  if (s.distribution == InputFamily::Normal || tensor == TensorId::V) return value;
  const ElementPosition at = element_position(dims, tensor, i);
  switch (s.distribution) {
    case InputFamily::OutlierChannels:
      if (tensor != TensorId::K) return value;
      return add_rn(value, outlier_channel_offset(s.seed, at.kv_bh, at.channel, dims.head_dim, s.outlier_channels,
                                                  s.outlier_magnitude));
    case InputFamily::OutlierScale:
      if (!is_outlier_channel(s.seed, at.kv_bh, at.channel, dims.head_dim, s.outlier_channels)) return value;
      return mul_rn(value, tensor == TensorId::Q ? s.q_outlier_magnitude : s.outlier_magnitude);
    case InputFamily::AttentionSink: {
      const bool sink_key = tensor == TensorId::K && at.token < s.sink_tokens;
      if (tensor == TensorId::K && !sink_key) return value;
      const uint64_t u_index = at.kv_bh * static_cast<uint64_t>(dims.head_dim) + static_cast<uint64_t>(at.channel);
      const float u = mul_rn(standard_normal(s.seed, TensorId::SinkDirection, u_index), s.scale);
      return add_rn(value, mul_rn(sink_key ? s.sink_magnitude : kSinkQueryAlignment, u));
    }
    default:
      return value;
  }
}

}  // namespace int8attn
