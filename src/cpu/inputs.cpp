#include "src/cpu/inputs.h"

#include <stdexcept>

#include <fmt/format.h>

#include "common/half.h"
#include "src/cpu/npy.h"

namespace int8attn::cpu {

std::array<int64_t, 4> q_shape(const AttnDims& d) { return {d.batch, d.heads, d.seq_q, d.head_dim}; }
std::array<int64_t, 4> kv_shape(const AttnDims& d) { return {d.batch, d.kv_heads, d.seq_kv, d.head_dim}; }

void validate_dims(const AttnDims& d) {
  if (d.batch <= 0 || d.heads <= 0 || d.kv_heads <= 0 || d.seq_q <= 0 || d.seq_kv <= 0 || d.head_dim <= 0) {
    throw std::invalid_argument("attention sizes must be positive");
  }
  if (d.heads % d.kv_heads != 0) {
    throw std::invalid_argument(fmt::format("heads ({}) must be a multiple of kv_heads ({})", d.heads, d.kv_heads));
  }
}

float generated_value(const AttnDims& dims, const InputSpec& input, TensorId tensor, uint64_t index) {
  const float scale = static_cast<float>(input.scale);
  if (input.distribution == Distribution::Uniform) return uniform_pm1(input.seed, tensor, index) * scale;
  float value = standard_normal(input.seed, tensor, index) * scale;
  if (input.distribution == Distribution::OutlierChannels && tensor == TensorId::K) {
    const uint64_t tokens_per_head = static_cast<uint64_t>(dims.seq_kv * dims.head_dim);
    const uint64_t bh = index / tokens_per_head;  // = b * kv_heads + kv_head
    const int64_t channel = static_cast<int64_t>(index % static_cast<uint64_t>(dims.head_dim));
    value += outlier_channel_offset(input.seed, bh, channel, dims.head_dim, input.outlier_channels,
                                    static_cast<float>(input.outlier_magnitude));
  }
  return value;
}

namespace {

std::vector<float> generate_tensor(const AttnDims& dims, const InputSpec& input, TensorId tensor,
                                   int64_t count) {
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) {
    values[i] = round_to_half(generated_value(dims, input, tensor, static_cast<uint64_t>(i)));
  }
  return values;
}

std::vector<float> load_tensor(const std::string& path, const std::array<int64_t, 4>& expected) {
  NpyTensor t = read_npy(path);
  if (t.shape != expected) {
    throw std::runtime_error(fmt::format("{}: shape ({}, {}, {}, {}) does not match the case ({}, {}, {}, {})",
                                         path, t.shape[0], t.shape[1], t.shape[2], t.shape[3], expected[0],
                                         expected[1], expected[2], expected[3]));
  }
  for (float& x : t.data) x = round_to_half(x);
  return std::move(t.data);
}

}  // namespace

HostQKV generate_inputs(const AttnDims& dims, const InputSpec& input) {
  validate_dims(dims);
  return {generate_tensor(dims, input, TensorId::Q, dims.q_elements()),
          generate_tensor(dims, input, TensorId::K, dims.kv_elements()),
          generate_tensor(dims, input, TensorId::V, dims.kv_elements())};
}

HostQKV load_inputs(const AttnDims& dims, const std::string& dir) {
  validate_dims(dims);
  return {load_tensor(dir + "/q.npy", q_shape(dims)), load_tensor(dir + "/k.npy", kv_shape(dims)),
          load_tensor(dir + "/v.npy", kv_shape(dims))};
}

HostQKV make_inputs(const AttnDims& dims, const InputSpec& input) {
  return input.npy_dir.empty() ? generate_inputs(dims, input) : load_inputs(dims, input.npy_dir);
}

}  // namespace int8attn::cpu
