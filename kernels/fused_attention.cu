// Host entry points of the fused attention kernels: parameter set-up and the dispatch onto the
// compiled instances (kernels/instances.h). The buffers' layouts: layouts.cu.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/attn_kernels.h"
#include "kernels/int8_fa_wgmma.cuh"
#include "kernels/instances.h"
#include "kernels/int8_flash_attn.cuh"
#include "kernels/sm90/int8_fa_ws_launch.h"
#include "kernels/sm90/ws_split.h"

namespace int8attn::kernels {

namespace {

using fa::Variant;

// One fused-attention instantiation: its variant, head dim and P options.
struct InstanceKey {
  Variant variant;
  int head_dim;
  int warps;
  bool p_u8;
  bool l_from_q;
  int schedule;
};

// INT8ATTN_FUSED_TUNING (kernels/fused_tuning.h) overrides the defaults (device A/B runs of the
// CLI; docs/testing.md). A mistyped knob ends the program (exit 2), as the CLI does before a
// sweep: run with the default instead, an A/B would read "no difference".
FusedTuning tuning_from_env() {
  FusedTuning t;
  const std::string why = fused_tuning_from_environment(t);
  if (!why.empty()) {
    std::fprintf(stderr, "error: %s\n", why.c_str());
    std::exit(2);
  }
  return t;
}

// The tuning in force: INT8ATTN_FUSED_TUNING, read on first use, until set_fused_tuning().
FusedTuning& tuning() {
  static FusedTuning t = tuning_from_env();
  return t;
}

int schedule(Variant variant, int64_t head_dim) {
  return tuning().schedule >= 0 && tuning().schedule < fa::kNumSchedules
             ? tuning().schedule
             : fa::default_schedule(variant, static_cast<int>(head_dim));
}

// What the kernels' dispatch asks of the current device, read once a device.
struct DeviceFacts {
  bool sm90a = false;         // runs the sm_90a image: compute capability 9.0 exactly
  int block_smem_optin = 0;   // the shared memory a block may opt into, bytes
};

const DeviceFacts& device_facts() {
  constexpr int kMaxDevices = 64;
  static DeviceFacts facts[kMaxDevices];
  static bool known[kMaxDevices] = {};
  static const DeviceFacts unknown;
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kMaxDevices) return unknown;
  if (!known[dev]) {
    int major = 0, minor = 0, optin = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess)
      return unknown;
    facts[dev] = {major == 9 && minor == 0, optin};
    known[dev] = true;
  }
  return facts[dev];
}

// Whether an mma.sync instance runs its two-slot ring (FusedTuning::two_slot_ring; by default
// where the device cannot hold the three-slot one's `smem_bytes`).
template <Variant kV, int kD, int kW>
bool two_slot_ring() {
  if (tuning().two_slot_ring >= 0 || !fa::has_two_slot_form<kV, kD, kW>()) return tuning().two_slot_ring == 1;
  const int optin = device_facts().block_smem_optin;
  return optin > 0 && fa::Shape<kV, kD, kW>::kSmemBytes > optin;
}

// Launches schedule `sched` of one instantiation; a schedule this build did not compile
// returns cudaErrorNotSupported.
template <Variant kV, int kD, int kW, bool kPU8, bool kLQ, int kSched = 0>
cudaError_t launch_schedule(int sched, const fa::Params& p, int64_t batch_heads, cudaStream_t stream) {
  if constexpr (kSched < fa::kNumSchedules) {
    if constexpr (fa::kAllSchedules || kSched == fa::default_schedule(kV, kD)) {
      if (sched == kSched)
        return fa::launch_flash_attention<kV, kD, kW, kPU8, kLQ, kSched>(p, batch_heads, two_slot_ring<kV, kD, kW>(),
                                                                          stream);
    }
    return launch_schedule<kV, kD, kW, kPU8, kLQ, kSched + 1>(sched, p, batch_heads, stream);
  } else {
    return cudaErrorNotSupported;
  }
}

int warps_per_cta(Variant variant, int64_t head_dim) {
  if (tuning().warps_per_cta == 4 || tuning().warps_per_cta == 8) return tuning().warps_per_cta;
  return fa::default_warps_per_cta(variant, static_cast<int>(head_dim));
}

// The mma.sync instance that runs `variant` on these dims: the tuned (else default) warps
// and schedule for its head_dim, with the call's P options.
InstanceKey instance_key(Variant variant, const AttnDims& dims, bool p_u8, bool l_from_q) {
  return {variant, static_cast<int>(dims.head_dim), warps_per_cta(variant, dims.head_dim), p_u8, l_from_q,
          schedule(variant, dims.head_dim)};
}

cudaError_t dispatch(const InstanceKey& key, const fa::Params& p, int64_t batch_heads, cudaStream_t stream) {
#define INT8ATTN_TRY_INSTANCE(V, D, W, PU8, LQ)                                                    \
  if (key.variant == V && key.head_dim == D && key.warps == W && key.p_u8 == PU8 && key.l_from_q == LQ) \
    return launch_schedule<V, D, W, PU8, LQ>(key.schedule, p, batch_heads, stream);
  INT8ATTN_FUSED_INSTANCES(INT8ATTN_TRY_INSTANCE)
#undef INT8ATTN_TRY_INSTANCE
  return cudaErrorNotSupported;
}

// Whether the current device runs the sm_90a image (Hopper, compute capability 9.0 exactly:
// arch-specific code does not run on later GPUs). Cached per device.
bool device_runs_sm90a() {
#if INT8ATTN_HAS_SM90A
  return device_facts().sm90a;
#else
  return false;
#endif
}

// int8-fa through the wgmma kernel: on sm_90a unless FusedTuning::wgmma says 0.
cudaError_t dispatch_int8fa_wgmma(int head_dim, bool p_u8, bool l_from_q, const fa::Params& p, int64_t batch_heads,
                                  cudaStream_t stream) {
#define INT8ATTN_TRY_WGMMA(D, PU8, LQ)                    \
  if (head_dim == D && p_u8 == PU8 && l_from_q == LQ) \
    return fa::launch_int8fa_wgmma<D, PU8, LQ>(p, batch_heads, stream);
  INT8ATTN_WGMMA_INSTANCES(INT8ATTN_TRY_WGMMA)
#undef INT8ATTN_TRY_WGMMA
  return cudaErrorNotSupported;
}

// Where the warp-specialized kernels are the default (FusedTuning::ws = -1): where they measured
// faster side by side on the H200 (docs/perf-log.md qk-ws5 and fp16-ws1). int8-qk and fp16-fa
// from 256 keys at head_dim 64 and 128 (shorter key ranges not measured); int8-fa at head_dim
// 128 from 1K keys, at 64 from 4K (below, its wgmma and mma.sync kernels are faster). At 256,
// where its only other kernel is mma.sync, from 128 keys with 128 query rows (H100, end to end:
// 12-43% faster there), else from 1K keys: with 1-64 query rows over 256-768 keys it measured
// 0.4-9.7% slower (mma.sync's 64-row tile wastes less of a short block), at 1K a tie, at 8K 4.8%
// faster (docs/perf-log.md s68-s69). Affects speed, never results.
bool ws_by_default(const AttnDims& dims, Variant variant) {
  if (variant != Variant::Int8Full) return dims.seq_kv >= 256;
  if (dims.head_dim == 256) return dims.seq_kv >= 1024 || (dims.seq_kv >= 128 && dims.seq_q >= 128);
  return (dims.head_dim == 128 && dims.seq_kv >= 1024) || (dims.head_dim == 64 && dims.seq_kv >= 4096);
}

// Whether a warp-specialized Hopper kernel should take the problem (FusedTuning::ws).
bool ws_wanted(const AttnDims& dims, Variant variant) {
  return tuning().ws >= 0 ? tuning().ws > 0 : ws_by_default(dims, variant);
}

// Runs `launch` (a warp-specialized kernel) where it is wanted. std::nullopt: take another
// kernel (not wanted, no sm_90a here, or a shape this build lacks). Forced (ws = 1), every
// refusal is the answer, cudaErrorNotSupported on a device or build without sm_90a included.
template <class Launch>
std::optional<cudaError_t> try_ws(const AttnDims& dims, Variant variant, Launch launch) {
  const bool forced = tuning().ws > 0;
  if (!ws_wanted(dims, variant)) return std::nullopt;
  if (!device_runs_sm90a()) return forced ? std::optional<cudaError_t>(cudaErrorNotSupported) : std::nullopt;
  const cudaError_t err = launch();
  if (err != cudaErrorNotSupported || forced) return err;
  return std::nullopt;
}

// The warp-specialized kernels' head dims: every fused head dim of their variant (int8-fa's 256
// too, on its 64-key kernel: sm90/int8_fa_ws.cuh ws_consume_fa_pv_parts).
bool ws_head_dim(const AttnDims& dims, Variant variant) { return fused_head_dim(variant, dims.head_dim); }

// Whether try_ws would launch the warp-specialized kernel of `variant` (the softmax step of
// the CPU emulation follows it): wanted, sm_90a here, and the kernel's own size rule
// (fa::ws_supports, as in its launch) on the key rows and Q/K scale groups the launch gets.
bool ws_would_run(const AttnDims& dims, Variant variant, int64_t k_rows, int32_t group_tokens) {
  return ws_head_dim(dims, variant) && ws_wanted(dims, variant) && device_runs_sm90a() &&
         fa::ws_supports(dims.seq_q, k_rows, dims.batch * dims.heads, group_tokens);
}

bool dims_valid(const AttnDims& dims) {
  return dims.batch > 0 && dims.heads > 0 && dims.kv_heads > 0 && dims.heads % dims.kv_heads == 0 &&
         dims.seq_q > 0 && dims.seq_kv > 0;
}

fa::Params base_params(const AttnDims& dims, __half* out) {
  fa::Params p{};
  p.out = out;
  p.heads = dims.heads;
  p.kv_heads = dims.kv_heads;
  p.seq_q = dims.seq_q;
  p.seq_kv = dims.seq_kv;
  p.fp16_score_scale = effective_sm_scale(dims) * kLog2e;
  p.causal = dims.causal;
  p.group_tokens = 1;
  return p;
}

// Tokens per Q/K scale: 1 per token, qk_block per block.
int32_t qk_group_tokens(const QuantConfig& cfg) {
  return cfg.qk_granularity == QkGranularity::PerBlock ? cfg.qk_block : 1;
}

// Fills the INT8 Q/K fields; false when the config is one the kernels do not implement (grouped K
// that its quantizer did not write: no k_order; its group scales and order bytes are in k_scale's
// block slots, sm90/int8_fa_ws_launch.h kGroupedOrderOffset).
bool set_int8_qk(const AttnDims& dims, const QuantConfig& cfg, const QuantizedQKV& qkv, fa::Params& p) {
  if (cfg.qk_granularity == QkGranularity::PerBlock && cfg.qk_block <= 0) return false;
  if (cfg.k_granularity == KGranularity::Grouped && qkv.k_order == nullptr) return false;
  p.q = qkv.q8;
  p.k = qkv.k8;
  p.q_scale = qkv.q_scale;
  p.k_scale = qkv.k_scale;
  p.k_rows = padded_seq_kv(dims.seq_kv);
  p.group_tokens = qk_group_tokens(cfg);
  p.n_q_groups = qk_groups(dims.seq_q, cfg);
  p.n_k_groups = qk_groups(p.k_rows, cfg);
  return true;
}

// int8-fa's 128-key P blocks with V scaled per the same blocks: the Hopper kernel alone runs them.
bool wide_p_blocks(const QuantConfig& cfg) {
  return cfg.kv_block == fa::kWsFaWideKeys && cfg.v_block == fa::kWsFaWideKeys;
}

// The P-code block and V scales int8-fa's kernels implement: 64-key blocks with V per channel
// (every kernel), or wide_p_blocks.
bool int8fa_options_supported(const QuantConfig& cfg) {
  return (cfg.kv_block == fa::kBlockN && cfg.v_block == 0) || wide_p_blocks(cfg);
}

// Whether int8-fa's warp-specialized kernel runs these options: with wide_p_blocks whenever the
// device and build can (no other kernel has them, so no length threshold) and tuning does not
// turn it off; otherwise where try_ws would launch it.
bool int8fa_ws_runs(const AttnDims& dims, const QuantConfig& cfg) {
  if (!wide_p_blocks(cfg)) return ws_would_run(dims, Variant::Int8Full, padded_seq_kv(dims.seq_kv), qk_group_tokens(cfg));
  return hopper_kernels_head_dim(dims.head_dim) && tuning().wgmma != 0 && tuning().ws != 0 && device_runs_sm90a() &&
         fa::ws_supports(dims.seq_q, padded_seq_kv(dims.seq_kv), dims.batch * dims.heads, qk_group_tokens(cfg));
}

// The current device's SM count (0 if it cannot be read).
int device_sms() {
  int sms = 0;
  return fa::current_device_sms(sms) == cudaSuccess ? sms : 0;
}

// The 128-key int8-fa kernel's query tiles over every head.
int64_t wide_ws_tiles(const AttnDims& dims) {
  constexpr int kRows = fa::ws_tile_rows(Variant::Int8Full, 128, fa::kWsFaWideKeys);
  return dims.batch * dims.heads * ((dims.seq_q + kRows - 1) / kRows);
}

// The query tiles of int8-fa's warp-specialized kernel that fuses Q: the 128-key one's, or at
// head_dim 256 the 64-key one's (two consumers, 128 rows).
int64_t fused_q_ws_tiles(const AttnDims& dims) {
  if (dims.head_dim != 256) return wide_ws_tiles(dims);
  constexpr int kRows = fa::ws_tile_rows(Variant::Int8Full, 256, fa::kBlockN);
  return dims.batch * dims.heads * ((dims.seq_q + kRows - 1) / kRows);
}

// Whether the INT8 kernel for these options quantizes FP16 Q itself (attention_quantizes_q):
// int8-fa's warp-specialized kernel at head_dim 128 or 256 would run (and FusedTuning::wgmma
// does not force mma.sync) with per-token Q scales and no rotation (the kernel has neither), at
// 128 with 128-key P blocks (at 256 its 64-key kernel is the only one), from kFusedQMinKeys keys
// on grids of kFusedQMinTilesPerSm tiles an SM (at 256 kFusedQMinTilesPerSm256; attn_kernels.h),
// unless FusedTuning::fused_q = 1 asks for any length and the 64-key kernel at 128 too.
// int8-qk does not, nor int8-fa at 64: their kernels ran 4-34% and 3% slower with the
// quantizing warps live (docs/perf-log.md fq3, s10), more than the quantize step saves.
// int8-fa's 64-key kernel ran 18% slower at 1K with them since its store changes (s15,
// kernel_bench: end to end 0.455 against 0.424 ms) and within 1% from 4K.
bool fuses_q(const AttnDims& dims, const QuantConfig& cfg, Variant variant) {
  if (variant != Variant::Int8Full || (dims.head_dim != 128 && dims.head_dim != 256) || tuning().fused_q == 0)
    return false;
  const bool any_length = tuning().fused_q == 1;
  const bool p_blocks_fuse = wide_p_blocks(cfg) || dims.head_dim == 256;
  if (!any_length && (!p_blocks_fuse || dims.seq_kv < kFusedQMinKeys)) return false;
  if (!dims_valid(dims) || !fused_head_dim(Variant::Int8Full, dims.head_dim) || !int8fa_options_supported(cfg))
    return false;
  if (cfg.qk_granularity != QkGranularity::PerToken || cfg.rotation != QkRotation::None) return false;
  if (tuning().wgmma == 0 || !int8fa_ws_runs(dims, cfg)) return false;
  // The grid-size rule last: it asks the device for its SM count.
  const double min_tiles_per_sm =
      dims.head_dim == 256 ? kFusedQMinTilesPerSm256 : static_cast<double>(kFusedQMinTilesPerSm);
  return any_length || static_cast<double>(fused_q_ws_tiles(dims)) >= min_tiles_per_sm * device_sms();
}

// Points the kernel at FP16 Q to quantize (fuses_q). Its launch must then run the
// warp-specialized kernel: a fallback would read Q codes nobody wrote.
void set_fused_q(const AttnDims& dims, const __half* q_fp16, fa::Params& p) {
  p.q_half = q_fp16;
  p.q_fold = effective_sm_scale(dims);
}

}  // namespace

int64_t int8fa_split_slots(const AttnDims& dims, const QuantConfig& cfg) {
  // Hopper's 128-key int8-fa at head_dim 128 (WsShape::kSplitKeys), non-causal rows (ws_split_plan).
  if (dims.causal || !dims_valid(dims) || dims.head_dim != 128 || !wide_p_blocks(cfg)) return 0;
  if (!int8fa_ws_runs(dims, cfg)) return 0;
  return std::min<int64_t>(device_sms(), fa::kWsSplitMaxParts * wide_ws_tiles(dims));
}

bool attention_quantizes_q(const AttnDims& dims, const QuantConfig& cfg, bool int8_pv) {
  return fuses_q(dims, cfg, int8_pv ? Variant::Int8Full : Variant::Int8QK);
}

cudaError_t int8_flash_attention(const AttnDims& dims, const QuantConfig& cfg, const QuantizedQKV& qkv,
                                 __half* out, cudaStream_t stream, const __half* q_fp16) {
  if (!dims_valid(dims) || !fused_head_dim(Variant::Int8Full, dims.head_dim)) return cudaErrorNotSupported;
  if (!int8fa_options_supported(cfg)) return cudaErrorNotSupported;
  fa::Params p = base_params(dims, out);
  if (!set_int8_qk(dims, cfg, qkv, p)) return cudaErrorNotSupported;
  p.v = qkv.v8;
  p.v_scale = qkv.v_scale;
  p.v_rows = p.k_rows;
  const bool p_u8 = cfg.p_quant == PQuant::U8x255;
  const int keys = wide_p_blocks(cfg) ? fa::kWsFaWideKeys : fa::kBlockN;
  // Grouped K's permuted blocks: its own warp-specialized kernel (128-key blocks) or none.
  const bool grouped = cfg.k_granularity == KGranularity::Grouped;
  if (grouped && !(wide_p_blocks(cfg) && int8fa_ws_runs(dims, cfg))) return cudaErrorNotSupported;
  const int k_scales = grouped                                         ? fa::kWsKGrouped
                       : cfg.k_granularity == KGranularity::PerThread ? fa::kWsKPerThread
                                                                      : fa::kWsKPerToken;
  auto launch_ws = [&] {
    return fa::launch_int8fa_ws(p, static_cast<int>(dims.head_dim), dims.batch * dims.heads, p_u8,
                                cfg.l_from_quantized_p, keys, tuning().ws_schedule, k_scales, tuning().tile_order,
                                fa::WsWorkspace{qkv.split_partials, qkv.ws_counters, qkv.split_slots,
                                                tuning().split_parts, tuning().dynamic_tiles,
                                                tuning().retile_groups, tuning().dependent_launch != 0},
                                stream);
  };
  if (q_fp16 != nullptr && fuses_q(dims, cfg, Variant::Int8Full)) {
    set_fused_q(dims, q_fp16, p);
    return launch_ws();
  }
  // Every other kernel reads the quantizer's Q codes: the harness leaves them out where this
  // kernel was to quantize Q (a tuning changed since then would otherwise read nothing).
  if (qkv.q8 == nullptr || qkv.q_scale == nullptr) return cudaErrorInvalidValue;
  if (wide_p_blocks(cfg)) return int8fa_ws_runs(dims, cfg) ? launch_ws() : cudaErrorNotSupported;
  if (tuning().wgmma != 0) {  // wgmma 0 forces mma.sync
    const auto ws = try_ws(dims, Variant::Int8Full, launch_ws);
    if (ws) return *ws;
  }
  if (tuning().wgmma != 0 && (dims.head_dim == 128 || tuning().wgmma == 1) && device_runs_sm90a())
    return dispatch_int8fa_wgmma(static_cast<int>(dims.head_dim), p_u8, cfg.l_from_quantized_p, p,
                                 dims.batch * dims.heads, stream);
  if (tuning().wgmma == 1) return cudaErrorNotSupported;  // forced, but not this device, build or shape
  const InstanceKey key = instance_key(Variant::Int8Full, dims, p_u8, cfg.l_from_quantized_p);
  return dispatch(key, p, dims.batch * dims.heads, stream);
}

// Per-block Q/K scales and problems beyond the TMA's 32-bit coordinates run on mma.sync
// (ws_would_run): int8-qk's key rows are padded, fp16-fa's are not.
int int8qk_softmax_keys(const AttnDims& dims, const QuantConfig& cfg) {
  const bool ws_runs = ws_would_run(dims, Variant::Int8QK, padded_seq_kv(dims.seq_kv), qk_group_tokens(cfg));
  return ws_runs ? fa::kWsQkKeys : cfg.kv_block;
}

int fp16_softmax_keys(const AttnDims& dims) {
  const bool ws_runs = ws_would_run(dims, Variant::Fp16Flash, dims.seq_kv, 1);
  return ws_runs ? fa::kWsQkKeys : fa::kBlockN;
}

// int8-qk's and fp16-fa's workspace: the tile walk's counter (nullptr: round robin).
static fa::WsWorkspace walk_workspace(uint32_t* tile_counter) {
  fa::WsWorkspace workspace;
  workspace.counters = tile_counter;
  workspace.dynamic_tiles = tuning().dynamic_tiles;
  return workspace;
}

cudaError_t int8qk_flash_attention(const AttnDims& dims, const QuantConfig& cfg, const QuantizedQKV& qk,
                                   const __half* v, __half* out, cudaStream_t stream) {
  if (!dims_valid(dims) || !fused_head_dim(Variant::Int8QK, dims.head_dim)) return cudaErrorNotSupported;
  fa::Params p = base_params(dims, out);
  // Grouped K permutes K's rows, which int8-qk's FP16 V would not follow.
  if (cfg.k_granularity == KGranularity::Grouped) return cudaErrorNotSupported;
  if (cfg.kv_block != fa::kBlockN || !set_int8_qk(dims, cfg, qk, p)) return cudaErrorNotSupported;
  p.v = v;
  p.v_rows = dims.seq_kv;
  const auto ws = try_ws(dims, Variant::Int8QK, [&] {
    return fa::launch_int8qk_ws(p, static_cast<int>(dims.head_dim), dims.batch * dims.heads, cfg.l_from_quantized_p,
                                tuning().ws_schedule, tuning().tile_order, walk_workspace(qk.ws_counters), stream);
  });
  if (ws) return *ws;
  const InstanceKey key = instance_key(Variant::Int8QK, dims, false, cfg.l_from_quantized_p);
  return dispatch(key, p, dims.batch * dims.heads, stream);
}

cudaError_t fp16_flash_attention(const AttnDims& dims, const __half* q, const __half* k, const __half* v,
                                 __half* out, cudaStream_t stream, uint32_t* tile_counter) {
  if (!dims_valid(dims) || !fused_head_dim(Variant::Fp16Flash, dims.head_dim)) return cudaErrorNotSupported;
  fa::Params p = base_params(dims, out);
  p.q = q;
  p.k = k;
  p.v = v;
  p.k_rows = p.v_rows = dims.seq_kv;
  const auto ws = try_ws(dims, Variant::Fp16Flash, [&] {
    return fa::launch_fp16_ws(p, static_cast<int>(dims.head_dim), dims.batch * dims.heads, tuning().ws_schedule,
                              tuning().tile_order, walk_workspace(tile_counter), stream);
  });
  if (ws) return *ws;
  const InstanceKey key = instance_key(Variant::Fp16Flash, dims, false, false);
  return dispatch(key, p, dims.batch * dims.heads, stream);
}

void set_fused_tuning(const FusedTuning& t) { tuning() = t; }
const FusedTuning& fused_tuning() { return tuning(); }
int fused_schedule_count() { return fa::kNumSchedules; }

bool sm90a_image_built() {
#if INT8ATTN_HAS_SM90A
  return true;
#else
  return false;
#endif
}

bool fused_kernels_support(int64_t head_dim, int cc_major, int cc_minor) {
  return cc_major >= kFusedMinCcMajor && fused_head_dim(Variant::Fp16Flash, head_dim);
}

}  // namespace int8attn::kernels
