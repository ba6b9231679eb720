// Minimal .npy reader/writer for attention tensors: float16 or float32, little endian,
// C order, 4-D [batch, heads, seq, head_dim]. Anything else is rejected with a message
// naming the file and what was found. Used by --inputs / --dump on both backends.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace int8attn::cpu {

enum class NpyDtype { Float16, Float32 };

struct NpyTensor {
  std::array<int64_t, 4> shape{};  // [batch, heads, seq, head_dim]
  NpyDtype dtype = NpyDtype::Float32;  // as stored in the file
  std::vector<float> data;             // values widened to float, C order
};

// Throws std::runtime_error on I/O errors and unsupported files.
NpyTensor read_npy(const std::string& path);

// Writes `data` (product of shape elements) as `dtype`; float16 rounds to nearest even.
// Throws std::runtime_error on I/O errors or a size mismatch.
void write_npy(const std::string& path, const std::array<int64_t, 4>& shape,
               const std::vector<float>& data, NpyDtype dtype);

}  // namespace int8attn::cpu
