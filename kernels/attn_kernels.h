// Internal to kernels/: the entry points of the fused attention kernels and the quantizer,
// called by the GPU harness (kernels/harness/). src/ never includes this; it sees kernels/api.h.
// All pointers are device pointers; tensors are contiguous BHSD ([batch, heads, seq, dim]);
// every offset is 64-bit. Each function checks its own launches and returns the first
// CUDA error (cudaSuccess when fine); an unsupported problem returns cudaErrorNotSupported.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "common/attn_types.h"
#include "kernels/fused_tuning.h"

namespace int8attn::kernels {

// Q/K/V quantized for the INT8 kernels. K and V are padded along the key axis to
// padded_seq_kv(seq_kv) (a multiple of kKvPad) with zero codes, so the kernels load whole
// key tiles without bounds checks. Layouts:
//   q8:      [batch, heads, seq_q, head_dim]            plain BHSD
//   k8:      [batch, kv_heads, padded_seq_kv, head_dim] rows >= seq_kv are 0
//   v8:      [batch, kv_heads, head_dim, padded_seq_kv] TRANSPOSED (keys contiguous) and,
//            inside every group of 32 keys, position p holds key v8_key_of_position(p), so
//            the S accumulator fragments of m16n8k32 feed the P·V MMA without shuffles
//   q_scale: [batch, heads, n_q_groups]   (groups = tokens, or blocks of qk_block tokens);
//            already folded with sm_scale * log2(e) (numerics.h: fold_softmax_scale)
//   k_scale: [batch, kv_heads, n_k_groups] with groups counted over padded_seq_kv
//            (entries past seq_kv are 0)
//   v_scale: [batch, kv_heads, head_dim]   (per channel, int8_scale of the channel amax); with
//            cfg.v_block == kKvPad, [batch, kv_heads, padded_seq_kv / kKvPad, head_dim]: each
//            128-key tile's own channel amax (the GPU quantizer's one other V block)
//   k_mean:  [batch, kv_heads, head_dim]   (FP32, the subtracted mean when smooth_k; else unwritten)
// For int8-qk, v8/v_scale are unused and the kernel reads the FP16 V directly.
constexpr int64_t kKvPad = 128;
inline int64_t padded_seq_kv(int64_t seq_kv) { return (seq_kv + kKvPad - 1) / kKvPad * kKvPad; }
inline int64_t qk_groups(int64_t tokens, const QuantConfig& cfg) {
  return cfg.qk_granularity == QkGranularity::PerBlock ? (tokens + cfg.qk_block - 1) / cfg.qk_block
                                                       : tokens;
}
// Within a group of 32 keys: which key sits at position p (0..31) of v8's key axis.
// Position 4t+i (t = 0..3, i = 0..3) of each 16-half holds key 2t+i (i < 2) or 8+2t+(i-2).
inline constexpr int v8_key_of_position(int p) {
  const int half16 = p & 16, t = (p & 15) >> 2, i = p & 3;
  return half16 + (i < 2 ? 2 * t + i : 8 + 2 * t + (i - 2));
}
struct QuantizedQKV {
  int8_t* q8 = nullptr;
  int8_t* k8 = nullptr;
  int8_t* v8 = nullptr;
  float* q_scale = nullptr;
  float* k_scale = nullptr;
  float* v_scale = nullptr;
  float* k_mean = nullptr;
  // int8-fa's split-KV workspace (Hopper's 128-key kernels, kernels/sm90/ws_split.h): the last
  // round's split tiles leave their parts' O / l, l and scale here (split_partials: the FP16
  // O of every slot, then the scales); split_slots parts fit.
  // ws_counters: the counter of the dynamic tile walk, then the split's (fa::ws_counter_words).
  // They start at zero (clear_ws_counters once the buffers are carved) and every launch leaves
  // them so: one int8-fa launch at a time per workspace.
  float* split_partials = nullptr;
  uint32_t* ws_counters = nullptr;
  int64_t split_slots = 0;
  // Grouped K (KGranularity::Grouped): [kv rows, padded_seq_kv], each K / V row's key's offset in
  // its 128-key block (common/k_groups.h; the attention's mask reads it); else nullptr.
  uint8_t* k_order = nullptr;
};

// Bytes of each buffer of QuantizedQKV for a problem (the harness allocates them). No Q codes
// or scales without quantize_q (where the attention kernel quantizes Q, attention_quantizes_q).
// split_slots: int8-fa's split-KV part slots (int8fa_split_slots), the two split buffers' size.
struct QuantizedSizes {
  size_t q8 = 0, k8 = 0, v8 = 0, q_scale = 0, k_scale = 0, v_scale = 0, k_mean = 0;
  size_t split_partials = 0, ws_counters = 0;
  int64_t split_slots = 0;
  size_t k_order = 0;
  size_t total() const {
    return q8 + k8 + v8 + q_scale + k_scale + v_scale + k_mean + split_partials + ws_counters + k_order;
  }
  std::array<size_t, 10> parts() const {  // field order
    return {q8, k8, v8, q_scale, k_scale, v_scale, k_mean, split_partials, ws_counters, k_order};
  }
};
QuantizedSizes quantized_sizes(const AttnDims& dims, const QuantConfig& cfg, bool quantize_v,
                               bool quantize_q = true);

// The part slots int8-fa's split-KV may use on the current device for these options (at most
// one a SM, four a tile): 0 where its kernel cannot split (not Hopper's 128-key int8-fa at
// head_dim 128, causal rows, no device).
int64_t int8fa_split_slots(const AttnDims& dims, const QuantConfig& cfg);

// Zeroes QuantizedQKV's ws_counters (nothing without them): once, after carving.
cudaError_t clear_ws_counters(const QuantizedQKV& qkv, cudaStream_t stream);

// Several buffers carved from one device allocation, in order, each on a 256-byte boundary:
// the alignment cudaMalloc gives, so each part is aligned as if allocated alone.
inline constexpr size_t kCarveAlignment = 256;
inline constexpr size_t carve_rounded(size_t bytes) {
  return (bytes + kCarveAlignment - 1) / kCarveAlignment * kCarveAlignment;
}
// Bytes of the one allocation that holds parts of these sizes.
template <size_t N>
size_t carved_block_bytes(const std::array<size_t, N>& part_bytes) {
  size_t total = 0;
  for (size_t bytes : part_bytes) total += carve_rounded(bytes);
  return total;
}
// Where each part starts in `block` (carved_block_bytes of them); an empty part starts where
// the next one does.
template <size_t N>
std::array<uint8_t*, N> carve_block(void* block, const std::array<size_t, N>& part_bytes) {
  std::array<uint8_t*, N> starts{};
  uint8_t* cursor = static_cast<uint8_t*>(block);
  for (size_t i = 0; i < N; ++i) {
    starts[i] = cursor;
    cursor += carve_rounded(part_bytes[i]);
  }
  return starts;
}

// All of QuantizedQKV's buffers in one device allocation: its bytes, and the buffers carved
// from it (a buffer of size 0, e.g. v8 without quantize_v, is nullptr).
size_t quantized_block_bytes(const QuantizedSizes& sizes);
QuantizedQKV carve_quantized(const QuantizedSizes& sizes, void* block);

// Host-side converters from the device layouts above (copied to host memory) to plain
// BHSD / unpadded arrays, for tests and comparison with the CPU emulation.
void k8_to_bhsd(const AttnDims& dims, const int8_t* k8_padded, int8_t* k8_bhsd);
void v8_to_bhsd(const AttnDims& dims, const int8_t* v8_device, int8_t* v8_bhsd);
void k_scale_unpadded(const AttnDims& dims, const QuantConfig& cfg, const float* padded,
                      float* plain);
// QuantizedQKV::k_order ([kv rows, padded_seq_kv]) -> [kv rows, seq_kv] (QuantizedHost::k_order).
void k_order_unpadded(const AttnDims& dims, const uint8_t* padded, uint8_t* plain);

// FP16 Q/K/V -> QuantizedQKV (cfg.v_block 0 or kKvPad, else cudaErrorNotSupported; V only
// when quantize_v; Q only when quantize_q: skip it where the attention kernel quantizes Q
// itself, attention_quantizes_q). Per-thread and grouped K up to kKThreadMaxHeadDim; grouped K
// (KGranularity::Grouped) writes each block's K and V rows in its permuted order and out.k_order
// (cudaErrorInvalidValue without that buffer: quantized_sizes gives it for the config).
cudaError_t quantize_qkv(const AttnDims& dims, const QuantConfig& cfg, const __half* q,
                         const __half* k, const __half* v, bool quantize_v,
                         const QuantizedQKV& out, cudaStream_t stream, bool quantize_q = true);

// Whether int8_flash_attention (int8_pv), given FP16 Q, quantizes Q inside the attention
// kernel on this device and tuning: Hopper's warp-specialized int8-fa kernel at head_dim 128
// with 128-key P blocks (kv_block = v_block = 128), or at 256 (its 64-key kernel), per-token Q
// scales and no rotation. The codes and scales are the quantizer's, bit for bit; the Q half of
// quantize_qkv's work then moves into the kernel (docs/perf-log.md fq1-fq3), from
// kFusedQMinKeys keys on grids of kFusedQMinTilesPerSm 192-row tiles an SM, full rows and causal
// ones alike. Where a CTA walks few tiles, the first tile's Q is quantized while the consumers
// wait; on more, the next tile's is quantized under the current one's products, and the
// quantizer's Q launch costs more than the quantizing warps' issue slots. H100 end to end (s71,
// with every code one FFMA: configs/int8-full-grid.json and configs/int8-causal-grid.json with
// fused_q 0 and 1, one binary, two rounds), time fused against the quantizer's Q, %, by grid:
//   tiles an SM      0.7-1.5         2.7-2.9         5.3-5.8         10.7-11.6       21.3
//   full rows        +4.8 to +8.8    -1.2 to +0.6    -1.1 to -3.9    -1.5 to -6.0    -4.9
//   causal, 2K-4K    +14.2 (1.3)     +2.5 to +4.6    -0.6 to -2.8    -2.9 to -6.4
// Full rows cross near 2.8 tiles an SM, causal ones near 4.4 (a straight line between 2.7 and
// 5.3); one line at 4 costs under 1% either side. (s44 on an H200, before the FFMA codes, put the
// crossings near 4.5 and 5.7, and the line at 5.) Below 1K keys the quantizer's Q wins on any grid
// (+1.2% fused at 512 keys and 11.6 tiles an SM, s43). Not the 64-key kernel: on the quantizer's
// Q it ran 7% faster end to end at 1K keys and within 1% at 4K-32K (s15). FusedTuning::fused_q = 1
// fuses both at any length. False for int8-qk (int8_pv false): its kernel was slower with Q fused.
// At head_dim 256 (128-row tiles) from kFusedQMinKeys keys too, full rows and causal ones, on
// grids of kFusedQMinTilesPerSm256 tiles an SM. H100 end to end, 16 heads on 8 KV heads, fused
// against the quantizer's Q, % (s70, with the quantizing warps' two-row pass; s69's one-row
// pass lost causal 1K by 5.8% and fused causal rows from 2K only):
//   1K × b16 (15.5 tiles an SM)   full −10.4   causal −4.9
//   2K × b1 / b2 / b4 (1.9 / 3.9 / 7.8)   full +2.1 / −3.2 / −5.0   causal +22.7 / −2.9 / −5.9
//   4K × b4, 16K × b1 (15.5)   full −4.0 / −1.0   causal −5.6 / −1.6
// Nothing was measured between 1.9 and 3.9 tiles an SM; straight lines between the two put full
// rows' crossing near 2.7 and causal ones' near 3.7, so one line at 3.5 would cost about 2% at
// most on either side, if the curves are that straight.
inline constexpr int64_t kFusedQMinKeys = 1024;
inline constexpr int64_t kFusedQMinTilesPerSm = 4;
inline constexpr double kFusedQMinTilesPerSm256 = 3.5;
bool attention_quantizes_q(const AttnDims& dims, const QuantConfig& cfg, bool int8_pv);

// Full INT8 flash attention (int8-fa): out [batch, heads, seq_q, head_dim] FP16, with
// numerics.h's block-relative P. Requires cfg.kv_block == 64 with cfg.v_block == 0 (V per
// channel), or on Hopper (the warp-specialized kernel alone) kv_block ==
// v_block == 128 (V per 128-key block); else cudaErrorNotSupported. head_dim 64 or 128.
// q_fp16: the FP16 Q; where attention_quantizes_q, the kernel quantizes it and qkv's Q codes
// and scales are not read (quantize_qkv may skip them), else it is not read (nullptr: never).
cudaError_t int8_flash_attention(const AttnDims& dims, const QuantConfig& cfg,
                                 const QuantizedQKV& qkv, __half* out, cudaStream_t stream,
                                 const __half* q_fp16 = nullptr);

// INT8 QK^T with FP16 P·V (int8-qk); v is the FP16 V. Requires cfg.kv_block == 64 like
// int8-fa; the Hopper kernel steps its online softmax every 128 keys instead (P is relative
// to the running max there, so the step changes only P's FP16 rounding: int8qk_softmax_keys).
// qk.ws_counters: a tile walk's counter, as fp16_flash_attention's tile_counter: the Hopper
// kernel at head_dim 128 claims its causal tiles from it (docs/perf-log.md s60); nullptr:
// round robin.
cudaError_t int8qk_flash_attention(const AttnDims& dims, const QuantConfig& cfg,
                                   const QuantizedQKV& qk, const __half* v, __half* out,
                                   cudaStream_t stream);

// The online-softmax step (keys) of the int8-qk kernel int8qk_flash_attention runs for this
// problem on the current device and tuning: the kv_block its CPU emulation needs.
int int8qk_softmax_keys(const AttnDims& dims, const QuantConfig& cfg);

// The same for fp16-fa (fp16_flash_attention): 128 on Hopper's warp-specialized kernel, else 64.
int fp16_softmax_keys(const AttnDims& dims);

// FP16 flash attention with the same tiling (fp16-fa). tile_counter: one zeroed word that
// Hopper's kernels (head_dim 128 and 64) use to claim causal tiles one at a time (every launch leaves
// it zero; one launch at a time per counter); nullptr deals them round robin.
cudaError_t fp16_flash_attention(const AttnDims& dims, const __half* q, const __half* k,
                                 const __half* v, __half* out, cudaStream_t stream,
                                 uint32_t* tile_counter = nullptr);

// FusedTuning, the development knobs: kernels/fused_tuning.h.
void set_fused_tuning(const FusedTuning& tuning);
const FusedTuning& fused_tuning();  // the tuning in force
int fused_schedule_count();  // valid FusedTuning::schedule values: 0 .. count - 1

// Whether this build carries the sm_90a image (the wgmma int8-fa kernel).
bool sm90a_image_built();

// Whether the fused kernels have an instantiation for this head_dim on this device.
bool fused_kernels_support(int64_t head_dim, int cc_major, int cc_minor);

}  // namespace int8attn::kernels
