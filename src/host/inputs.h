// Q/K/V for a case on the host, element for element the values the GPU generates
// (common/rng.h), rounded to FP16 and stored as floats.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "common/attn_types.h"
#include "common/input_families.h"
#include "common/rng.h"
#include "src/model/case.h"

namespace int8attn::host {

// FP16-representable values in BHSD layout; K and V have dims.kv_heads heads.
struct HostQKV {
  std::vector<float> q, k, v;
};

// The generator's parameters for an input spec; the GPU backend passes the same struct to
// kernels/harness/inputs.cu, so both sides start from the same floats.
InputGenSpec generator_spec(const InputSpec& input);

// Value of flat element `index` of `tensor` before FP16 rounding: generated_input_value
// (common/input_families.h), the function the GPU generator runs.
float generated_value(const AttnDims& dims, const InputSpec& input, TensorId tensor, uint64_t index);

// Generates the three tensors (input.npy_dir is ignored here; see load_inputs).
HostQKV generate_inputs(const AttnDims& dims, const InputSpec& input);

// Reads q.npy, k.npy, v.npy from `dir`, checks their shapes against dims and rounds the
// values to FP16 (a float32 file is accepted; the kernels see FP16). Throws NpyError on a
// mismatch or a value that is not finite in FP16 (NaN, inf, |x| > 65504).
HostQKV load_inputs(const AttnDims& dims, const std::string& dir);

// load_inputs' checks before a sweep, so bad files stop it with exit 2 and nothing written:
// each file exists, is a regular .npy of the case's shape with exactly the bytes its header
// declares (all three checked before any data is read), and every value is finite in FP16.
// Throws NpyError.
void check_input_files(const AttnDims& dims, const std::string& dir);

// generate_inputs or load_inputs, as the spec says.
HostQKV make_inputs(const AttnDims& dims, const InputSpec& input);

std::array<int64_t, 4> q_shape(const AttnDims& dims);   // also the output's shape
std::array<int64_t, 4> kv_shape(const AttnDims& dims);

// {b, h, row, col} of a flat index into a tensor of `shape`.
std::array<int64_t, 4> unflatten_index(int64_t index, const std::array<int64_t, 4>& shape);

// Throws std::invalid_argument for sizes no attention can have (non-positive sizes,
// heads not a multiple of kv_heads).
void validate_dims(const AttnDims& dims);

}  // namespace int8attn::host
