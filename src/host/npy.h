// Minimal .npy reader/writer for attention tensors: float16 or float32, little endian,
// C order, 4-D [batch, heads, seq, head_dim]. Anything else is rejected with a message
// naming the file and what was found. Used by --inputs / --dump on both backends.
//
// The reader trusts nothing in the file: it must be a regular file (a FIFO would block, a
// folder is "not a file"); the header's declared length, every field's length and the
// shape are checked with a linear parser (no regex, no recursion), and the file's size must
// be exactly header + shape × element size before anything is allocated for the data.
#pragma once
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace int8attn::host {

enum class NpyDtype { Float16, Float32 };

// A file that is not a supported .npy, or does not fit the case: bad input (exit 2).
class NpyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr uint32_t kMaxNpyHeaderBytes = 65536;  // numpy itself refuses more than 10 000 by default

struct NpyHeader {
  std::array<int64_t, 4> shape{};  // [batch, heads, seq, head_dim]
  NpyDtype dtype = NpyDtype::Float32;
  int64_t data_offset = 0;   // bytes before the data
  int64_t element_count = 0;
};

struct NpyTensor {
  std::array<int64_t, 4> shape{};  // [batch, heads, seq, head_dim]
  NpyDtype dtype = NpyDtype::Float32;  // as stored in the file
  std::vector<float> data;             // values widened to float, C order
};

// Reads and checks the header, then (with `expected_shape`) the shape, then the file's size
// against the header. Throws NpyError.
NpyHeader read_npy_header(const std::string& path, const std::array<int64_t, 4>* expected_shape = nullptr);

// Reads the whole tensor. With `expected_shape`, a different shape is an error before any
// data is read. Throws NpyError for unsupported files and std::runtime_error for I/O errors.
NpyTensor read_npy(const std::string& path, const std::array<int64_t, 4>* expected_shape = nullptr);

// Writes `data` (product of shape elements) as `dtype`; float16 rounds to nearest even.
// Throws std::runtime_error on I/O errors or a size mismatch.
void write_npy(const std::string& path, const std::array<int64_t, 4>& shape,
               const std::vector<float>& data, NpyDtype dtype);

}  // namespace int8attn::host
