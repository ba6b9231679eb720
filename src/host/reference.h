// FP64 attention: the ground truth every kernel is measured against.
// O = softmax(Q K^T * sm_scale + bottom-right causal mask) V, GQA, all in double; a row with
// no visible key outputs zeros. sm_scale is effective_sm_scale(dims) (an FP32 value).
#pragma once
#include <cstdint>
#include <vector>

#include <array>

#include "common/attn_types.h"
#include "common/error_metrics.h"
#include "src/host/parallel.h"
#include "src/model/result.h"

namespace int8attn::host {

// Output row (b, h, i): head_dim values. q is [b, heads, seq_q, d], k/v [b, kv_heads, seq_kv, d].
std::vector<double> reference_row(const AttnDims& dims, const std::vector<float>& q,
                                  const std::vector<float>& k, const std::vector<float>& v,
                                  int64_t b, int64_t h, int64_t i);

// The whole output, [batch, heads, seq_q, head_dim].
std::vector<double> reference_attention(const AttnDims& dims, const std::vector<float>& q,
                                        const std::vector<float>& k, const std::vector<float>& v,
                                        const CpuExec& exec = {});

// A report's accuracy from the error metrics of an output of `shape` (batch, heads, rows,
// cols) against the reference, however they were summed (CPU loop or GPU reduction); the
// worst element's flat index becomes its coordinates.
Accuracy to_accuracy(const ErrorValues& metrics, const std::array<int64_t, 4>& shape);

}  // namespace int8attn::host
