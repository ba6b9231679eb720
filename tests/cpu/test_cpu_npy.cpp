#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/half.h"
#include "src/host/npy.h"

namespace int8attn::host {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("int8attn_cpu_" + std::to_string(::getpid()) + "_" + name)).string();
}

TEST(CpuNpy, RoundTripFloat32AndFloat16) {
  const std::array<int64_t, 4> shape = {2, 3, 4, 5};
  std::vector<float> data(120);
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0.37f * static_cast<float>(i) - 11.f;
  const std::string f32 = temp_path("f32.npy"), f16 = temp_path("f16.npy");
  write_npy(f32, shape, data, NpyDtype::Float32);
  write_npy(f16, shape, data, NpyDtype::Float16);
  const NpyTensor a = read_npy(f32), b = read_npy(f16);
  EXPECT_EQ(a.shape, shape);
  EXPECT_EQ(a.dtype, NpyDtype::Float32);
  EXPECT_EQ(a.data, data);
  EXPECT_EQ(b.dtype, NpyDtype::Float16);
  for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(b.data[i], round_to_half(data[i]));
  // numpy requires the header to end on a 64-byte boundary with '\n'.
  std::ifstream in(f16, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t header_end = 10 + (static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ(header_end % 64, 0u);
  EXPECT_EQ(bytes[header_end - 1], '\n');
  EXPECT_EQ(bytes.size(), header_end + 240);
  std::remove(f32.c_str());
  std::remove(f16.c_str());
}

void write_raw(const std::string& path, const std::string& header, size_t payload_bytes) {
  std::string h = header;
  h.append(63 - (10 + h.size()) % 64, ' ');
  h.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(h.size() & 0xff), static_cast<char>(h.size() >> 8)};
  out.write(len, 2);
  out << h << std::string(payload_bytes, '\0');
}

void expect_read_error(const std::string& header, size_t payload, const std::string& fragment) {
  const std::string path = temp_path("bad.npy");
  write_raw(path, header, payload);
  try {
    read_npy(path);
    ADD_FAILURE() << "no error for " << header;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(CpuNpy, RejectsWhatItCannotRead) {
  expect_read_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 2), }", 16, "dtype");
  expect_read_error("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1, 1, 2), }", 8, "dtype");
  expect_read_error("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1, 1, 2), }", 8, "Fortran");
  expect_read_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 16, "4-D");
  expect_read_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 4), }", 8, "truncated");
  // Accepts a well-formed one written the same way (the helper itself is sound).
  const std::string ok = temp_path("ok.npy");
  write_raw(ok, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 2), }", 8);
  EXPECT_EQ(read_npy(ok).data.size(), 2u);
  std::remove(ok.c_str());
  EXPECT_THROW(read_npy(temp_path("missing.npy")), std::runtime_error);
}

}  // namespace
}  // namespace int8attn::host
