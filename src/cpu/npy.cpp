#include "src/cpu/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>

#include <fmt/format.h>

#include "common/half.h"

namespace int8attn::cpu {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", path, what));
}

int64_t element_count(const std::array<int64_t, 4>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

// Value of `key` in the header dict, e.g. "'<f2'" or "(1, 2, 3, 4)".
std::string header_field(const std::string& header, const std::string& key, const std::string& path) {
  const std::regex pattern("'" + key + "'\\s*:\\s*('[^']*'|True|False|\\([^)]*\\))");
  std::smatch m;
  if (!std::regex_search(header, m, pattern)) fail(path, "npy header has no '" + key + "' field");
  return m[1].str();
}

std::array<int64_t, 4> parse_shape(const std::string& tuple, const std::string& path) {
  std::vector<int64_t> dims;
  const std::regex number("\\d+");
  for (auto it = std::sregex_iterator(tuple.begin(), tuple.end(), number); it != std::sregex_iterator(); ++it) {
    dims.push_back(std::stoll(it->str()));
  }
  if (dims.size() != 4) {
    fail(path, fmt::format("expected a 4-D shape [batch, heads, seq, head_dim], got {}", tuple));
  }
  return {dims[0], dims[1], dims[2], dims[3]};
}

}  // namespace

NpyTensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  char magic[kMagicLen];
  unsigned char version[2];
  in.read(magic, kMagicLen);
  in.read(reinterpret_cast<char*>(version), 2);
  if (!in || std::memcmp(magic, kMagic, kMagicLen) != 0) fail(path, "not a .npy file (bad magic)");
  uint32_t header_len = 0;
  if (version[0] == 1) {
    unsigned char len[2];
    in.read(reinterpret_cast<char*>(len), 2);
    header_len = len[0] | (len[1] << 8);
  } else if (version[0] == 2 || version[0] == 3) {
    unsigned char len[4];
    in.read(reinterpret_cast<char*>(len), 4);
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<uint32_t>(len[3]) << 24);
  } else {
    fail(path, fmt::format("unsupported .npy version {}.{}", version[0], version[1]));
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) fail(path, "truncated .npy header");

  NpyTensor tensor;
  const std::string descr = header_field(header, "descr", path);
  if (descr == "'<f2'") {
    tensor.dtype = NpyDtype::Float16;
  } else if (descr == "'<f4'") {
    tensor.dtype = NpyDtype::Float32;
  } else {
    fail(path, "dtype " + descr + " not supported (use little-endian float16 '<f2' or float32 '<f4')");
  }
  if (header_field(header, "fortran_order", path) != "False") {
    fail(path, "Fortran-order arrays are not supported (save a C-contiguous array)");
  }
  tensor.shape = parse_shape(header_field(header, "shape", path), path);

  const int64_t count = element_count(tensor.shape);
  tensor.data.resize(count);
  if (tensor.dtype == NpyDtype::Float16) {
    std::vector<uint16_t> bits(count);
    in.read(reinterpret_cast<char*>(bits.data()), count * 2);
    for (int64_t i = 0; i < count; ++i) tensor.data[i] = half_bits_to_float(bits[i]);
  } else {
    in.read(reinterpret_cast<char*>(tensor.data.data()), count * 4);
  }
  if (!in) fail(path, fmt::format("truncated data: expected {} elements", count));
  return tensor;
}

void write_npy(const std::string& path, const std::array<int64_t, 4>& shape,
               const std::vector<float>& data, NpyDtype dtype) {
  const int64_t count = element_count(shape);
  if (static_cast<int64_t>(data.size()) != count) {
    fail(path, fmt::format("write_npy: {} values for shape with {} elements", data.size(), count));
  }
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
                                   dtype == NpyDtype::Float16 ? "<f2" : "<f4", shape[0], shape[1],
                                   shape[2], shape[3]);
  // Pad with spaces so magic + version + length + header + '\n' is a multiple of 64.
  const size_t preamble = kMagicLen + 2 + 2;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header.push_back('\n');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open for writing");
  const unsigned char version[2] = {1, 0};
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(kMagic, kMagicLen);
  out.write(reinterpret_cast<const char*>(version), 2);
  out.write(reinterpret_cast<const char*>(len), 2);
  out.write(header.data(), header.size());
  if (dtype == NpyDtype::Float16) {
    std::vector<uint16_t> bits(count);
    for (int64_t i = 0; i < count; ++i) bits[i] = float_to_half_bits(data[i]);
    out.write(reinterpret_cast<const char*>(bits.data()), count * 2);
  } else {
    out.write(reinterpret_cast<const char*>(data.data()), count * 4);
  }
  if (!out) fail(path, "write failed");
}

}  // namespace int8attn::cpu
