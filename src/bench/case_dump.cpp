#include "src/bench/case_dump.h"

#include <filesystem>
#include <stdexcept>

#include "src/host/inputs.h"
#include "src/host/npy.h"

namespace int8attn {

CaseDump::CaseDump(const std::string& root, const BenchCase& c) : dims_(c.dims) {
  if (!root.empty()) dir_ = (std::filesystem::path(root) / c.id).string();
}

// Makes the case's folder on the first write (no folder for a case that wrote nothing). What
// is at the path goes first: a link is removed, not written through (its target may be any
// file), and a hard link leaves its other name's file as it was.
std::string CaseDump::npy_path(const std::string& name) const {
  std::filesystem::create_directories(dir_);
  const std::string path = dir_ + "/" + name + ".npy";
  std::error_code ignored;  // nothing there, or a folder: write_npy then says why it cannot write
  std::filesystem::remove(path, ignored);
  return path;
}

void CaseDump::input(TensorId tensor, const std::vector<float>& values) const {
  if (!on()) return;
  switch (tensor) {
    case TensorId::Q: return host::write_npy(npy_path("q"), host::q_shape(dims_), values, host::NpyDtype::Float16);
    case TensorId::K: return host::write_npy(npy_path("k"), host::kv_shape(dims_), values, host::NpyDtype::Float16);
    case TensorId::V: return host::write_npy(npy_path("v"), host::kv_shape(dims_), values, host::NpyDtype::Float16);
    default: throw std::logic_error("CaseDump: only Q, K and V are inputs");
  }
}

void CaseDump::reference(const std::string& kernel, const std::vector<float>& out) const {
  if (on()) host::write_npy(npy_path(kernel), host::q_shape(dims_), out, host::NpyDtype::Float32);
}

void CaseDump::output(const std::string& kernel, const std::vector<float>& out) const {
  if (on()) host::write_npy(npy_path(kernel), host::q_shape(dims_), out, host::NpyDtype::Float16);
}

}  // namespace int8attn
