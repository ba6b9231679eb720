// What `--dump DIR` keeps of one case: DIR/<case id>/{q,k,v}.npy (FP16), the reference's output
// as <reference>.npy (FP32: it is the yardstick, so it keeps its precision) and each kernel's
// output as <kernel>.npy (FP16, what the kernel wrote). The runner makes one per case and hands
// it to the backend, which gives it the tensors as it produces them; the file layout is
// decided here once, whichever device the tensors came from.
#pragma once
#include <string>
#include <vector>

#include "common/rng.h"
#include "src/model/case.h"

namespace int8attn {

class CaseDump {
 public:
  CaseDump() = default;  // keeps nothing (no --dump, or the fallback's second try)
  // Keeps the case's tensors under root/<case id>; an empty root keeps nothing.
  CaseDump(const std::string& root, const BenchCase& c);

  // Whether anything is kept: a backend asks before it copies a tensor off the device.
  bool on() const { return !dir_.empty(); }

  // Each writes only when on(); the case's folder is made at the first write, so a case
  // whose inputs cannot be made leaves none. Throws std::runtime_error on I/O errors.
  void input(TensorId tensor, const std::vector<float>& values) const;  // Q, K or V
  void reference(const std::string& kernel, const std::vector<float>& out) const;
  void output(const std::string& kernel, const std::vector<float>& out) const;

 private:
  std::string npy_path(const std::string& name) const;

  std::string dir_;
  AttnDims dims_;
};

}  // namespace int8attn
