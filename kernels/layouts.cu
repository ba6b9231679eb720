// The quantized buffers of attn_kernels.h: their sizes, their carving from one device
// allocation, and the host-side converters from their device layouts (padded K, transposed
// and key-permuted V) to plain BHSD arrays, for the tests and the comparison with the CPU
// emulation. Host code only.
#include "common/k_groups.h"
#include "kernels/attn_kernels.h"
#include "kernels/sm90/ws_split.h"

namespace int8attn::kernels {

QuantizedSizes quantized_sizes(const AttnDims& dims, const QuantConfig& cfg, bool quantize_v, bool quantize_q) {
  const int64_t skv_pad = padded_seq_kv(dims.seq_kv);
  const int64_t kv_rows = dims.batch * dims.kv_heads;
  QuantizedSizes s;
  s.q8 = quantize_q ? static_cast<size_t>(dims.q_elements()) : 0;
  s.k8 = static_cast<size_t>(kv_rows * skv_pad * dims.head_dim);
  s.v8 = quantize_v ? s.k8 : 0;
  s.q_scale = quantize_q ? sizeof(float) * static_cast<size_t>(dims.batch * dims.heads * qk_groups(dims.seq_q, cfg)) : 0;
  s.k_scale = sizeof(float) * static_cast<size_t>(kv_rows * qk_groups(skv_pad, cfg));
  s.v_scale = quantize_v ? sizeof(float) * static_cast<size_t>(kv_rows * v_scale_blocks(dims.seq_kv, cfg) * dims.head_dim)
                         : 0;
  s.k_mean = sizeof(float) * static_cast<size_t>(kv_rows * dims.head_dim);
  s.k_order = cfg.k_granularity == KGranularity::Grouped ? static_cast<size_t>(kv_rows * skv_pad) : 0;
  if (quantize_v) {
    s.split_slots = int8fa_split_slots(dims, cfg);
    s.split_partials =
        static_cast<size_t>(fa::ws_split_o_bytes(s.split_slots, dims.head_dim) + fa::ws_split_lu_bytes(s.split_slots));
  }
  // The tile walk's counter (int8-fa's and int8-qk's claimed walks), then the split's (int8-fa's).
  s.ws_counters = static_cast<size_t>(fa::ws_counter_words(s.split_slots)) * sizeof(uint32_t);
  return s;
}

size_t quantized_block_bytes(const QuantizedSizes& sizes) { return carved_block_bytes(sizes.parts()); }

QuantizedQKV carve_quantized(const QuantizedSizes& sizes, void* block) {
  const std::array<size_t, 10> bytes = sizes.parts();
  std::array<uint8_t*, 10> at = carve_block(block, bytes);
  for (size_t i = 0; i < at.size(); ++i)
    if (bytes[i] == 0) at[i] = nullptr;  // an unused buffer (no V for int8-qk, no Q where fused)
  return {reinterpret_cast<int8_t*>(at[0]), reinterpret_cast<int8_t*>(at[1]), reinterpret_cast<int8_t*>(at[2]),
          reinterpret_cast<float*>(at[3]),  reinterpret_cast<float*>(at[4]),  reinterpret_cast<float*>(at[5]),
          reinterpret_cast<float*>(at[6]),  reinterpret_cast<float*>(at[7]),  reinterpret_cast<uint32_t*>(at[8]),
          at[7] != nullptr && at[8] != nullptr ? sizes.split_slots : 0, at[9]};
}

cudaError_t clear_ws_counters(const QuantizedQKV& qkv, cudaStream_t stream) {
  if (qkv.ws_counters == nullptr) return cudaSuccess;
  return cudaMemsetAsync(qkv.ws_counters, 0, static_cast<size_t>(fa::ws_counter_words(qkv.split_slots)) * sizeof(uint32_t),
                         stream);
}

namespace {
// Each kv row's first seq_kv rows of `width` elements out of its padded_seq_kv rows.
template <typename T>
void unpad_keys(const AttnDims& dims, int64_t width, const T* padded, T* plain) {
  const int64_t skv_pad = padded_seq_kv(dims.seq_kv);
  for (int64_t r = 0; r < dims.batch * dims.kv_heads; ++r)
    for (int64_t j = 0; j < dims.seq_kv * width; ++j) plain[r * dims.seq_kv * width + j] = padded[r * skv_pad * width + j];
}
}  // namespace

void k8_to_bhsd(const AttnDims& dims, const int8_t* k8_padded, int8_t* k8_bhsd) {
  unpad_keys(dims, dims.head_dim, k8_padded, k8_bhsd);
}

void v8_to_bhsd(const AttnDims& dims, const int8_t* v8_device, int8_t* v8_bhsd) {
  const int64_t skv_pad = padded_seq_kv(dims.seq_kv), d = dims.head_dim;
  for (int64_t r = 0; r < dims.batch * dims.kv_heads; ++r)
    for (int64_t c = 0; c < d; ++c)
      for (int64_t p = 0; p < skv_pad; ++p) {
        const int64_t key = (p & ~int64_t{31}) + v8_key_of_position(static_cast<int>(p & 31));
        if (key < dims.seq_kv) v8_bhsd[(r * dims.seq_kv + key) * d + c] = v8_device[(r * d + c) * skv_pad + p];
      }
}

void k_scale_unpadded(const AttnDims& dims, const QuantConfig& cfg, const float* padded,
                      float* plain) {
  const int64_t n_pad = qk_groups(padded_seq_kv(dims.seq_kv), cfg), n = qk_groups(dims.seq_kv, cfg);
  if (cfg.k_granularity == KGranularity::Grouped) {  // each block's slot: its group scales first (fa::kGroupedOrderOffset)
    for (int64_t r = 0; r < dims.batch * dims.kv_heads; ++r)
      for (int64_t j = 0; j < n; ++j)
        plain[r * n + j] = padded[r * n_pad + j / kKGroupSpan * kKGroupSpan + k_group_of_column(static_cast<int>(j % kKGroupSpan))];
    return;
  }
  for (int64_t r = 0; r < dims.batch * dims.kv_heads; ++r)
    for (int64_t g = 0; g < n; ++g) plain[r * n + g] = padded[r * n_pad + g];
}

void k_order_unpadded(const AttnDims& dims, const uint8_t* padded, uint8_t* plain) {
  unpad_keys(dims, 1, padded, plain);
}

}  // namespace int8attn::kernels
