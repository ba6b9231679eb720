// Fuzz target: sweep checkpoints (JSON lines). Only ReportError may come out of reading.
#include "src/report/checkpoint.h"
#include "src/report/json_io.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    int8attn::read_checkpoint(int8attn::fuzz::as_file(data, size, ".ckpt.jsonl"));
  } catch (const int8attn::ReportError&) {
  }
  return 0;
}
