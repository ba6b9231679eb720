// Entry points of the warp-specialized Hopper int8-fa and int8-qk kernels (kernels/sm90/int8_fa_ws.cuh),
// for the dispatcher in fused_attention.cu. Plain C++ apart from cudaError_t/cudaStream_t.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace int8attn::kernels::fa {

struct Params;

// int8-fa's serial kernel's K scales (its kKScales, sm90/int8_fa_ws.cuh) a thread's keys of a
// block have: per token (a multiply a score), one (per-thread K, KGranularity::PerThread), or one
// a quarter of its n-tiles (grouped K, KGranularity::Grouped, common/k_groups.h: kKGroups / 4).
inline constexpr int kWsKPerToken = 0, kWsKPerThread = 1, kWsKGrouped = 4;
// Grouped K's device K scales (the layout quantize.cu's grouped tiles write for KGranularity::Grouped):
// each 128-key block's 128 floats of room (what per-key scales take: the kernel's TMA box) hold
// its 16 group scales (group g = 4t + q: quad thread t's n-tile quarter q, common/k_groups.h),
// then from byte kGroupedOrderOffset its 128 order bytes (each column's key's offset in the
// block), then zeros: a thread reads its four scales with one 16-byte load, and the masked steps
// read the order bytes from the same stage of shared memory.
inline constexpr int kGroupedOrderOffset = 16 * 4;

// Whether the warp-specialized kernels take a problem of these sizes (the one rule the launches
// and int8qk_softmax_keys() share): TMA coordinates are 32-bit, and the K scales arrive as one
// TMA box of per-key values, so per-block Q/K scales (group_tokens > 1) take the other kernels.
inline bool ws_supports(int64_t seq_q, int64_t padded_seq_kv, int64_t batch_heads, int64_t group_tokens) {
  return seq_q <= INT32_MAX && padded_seq_kv <= INT32_MAX && batch_heads <= INT32_MAX && group_tokens == 1;
}

// The current device's SM count, which sizes the persistent grids (and the dispatcher's rules
// about them); the CUDA error where it cannot be read.
inline cudaError_t current_device_sms(int& sms) {
  int device = 0;
  const cudaError_t err = cudaGetDevice(&device);
  return err == cudaSuccess ? cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) : err;
}

// int8-fa with the quantized tensors of `base` (attn_kernels.h layouts); cudaErrorNotSupported
// for an instantiation this build lacks, per-block K scales, or a problem beyond the TMA's
// 32-bit coordinates. keys: the P-code block, 64 (V per channel) or 128 (V per 128-key block,
// base.v_scale [batch*kv_heads, padded seq_kv / 128, head_dim]). schedule: -1, or the one of
// the P block: 2 (the deferred O merge) at 64 keys, 3 (serial, three consumers) at 128.
// k_scales: K's scales, the serial kernel's kKScales (sm90/int8_fa_ws.cuh): 0 per token, 1 per
// thread group (attn_types.h k_thread_group; stored per token), which the serial kernel exploits,
// 4 grouped (common/k_groups.h; base.k_order set): its own kernel or cudaErrorNotSupported. The compiled instances: kernels/instances.h.
// tile_order (each launch): the order the persistent grid walks its tiles in, 0 head-major, 1
// query-block-major, 2 short-last (where built), -1 the rule of ws_tile_order_heads
// (kernels/sm90/ws_tile_order.h).
// workspace: the 128-key kernels' workspace (QuantizedQKV's split partials, slots and ws_counters)
// and their tunings: FusedTuning::split_parts and dynamic_tiles. Without a split workspace no
// tile is split; without counters the tiles are dealt round robin. dependent: the launch is a
// programmatic dependent of the stream's previous grid (the quantizer's last launch), so that
// its CTAs start, and set up, during that grid's last wave; every read of global memory, and
// every write, waits for that grid (griddepcontrol.wait), so it is safe after any grid.
struct WsWorkspace {
  float* partials = nullptr;
  uint32_t* counters = nullptr;  // ws_counter_words(slots): the tile walk's, then the split's
  int64_t slots = 0;
  int forced_parts = -1;
  int dynamic_tiles = -1;  // FusedTuning::dynamic_tiles
  int retile_groups = -1;  // FusedTuning::retile_groups
  bool dependent = false;  // a programmatic dependent launch (sm_90)
};
cudaError_t launch_int8fa_ws(const Params& base, int head_dim, int64_t batch_heads, bool p_u8, bool l_from_q,
                             int keys, int schedule, int k_scales, int tile_order, const WsWorkspace& workspace,
                             cudaStream_t stream);

// int8-qk (FP16 V, `base.v` as it lies in memory) on the same skeleton; cudaErrorNotSupported
// as above. schedule: 0 overlap, 1 ping-pong, -1 ws_default_schedule(). workspace: only the
// walk's counter and dynamic_tiles are read, for a kernel of WsShape::kDynamicTiles (the two
// schedules at head_dim 128); the split's fields are not (these kernels split no keys:
// WsShape::kSplitKeys).
cudaError_t launch_int8qk_ws(const Params& base, int head_dim, int64_t batch_heads, bool l_from_q, int schedule,
                             int tile_order, const WsWorkspace& workspace, cudaStream_t stream);

// fp16-fa (FP16 Q, K, V as they lie in memory) on the same skeleton: FP16 S by wgmma, no K
// scales; cudaErrorNotSupported as above. schedule: 0 overlap, 1 ping-pong, -1 ws_default_schedule().
// workspace: as int8-qk's; a counter lets causal tiles be claimed one at a time.
cudaError_t launch_fp16_ws(const Params& base, int head_dim, int64_t batch_heads, int schedule, int tile_order,
                           const WsWorkspace& workspace, cudaStream_t stream);

}  // namespace int8attn::kernels::fa
