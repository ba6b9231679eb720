// Small helpers shared by the CPU emulation tests and the GPU kernel tests.
#pragma once
#include <cmath>
#include <vector>

#include "common/attn_types.h"
#include "src/cpu/metrics.h"
#include "src/host/inputs.h"
#include "src/model/case.h"

namespace int8attn::cpu::test {

inline AttnDims make_dims(int64_t b, int64_t h, int64_t kv, int64_t sq, int64_t skv, int64_t d, bool causal) {
  AttnDims dims;
  dims.batch = b;
  dims.heads = h;
  dims.kv_heads = kv;
  dims.seq_q = sq;
  dims.seq_kv = skv;
  dims.head_dim = d;
  dims.causal = causal;
  return dims;
}

inline InputSpec make_input(Distribution dist, uint64_t seed) {
  InputSpec in;
  in.distribution = dist;
  in.seed = seed;
  return in;
}

inline double rel_l2(const std::vector<float>& out, const std::vector<double>& ref, const AttnDims& dims) {
  return compute_accuracy(out, ref, host::q_shape(dims)).rel_l2;
}

}  // namespace int8attn::cpu::test
