#include "src/cpu/online_softmax.h"

namespace int8attn::cpu {

std::vector<double> two_pass_softmax(const float* s, int64_t n, int64_t n_visible) {
  std::vector<double> p(n, 0.0);
  if (n_visible <= 0) return p;
  double row_max = s[0];
  for (int64_t j = 1; j < n_visible; ++j) row_max = std::max(row_max, static_cast<double>(s[j]));
  double sum = 0;
  for (int64_t j = 0; j < n_visible; ++j) {
    p[j] = std::exp2(s[j] - row_max);
    sum += p[j];
  }
  for (int64_t j = 0; j < n_visible; ++j) p[j] /= sum;
  return p;
}

std::vector<double> two_pass_attention_row(const float* s, int64_t n, int64_t n_visible,
                                           const float* v, int64_t head_dim) {
  const std::vector<double> p = two_pass_softmax(s, n, n_visible);
  std::vector<double> out(head_dim, 0.0);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t c = 0; c < head_dim; ++c) out[c] += p[j] * v[j * head_dim + c];
  }
  return out;
}

std::vector<float> online_attention_row_exact(const float* s, int64_t n, int64_t n_visible,
                                              const float* v, int64_t head_dim, int64_t kv_block) {
  FloatPV<false> pv{v, head_dim, false, {}, {}};
  std::vector<float> p, acc, out(head_dim);
  online_softmax_row(s, n, n_visible, kv_block, head_dim, pv, p, acc, out.data());
  return out;
}

}  // namespace int8attn::cpu
