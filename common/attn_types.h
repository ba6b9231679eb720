// Problem and quantization descriptions shared by the kernels (kernels/), the CPU
// emulation (src/cpu/) and the host harness. Plain C++, no CUDA types.
#pragma once
#include <cstdint>

#include "common/kernel_id.h"

namespace int8attn {

// One attention problem. Tensors are contiguous [batch, heads, seq, head_dim] (BHSD);
// K and V have kv_heads heads (GQA: query head h reads kv head h / (heads / kv_heads)).
// The causal mask is aligned bottom-right when seq_q != seq_kv (FlashAttention >= 2.1):
// query row i may attend key j iff j <= i + (seq_kv - seq_q). A row with no visible key
// (possible when seq_q > seq_kv) outputs zeros.
struct AttnDims {
  int64_t batch = 1;
  int64_t heads = 1;
  int64_t kv_heads = 1;
  int64_t seq_q = 1;
  int64_t seq_kv = 1;
  int64_t head_dim = 64;
  bool causal = false;
  float sm_scale = 0.f;  // 0 means 1/sqrt(head_dim)

  int64_t group_size() const { return heads / kv_heads; }
  int64_t q_elements() const { return batch * heads * seq_q * head_dim; }
  int64_t kv_elements() const { return batch * kv_heads * seq_kv * head_dim; }
};

// FLOPs of attention as every TOPS figure counts them (the report, `profile`, the progress
// line, the CPU backend's limit, the shard cost, tools/kernel_bench): 4*b*h*sq*skv*d (QK^T and
// P·V, two FLOPs per multiply-add), halved when causal whatever seq_q and seq_kv are (the
// exact visible fraction is not used, so every tool's causal TOPS agree).
inline double attention_flops(const AttnDims& d) {
  const double flops = 4.0 * d.batch * d.heads * static_cast<double>(d.seq_q) * d.seq_kv * d.head_dim;
  return d.causal ? flops / 2 : flops;
}

// Tera-operations per second of attention in `latency_ms`: attention_flops / latency; 0 for a
// latency that is not positive.
inline double attention_tops(const AttnDims& d, double latency_ms) {
  if (!(latency_ms > 0)) return 0;
  return attention_flops(d) / (latency_ms * 1e-3) / 1e12;
}

// Granularity of the Q and K scales.
enum class QkGranularity : int32_t {
  PerToken = 0,  // one scale per (batch, head, token)
  PerBlock = 1,  // one scale per (batch, head, block of qk_block tokens)
};

// K's scales beside Q's (Q's follow qk_granularity alone).
enum class KGranularity : int32_t {
  AsQ = 0,        // qk_granularity's
  PerThread = 1,  // with per-token Q: one scale per thread group of keys (k_thread_group), stored
                  // per token (each key its group's scale), so every kernel reads it as per-token
  Grouped = 2,    // with per-token Q and 128-key blocks: one scale per group of 8 keys led by the
                  // block's largest keys, each full 128-key block's keys (and V's) permuted to
                  // their groups' columns (common/k_groups.h); stored per token like PerThread
};

// KGranularity::PerThread's groups: within each 128-key span, the 32 keys j with the same
// (j mod 8) div 2. In the MMA accumulator layout of S (Ampere's mma.sync and Hopper's wgmma
// alike) a thread holds the columns 2t and 2t + 1 of every 8-key n-tile, so each thread's scores
// of a 128-key block share one K scale (SageAttention 2's per-thread granularity): the kernel then
// scales a row's max and the exponent's argument once instead of every score.
inline constexpr int64_t kKThreadSpan = 128;
inline constexpr int64_t kKThreadGroups = 4;  // a span's groups: (j mod 8) div 2 in 0..3
constexpr int64_t k_thread_group(int64_t key) { return (key / kKThreadSpan) * kKThreadGroups + (key % 8) / 2; }

// How the softmax probabilities P are quantized for the P·V product (int8-fa only).
enum class PQuant : int32_t {
  S8x127 = 0,  // round(p*127) as int8, s8 x s8 MMA (INT-FlashAttention)
  U8x255 = 1,  // round(p*255) as uint8, u8 x s8 MMA (twice the resolution)
};

// Orthogonal rotation of Q and K rows before their scales are computed (common/hadamard.h).
// (QH)(KH)ᵀ = QKᵀ, so scores are unchanged, while a few loud channels are spread over all
// of them and stop setting every token's scale. The attention kernels do not see it.
enum class QkRotation : int32_t {
  None = 0,
  Hadamard = 1,  // Walsh–Hadamard transform of head_dim (a power of two)
};

// The online-softmax step of the GPU's INT8 kernels (int8-fa's P-code block; kernels/ calls it
// fa::kBlockN): they run only this QuantConfig::kv_block, the CPU emulation any.
inline constexpr int32_t kGpuKvBlock = 64;
// int8-fa's other P-code block on the GPU, with V scaled per the same keys (kv_block and
// v_block both this): Hopper's warp-specialized kernel (kernels/ calls it fa::kWsFaWideKeys).
inline constexpr int32_t kGpuWideKvBlock = 128;

// What the GPU's fused attention kernels (int8-fa, int8-qk, fp16-fa) are compiled for: these
// head dims (kernels/instances.h), from compute capability 8.0 (mma.sync). int8-fa also at 256,
// on its mma.sync kernel on every GPU and on Hopper on its warp-specialized 64-key kernel where
// ws_by_default (kernels/fused_attention.cu) takes it (Hopper's other kernels stop at 128);
// int8-qk's and fp16-fa's FP16 tiles of 512-byte rows do not fit their layouts. The kernels'
// dispatch and the registry's rules both read them.
inline constexpr int64_t kFusedHeadDims[] = {64, 128};
inline constexpr int64_t kInt8FaHeadDims[] = {64, 128, 256};
inline constexpr int kFusedMinCcMajor = 8;
// The GPU quantizer's K per thread group (KGranularity::PerThread) stages a group's 128-key span
// whole in a CTA: up to head_dim 128.
inline constexpr int64_t kKThreadMaxHeadDim = 128;
// Hopper's warp-specialized and wgmma kernels of all three variants, and int8-fa's 128-key P
// blocks: kFusedHeadDims.
constexpr bool hopper_kernels_head_dim(int64_t head_dim) {
  for (const int64_t d : kFusedHeadDims)
    if (d == head_dim) return true;
  return false;
}
constexpr bool fused_head_dim(KernelId kernel, int64_t head_dim) {
  if (kernel == KernelId::Int8Full) {
    for (const int64_t d : kInt8FaHeadDims)
      if (d == head_dim) return true;
  }
  return hopper_kernels_head_dim(head_dim);
}

// Every numeric choice of the INT8 path. The CPU emulation and the GPU kernels read the
// same struct, so a choice made here changes both the same way.
struct QuantConfig {
  QkGranularity qk_granularity = QkGranularity::PerToken;
  int32_t qk_block = 64;          // tokens per scale when qk_granularity == PerBlock
  KGranularity k_granularity = KGranularity::AsQ;  // PerThread, Grouped: need qk_granularity PerToken
                                                   // (Grouped kv_block 128 too)
  bool smooth_k = true;           // subtract the per-channel mean of K over tokens
  PQuant p_quant = PQuant::U8x255;
  bool l_from_quantized_p = false;  // row sum l accumulates quantized p (else exact p)
  int32_t kv_block = kGpuKvBlock;          // keys per online-softmax step (the running max is
                                  // updated once per block; P's rounding depends on it)
  QkRotation rotation = QkRotation::None;  // applied after K smoothing (K - mean, then H)
  int32_t v_block = 0;  // int8-fa's V: keys per scale of each channel; 0 one scale a channel over the
                        // whole head, else a multiple of kv_block (a P block's INT32 P·V shares one)
};

// V scale blocks of a kv head of seq_kv keys (1 when cfg.v_block is 0).
inline int64_t v_scale_blocks(int64_t seq_kv, const QuantConfig& cfg) {
  return cfg.v_block > 0 ? (seq_kv + cfg.v_block - 1) / cfg.v_block : 1;
}

}  // namespace int8attn
