// Fuzz target: .npy inputs. Only NpyError may come out of reading, with or without the
// case's shape, and nothing larger than the file may be allocated (the file is tiny).
#include "src/host/npy.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace int8attn::host;
  const std::string path = int8attn::fuzz::as_file(data, size, ".npy");
  const std::array<int64_t, 4> shape = {1, 1, 2, 8};
  for (const std::array<int64_t, 4>* expected : {static_cast<const std::array<int64_t, 4>*>(nullptr), &shape}) {
    try {
      read_npy(path, expected);
    } catch (const NpyError&) {
    }
  }
  return 0;
}
