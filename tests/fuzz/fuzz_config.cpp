// Fuzz target: sweep configs. Only ConfigError may come out of parse_sweep_config.
#include "src/config/sweep_config.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    int8attn::parse_sweep_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
  } catch (const int8attn::ConfigError&) {
  }
  return 0;
}
