// FP16 Q/K/V -> the INT8 layouts of attn_kernels.h. Every rounding goes through
// common/numerics.h, and every reduction whose order matters runs in the CPU emulation's
// order (src/cpu/quantize.cpp), so codes and scales match quantize_qkv_host bit for bit:
//   K mean: FP32 sum over tokens in token order, / float(seq_kv)     (one thread per channel)
//   amax:   max of |x| (order-free), scales int8_scale(amax), Q's folded with sm_scale*log2e
#include <cuda_fp16.h>

#include "common/numerics.h"
#include "kernels/attn_kernels.h"

namespace int8attn::kernels {
namespace {

constexpr int kThreads = 256;

// k_mean[bk, c] = (sum over tokens of K[bk, j, c]) / seq, each sum in token order (as the
// CPU does it). A CTA owns 32 channels of one kv head: its warps stream tiles of tokens
// through a cp.async ring in shared memory, and warp 0 (one lane per channel) runs the
// sequential FP32 sums from there, so the dependent adds never wait on global memory.
constexpr int kMeanTile = 128, kMeanStages = 4, kMeanThreads = 128;

__global__ void k_mean_kernel(const __half* k, int64_t seq, int64_t d, float* k_mean) {
  __shared__ __align__(16) __half tiles[kMeanStages][kMeanTile][32];
  const int64_t bk = blockIdx.x;
  const int c_base = blockIdx.y * 32;
  const __half* head = k + bk * seq * d + c_base;
  const int n_tiles = static_cast<int>((seq + kMeanTile - 1) / kMeanTile);
  auto load = [&](int tile) {
    if (tile < n_tiles) {
      for (int idx = threadIdx.x; idx < kMeanTile * 4; idx += kMeanThreads) {
        const int row = idx / 4, c0 = (idx % 4) * 8;
        const int64_t j = static_cast<int64_t>(tile) * kMeanTile + row;
        const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(&tiles[tile % kMeanStages][row][c0]));
        const __half* src = head + (j < seq ? j : 0) * d + c0;
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(j < seq ? 16 : 0)
                     : "memory");
      }
    }
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  };
  for (int s = 0; s < kMeanStages - 1; ++s) load(s);
  float sum = 0.f;
  for (int tile = 0; tile < n_tiles; ++tile) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kMeanStages - 2) : "memory");
    __syncthreads();  // tile landed; the slot loaded next was summed by warp 0 last step
    load(tile + kMeanStages - 1);
    if (threadIdx.x < 32) {
      const int rows = static_cast<int>(min(int64_t{kMeanTile}, seq - static_cast<int64_t>(tile) * kMeanTile));
      const __half* col = &tiles[tile % kMeanStages][0][threadIdx.x];
#pragma unroll 8
      for (int r = 0; r < rows; ++r) sum += __half2float(col[r * 32]);
    }
  }
  if (threadIdx.x < 32) k_mean[bk * d + c_base + threadIdx.x] = sum / static_cast<float>(seq);
}

struct GroupQuantArgs {
  const __half* src;      // [n_heads, seq, d]
  int64_t seq;            // valid tokens per head
  int64_t out_rows;       // rows written per head (>= seq; the rest are zero codes)
  int64_t d;
  int64_t group;          // tokens per scale
  int64_t n_groups;       // groups per head over out_rows
  int64_t heads_total;
  const float* shift;     // [n_heads, d] subtracted first (K smoothing) or nullptr
  float fold;             // > 0: scale folded with this (sm_scale for Q), else plain
  int8_t* codes;          // [n_heads, out_rows, d]
  float* scales;          // [n_heads, n_groups]
};

// One warp per scale group: amax over the group's valid tokens, then the codes.
__global__ void quantize_groups_kernel(const GroupQuantArgs a) {
  const int64_t warp_global = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp_global >= a.heads_total * a.n_groups) return;
  const int64_t head = warp_global / a.n_groups, grp = warp_global % a.n_groups;
  const int64_t t0 = grp * a.group;
  const int64_t t_out = min(a.group, a.out_rows - t0);     // rows this group writes
  const int64_t t_valid = max(int64_t{0}, min(a.group, a.seq - t0));
  const int64_t chunks_per_row = a.d / 8;
  const __half* src = a.src + (head * a.seq + t0) * a.d;
  const float* shift = a.shift ? a.shift + head * a.d : nullptr;

  auto load8 = [&](int64_t idx, float (&x)[8]) {
    const int64_t row = idx / chunks_per_row, c0 = (idx % chunks_per_row) * 8;
    const uint4 raw = *reinterpret_cast<const uint4*>(src + row * a.d + c0);
    const __half* h = reinterpret_cast<const __half*>(&raw);
#pragma unroll
    for (int e = 0; e < 8; ++e) x[e] = shift ? __half2float(h[e]) - shift[c0 + e] : __half2float(h[e]);
  };
  float amax = 0.f;
  for (int64_t idx = lane; idx < t_valid * chunks_per_row; idx += 32) {
    float x[8];
    load8(idx, x);
#pragma unroll
    for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const float inv = int8_inv_scale(amax);
  int8_t* codes = a.codes + (head * a.out_rows + t0) * a.d;
  for (int64_t idx = lane; idx < t_out * chunks_per_row; idx += 32) {
    int8_t q[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (idx < t_valid * chunks_per_row) {
      float x[8];
      load8(idx, x);
#pragma unroll
      for (int e = 0; e < 8; ++e) q[e] = quantize_s8(x[e], inv);
    }
    *reinterpret_cast<uint2*>(codes + idx * 8) = *reinterpret_cast<const uint2*>(q);
  }
  if (lane == 0) {
    const float scale = int8_scale(amax);
    a.scales[head * a.n_groups + grp] = a.fold > 0.f ? fold_softmax_scale(scale, a.fold) : scale;
  }
}

// Per-token scales: kD/8 lanes per token, 8 channels each, one pass (codes from registers).
template <int kD>
__global__ void quantize_tokens_kernel(const GroupQuantArgs a) {
  constexpr int kLanes = kD / 8;
  const int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kLanes;
  const int c0 = (threadIdx.x % kLanes) * 8;
  const bool in_range = row < a.heads_total * a.out_rows;  // whole token groups share this
  const int64_t head = in_range ? row / a.out_rows : 0, j = in_range ? row % a.out_rows : 0;
  const bool valid = in_range && j < a.seq;
  float x[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  float amax = 0.f;
  if (valid) {
    const uint4 raw = *reinterpret_cast<const uint4*>(a.src + (head * a.seq + j) * kD + c0);
    const __half* h = reinterpret_cast<const __half*>(&raw);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      x[e] = a.shift ? __half2float(h[e]) - a.shift[head * kD + c0 + e] : __half2float(h[e]);
      amax = fmaxf(amax, fabsf(x[e]));
    }
  }
#pragma unroll
  for (int off = kLanes / 2; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  if (!in_range) return;
  const float inv = int8_inv_scale(amax);
  alignas(8) int8_t q[8];
#pragma unroll
  for (int e = 0; e < 8; ++e) q[e] = quantize_s8(x[e], inv);  // 0 for padded rows (x = 0)
  *reinterpret_cast<uint2*>(a.codes + row * kD + c0) = *reinterpret_cast<const uint2*>(q);
  if (c0 == 0) {
    const float scale = int8_scale(amax);
    a.scales[row] = a.fold > 0.f ? fold_softmax_scale(scale, a.fold) : scale;
  }
}

// amax over tokens per V channel, merged with atomicMax on the (non-negative) float bits.
__global__ void v_amax_kernel(const __half* v, int64_t seq, int64_t d, int64_t tokens_per_cta,
                              unsigned* amax_bits) {
  const int64_t bk = blockIdx.y;
  const int64_t t0 = blockIdx.x * tokens_per_cta, t1 = min(seq, t0 + tokens_per_cta);
  const int lanes_per_token = static_cast<int>(d);
  const int token_step = kThreads / lanes_per_token;
  const int c = threadIdx.x % lanes_per_token;
  float amax = 0.f;
  for (int64_t j = t0 + threadIdx.x / lanes_per_token; j < t1; j += token_step)
    amax = fmaxf(amax, fabsf(__half2float(v[(bk * seq + j) * d + c])));
  atomicMax(amax_bits + bk * d + c, __float_as_uint(amax));
}

// V^T codes for 64 key positions of one kv head: position p of each 32-key group holds key
// v8_key_of_position(p) (attn_kernels.h). Padded keys get code 0.
template <int kD>
__global__ void v_transpose_quantize_kernel(const __half* v, int64_t seq, int64_t padded, const unsigned* amax_bits,
                                            int8_t* v8) {
  __shared__ __half tile[64][kD];
  const int64_t bk = blockIdx.y, j0 = blockIdx.x * int64_t{64};
  for (int idx = threadIdx.x; idx < 64 * kD / 8; idx += kThreads) {
    const int row = idx / (kD / 8), c0 = (idx % (kD / 8)) * 8;
    uint4 raw = make_uint4(0, 0, 0, 0);
    if (j0 + row < seq) raw = *reinterpret_cast<const uint4*>(v + (bk * seq + j0 + row) * kD + c0);
    *reinterpret_cast<uint4*>(&tile[row][c0]) = raw;
  }
  __syncthreads();
  for (int task = threadIdx.x; task < kD * 4; task += kThreads) {
    const int c = task / 4, p0 = (task % 4) * 16;
    const float inv = int8_inv_scale(__uint_as_float(amax_bits[bk * kD + c]));
    alignas(16) int8_t q[16];
#pragma unroll
    for (int e = 0; e < 16; ++e) {
      const int p = p0 + e;
      const int key = (p & ~31) + v8_key_of_position(p & 31);
      q[e] = j0 + key < seq ? quantize_s8(__half2float(tile[key][c]), inv) : int8_t{0};
    }
    *reinterpret_cast<uint4*>(v8 + (bk * kD + c) * padded + j0 + p0) = *reinterpret_cast<const uint4*>(q);
  }
}

__global__ void v_scale_finalize_kernel(float* v_scale, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) v_scale[i] = int8_scale(v_scale[i]);  // the buffer held the amax until here
}

unsigned blocks_for(int64_t n, int64_t per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

cudaError_t quantize_v(const AttnDims& dims, const __half* v, const QuantizedQKV& out, cudaStream_t stream) {
  const int64_t bk = dims.batch * dims.kv_heads, d = dims.head_dim, padded = padded_seq_kv(dims.seq_kv);
  cudaError_t err = cudaMemsetAsync(out.v_scale, 0, sizeof(float) * bk * d, stream);
  if (err != cudaSuccess) return err;
  // Few tokens per CTA: each thread's loads form one serial chain, so short sequences need
  // many CTAs (512 tokens per CTA left 8 CTAs for 512 keys x 8 kv heads: 0.11 ms of latency).
  const int64_t tokens_per_cta = 32;
  v_amax_kernel<<<dim3(blocks_for(dims.seq_kv, tokens_per_cta), static_cast<unsigned>(bk)), kThreads, 0, stream>>>(
      v, dims.seq_kv, d, tokens_per_cta, reinterpret_cast<unsigned*>(out.v_scale));
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>(padded / 64), static_cast<unsigned>(bk));
  const auto* amax = reinterpret_cast<const unsigned*>(out.v_scale);
  if (d == 64) v_transpose_quantize_kernel<64><<<grid, kThreads, 0, stream>>>(v, dims.seq_kv, padded, amax, out.v8);
  else v_transpose_quantize_kernel<128><<<grid, kThreads, 0, stream>>>(v, dims.seq_kv, padded, amax, out.v8);
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  v_scale_finalize_kernel<<<blocks_for(bk * d, kThreads), kThreads, 0, stream>>>(out.v_scale, bk * d);
  return cudaGetLastError();
}

cudaError_t launch_group_quant(const GroupQuantArgs& a, cudaStream_t stream) {
  if (a.group == 1) {  // per token: n_groups == out_rows, scales indexed like rows
    const int64_t threads = a.heads_total * a.out_rows * (a.d / 8);
    if (a.d == 64) quantize_tokens_kernel<64><<<blocks_for(threads, kThreads), kThreads, 0, stream>>>(a);
    else quantize_tokens_kernel<128><<<blocks_for(threads, kThreads), kThreads, 0, stream>>>(a);
    return cudaGetLastError();
  }
  const int64_t warps = a.heads_total * a.n_groups;
  quantize_groups_kernel<<<blocks_for(warps, kThreads / 32), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t quantize_qkv(const AttnDims& dims, const QuantConfig& cfg, const __half* q, const __half* k,
                         const __half* v, bool quantize_v_too, const QuantizedQKV& out, cudaStream_t stream) {
  const int64_t d = dims.head_dim;
  if (d != 64 && d != 128) return cudaErrorNotSupported;
  if (cfg.qk_granularity == QkGranularity::PerBlock && cfg.qk_block <= 0) return cudaErrorInvalidValue;
  const int64_t group = cfg.qk_granularity == QkGranularity::PerBlock ? cfg.qk_block : 1;
  const int64_t bk = dims.batch * dims.kv_heads, padded = padded_seq_kv(dims.seq_kv);

  cudaError_t err;
  if (cfg.smooth_k) {
    const dim3 grid(static_cast<unsigned>(bk), static_cast<unsigned>(d / 32));
    k_mean_kernel<<<grid, kMeanThreads, 0, stream>>>(k, dims.seq_kv, d, out.k_mean);
    err = cudaGetLastError();
  } else {
    err = cudaMemsetAsync(out.k_mean, 0, sizeof(float) * bk * d, stream);
  }
  if (err != cudaSuccess) return err;

  GroupQuantArgs qa{q, dims.seq_q, dims.seq_q, d, group, qk_groups(dims.seq_q, cfg), dims.batch * dims.heads,
                    nullptr, effective_sm_scale(dims), out.q8, out.q_scale};
  if ((err = launch_group_quant(qa, stream)) != cudaSuccess) return err;
  GroupQuantArgs ka{k, dims.seq_kv, padded, d, group, qk_groups(padded, cfg), bk,
                    cfg.smooth_k ? out.k_mean : nullptr, 0.f, out.k8, out.k_scale};
  if ((err = launch_group_quant(ka, stream)) != cudaSuccess) return err;
  return quantize_v_too ? quantize_v(dims, v, out, stream) : cudaSuccess;
}

}  // namespace int8attn::kernels
