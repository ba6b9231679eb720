// One fuzz target per parser of user-supplied files (config, report, checkpoint, .npy).
// Each target defines LLVMFuzzerTestOneInput: it must return for any bytes, throwing only
// the parser's documented error, which it swallows; anything else escapes and aborts, which
// libFuzzer (clang, -DINT8ATTN_LIBFUZZER=ON) or tests/fuzz/driver.cpp reports as a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace int8attn::fuzz {

// A file holding `data`, for readers that take a path; one per process, rewritten each call.
// In /dev/shm when there is one: ext4 flushes a truncated-and-rewritten file on close (ms).
inline std::string as_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::filesystem::path dir =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  static const std::string path = (dir / ("int8attn-fuzz-" + std::to_string(::getpid()) + suffix)).string();
  static const bool cleanup = std::atexit([] { std::filesystem::remove(path); }) == 0;
  (void)cleanup;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  return path;
}

}  // namespace int8attn::fuzz
