#include "src/host/inputs.h"

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "common/half.h"
#include "src/host/npy.h"

namespace int8attn::host {

std::array<int64_t, 4> q_shape(const AttnDims& d) { return {d.batch, d.heads, d.seq_q, d.head_dim}; }
std::array<int64_t, 4> kv_shape(const AttnDims& d) { return {d.batch, d.kv_heads, d.seq_kv, d.head_dim}; }

std::array<int64_t, 4> unflatten_index(int64_t index, const std::array<int64_t, 4>& shape) {
  std::array<int64_t, 4> at{};
  for (int axis = 3; axis >= 0; --axis) {
    at[axis] = index % shape[axis];
    index /= shape[axis];
  }
  return at;
}

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
    if (!std::isfinite(values[i])) {  // config limits keep this away; never judge such inputs
      throw std::invalid_argument(fmt::format("generated {} element {} is not finite in FP16 (scale {} too large)",
                                              tensor == TensorId::Q ? "Q" : tensor == TensorId::K ? "K" : "V", i,
                                              input.scale));
    }
  }
  return values;
}

// Index (b, h, s, d) of flat element i, for messages.
std::string element_at(int64_t i, const std::array<int64_t, 4>& shape) {
  const std::array<int64_t, 4> at = unflatten_index(i, shape);
  return fmt::format("({}, {}, {}, {})", at[0], at[1], at[2], at[3]);
}

// Rounds to FP16 in place; a value that is not finite there (NaN, inf, |x| > 65504) would
// make every kernel's output meaningless, so it is refused with its position.
void round_to_half_checked(std::vector<float>& values, const std::array<int64_t, 4>& shape,
                           const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i) {
    const float original = values[i];
    values[i] = round_to_half(original);
    if (!std::isfinite(values[i])) {
      throw NpyError(fmt::format("{}: element {} is {}, not finite in FP16 (expected finite values with "
                                 "|x| <= 65504)", what, element_at(static_cast<int64_t>(i), shape), original));
    }
  }
}

std::vector<float> load_tensor(const std::string& path, const std::array<int64_t, 4>& expected) {
  NpyTensor t = read_npy(path, &expected);
  round_to_half_checked(t.data, expected, path);
  return std::move(t.data);
}

void check_tensor_file(const std::string& path, const std::array<int64_t, 4>& expected) {
  read_npy_header(path, &expected);
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

void check_input_files(const AttnDims& dims, const std::string& dir) {
  validate_dims(dims);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw NpyError(fmt::format("{}: expected a folder holding q.npy, k.npy and v.npy, found {}", dir,
                               std::filesystem::exists(dir, ec) ? "a file" : "nothing"));
  }
  check_tensor_file(dir + "/q.npy", q_shape(dims));
  check_tensor_file(dir + "/k.npy", kv_shape(dims));
  check_tensor_file(dir + "/v.npy", kv_shape(dims));
  // Then the values, one tensor at a time (a non-finite value is bad input, not a kernel error).
  load_tensor(dir + "/q.npy", q_shape(dims));
  load_tensor(dir + "/k.npy", kv_shape(dims));
  load_tensor(dir + "/v.npy", kv_shape(dims));
}

HostQKV make_inputs(const AttnDims& dims, const InputSpec& input) {
  return input.npy_dir.empty() ? generate_inputs(dims, input) : load_inputs(dims, input.npy_dir);
}

}  // namespace int8attn::host
