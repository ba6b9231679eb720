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

InputGenSpec generator_spec(const InputSpec& input) {
  InputGenSpec g;
  switch (input.distribution) {
    case Distribution::Normal: g.distribution = InputFamily::Normal; break;
    case Distribution::Uniform: g.distribution = InputFamily::Uniform; break;
    case Distribution::OutlierChannels: g.distribution = InputFamily::OutlierChannels; break;
    case Distribution::OutlierScale: g.distribution = InputFamily::OutlierScale; break;
    case Distribution::AttentionSink: g.distribution = InputFamily::AttentionSink; break;
  }
  g.seed = input.seed;
  g.scale = static_cast<float>(input.scale);
  g.outlier_magnitude = static_cast<float>(input.outlier_magnitude);
  g.q_outlier_magnitude = static_cast<float>(input.q_outlier_magnitude);
  g.outlier_channels = input.outlier_channels;
  g.sink_magnitude = static_cast<float>(input.sink_magnitude);
  g.sink_tokens = input.sink_tokens;
  return g;
}

float generated_value(const AttnDims& dims, const InputSpec& input, TensorId tensor, uint64_t index) {
  return generated_input_value(generator_spec(input), dims, tensor, index);
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
