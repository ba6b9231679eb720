// int8-fa on Hopper (sm_90a): the same numerics and the same per-thread softmax code as
// int8_flash_attn.cuh (WarpTile), with both products on wgmma instead of mma.sync.
//   S = Q·K^T: wgmma m64n64k32 s8.s8, Q and K from shared memory (descriptors);
//   O += P·V:  wgmma m64n{D}k32 u8.s8 (or s8.s8), P from registers, V^T from shared memory.
// A CTA is one warpgroup of 64 query rows, two CTAs per SM (a warp owns 16 rows, so the
// accumulator layouts equal mma.sync's per-warp fragments and WarpTile's masking, softmax,
// P packing and store apply unchanged). K/V tiles stream through a
// kStages-deep cp.async ring; the swizzle of load_kv_block is the wgmma 128-byte (rows of
// 128 bytes) or 64-byte (rows of 64 bytes) K-major layout, so the tiles need no other copy.
// Included by exactly one .cu (fused_attention.cu).
#pragma once
#include "kernels/int8_flash_attn.cuh"
#include "kernels/ptx.cuh"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define INT8ATTN_WGMMA_BODY 1
#else
#define INT8ATTN_WGMMA_BODY 0
#endif

namespace int8attn::kernels::fa {

// The CTA: one warpgroup of 64 query rows, two CTAs per SM (255 registers), S(blk + 1)
// overlapping the softmax of blk. Two warpgroups per CTA and three lean CTAs per SM measured
// slower or no faster (docs/perf-log.md v11, v12).
template <int kD>
struct WgShape {
  static constexpr int kWarps = 4;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kBlockM = 64;
  static constexpr int kCtasPerSm = 2;
  static constexpr int kStages = 4;  // block blk in use, blk + 1 and two loading
  using Tile = Shape<Variant::Int8Full, kD, kWarps>;  // load_kv_block's slot layout: K | V^T | scales
  static constexpr int kKSwizzle = kD;                // K/Q rows of kD bytes: 128- or 64-byte swizzle
  static constexpr int kVSwizzle = kBlockN;           // V^T rows of 64 key bytes
  static constexpr int kQBytes = kBlockM * kD;
  static constexpr int kStageBytes = (Tile::kStageBytes + 1023) / 1024 * 1024;  // swizzle atoms 1 KB aligned
  static constexpr int kSmemBytes = 1024 + kQBytes + kStages * kStageBytes;   // + alignment slack
  static_assert(kD == 64 || kD == 128, "head_dim 64 or 128");
  static_assert(kQBytes % 1024 == 0 && Tile::kKBytes % 1024 == 0, "tiles start on 1 KB");
};

template <int kD, bool kPU8, int kAccumulate>
__device__ __forceinline__ void wgmma_pv(uint32_t (&acc)[kD / 2], const uint32_t (&pa)[4], uint64_t desc_v) {
  if constexpr (kD == 128 && kPU8) wgmma_rs_u8s8_n128<kAccumulate>(acc, pa, desc_v);
  else if constexpr (kD == 128) wgmma_rs_s8s8_n128<kAccumulate>(acc, pa, desc_v);
  else if constexpr (kPU8) wgmma_rs_u8s8_n64<kAccumulate>(acc, pa, desc_v);
  else wgmma_rs_s8s8_n64<kAccumulate>(acc, pa, desc_v);
}

// WarpTile's register schedule for this kernel (only its tree_reduce flag matters here): chains,
// measured faster than trees (docs/perf-log.md v10).
constexpr int kWgmmaSchedule = 0;
static_assert(!kSchedules[kWgmmaSchedule].tree_reduce, "chains");

template <int kD, bool kPU8, bool kLFromQ>
__global__ void __launch_bounds__(WgShape<kD>::kThreads, WgShape<kD>::kCtasPerSm)
    int8fa_wgmma_kernel(const __grid_constant__ Params p) {
#if INT8ATTN_WGMMA_BODY
  using W = WgShape<kD>;
  using Tile = typename W::Tile;
  extern __shared__ char smem_raw[];
  const uint32_t raw = smem_addr(smem_raw);
  const uint32_t smem_q = (raw + 1023) & ~1023u;
  char* const smem = smem_raw + (smem_q - raw);
  const uint32_t smem_kv = smem_q + W::kQBytes;
  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32, wg = warp / 4;

  const CtaWork<W::kBlockM> work(p);
  const int n_blocks = work.n_blocks;
  const char* k_head = static_cast<const char*>(p.k) + work.kv_index * p.k_rows * kD;
  const char* v_head = static_cast<const char*>(p.v) + work.kv_index * p.v_rows * kD;
  const float* k_scale_head = p.k_scale + work.kv_index * p.n_k_groups;
  load_tile<W::kThreads, W::kBlockM, kD>(smem_q, static_cast<const char*>(p.q) + (work.bh * p.seq_q + work.m0) * kD,
                                         kD, static_cast<int>(min64(W::kBlockM, p.seq_q - work.m0)));
  cp_async_commit();
  auto slot_addr = [&](int blk) { return smem_kv + (blk % W::kStages) * W::kStageBytes; };
  auto load_block = [&](int blk) {  // always commits a group, so wait counts stay per block
    if (blk < n_blocks) load_kv_block<Variant::Int8Full, kD, W::kWarps>(p, slot_addr(blk), k_head, v_head, k_scale_head, blk);
    cp_async_commit();
  };
#pragma unroll
  for (int b = 0; b < W::kStages - 1; ++b) load_block(b);

  WarpTile<Variant::Int8Full, kD, W::kWarps, kPU8, kLFromQ, kWgmmaSchedule> tile(p, lane, work.m0 + warp * 16, work.offset);
  tile.load_q_scales(work.bh);
  // Blocks this warpgroup computes: [0, n_wg). Causal: the blocks past its last row's last
  // visible key are skipped; a warpgroup wholly past seq_q has nothing to compute. With one
  // warpgroup per CTA, wg is 0 and n_wg is n_blocks, but the compiler cannot tell: folding
  // that in changes the kernel's SASS, so it stays as the measured kernel has it.
  const int64_t wg_first_row = work.m0 + wg * 64, wg_last_row = wg_first_row + 63;
  int n_wg = wg_first_row < p.seq_q ? n_blocks : 0;
  if (p.causal && n_wg > 0)
    n_wg = static_cast<int>(min64(n_blocks, wg_last_row + work.offset < 0 ? 0 : (wg_last_row + work.offset) / kBlockN + 1));
  const uint64_t desc_q = gmma_desc<W::kKSwizzle>(smem_q + wg * 64 * kD);

  // S(blk) = Q·K(blk)^T into acc (INT32 from 0), issued and committed (not waited for).
  auto issue_scores = [&](int blk, uint32_t (&acc)[kBlockN / 2]) {
    fence_regs(acc);
    wgmma_fence();
    const uint64_t desc_k = gmma_desc<W::kKSwizzle>(slot_addr(blk));
    wgmma_ss_s8s8_n64<0>(acc, desc_q, desc_k);
#pragma unroll
    for (int ks = 1; ks < kD / 32; ++ks)
      wgmma_ss_s8s8_n64<1>(acc, desc_q + ks * kDescKStep, desc_k + ks * kDescKStep);
    wgmma_commit();
  };
  // x = the scaled, masked scores of block blk and bmax their row maxima.
  auto scaled_scores = [&](int blk, const uint32_t (&acc)[kBlockN / 2], float (&x)[kBlockN / 8][4], float (&bmax)[2]) {
    const uint32_t scales = slot_addr(blk) + Tile::kKBytes + Tile::kVBytes;
    tile.template scale_scores<true>(acc, reinterpret_cast<const float*>(smem + (scales - smem_q)), x);
    tile.mask(blk, x);
    tile.block_max(x, bmax);
  };

  // Software pipeline within the warpgroup: S(blk + 1) runs on the tensor cores while the
  // softmax of block blk runs, and P·V(blk) while S(blk + 1) is scaled, masked and reduced to
  // its row max. Every wgmma is waited for within its iteration and the last block recomputes
  // its own S instead of branching around the sequence: ptxas serializes all wgmma of a
  // kernel whose pipeline it cannot follow through branches or across the loop's back edge.
  uint32_t s_acc[kBlockN / 2];
  float x[kBlockN / 8][4], bmax[2];
  cp_async_wait<W::kStages - 2>();
  fence_proxy_async();
  __syncthreads();  // Q and block 0 landed
  if (n_wg > 0) {
    issue_scores(0, s_acc);
    wgmma_wait<0>();
    fence_regs(s_acc);
    scaled_scores(0, s_acc, x, bmax);
  }
  for (int blk = 0; blk < n_blocks; ++blk) {
    cp_async_wait<W::kStages - 3>();
    fence_proxy_async();  // this thread's copies are read by wgmma (the async proxy)
    __syncthreads();  // block blk + 1 landed for all; every P·V of block blk - 1 is done, its slot free
    load_block(blk + W::kStages - 1);
    if (blk >= n_wg) continue;
    const int next = blk + 1 < n_wg ? blk + 1 : blk;
    issue_scores(next, s_acc);

    typename decltype(tile)::PTerms tp;
    float alpha[2], beta[2];
    bool unit_beta;
    tile.template softmax<!decltype(tile)::kCodeRowSum>(x, bmax, tp, alpha, beta, unit_beta);
    uint32_t pa[kBlockN / 32][4];
    tile.pack_p_codes(tp, pa);
    if constexpr (decltype(tile)::kCodeRowSum) tile.add_code_sums(pa, alpha, beta);
    uint32_t o_acc[kD / 2];
    fence_regs(o_acc);
    wgmma_fence();
    const uint64_t desc_v = gmma_desc<W::kVSwizzle>(slot_addr(blk) + Tile::kKBytes);
    static_assert(kBlockN == 64, "two k32 steps of P·V");
    wgmma_pv<kD, kPU8, 0>(o_acc, pa[0], desc_v);
    wgmma_pv<kD, kPU8, 1>(o_acc, pa[1], desc_v + kDescKStep);
    wgmma_commit();

    wgmma_wait<1>();  // S(next) done; P·V(blk) may still run
    fence_regs(s_acc);
    scaled_scores(next, s_acc, x, bmax);
    wgmma_wait<0>();
    fence_regs(o_acc);
#pragma unroll
    for (int kk = 0; kk < kBlockN / 32; ++kk) fence_regs(pa[kk]);  // read by the wgmma until here
    tile.add_pv_tiles(o_acc, alpha, beta, unit_beta);
  }
  cp_async_wait<0>();  // no copy may land in smem after the CTA exits
  tile.store(work.bh, work.kv_index);
#endif
}

template <int kD, bool kPU8, bool kLFromQ>
cudaError_t launch_int8fa_wgmma(const Params& p, int64_t batch_heads, cudaStream_t stream) {
  using W = WgShape<kD>;
  return launch_fused(int8fa_wgmma_kernel<kD, kPU8, kLFromQ>, p, W::kBlockM, W::kThreads,
                      W::kSmemBytes, batch_heads, stream);
}

}  // namespace int8attn::kernels::fa
