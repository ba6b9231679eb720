// Counter-based random numbers for input generation: element i of tensor t under seed s is a
// pure function of (s, t, i), so the GPU generates in parallel, any GPU gives the same
// tensors, and the CPU backend generates the same values (up to the last ulp of logf/cosf
// in the normal distribution, before rounding to FP16).
#pragma once
#include <cmath>
#include <cstdint>

#include "common/hd.h"

namespace int8attn {

// Which tensor a value belongs to; part of the counter.
enum class TensorId : uint32_t { Q = 1, K = 2, V = 3, OutlierChannels = 4, SinkDirection = 5 };

// splitmix64's finaliser: a bijective 64-bit mix.
I8A_HD uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

I8A_HD uint64_t random_bits(uint64_t seed, TensorId tensor, uint64_t index) {
  const uint64_t stream = mix64(seed ^ (static_cast<uint64_t>(tensor) * 0x9e3779b97f4a7c15ull));
  return mix64(stream + index * 0xd1b54a32d192ed03ull);
}

// Uniform in [0, 1), 24 random bits.
I8A_HD float uniform01(uint64_t bits) {
  return static_cast<float>(bits >> 40) * (1.f / 16777216.f);
}

// Uniform in [-1, 1).
I8A_HD float uniform_pm1(uint64_t seed, TensorId tensor, uint64_t index) {
  return 2.f * uniform01(random_bits(seed, tensor, index)) - 1.f;
}

// Standard normal by Box-Muller on two 24-bit halves of one 64-bit draw.
I8A_HD float standard_normal(uint64_t seed, TensorId tensor, uint64_t index) {
  const uint64_t bits = random_bits(seed, tensor, index);
  const float u1 = (static_cast<float>(bits >> 40) + 1.f) * (1.f / 16777216.f);  // (0, 1]
  const float u2 = static_cast<float>((bits >> 16) & 0xffffffu) * (1.f / 16777216.f);
  return sqrtf(-2.f * logf(u1)) * cosf(6.2831853071795865f * u2);
}

// Is channel c one of the `count` outlier channels of (batch, kv_head) = bh? The seed
// picks them: channel k*stride + shift for k < count, distinct and spread over head_dim.
I8A_HD bool is_outlier_channel(uint64_t seed, uint64_t bh, int64_t channel, int64_t head_dim, int64_t count) {
  const uint64_t bits = random_bits(seed, TensorId::OutlierChannels, bh);
  const int64_t stride = count > 0 ? (head_dim / count > 0 ? head_dim / count : 1) : 1;
  const int64_t shift = static_cast<int64_t>(bits % static_cast<uint64_t>(stride));
  const int64_t k = (channel - shift) / stride;
  return channel >= shift && (channel - shift) % stride == 0 && k < count;
}

// Outlier-channel inputs: channel c of K carries a constant offset of +/-magnitude across
// all tokens (as real LLM keys do) when it is one of `count` channels picked by the seed.
// Returns the offset for channel c of (batch, kv_head) = bh, or 0.
I8A_HD float outlier_channel_offset(uint64_t seed, uint64_t bh, int64_t channel,
                                    int64_t head_dim, int64_t count, float magnitude) {
  if (!is_outlier_channel(seed, bh, channel, head_dim, count)) return 0.f;
  const bool negative = (random_bits(seed, TensorId::OutlierChannels, bh * 4099u + channel) & 1u);
  return negative ? -magnitude : magnitude;
}

}  // namespace int8attn
