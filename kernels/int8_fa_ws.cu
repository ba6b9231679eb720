// Host side of the warp-specialized Hopper int8-fa and int8-qk kernels
// (kernels/sm90/int8_fa_ws.cuh): the TMA descriptors of the quantized Q and K, of V (INT8
// V^T or FP16 V) and of O, and the launch.
#include <cudaTypedefs.h>

#include <cstring>

#include "kernels/instances.h"
#include "kernels/sm90/int8_fa_ws.cuh"
#include "kernels/sm90/int8_fa_ws_launch.h"
#include "kernels/sm90/ws_split.h"
#include "kernels/sm90/ws_tile_order.h"

namespace int8attn::kernels::fa {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      fn = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

// A 3-D map [inner elements, rows, matrices] of 1- or 2-byte elements read in boxes
// [box_inner, box_rows, 1], swizzled as wgmma's layout for rows of box_inner elements (128 or
// 64 bytes).
bool encode_map(CUtensorMap& map, const void* base, uint64_t element_bytes, uint64_t inner, uint64_t rows,
                uint64_t matrices, uint32_t box_inner, uint32_t box_rows) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return false;
  const cuuint64_t dims[3] = {inner, rows, matrices};
  const cuuint64_t strides[2] = {inner * element_bytes, inner * element_bytes * rows};  // bytes, dims 1 and 2
  const cuuint32_t box[3] = {box_inner, box_rows, 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUtensorMapSwizzle swizzle =
      box_inner * element_bytes == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B;
  const CUtensorMapDataType type = element_bytes == 2 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_UINT8;
  return encode(&map, type, 3, const_cast<void*>(base), dims, strides, box, element_strides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// The per-key K scales, [keys, kv heads] FP32 read in boxes of box_keys: a box past the last
// key (a block of 128 over keys padded to 64) reads zeros instead of the next allocation.
bool encode_scale_map(CUtensorMap& map, const float* base, uint64_t keys, uint64_t kv_heads, uint32_t box_keys) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return false;
  const cuuint64_t dims[2] = {keys, kv_heads};
  const cuuint64_t strides[1] = {keys * sizeof(float)};
  const cuuint32_t box[2] = {box_keys, 1};
  const cuuint32_t element_strides[2] = {1, 1};
  return encode(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, const_cast<float*>(base), dims, strides, box,
                element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// Out-of-bounds boxes (Q rows past seq_q, K and FP16 V rows past the tensor, K scales past the
// last key) are zero-filled by the TMA unit.
template <class W>
bool make_ws_params(const Params& base, int64_t batch_heads, WsParams& out) {
  constexpr int kD = W::kD;
  const uint64_t batch_kv_heads = static_cast<uint64_t>(batch_heads / base.heads * base.kv_heads);
  const uint64_t kv_rows = static_cast<uint64_t>(base.k_rows);  // INT8: padded seq_kv
  out.base = base;
  const bool v_ok = W::kInt8PV ? encode_map(out.v_map, base.v, 1, kv_rows, kD, batch_kv_heads, W::kKeys, kD)
                               : encode_map(out.v_map, base.v, 2, kD, static_cast<uint64_t>(base.v_rows),
                                            batch_kv_heads, 64, W::kKeys);
  // Q and K: rows in boxes of one column's channels (WsShape::kQKColumns): INT8 kD codes up to
  // 128, else 128; FP16 64 channels.
  const uint64_t qk_bytes = W::kQKElementBytes;
  const uint32_t qk_box = W::kQKColumnChannels;
  // fused_q (int8-fa, WsShape::kFusedQ): FP16 Q in columns of 64 channels, quantized by the
  // producer's warps; there are no INT8 Q codes to map (the harness leaves them out).
  out.fused_q = W::kFusedQ && base.q_half != nullptr && base.group_tokens == 1;
  const bool qk_ok =
      (out.fused_q || encode_map(out.q_map, base.q, qk_bytes, kD, static_cast<uint64_t>(base.seq_q),
                                 static_cast<uint64_t>(batch_heads), qk_box, W::kBlockM)) &&
      encode_map(out.k_map, base.k, qk_bytes, kD, kv_rows, batch_kv_heads, qk_box, W::kKeys);
  // O out by TMA stores (ws_store_o), boxes of 64 rows (a consumer's) and 64 channels.
  const bool o_ok = encode_map(out.o_map, base.out, 2, kD, static_cast<uint64_t>(base.seq_q),
                               static_cast<uint64_t>(batch_heads), 64, 64);
  if constexpr (W::kFp16QK) return v_ok && qk_ok && o_ok;  // no K scales
  const bool q16_ok = !out.fused_q || encode_map(out.q16_map, base.q_half, 2, kD, static_cast<uint64_t>(base.seq_q),
                                                 static_cast<uint64_t>(batch_heads), 64, W::kQ16BoxRows);
  // WsShape::kTmaQScales: the quantizer's per-token Q scales with each tile's codes, where TMA can
  // take their rows (16-byte strides); else the consumers read them from global memory.
  out.q_scales_in_smem =
      out.fused_q || (W::kTmaQScales && base.group_tokens == 1 && base.n_q_groups == base.seq_q && base.seq_q % 4 == 0 &&
                      encode_scale_map(out.q_scale_map, base.q_scale, static_cast<uint64_t>(base.seq_q),
                                       static_cast<uint64_t>(batch_heads), W::kBlockM));
  // V per 128-key block: the scales [batch*kv_heads * v_blocks, kD] (quantize.cu), a row a block.
  out.v_blocks = static_cast<int32_t>(kv_rows / kWsFaWideKeys);
  const bool v_scales_ok = !W::kVPerBlock || encode_scale_map(out.v_scale_map, base.v_scale, kD,
                                                              batch_kv_heads * static_cast<uint64_t>(out.v_blocks), kD);
  return v_ok && qk_ok && q16_ok && v_scales_ok && o_ok &&
         encode_scale_map(out.k_scale_map, base.k_scale, static_cast<uint64_t>(base.n_k_groups), batch_kv_heads,
                          W::kKeys);
}

// What a launch's walk depends on, and nothing else: its shape, its SMs and FusedTuning (all
// int64_t, so that memcmp compares them). split_slots 0: no split workspace.
struct WsWalkInputs {
  int64_t causal, seq_q, seq_kv, batch_heads, sms, tile_order, split_slots, forced_parts, dynamic_tiles,
      retile_groups, has_counters;
};

// The walk: the tile order (WsParams::tile_order_heads), the last round's split, whether tiles
// are claimed one at a time, and the last heads' retiling.
struct WsWalkChoice {
  int64_t order_heads = 0;
  WsSplitPlan split;
  bool dynamic = false;
  WsRetilePlan retile;
};

template <class W, int kSchedule>
WsWalkChoice choose_walk(const WsWalkInputs& in) {
  const bool causal = in.causal != 0;
  const int64_t n_qblocks = (in.seq_q + W::kBlockM - 1) / W::kBlockM, tiles = in.batch_heads * n_qblocks;
  const int n_blocks = static_cast<int>((in.seq_kv + W::kKeys - 1) / W::kKeys);
  // The serial int8-fa consumers pass the rows past seq_q (ws_consume_fa_serial's pass_tile).
  const double short_cost = ws_short_tile_cost(in.seq_q, W::kBlockM, W::kConsumers, kSchedule == kWsSerial);
  WsWalkChoice walk;
  walk.order_heads = ws_tile_order_heads(causal, in.batch_heads, n_qblocks, short_cost, std::min(tiles, in.sms),
                                         W::kShortLast, static_cast<int>(in.tile_order));
  // The last round's tiles split by keys over the CTAs it leaves idle (ws_split.h), with the
  // order that goes with it, where it runs: 32-bit items, and its parts each a CTA's last item
  // (the kernel counts a part after its walk).
  if (W::kSplitKeys && in.split_slots > 0) {
    const WsWalk split = ws_walk_plan(causal, in.batch_heads, n_qblocks, short_cost, in.sms, W::kShortLast,
                                      walk.order_heads, ws_tile_order_forced(static_cast<int>(in.tile_order)),
                                      n_blocks, in.split_slots, static_cast<int>(in.forced_parts));
    const int64_t items = split.plan.items(tiles), grid = std::min(items, in.sms);
    if (split.plan.splits() && items <= 0x7fffffff && split.plan.first % grid == 0 && items - split.plan.first <= grid)
      walk = {split.order_heads, split.plan};
  }
  // Causal tiles claimed one at a time (WsShape::kDynamicTiles): their lengths differ, and a
  // CTA done early takes the next one instead of its round-robin share. Never with a split,
  // whose parts must each be a CTA's last item.
  const bool may_claim = W::kDynamicTiles && in.has_counters != 0 && !walk.split.splits();
  const int forced_claims = static_cast<int>(in.dynamic_tiles);
  walk.dynamic = may_claim && ws_dynamic_tiles(causal, forced_claims, tiles > in.sms);
  if (!W::kSplitKeys) return walk;
  // Or the last heads' rows in items of fewer consumers' rows, in head-major order and without
  // the split, where that ends the grid sooner (ws_retile.h). A forced split stays.
  const double walk_time =
      ws_split_makespan(walk.split, in.batch_heads, n_qblocks, walk.order_heads, short_cost, in.sms, n_blocks);
  const int retile_groups = in.forced_parts >= 2 && walk.split.splits() ? 0 : static_cast<int>(in.retile_groups);
  const WsRetilePlan retile = ws_retile_choice(causal, in.batch_heads, n_qblocks, in.seq_q, W::kConsumers, short_cost,
                                               in.sms, walk_time, retile_groups).plan;
  if (retile.retiles() && ws_retile_items(retile, in.seq_q) <= 0x7fffffff) {
    walk.order_heads = 0;
    walk.split = WsSplitPlan{};
    walk.retile = retile;
    walk.dynamic = may_claim && ws_dynamic_tiles(causal, forced_claims, ws_retile_items(retile, in.seq_q) > in.sms);
  }
  return walk;
}

// The launch plans before every kernel, and the order, split and retiling models cost 7-30 us
// of host time on a 2-core CI machine (s46; up to 90 us before the retiling's model counted
// instead of dealing items): more than the kernel at 1K x batch 1, so back-to-back launches
// waited on the host. A benchmark's repetitions and a model's layers repeat one shape, so each
// thread keeps its last walk of each kernel shape.
template <class W, int kSchedule>
WsWalkChoice remembered_walk(const WsWalkInputs& in) {
  static thread_local WsWalkInputs last_inputs{};
  static thread_local WsWalkChoice last_walk{};
  static thread_local bool remembered = false;
  if (!remembered || std::memcmp(&in, &last_inputs, sizeof in) != 0) {
    last_walk = choose_walk<W, kSchedule>(in);
    last_inputs = in;
    remembered = true;
  }
  return last_walk;
}

// The split's map and pointers: O / l of a part's tile rows (FP16, boxes as o_map's), then each
// row's 1 / l and u.
template <class W>
bool write_split(const WsWorkspace& split, WsParams& params) {
  if (!encode_map(params.split_map, split.partials, 2, W::kD, kWsSplitRows, static_cast<uint64_t>(split.slots), 64, 64))
    return false;
  params.split_o = static_cast<const __half*>(static_cast<const void*>(split.partials));
  params.split_lu = reinterpret_cast<float2*>(reinterpret_cast<char*>(split.partials) + ws_split_o_bytes(split.slots, W::kD));
  params.split_counters = split.counters + 1;  // after the tile walk's (ws_counter_words)
  return true;
}

// The walk's items, order, split, claim and retiling in params.
void write_walk(const WsWalkChoice& walk, int64_t seq_q, int64_t tiles, const WsWorkspace& workspace,
                WsParams& params) {
  const int64_t items = walk.retile.retiles() ? ws_retile_items(walk.retile, seq_q) : walk.split.items(tiles);
  params.tile_order_heads = walk.order_heads;
  if (walk.dynamic) params.tile_counter = workspace.counters;
  params.n_tiles = static_cast<int32_t>(items);
  params.split_first = static_cast<int32_t>(walk.split.splits() ? walk.split.first : items);
  params.split_tiles = static_cast<int32_t>(walk.split.tiles);
  params.split_parts = walk.split.parts;
  // Items from retile_first (none where it is n_tiles) are a retiled head's.
  params.retile_first = static_cast<int32_t>(walk.retile.retiles() ? walk.retile.first : items);
  if (!walk.retile.retiles()) return;
  params.retile_bh0 = static_cast<int32_t>(walk.retile.first / params.base.n_qblocks);
  params.retile_groups = walk.retile.groups;
  params.retile_per_head =
      ws_fast_div(static_cast<uint32_t>(ws_retile_items_per_head(seq_q, walk.retile.groups)));
}

// The form kClaimForm of a kernel launched on params and walk as `launch` planned them (with the
// claiming form's WsShape: the two forms' params and walks differ only in the claim).
template <Variant kV, int kD, bool kPU8, bool kLFromQ, int kSchedule, int kKeys, int kKScales, bool kClaimForm>
cudaError_t launch_form(const Params& base, WsParams params, WsWalkChoice walk, WsWalkInputs inputs, int64_t tiles,
                        cudaStream_t stream, const WsWorkspace& workspace) {
  using W = WsShape<kV, kD, kKeys, kClaimForm>;
  auto kernel = int8_ws_kernel<kV, kD, kPU8, kLFromQ, kSchedule, kKeys, kKScales, kClaimForm>;
  const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, W::kSmemBytes);
  if (err != cudaSuccess) return err;
  if (walk.split.splits() && !write_split<W>(workspace, params)) {
    inputs.split_slots = 0;  // no map of the workspace: the walk without a split
    walk = choose_walk<W, kSchedule>(inputs);
  }
  write_walk(walk, base.seq_q, tiles, workspace, params);
  const int64_t grid = std::min<int64_t>(params.n_tiles, inputs.sms);
  params.walk_divs = ws_walk_divs(params.tile_order_heads, params.base.n_qblocks, base.heads, base.kv_heads);
  if constexpr (W::kCausalLead)
    params.causal_lead_rows = static_cast<int32_t>(
        ws_causal_lead_rows(base.causal, base.seq_q, W::kBlockM, W::kBlockM / W::kConsumers, tiles, inputs.sms));
  // As a dependent, the kernels wait for the quantizer before touching global memory (int8_ws_kernel).
  return fa::launch_kernel(kernel, static_cast<unsigned>(grid), W::kThreads, W::kSmemBytes, workspace.dependent, stream,
                           params);
}

// The launch's params and walk, then the kernel: for one with two forms (WsShape::kTwoWalks),
// the round-robin form where the walk claims nothing.
template <Variant kV, int kD, bool kPU8, bool kLFromQ, int kSchedule, int kKeys = WsShape<kV, kD>::kKeys,
          int kKScales = 0>
cudaError_t launch(const Params& base, int64_t batch_heads, int tile_order, cudaStream_t stream,
                   const WsWorkspace& workspace = {}) {
  using W = WsShape<kV, kD, kKeys>;
  WsParams params{};
  if (!make_ws_params<W>(base, batch_heads, params)) return cudaErrorNotSupported;
  params.base.n_qblocks = static_cast<int32_t>((base.seq_q + W::kBlockM - 1) / W::kBlockM);
  const int64_t tiles = batch_heads * params.base.n_qblocks;
  if (tiles <= 0) return cudaSuccess;
  if (tiles > 0x7fffffff) return cudaErrorInvalidConfiguration;
  int sms = 0;
  const cudaError_t err = current_device_sms(sms);
  if (err != cudaSuccess) return err;
  const bool split_workspace = workspace.partials != nullptr && workspace.counters != nullptr && workspace.slots > 0;
  const WsWalkInputs inputs{base.causal ? 1 : 0,
                            base.seq_q,
                            base.seq_kv,
                            batch_heads,
                            sms,
                            tile_order,
                            split_workspace ? workspace.slots : 0,
                            workspace.forced_parts,
                            workspace.dynamic_tiles,
                            workspace.retile_groups,
                            workspace.counters != nullptr ? 1 : 0};
  const WsWalkChoice walk = remembered_walk<W, kSchedule>(inputs);
  if constexpr (W::kTwoWalks) {
    if (!walk.dynamic)
      return launch_form<kV, kD, kPU8, kLFromQ, kSchedule, kKeys, kKScales, false>(base, params, walk, inputs, tiles,
                                                                                  stream, workspace);
  }
  return launch_form<kV, kD, kPU8, kLFromQ, kSchedule, kKeys, kKScales, true>(base, params, walk, inputs, tiles, stream,
                                                                             workspace);
}

bool ws_runs(const Params& base, int64_t batch_heads) {
  return ws_supports(base.seq_q, base.k_rows, batch_heads, base.group_tokens);
}

}  // namespace

cudaError_t launch_fp16_ws(const Params& base, int head_dim, int64_t batch_heads, int schedule, int tile_order,
                           const WsWorkspace& workspace, cudaStream_t stream) {
  if (!ws_runs(base, batch_heads)) return cudaErrorNotSupported;
  if (schedule < 0) schedule = ws_default_schedule(Variant::Fp16Flash, head_dim);
#define INT8ATTN_TRY_WS_FP16(D, S) \
  if (head_dim == D && schedule == S)  \
    return launch<Variant::Fp16Flash, D, false, false, S>(base, batch_heads, tile_order, stream, workspace);
  INT8ATTN_WS_FP16_INSTANCES(INT8ATTN_TRY_WS_FP16)
#undef INT8ATTN_TRY_WS_FP16
  return cudaErrorNotSupported;
}

cudaError_t launch_int8fa_ws(const Params& base, int head_dim, int64_t batch_heads, bool p_u8, bool l_from_q,
                             int keys, int schedule, int k_scales, int tile_order, const WsWorkspace& workspace,
                             cudaStream_t stream) {
  if (!ws_runs(base, batch_heads)) return cudaErrorNotSupported;
  if (schedule < 0) schedule = ws_default_schedule(Variant::Int8Full, head_dim, keys);
  // Per-thread K's own form where it is compiled (instances.h); elsewhere the per-token kernel
  // reads the same scales. Grouped K has its kernel or none (its permuted blocks need its mask).
  const bool own_form = schedule == kWsSerial && p_u8 && !l_from_q;
  if (k_scales == kWsKGrouped && !own_form) return cudaErrorNotSupported;
  const int k_form = own_form ? k_scales : kWsKPerToken;
#define INT8ATTN_TRY_WS(D, PU8, LQ, S, K, KT)                                                               \
  if (head_dim == D && p_u8 == PU8 && l_from_q == LQ && schedule == S && keys == K && k_form == KT) \
    return launch<Variant::Int8Full, D, PU8, LQ, S, K, KT>(base, batch_heads, tile_order, stream, workspace);
  INT8ATTN_WS_INSTANCES(INT8ATTN_TRY_WS)
#undef INT8ATTN_TRY_WS
  return cudaErrorNotSupported;
}

cudaError_t launch_int8qk_ws(const Params& base, int head_dim, int64_t batch_heads, bool l_from_q, int schedule,
                             int tile_order, const WsWorkspace& workspace, cudaStream_t stream) {
  if (!ws_runs(base, batch_heads)) return cudaErrorNotSupported;
  if (schedule < 0) schedule = ws_default_schedule(Variant::Int8QK, head_dim);
#define INT8ATTN_TRY_WS_QK(D, LQ, S)                      \
  if (head_dim == D && l_from_q == LQ && schedule == S) \
    return launch<Variant::Int8QK, D, false, LQ, S>(base, batch_heads, tile_order, stream, workspace);
  INT8ATTN_WS_QK_INSTANCES(INT8ATTN_TRY_WS_QK)
#undef INT8ATTN_TRY_WS_QK
  return cudaErrorNotSupported;
}

}  // namespace int8attn::kernels::fa
