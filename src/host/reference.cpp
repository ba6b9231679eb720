#include "src/host/reference.h"

#include <cmath>
#include <limits>

#include "common/numerics.h"
#include "src/host/inputs.h"

namespace int8attn::host {
namespace {

// Computes row (b, h, i) into out[0..head_dim), using scores as scratch (seq_kv doubles).
void reference_row_into(const AttnDims& dims, const float* q, const float* k, const float* v,
                        int64_t b, int64_t h, int64_t i, std::vector<double>& scores, double* out) {
  const int64_t d = dims.head_dim;
  const int64_t kv_head = h / dims.group_size();
  const float* q_row = q + ((b * dims.heads + h) * dims.seq_q + i) * d;
  const int64_t kv_offset = (b * dims.kv_heads + kv_head) * dims.seq_kv * d;
  const float* k_head = k + kv_offset;
  const float* v_head = v + kv_offset;
  const double sm_scale = effective_sm_scale(dims);
  const double kMasked = -std::numeric_limits<double>::infinity();

  double row_max = kMasked;
  for (int64_t j = 0; j < dims.seq_kv; ++j) {
    if (dims.causal && !causal_visible(i, j, dims.seq_q, dims.seq_kv)) {
      scores[j] = kMasked;
      continue;
    }
    double dot = 0;
    for (int64_t c = 0; c < d; ++c) dot += static_cast<double>(q_row[c]) * k_head[j * d + c];
    scores[j] = dot * sm_scale;
    row_max = std::max(row_max, scores[j]);
  }
  for (int64_t c = 0; c < d; ++c) out[c] = 0;
  if (row_max == kMasked) return;  // no visible key

  double sum = 0;
  for (int64_t j = 0; j < dims.seq_kv; ++j) {
    if (scores[j] == kMasked) continue;
    const double p = std::exp(scores[j] - row_max);
    sum += p;
    for (int64_t c = 0; c < d; ++c) out[c] += p * v_head[j * d + c];
  }
  for (int64_t c = 0; c < d; ++c) out[c] /= sum;
}

}  // namespace

std::vector<double> reference_row(const AttnDims& dims, const std::vector<float>& q,
                                  const std::vector<float>& k, const std::vector<float>& v,
                                  int64_t b, int64_t h, int64_t i) {
  validate_dims(dims);
  std::vector<double> scores(dims.seq_kv);
  std::vector<double> out(dims.head_dim);
  reference_row_into(dims, q.data(), k.data(), v.data(), b, h, i, scores, out.data());
  return out;
}

std::vector<double> reference_attention(const AttnDims& dims, const std::vector<float>& q,
                                        const std::vector<float>& k, const std::vector<float>& v,
                                        const CpuExec& exec) {
  validate_dims(dims);
  const int64_t heads_total = dims.batch * dims.heads;
  const int threads = resolve_threads(exec.threads, heads_total);
  const TalliedBytes output_bytes(exec.tally, dims.q_elements() * int64_t{sizeof(double)});
  const TalliedBytes scratch_bytes(exec.tally, threads * dims.seq_kv * int64_t{sizeof(double)});
  std::vector<double> out(dims.q_elements());
  parallel_for(heads_total, threads, [&](int64_t bh) {
    std::vector<double> scores(dims.seq_kv);
    const int64_t b = bh / dims.heads, h = bh % dims.heads;
    for (int64_t i = 0; i < dims.seq_q; ++i) {
      double* row = out.data() + (bh * dims.seq_q + i) * dims.head_dim;
      reference_row_into(dims, q.data(), k.data(), v.data(), b, h, i, scores, row);
    }
  });
  return out;
}

Accuracy to_accuracy(const ErrorValues& metrics, const std::array<int64_t, 4>& shape) {
  Accuracy a;
  a.mse = metrics.mse;
  a.max_abs_error = metrics.max_abs_error;
  a.max_abs_index = metrics.max_abs_index;
  const std::array<int64_t, 4> at = unflatten_index(metrics.max_abs_index, shape);
  a.max_abs_at.assign(at.begin(), at.end());
  a.mean_abs_error = metrics.mean_abs_error;
  a.rel_l2 = metrics.rel_l2;
  a.cosine = metrics.cosine;
  a.nonfinite = metrics.nonfinite;
  return a;
}

}  // namespace int8attn::host
