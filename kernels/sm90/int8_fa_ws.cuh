// int8-fa, int8-qk and fp16-fa on Hopper, warp-specialized (FlashAttention-3's structure, issue
// 10): a persistent grid, one CTA per SM walking the tiles of 128 query rows (192 for fp16-fa at
// head_dim 64 and int8-fa's 128-key kernels: ws_consumers).
//   warpgroup 0  producer: one thread issues TMA loads of each tile's Q (two slots, so the
//                next tile's Q lands during this one) and of each KV block's K, V and (INT8)
//                per-key K scales (64 or 128 keys for int8-fa, 128 for the others: WsShape::kKeys)
//                into a kStages-deep shared-memory ring; full/empty mbarriers order it with
//                the consumers (fp16-fa at head_dim 128: a pair for a slot's K and one for
//                its V, WsShape::kSplitKV). It gives its registers away (setmaxnreg.dec) so
//                the consumers can hold theirs.
//   warpgroups 1, 2 (and 3)  consumers: 64 query rows each. The numerics and the per-thread softmax
//                are WarpTile's (int8_flash_attn.cuh), the products are wgmma:
//                S = Q·K^T (m64n{keys}k32 s8.s8, or m64n128k16 f16 for fp16-fa, both from
//                smem), then
//                int8-fa: O += P·V (m64n{D}k32 u8/s8.s8, or m64n64 halves for 128-key blocks
//                and quarters at head_dim 256, P codes from registers, V^T from smem);
//                int8-qk, fp16-fa: O += P·V (m64n{D}k16 f16, FP32 O in the accumulators, P
//                from registers, V from smem as it lies in memory: [keys][channels], MN-major).
// A tile's O leaves through shared memory and TMA stores (ws_store_o), as FlashAttention-3's
// epilogue does. How each consumer overlaps its products with its softmax is a schedule
// (WsSchedule below: int8-fa's deferred merge at 64 keys, its serial schedule at 128, P·V in
// channel parts at head_dim 256; the
// others overlap S with P·V, the consumers taking turns to issue except int8-qk at head_dim 64:
// fa::ws_default_schedule). Included by exactly one .cu (int8_fa_ws.cu).
#pragma once
#include <cuda.h>  // CUtensorMap (a plain struct: no driver library is linked for it)
#include <cuda/ptx>
#include <type_traits>

#include "common/k_groups.h"
#include "kernels/int8_fa_wgmma.cuh"
#include "kernels/ptx.cuh"
#include "kernels/sm90/int8_fa_ws_launch.h"
#include "kernels/sm90/ws_retile.h"
#include "kernels/sm90/ws_split.h"

namespace int8attn::kernels::fa {

// Params plus the TMA descriptors of the quantized tensors (3-D: [row bytes, rows, heads]).
struct WsParams {
  Params base;
  int32_t n_tiles;            // the work items the persistent grid walks: batch*heads*n_qblocks tiles,
                              // more where tiles are split (WsShape::kSplitKeys, ws_split.h)
  int32_t fused_q;            // int8-fa (WsShape::kFusedQ): Q arrives as FP16 (q16_map), producer warps quantize it
  int64_t tile_order_heads;   // CtaWork's order: 0 head-major, batch*heads query-block-major (longest first),
                              // -batch*heads short-last (kernels/sm90/ws_tile_order.h)
  CUtensorMap q_map;  // [head_dim, seq_q, batch*heads] int8, box [head_dim, 128, 1]
  CUtensorMap k_map;  // [head_dim, padded seq_kv, batch*kv_heads], box [head_dim, keys, 1]
  CUtensorMap v_map;  // int8-fa, V^T: [padded seq_kv, head_dim, batch*kv_heads] int8, box [64, head_dim, 1];
                      // int8-qk, V: [head_dim, seq_kv, batch*kv_heads] FP16, box [64, keys, 1]
  CUtensorMap k_scale_map;  // [padded seq_kv, batch*kv_heads] FP32, box [keys, 1]: past the end, zeros
  CUtensorMap q16_map;  // fused_q: [head_dim, seq_q, batch*heads] FP16, box [64, WsShape::kQ16BoxRows, 1]
                        // (columns of 64 channels: a tile's rows, or at 256 a quantizing warp's chunk)
  // int8-fa with V scaled per 128-key block (WsShape::kVPerBlock): [head_dim, batch*kv_heads *
  // v_blocks] FP32, box [head_dim, 1]; v_blocks = padded seq_kv / 128.
  CUtensorMap v_scale_map;
  int32_t v_blocks;
  CUtensorMap o_map;  // out [head_dim, seq_q, batch*heads] FP16, box [64, 64, 1] (ws_store_o)
  // Split-KV of the last round (WsShape::kSplitKeys; ws_split.h's WsSplitPlan): tiles
  // [split_first, split_first + split_tiles) in split_parts parts each (split_parts 1: none).
  int32_t split_first, split_tiles, split_parts;
  CUtensorMap split_map;     // a part's O / l: [head_dim, tile rows, slots] FP16, box [64, 64, 1] (as o_map's)
  const __half* split_o;     // split_map's tensor
  float2* split_lu;          // a part's 1 / l and u of each row: [slots, tile rows]
  uint32_t* split_counters;  // ws_split_counters(slots), zero between launches
  // WsShape::kDynamicTiles: null, the CTAs take their items round robin; else they claim them
  // one by one from this counter (ws_next_item), which is zero between launches.
  uint32_t* tile_counter;
  // The quantizer's Q in WsShape::kTmaQScales kernels: its per-token scales [seq_q, batch*heads]
  // FP32, box [kBlockM, 1], past seq_q zeros; each tile's come with its codes (q_scales_in_smem).
  // Encoded where seq_q is a multiple of 4 (TMA: 16-byte row strides) and Q is per token.
  CUtensorMap q_scale_map;
  // fused_q, or q_scale_map encoded: each Q slot's scales are in shared memory. A run-time flag
  // even where a kernel fixes it: with the global read compiled out, the serial consumer's step
  // spilled 2 STL + 3 LDL more (805 SASS against 801, s38); branched over, it did not.
  int32_t q_scales_in_smem;
  // The narrow tile walk's divisors (CtaWork's kNarrow), made on the host from tile_order_heads,
  // base.n_qblocks, base.heads and base.kv_heads once they are final (ws_walk_divs).
  WsWalkDivs walk_divs;
  // WsShape::kCausalLead: rows by which the query blocks start before row 0 (ws_causal_lead_rows).
  int32_t causal_lead_rows;
  // WsShape::kSplitKeys: items from retile_first (n_tiles where none) walk heads retile_bh0 on,
  // each in retile_per_head items of retile_groups 64-row groups (ws_retile.h's WsRetilePlan).
  int32_t retile_first, retile_bh0, retile_groups;
  WsFastDiv retile_per_head;
};

// kClaimForm_: the kernel's form that can claim its tiles one at a time (kDynamicTiles, where the
// kernel can); false, the round-robin form of a kernel that has two (kTwoWalks).
template <Variant kV, int kD_, int kKeys_ = (kV == Variant::Int8Full ? kBlockN : kWsQkKeys), bool kClaimForm_ = true>
struct WsShape {
  static constexpr Variant kVariant = kV;
  static constexpr int kD = kD_;
  static constexpr bool kInt8PV = kV == Variant::Int8Full;
  static constexpr bool kFp16QK = kV == Variant::Fp16Flash;  // FP16 Q and K, no K scales
  static constexpr int kConsumers = ws_consumers(kV, kD_, kKeys_);  // consumer warpgroups, 64 query rows each
  static constexpr int kThreads = 128 * (1 + kConsumers);
  static constexpr int kBlockM = 64 * kConsumers;      // query rows per CTA
  // Keys per KV block, the online softmax's step: int8-fa's P-code block (the contract's
  // kv_block: 64, or 128 with V scaled per the same 128 keys); int8-qk's and fp16-fa's 128
  // (kWsQkKeys), which halves the per-step work per key (+5-12% over 64 keys, docs/perf-log.md qk-ws3).
  static constexpr int kKeys = kKeys_;
  // int8-fa's 128-key blocks come with V scaled per channel and block (QuantConfig::v_block
  // 128): each block's INT32 P·V is merged into O with its own V scales (docs/perf-log.md V blocks).
  static constexpr bool kVPerBlock = Shape<kV, kD_, 8, kKeys_>::kVPerBlock;
  // Masking without a branch: the 128-key softmaxes spill around the mask's branch (int8-qk 308
  // bytes) and none without it; int8-fa's 64-key one is 3-13% faster with the branch.
  static constexpr bool kBranchFreeMask = !kInt8PV || kKeys == 128;
  // Q and K rows in shared memory, in columns of one swizzle row each (a TMA box and a wgmma K
  // atom): INT8 at head_dim 64 one 64-byte row, else 128-byte rows, INT8 kD / 128 columns of 128
  // channels and FP16 kD / 64 of 64 (like int8-qk's V).
  static constexpr int kQKElementBytes = kFp16QK ? 2 : 1;
  static constexpr int kQKRowBytes = kD * kQKElementBytes < 128 ? kD * kQKElementBytes : 128;  // within a column
  static constexpr int kQKColumns = kD * kQKElementBytes / kQKRowBytes;
  static constexpr int kQKColumnChannels = kQKRowBytes / kQKElementBytes;
  static constexpr int kQBytes = kBlockM * kD * (kFp16QK ? 2 : 1);
  static constexpr int kQColumnBytes = kBlockM * kQKRowBytes;
  static constexpr int kKBytes = kKeys * kD * (kFp16QK ? 2 : 1);
  static constexpr int kKColumnBytes = kKeys * kQKRowBytes;
  // int8-fa: V^T, kD rows of 64 key bytes. int8-qk, fp16-fa: FP16 V in kD / 64 columns of 64
  // channels, each kKeys key rows: one TMA box and one wgmma MN atom column.
  static constexpr int kVColumnBytes = kKeys * 128;
  static constexpr int kVBytes = kInt8PV ? kD * kKeys : kD / 64 * kVColumnBytes;
  static constexpr int kScaleOffset = kKBytes + kVBytes;
  static constexpr int kScaleBytes = kFp16QK ? 0 : kKeys * 4;  // per-token K scales
  static constexpr int kVScaleOffset = kScaleOffset + kScaleBytes;  // kVPerBlock: the block's kD V scales
  static constexpr int kVScaleBytes = kVPerBlock ? kD * 4 : 0;
  static constexpr int kStageBytes = kScaleOffset + (kFp16QK ? 0 : 1024);  // slots stay 1 KB aligned
  // fp16-fa at head_dim 128 guards a slot's K and its V by barriers of their own,
  // FlashAttention-3's two pipelines: K is released once S has read it, so the next block's K
  // loads while P·V still reads this V. Its ring has two stages (what fits beside two Q slots),
  // and with one barrier pair a slot block j + 1 could only load once P·V(j - 1) was done:
  // +25-50% (kernel_bench, H200, docs/perf-log.md s19). Not int8-qk (three stages; the split
  // measured −3 to −6% in ping-pong at head_dim 128) nor head_dim 64 (four stages; −1 to −10%).
  static constexpr bool kSplitKV = kFp16QK && kD == 128;
  static constexpr int kTmaBytes = kKBytes + kVBytes + kScaleBytes + kVScaleBytes;
  static constexpr int kKTmaBytes = kSplitKV ? kKBytes + kScaleBytes : kTmaBytes;  // what a full barrier waits for
  static constexpr int kVTmaBytes = kVBytes + kVScaleBytes;                        // kSplitKV: a V-full barrier
  // K/V ring depth. int8-fa: 8 blocks of 64 keys (~17 KB a stage; 4 and 8 measured alike, 6 2%
  // slower), 4 of 128 keys, but 3 at head_dim 128 (what fits beside three consumers' Q and the
  // FP16 Q stage). int8-qk: 3 or 4 stages of 128 keys (49 and 25 KB at head_dim 128 and 64).
  // fp16-fa: 64 and 32 KB a stage, 2 or 4 (what fits beside two Q slots).
  // int8-fa at head_dim 256: 3 stages of 33 KB beside two 32-KB Q slots and 32 KB of O (kOInQSlot).
  static constexpr int kStages = kInt8PV ? (kD == 256 ? 3 : kKeys == 128 && kD == 128 ? 3 : 8 * kBlockN / kKeys)
                                         : kFp16QK ? (kD == 64 ? 4 : 2) : (kD == 64 ? 4 : 3);
  static constexpr int kQSlots = 2;                    // the next tile's Q loads during this one
  static constexpr int kRingOffset = kQSlots * kQBytes;
  // O leaves through shared memory and TMA stores (ws_store_o): each consumer's 64 rows in kD /
  // 64 columns of 64 FP16 channels (128-byte swizzled rows, as the O map's boxes lie). int8-fa at
  // head_dim 128: the first column goes into the consumer's rows of the tile's Q slot, free once
  // its S are done, so that the K/V ring keeps its depth beside the FP16 Q stage (a 3-stage ring
  // cost the 128-key kernel 4-7% from 4K keys, docs/perf-log.md s16); at 256 the first two, one
  // in each Q column, so that the ring has three stages; the others into a buffer of
  // the consumer's own. (int8-qk's two-consumer kernel at head_dim 64 kept global stores, 2-3%
  // faster there, s16; its serial successor on three consumers stores as the others do.)
  static constexpr int kOColumnBytes = 64 * 128;
  static constexpr bool kOInQSlot = kInt8PV && kD >= 128;
  static constexpr int kOQColumns = kOInQSlot ? kQKColumns : 0;  // O's columns in the Q slot: one a Q column
  static constexpr int kOOwnColumns = kD / 64 - kOQColumns;
  static constexpr int kOOffset = kRingOffset + kStages * kStageBytes;
  static constexpr int kOBytes = kConsumers * kOOwnColumns * kOColumnBytes;
  // fused_q: int8-fa at head_dim 128 and 256. With the quantizing warps live, int8-qk's kernel ran
  // 4-34% slower and int8-fa's at 64 3% slower, which their shorter quantize step did not pay
  // back (docs/perf-log.md fq3, s10).
  static constexpr bool kFusedQ = kInt8PV && (kD == 128 || kD == 256);
  // At 256 a tile's FP16 Q (64 KB) does not fit beside the ring, the Q slots and O's staging, so
  // each quantizing warp loads its own 16-row chunks (kQ16ChunkRows) by TMA and quantizes them
  // into the slot the producer names (ws_quantize_q_chunks); at 128 the producer loads a whole
  // tile's FP16 Q into one stage a tile ahead (ws_quantize_q).
  static constexpr bool kQ16Chunked = kFusedQ && kD == 256;
  static constexpr int kQ16ChunkRows = 16;
  // The tile walk: narrow divisions where fused, for the producer warpgroup's 24 or 32
  // registers; the short-last order (ws_tile_order.h) for the serial 128-key kernel at head_dim
  // 128, which passes short tiles' idle rows. (At 64 the same kernel takes query-block-major:
  // its K/V fit in L2, and CtaWork's wider walk moved ptxas's schedule of the step.)
  static constexpr bool kShortLast = kInt8PV && kKeys == 128 && kD == 128;
  // Causal heads' idle rows in their first query block (CtaWork's kCausalLead, where the launch
  // sets WsParams::causal_lead_rows): the serial consumer passes a warpgroup of rows before 0 as
  // one of rows past seq_q. At head_dim 64 it measured 1.4-4.4% slower (s40).
  static constexpr bool kCausalLead = kShortLast;
  using Work = CtaWork<kBlockM, kKeys, kFusedQ, kShortLast, kCausalLead>;
  // Split-KV of the last round's tiles (ws_split.h): int8-fa's serial 128-key kernel at head_dim
  // 128, whose consumers run a tile's blocks one after another and can stop at a part's end. Not
  // at 64: there the split's code moved ptxas's schedule of the step (per-token K 2.2-4.9% slower
  // at every shape, kernel_bench, s27 call 5) for +1.3% where it splits.
  static constexpr bool kSplitKeys = kInt8PV && kKeys == 128 && kD == 128;
  static_assert(!kSplitKeys || kConsumers == kWsSplitConsumers, "ws_split.h's workspace: three consumers");
  // The serial 128-key kernel at head_dim 128 learns each item from the producer (ws_next_item):
  // a word per Q slot, and one for the FP16 Q stage, that travels with the slot's Q (n_tiles or
  // more: the walk is over). The producer takes the items round robin or, where
  // WsParams::tile_counter is set, claims them one at a time, so that a CTA done early takes the
  // next tile: +3.5 to +7.1% on causal rows (kernel_bench, H200, docs/perf-log.md s29). The
  // others keep round robin and their own count of it: at 64 the same walk cost the kernel 3-4%
  // on full rows (its step's order moved) for no gain on causal ones. fp16-fa at head_dim 128
  // (two consumers in ping-pong, ws_walk_tiles) claims its tiles the same way: causal +5.5 to
  // +12.3% on the H100 from 4K keys, its step's SASS unchanged (docs/perf-log.md s59); and so
  // does int8-qk's ping-pong kernel, with 32-bit descriptor adds (kDescLowAdds), without which
  // the walk moved its step (636 -> 649 SASS, full rows 3-7% slower): causal +3.0 to +8.3% on the
  // H100 (640 SASS, full rows 0.5-1.5% slower; s60); and fp16-fa at 64 (three consumers: causal
  // +0.6 to +5.1%, full rows 1-2% slower, s59). Those two come in two forms (kTwoWalks), because
  // the walk's code moves ptxas's schedule of their step: the claiming one for causal rows, and a
  // round-robin one whose step is the one from before the walk (int8-qk's 636 SASS with 64-bit
  // descriptor adds, fp16-fa's 455) for full rows; the launch picks by its walk (int8_fa_ws.cu).
  // int8-fa at head_dim 256 has the claiming form alone (its step 759 -> 756 SASS with it).
  static constexpr bool kTwoWalks = (kV == Variant::Int8QK && kD == 128) || (kFp16QK && kD == 64);
  static constexpr bool kDynamicTiles =
      kClaimForm_ && (kTwoWalks || (kD == 128 && (kInt8PV ? kKeys == 128 : kConsumers == 2)) || kD == 256);
  static constexpr bool kRoundRobinForm = kTwoWalks && !kDynamicTiles;
  // The quantizer's Q in the kernel that can fuse it (fused_q off): the producer's TMA brings
  // each tile's Q scales into its slot with the codes (WsParams::q_scale_map), where the
  // quantizing warps put them with fused_q, so that no consumer waits on a global load at its
  // tile switch (1.8% of the 1K kernel's warp samples, docs/perf-log.md s38).
  static constexpr bool kTmaQScales = kFusedQ && kDynamicTiles && !kQ16Chunked;
  // fused_q: producer warps 1..kQuantWarps quantize each tile's FP16 Q into its INT8 slot.
  static constexpr int kQuantWarps = 3;
  // With fused_q: one tile's FP16 Q (kQ16Chunked: each quantizing warp's chunk of kQ16BoxRows
  // rows), kD / 64 columns of 64 channels (128-byte swizzled rows, as TMA writes them), which
  // producer warps quantize into the tile's Q slot.
  static constexpr int kQ16BoxRows = kQ16Chunked ? kQ16ChunkRows : kBlockM;
  static constexpr int kQ16ColumnBytes = kQ16BoxRows * 128;
  static constexpr int kQ16Bytes = kFusedQ ? (kQ16Chunked ? kQuantWarps : 1) * kD / 64 * kQ16ColumnBytes : 0;
  static constexpr int kQ16Offset = kOOffset + kOBytes;
  // fused_q: the Q scales of each slot's rows (usable ones, as q_scales_of returns them).
  static constexpr int kQScaleOffset = kQ16Offset + kQ16Bytes;
  static constexpr int kQScaleBytes = kFusedQ ? kQSlots * kBlockM * 4 : 0;
  static constexpr int kBarrierOffset = kQScaleOffset + kQScaleBytes;
  // Lanes that quantize a row of Q: 8 lanes of 16 channels, four rows a pass, for the 128-key
  // kernel (34.5 SASS a row and 16 passes a warp a tile, against 43.5 and 32 with 16 lanes of 8
  // channels, which had measured +22% at 1K against a warp a row, s27); a warp a row for the
  // 64-key one at 128 (two rows a pass spilled in its tile walk and ran 2-3% slower there); 16
  // lanes, two rows a pass, for the 256 kernel's chunks (56 SASS a row against 73 a warp a row:
  // +6.2% at 1K with Q fused, s70).
  static constexpr int kQuantLanes = kKeys == 128 || kQ16Chunked ? kD / 16 : 32;
  // + the FP16 Q stage's full and empty (kQ16Chunked: the producer's word to the quantizing
  // warps, and their reply), then kQ16Chunked: each quantizing warp's chunk; kSplitKV: + the
  // slots' V-full and V-empty
  static constexpr int kBarriers = 2 * (kStages + kQSlots) + (kFusedQ ? 2 : 0) + (kQ16Chunked ? kQuantWarps : 0) +
                                   (kSplitKV ? 2 * kStages : 0);
  static_assert(!(kQ16Chunked && kSplitKV), "the chunks' barriers sit where kSplitKV's would");
  // kDynamicTiles: the item of each Q slot, then of the FP16 Q stage.
  static constexpr int kItemOffset = kBarrierOffset + kBarriers * 8;
  static constexpr int kItemBytes = kDynamicTiles ? (kQSlots + 1) * 4 : 0;
  static constexpr int kSmemBytes = 1024 + kItemOffset + kItemBytes;  // + alignment slack
  // 128*24 + 256*240 = 384*168 and 128*32 + 384*160 = 512*128: the launch allocation (the CTA's
  // pool). The fused three-consumer kernel's producer warpgroup takes the 32 left to it: with 24
  // its TMA walk and quantizing warps spilled 32 of the kernel's 52 bytes.
  static constexpr uint32_t kProducerRegs = kFusedQ && kConsumers == 3 ? 32 : 24;
  static constexpr uint32_t kConsumerRegs = kConsumers == 3 ? 160 : 240;
  // setmaxnreg moves registers within the CTA's launch allocation (kThreads times the
  // launch-bounds cap, 65536 / kThreads rounded down to 8): asking for more makes
  // setmaxnreg.inc wait forever (32 producer + 240 consumer registers hung the device).
  static constexpr uint32_t kLaunchRegs = 65536 / kThreads / 8 * 8;
  static_assert(128 * kProducerRegs + 128 * kConsumers * kConsumerRegs <= kThreads * kLaunchRegs,
                "setmaxnreg: the warpgroups' registers exceed the CTA's launch allocation");
  // int8-fa at head_dim 256 (ws_consume_fa_pv_parts): P·V in parts of kD / kPvParts channels (64
  // each): in halves the consumer spilled 738 bytes at 240 registers, in quarters 72 (outside the step).
  static constexpr int kPvParts = 4;
  static_assert(kD == 64 || kD == 128 || (kInt8PV && kD == 256 && kKeys == kBlockN),
                "head_dim 64 or 128; int8-fa's 64-key blocks also at 256");
  static_assert(kQColumnBytes % 1024 == 0 && kKColumnBytes % 1024 == 0, "swizzle atoms start on 1 KB");
  static_assert(kStageBytes % 1024 == 0, "ring slots start on 1 KB");
  static_assert(kOColumnBytes % 1024 == 0, "O's swizzle atoms start on 1 KB");
  static_assert(!kOInQSlot || 64 * kQKRowBytes == kOColumnBytes, "a consumer's Q rows of a column hold one O column");
  static_assert(kScaleBytes + kVScaleBytes <= 1024, "the K and V scales' room in a stage");
  static_assert(kKeys == 128 || (kInt8PV && kKeys == kBlockN), "int8-fa: 64 or 128 keys; the others 128");
  static_assert(kSmemBytes <= 227 * 1024, "an SM's shared memory");
};

// The CTA's mbarriers: a full and an empty one per ring stage and per Q slot, and for the
// FP16 Q stage (fused_q).
struct WsBarriers {
  uint64_t* full;
  uint64_t* empty;
  uint64_t* q_full;
  uint64_t* q_empty;
  uint64_t* q16_full;
  uint64_t* q16_empty;
  uint64_t* v_full;   // WsShape::kSplitKV: a slot's V (else full and empty guard it with K)
  uint64_t* v_empty;
  uint64_t* q16_chunk;  // WsShape::kQ16Chunked: each quantizing warp's FP16 chunk
};

// A work item of the persistent grid: its tile's work and the key blocks [begin, begin + count)
// it runs; split >= 0: part `part` of split tile `split` (ws_split.h). Without kSplitKeys an
// item is its tile, whole.
template <class W>
struct WsItem {
  typename W::Work work;
  int begin, count, split, part;
};
// Tile `tile`'s work in this launch's walk: its order, divisors and causal lead.
template <class W>
__device__ __forceinline__ typename W::Work ws_work(const WsParams& p, int64_t tile) {
  return typename W::Work(p.base, tile, p.tile_order_heads, p.walk_divs, p.causal_lead_rows);
}

template <class W>
__device__ __forceinline__ WsItem<W> ws_item(const WsParams& p, int64_t item) {
  if constexpr (!W::kSplitKeys) {
    const typename W::Work work = ws_work<W>(p, item);
    return {work, 0, work.n_blocks, -1, 0};
  } else {
    if (item >= p.retile_first) {  // rows of a retiled head (ws_retile.h), every key block
      uint32_t head = 0, first_row = 0;
      const uint32_t item_rows = kWsRetileGroupRows * static_cast<uint32_t>(p.retile_groups);
      ws_retile_item<uint32_t>(static_cast<uint32_t>(item - p.retile_first), p.retile_per_head, p.retile_per_head.d,
                               item_rows, head, first_row);
      const typename W::Work work(p.base, WsRowsOf{}, static_cast<uint32_t>(p.retile_bh0) + head, first_row,
                                   item_rows, p.walk_divs);
      return {work, 0, work.n_blocks, -1, 0};
    }
    uint32_t tile = 0, part = 0;
    int split = -1;
    ws_split_item<uint32_t>(static_cast<uint32_t>(item), static_cast<uint32_t>(p.split_first),
                            static_cast<uint32_t>(p.split_tiles), static_cast<uint32_t>(p.split_parts), tile, part, split);
    const typename W::Work work = ws_work<W>(p, tile);
    int begin = 0, end = work.n_blocks;
    if (split >= 0) ws_split_blocks(work.n_blocks, static_cast<int>(part), p.split_parts, begin, end);
    return {work, begin, end - begin, split, static_cast<int>(part)};
  }
}

// kDynamicTiles: the CTA's item after `item` (the producer's, lane 0 of warp 0): round robin,
// or with WsParams::tile_counter the next one no CTA has claimed. Every CTA claims until it gets
// one past the walk, so a launch makes exactly n_tiles claims (grid <= n_tiles) and the last
// claim leaves the counter at zero for the next launch.
template <class W>
__device__ __forceinline__ uint32_t ws_next_item(const WsParams& p, uint32_t item) {
  if (p.tile_counter == nullptr) return item + gridDim.x;
  // atomicInc wraps: the claim of n_tiles - 1 leaves 0. Through a shuffle (of the producer's one
  // lane), so that the compiler keeps the item and its work in uniform registers: in the 24
  // vector registers the head_dim-64 kernel spilled.
  return __shfl_sync(1u, gridDim.x + atomicInc(p.tile_counter, static_cast<uint32_t>(p.n_tiles) - 1), 0);
}

// kDynamicTiles: the item word of Q slot `slot` (kQSlots: the FP16 Q stage's).
template <class W>
__device__ __forceinline__ uint32_t ws_item_word(uint32_t smem_base, uint32_t slot) {
  return smem_base + W::kItemOffset + slot * 4;
}

// The producer (lane 0 of warp 0): for each of the CTA's tiles, Q into its slot (once the
// consumers released the tile before last), then every KV block through the ring. The ring's
// block count g and the tile count run on across tiles, so slots and phases follow from them.
// Everything lands through the async proxy, so a full barrier's byte count orders it all.
// kDynamicTiles: each item's number goes into its Q slot's word (or the FP16 stage's) before
// the arrival that completes the slot, and one past the walk ends it (ws_next_item).
template <class W>
__device__ __forceinline__ void ws_produce(const WsParams& p, char* smem, const WsBarriers& bar) {
  constexpr int kD = W::kD;
  // fused_q: the FP16 stage runs one tile ahead of the K/V loads, so that the quantizing warps
  // have the next tile's Q codes ready long before the consumers switch to it (loaded after a
  // tile's K/V, the quantization came too late and stalled every tile switch by ~7 us).
  auto load_q16 = [&](int64_t tile) {
    if constexpr (W::kDynamicTiles) {
      sts32(ws_item_word<W>(smem_addr(smem), W::kQSlots), static_cast<uint32_t>(tile));
      if (tile >= p.n_tiles) return ws::arrive(bar.q16_full);  // the walk's end
    }
    // kQ16Chunked: the item alone; the quantizing warps bring their chunks of its FP16 Q.
    if constexpr (W::kQ16Chunked) return ws::arrive(bar.q16_full);
    const typename W::Work w = ws_item<W>(p, tile).work;
    ws::arrive_expect_bytes(bar.q16_full, W::kQ16Bytes);
#pragma unroll
    for (int c = 0; c < kD / 64; ++c)
      ws::tma_load(smem + W::kQ16Offset + c * W::kQ16ColumnBytes, &p.q16_map, c * 64, static_cast<int>(w.m0),
                   static_cast<int>(w.bh), bar.q16_full);
  };
  // The Q slot of the CTA's tile_iter-th tile, once the consumers released the tile before last
  // (kDynamicTiles: with the tile's item word written).
  auto free_q_slot = [&](int64_t tile, uint32_t tile_iter) {
    const uint32_t q_slot = tile_iter % W::kQSlots, q_round = tile_iter / W::kQSlots;
    if (q_round > 0) ws::wait_phase(&bar.q_empty[q_slot], (q_round - 1) & 1);
    if constexpr (W::kDynamicTiles) sts32(ws_item_word<W>(smem_addr(smem), q_slot), static_cast<uint32_t>(tile));
    return q_slot;
  };
  auto load_q = [&](int64_t tile, uint32_t tile_iter, const typename W::Work& work) {
    const uint32_t q_slot = free_q_slot(tile, tile_iter);
    const bool scales = W::kTmaQScales && p.q_scales_in_smem;  // (fused_q loads no INT8 Q)
    ws::arrive_expect_bytes(&bar.q_full[q_slot], W::kQBytes + (scales ? W::kBlockM * 4 : 0));
#pragma unroll
    for (int c = 0; c < W::kQKColumns; ++c)
      ws::tma_load(smem + q_slot * W::kQBytes + c * W::kQColumnBytes, &p.q_map, c * W::kQKColumnChannels,
                   static_cast<int>(work.m0), static_cast<int>(work.bh), &bar.q_full[q_slot]);
    if (scales)
      ws::tma_load(smem + W::kQScaleOffset + q_slot * W::kBlockM * 4, &p.q_scale_map, static_cast<int>(work.m0),
                   static_cast<int>(work.bh), &bar.q_full[q_slot]);
  };
  uint32_t g = 0;
  // The item's KV blocks through the ring.
  auto load_blocks = [&](const WsItem<W>& item) {
    const int kv = static_cast<int>(item.work.kv_index);
    for (int blk = item.begin; blk < item.begin + item.count; ++blk, ++g) {
      const uint32_t stage = g % W::kStages;
      const uint32_t phase = (g / W::kStages - 1) & 1;  // the slot's last round, once g >= kStages
      if (g >= W::kStages) ws::wait_phase(&bar.empty[stage], phase);
      char* slot = smem + W::kRingOffset + stage * W::kStageBytes;
      ws::arrive_expect_bytes(&bar.full[stage], W::kKTmaBytes);
      const int key0 = blk * W::kKeys;
#pragma unroll
      for (int c = 0; c < W::kQKColumns; ++c)
        ws::tma_load(slot + c * W::kKColumnBytes, &p.k_map, c * W::kQKColumnChannels, key0, kv, &bar.full[stage]);
      auto load_k_scales = [&] {
        if constexpr (!W::kFp16QK) ws::tma_load(slot + W::kScaleOffset, &p.k_scale_map, key0, kv, &bar.full[stage]);
      };
      uint64_t* const v_full = W::kSplitKV ? &bar.v_full[stage] : &bar.full[stage];
      if constexpr (W::kSplitKV) {  // K's half complete before V's wait
        load_k_scales();
        if (g >= W::kStages) ws::wait_phase(&bar.v_empty[stage], phase);
        ws::arrive_expect_bytes(v_full, W::kVTmaBytes);
      }
      if constexpr (W::kInt8PV) {
        ws::tma_load(slot + W::kKBytes, &p.v_map, key0, 0, kv, v_full);
      } else {
#pragma unroll
        for (int c = 0; c < kD / 64; ++c)
          ws::tma_load(slot + W::kKBytes + c * W::kVColumnBytes, &p.v_map, c * 64, key0, kv, v_full);
      }
      if constexpr (!W::kSplitKV) load_k_scales();
      if constexpr (W::kVPerBlock)  // row kv * blocks + blk of [kv heads * blocks, kD]
        ws::tma_load(slot + W::kVScaleOffset, &p.v_scale_map, 0, kv * p.v_blocks + blk, v_full);
    }
  };
  static_assert(!W::kQ16Chunked || W::kDynamicTiles, "the chunked Q: its item travels in the stage's word");
  const bool fused = W::kFusedQ && p.fused_q;
  // A dependent launch (WsWorkspace::dependent): everything global waits for the grid before,
  // which may still write the codes or use the tile counter.
  pdl_wait();
  if constexpr (W::kDynamicTiles) {  // grid <= n_tiles: every CTA has a first item
    uint32_t tile_iter = 0;
    uint32_t tile = blockIdx.x, next = 0;  // the launch refuses 2^31 items or more
    if (fused) {  // the next item is claimed a tile ahead, with its FP16 Q
      load_q16(tile);
      next = ws_next_item<W>(p, tile);
    }
    for (; tile < static_cast<uint32_t>(p.n_tiles); ++tile_iter) {
      const WsItem<W> item = ws_item<W>(p, tile);
      if (fused) {  // the next tile's FP16 Q (or the walk's end) into the stage, once this tile's is quantized
        ws::wait_phase(bar.q16_empty, tile_iter & 1);
        load_q16(next);
      } else {
        load_q(tile, tile_iter, item.work);
      }
      load_blocks(item);
      if (fused) {
        tile = next;
        if (tile < static_cast<uint32_t>(p.n_tiles)) next = ws_next_item<W>(p, tile);
      } else {
        tile = ws_next_item<W>(p, tile);
      }
    }
    if (!fused) ws::arrive(&bar.q_full[free_q_slot(tile, tile_iter)]);  // the walk's end
  } else {
    if (fused && blockIdx.x < p.n_tiles) load_q16(blockIdx.x);
    uint32_t tile_iter = 0;
    for (int64_t tile = blockIdx.x; tile < p.n_tiles; tile += gridDim.x, ++tile_iter) {
      const WsItem<W> item = ws_item<W>(p, tile);
      if (fused) {  // the next tile's FP16 Q into the stage, once this tile's is quantized
        if (tile + gridDim.x < p.n_tiles) {
          ws::wait_phase(bar.q16_empty, tile_iter & 1);
          load_q16(tile + gridDim.x);
        }
      } else {
        load_q(tile, tile_iter, item.work);
      }
      load_blocks(item);
    }
  }
}

// Two FP16 Q values' codes by one HFMA2 with Q's multiplier (an FP16 number, numerics.h
// q_inv_scale): each half of the result is 1536 + its code (halves in [1024, 2048) are spaced 1
// apart, and the fused multiply-add rounds the exact product once, as quantize_s8_in_range_bits's
// FFMA does with the same multiplier), so the codes are bytes 0 and 2 of the word.
__device__ __forceinline__ uint32_t q_code_pair_bits(uint32_t two_halves, __half2 q_inv2) {
  const __half2 carriers =
      __hfma2(*reinterpret_cast<const __half2*>(&two_halves), q_inv2, __float2half2_rn(1536.f));
  return *reinterpret_cast<const uint32_t*>(&carriers);
}

// fused_q: a lane's kLaneCh FP16 values of a Q row (raw, two a word) -> their INT8 codes at dst,
// with the row spread over kLanes lanes; returns the row's multiplier (every lane of the row has
// it), from which ws_q_scale_bits makes its scale. The per-token quantizer's arithmetic
// (quantize.cu: max |x| over the row, numerics.h's multiplier on the FP16 grid and folded scale):
// its codes and scales, bit for bit.
template <int kLanes, int kLaneCh>
__device__ __forceinline__ float ws_quantize_q_lane(const uint32_t (&raw)[kLaneCh / 2], uint32_t dst) {
  static_assert(kLaneCh % 2 == 0, "whole FP16 pairs a lane");
  // max |x| in FP16 (exact, as the float max of the converted values), then float with 0 as
  // its floor (fmaxf drops NaN as the quantizer's does): two fewer live floats.
  __half2 amax2 = __habs2(*reinterpret_cast<const __half2*>(&raw[0]));
#pragma unroll
  for (int i = 1; i < kLaneCh / 2; ++i) amax2 = __hmax2(amax2, __habs2(*reinterpret_cast<const __half2*>(&raw[i])));
  float amax = fmaxf(fmaxf(__low2float(amax2), __high2float(amax2)), 0.f);
#pragma unroll
  for (int off = kLanes / 2; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  // int8_inv_scale without a division call (fewer registers), on the FP16 grid; exact as a half2.
  const float q_inv = q_inv_scale(int8_inv_scale_fp16(amax, rcp_approx(amax)));
  const __half2 q_inv2 = __float2half2_rn(q_inv);
  // |x| <= amax: |x * q_inv| < 127.5, no clamp. Two codes an HFMA2, four a PRMT.
  uint32_t pairs[kLaneCh / 2];
#pragma unroll
  for (int i = 0; i < kLaneCh / 2; ++i) pairs[i] = q_code_pair_bits(raw[i], q_inv2);
  uint32_t packed[(kLaneCh + 3) / 4];
  if constexpr (kLaneCh == 2) {
    packed[0] = __byte_perm(pairs[0], 0u, 0x0020);
  } else {
#pragma unroll
    for (int i = 0; i < kLaneCh / 4; ++i) packed[i] = __byte_perm(pairs[2 * i], pairs[2 * i + 1], 0x6420);
  }
  if constexpr (kLaneCh == 16) sts128(dst, make_uint4(packed[0], packed[1], packed[2], packed[3]));
  else if constexpr (kLaneCh == 8) sts64(dst, packed[0], packed[1]);
  else if constexpr (kLaneCh == 4) sts32(dst, packed[0]);
  else sts16(dst, packed[0]);
  return q_inv;
}

// The usable, folded Q scale of a row of multiplier q_inv, as the consumers read it (its bits).
__device__ __forceinline__ uint32_t ws_q_scale_bits(float q_inv, float q_fold) {
  return __float_as_uint(usable_q_scale(fold_softmax_scale(q_scale_of_inv_fp16(q_inv, rcp_approx(q_inv)), q_fold)));
}

// The fused-Q warps' tile (kDynamicTiles, kQ16Chunked): the item the producer wrote into the
// stage's word, read by lane 0, the lane that arrives on q16_empty (racecheck: q_item).
template <class W>
__device__ __forceinline__ uint32_t ws_staged_q_item(uint32_t base, int lane) {
  return __shfl_sync(0xffffffffu, lane == 0 ? lds32(ws_item_word<W>(base, W::kQSlots)) : 0u, 0);
}

// The item goes on into the Q slot's word for the consumers (qwarp 0's lane 0 writes it, before
// the warps' q_full arrivals). Past the walk they get the word alone: true, and the warp leaves.
template <class W>
__device__ __forceinline__ bool ws_pass_q_item(const WsParams& p, const WsBarriers& bar, uint32_t base,
                                               uint32_t q_slot, uint32_t item, int qwarp, int lane) {
  if (qwarp == 0 && lane == 0) sts32(ws_item_word<W>(base, q_slot), item);
  if (item < static_cast<uint32_t>(p.n_tiles)) return false;
  if (lane == 0) ws::arrive(&bar.q_full[q_slot]);
  return true;
}

// fused_q, producer warps 1..kQuantWarps (warp 0's lane 0 loads): each tile's FP16 Q from the
// stage -> INT8 codes in the tile's Q slot and usable scales beside it, once the consumers
// released the slot (q_empty) and the stage holds the tile (q16_full); then q_full for the
// consumers and q16_empty for the next load. W::kQuantLanes lanes a row, kD / kQuantLanes
// channels a lane, 32 / kQuantLanes rows a pass (warp qwarp's passes: rows qwarp * that, then
// every kQuantWarps passes). The per-token quantizer's arithmetic (quantize.cu: max |x| over the
// row, numerics.h's rounding and folded scale): its codes and scales, bit for bit. In the
// registers a producer thread keeps (W::kProducerRegs: 32 in the 128-key kernel, 24 in the
// 64-key one).
template <class W>
__device__ __forceinline__ void ws_quantize_q(const WsParams& p, char* smem, const WsBarriers& bar, int qwarp,
                                              int lane) {
  constexpr int kD = W::kD;
  static_assert(W::kFusedQ && !W::kQ16Chunked, "the variants that take FP16 Q a tile at a time");
  constexpr int kLanes = W::kQuantLanes, kLaneCh = kD / kLanes, kRows = 32 / kLanes;
  static_assert(W::kQScaleOffset % 16 == 0 && W::kBlockM % 4 == 0, "a pass's scales: one aligned store");
  static_assert(kLanes * kLaneCh == kD && kRows * kLanes == 32 &&
                    (kLaneCh == 2 || kLaneCh == 4 || kLaneCh == 8 || kLaneCh == 16) &&
                    W::kBlockM % kRows == 0,
                "whole rows a pass, 4, 8, 16 or 32 bytes of FP16 a lane");
  // The shared base through a shuffle: the compiler then knows it is warp-uniform and keeps
  // what derives from it in uniform registers, outside the 24 or 32 (in vector registers, the
  // per-tile addresses spilled).
  const uint32_t base = __shfl_sync(0xffffffffu, smem_addr(smem), 0);
  // This lane's place in a row: of the stage (FP16, 128-byte swizzled rows in columns of 64
  // channels) and of a slot (INT8, kD-byte swizzled rows). The rest is warp-uniform.
  // (A warp a row: the lane alone, the expressions the 64-key kernel's schedule was measured with.)
  const int row_of_pass = kRows == 1 ? 0 : lane / kLanes, ch0 = (kRows == 1 ? lane : lane % kLanes) * kLaneCh;
  const int src_chunk = (ch0 % 64) / 8, dst_chunk = ch0 / 16;
  const uint32_t src_lane = base + W::kQ16Offset + (ch0 / 64) * W::kQ16ColumnBytes + (ch0 % 8) * 2;
  const uint32_t dst_lane = base + ch0 % 16;
  // kDynamicTiles: the stage's item word goes on into the slot's (qwarp 0's lane 0 writes it, before
  // its arrival); past the walk, the word alone, and the warps leave.
  auto walking = [&](uint32_t tile_iter) {
    if constexpr (W::kDynamicTiles) return true;
    return blockIdx.x + tile_iter * gridDim.x < static_cast<uint32_t>(p.n_tiles);
  };
  for (uint32_t tile_iter = 0; walking(tile_iter); ++tile_iter) {
    const uint32_t q_slot = tile_iter % W::kQSlots, q_round = tile_iter / W::kQSlots;
    ws::wait_phase(bar.q16_full, tile_iter & 1);
    if (q_round > 0) ws::wait_phase(&bar.q_empty[q_slot], (q_round - 1) & 1);
    if constexpr (W::kDynamicTiles) {
      if (ws_pass_q_item<W>(p, bar, base, q_slot, ws_staged_q_item<W>(base, lane), qwarp, lane)) return;
    }
    for (int row0 = qwarp * kRows; row0 < W::kBlockM; row0 += W::kQuantWarps * kRows) {
      const int row = kRows == 1 ? row0 : row0 + row_of_pass;
      const uint32_t src = src_lane + swizzle<128>(row, src_chunk);
      uint32_t raw[kLaneCh / 2];
      if constexpr (kLaneCh == 16) {  // two 16-byte chunks of one 128-byte swizzled row
        const uint4 v = lds128(src), w = lds128(src_lane + swizzle<128>(row, src_chunk + 1));
        raw[0] = v.x, raw[1] = v.y, raw[2] = v.z, raw[3] = v.w, raw[4] = w.x, raw[5] = w.y, raw[6] = w.z, raw[7] = w.w;
      } else if constexpr (kLaneCh == 8) {
        const uint4 v = lds128(src);
        raw[0] = v.x, raw[1] = v.y, raw[2] = v.z, raw[3] = v.w;
      } else if constexpr (kLaneCh == 4) {
        const uint2 v = lds64(src);
        raw[0] = v.x, raw[1] = v.y;
      } else {
        raw[0] = lds32(src);
      }
      const uint32_t dst = dst_lane + q_slot * W::kQBytes + swizzle<kD>(row, dst_chunk);
      // Rows past seq_q arrive as zeros (TMA), so their scale is 0 here, as q_scales_of reads
      // for them, with no bound to check. Every lane makes its row's scale, and lane 0 gathers
      // the pass's and writes them at once: it is the lane that arrives on q_full, and racecheck
      // reported another lane's writes, ordered before that arrival by the warp's barrier, as
      // racing with the consumers' reads (s27). (Made by lane 0 row after row, the scales took
      // a quarter of the pass's instructions.)
      const float q_inv = ws_quantize_q_lane<kLanes, kLaneCh>(raw, dst);
      const uint32_t scale = ws_q_scale_bits(q_inv, p.base.q_fold);
      uint32_t scales[kRows];
#pragma unroll
      for (int r = 0; r < kRows; ++r) scales[r] = kRows == 1 ? scale : __shfl_sync(0xffffffffu, scale, r * kLanes);
      const uint32_t scale_dst = base + W::kQScaleOffset + (q_slot * W::kBlockM + row0) * 4;
      if (lane == 0) {
        if constexpr (kRows == 4) sts128(scale_dst, make_uint4(scales[0], scales[1], scales[2], scales[3]));
        else if constexpr (kRows == 2) sts64(scale_dst, scales[0], scales[1]);
        else sts32(scale_dst, scales[0]);
      }
    }
    fence_proxy_async();  // the codes, written by threads, are read by wgmma (the async proxy)
    __syncwarp();
    if (lane == 0) {
      ws::arrive(&bar.q_full[q_slot]);
      ws::arrive(bar.q16_empty);
    }
  }
}

// fused_q at head_dim 256 (WsShape::kQ16Chunked), producer warps 1..kQuantWarps: the tile the
// producer names a tile ahead (the stage's item word, q16_full; q16_empty once read), into its
// Q slot once the consumers released it (q_empty): its FP16 Q in chunks of kQ16ChunkRows rows,
// warp qwarp's chunks qwarp, qwarp + kQuantWarps, ..., each brought by the warp's lane 0 into
// the warp's own buffer (TMA, q16_chunk[qwarp]) and quantized two rows a pass (W::kQuantLanes,
// 16 lanes a row, 16 channels a lane, ws_quantize_q_lane); then q_full for the consumers. Past
// the walk, the word alone (as ws_quantize_q), and the warps leave.
template <class W>
__device__ __forceinline__ void ws_quantize_q_chunks(const WsParams& p, char* smem, const WsBarriers& bar, int qwarp,
                                                     int lane) {
  constexpr int kD = W::kD, kLanes = W::kQuantLanes, kLaneCh = kD / kLanes, kPassRows = 32 / kLanes;
  constexpr int kRows = W::kQ16ChunkRows;
  constexpr int kColumns = kD / 64;
  static_assert(W::kQ16Chunked && kLaneCh == 16, "two rows a pass, 32 bytes of FP16 a lane");
  static_assert(W::kBlockM % kRows == 0 && kRows % (2 * kPassRows) == 0 && W::kQScaleOffset % 16 == 0,
                "whole chunks a tile, two passes' scales an aligned store");
  const uint32_t base = __shfl_sync(0xffffffffu, smem_addr(smem), 0);  // warp-uniform (ws_quantize_q)
  // This lane's row of a pass and its channels: of the warp's buffer (columns of 64 channels,
  // kRows 128-byte swizzled rows each, as TMA writes them) and of a slot (columns of
  // kQKColumnChannels channels).
  const int row_of_pass = lane / kLanes, ch0 = (lane % kLanes) * kLaneCh;
  const int buffer = W::kQ16Offset + qwarp * kColumns * W::kQ16ColumnBytes;
  const uint32_t src_lane = base + buffer + (ch0 / 64) * W::kQ16ColumnBytes;
  const int src_chunk = (ch0 % 64) / 8, dst_chunk = (ch0 % W::kQKColumnChannels) / 16;
  const uint32_t dst_lane = base + (ch0 / W::kQKColumnChannels) * W::kQColumnBytes;
  uint64_t* const loaded = &bar.q16_chunk[qwarp];
  uint32_t loads = 0;  // the warp's chunks so far: its barrier's phase
  for (uint32_t tile_iter = 0;; ++tile_iter) {
    const uint32_t q_slot = tile_iter % W::kQSlots, q_round = tile_iter / W::kQSlots;
    ws::wait_phase(bar.q16_full, tile_iter & 1);
    const uint32_t item = ws_staged_q_item<W>(base, lane);
    if (lane == 0) ws::arrive(bar.q16_empty);  // the word is read: the producer may name the next tile
    if (q_round > 0) ws::wait_phase(&bar.q_empty[q_slot], (q_round - 1) & 1);
    if (ws_pass_q_item<W>(p, bar, base, q_slot, item, qwarp, lane)) return;
    const typename W::Work work = ws_item<W>(p, item).work;
    for (int chunk = qwarp; chunk < W::kBlockM / kRows; chunk += W::kQuantWarps, ++loads) {
      if (lane == 0) {
        ws::arrive_expect_bytes(loaded, kColumns * W::kQ16ColumnBytes);
#pragma unroll
        for (int c = 0; c < kColumns; ++c)
          ws::tma_load(smem + buffer + c * W::kQ16ColumnBytes, &p.q16_map, c * 64,
                       static_cast<int>(work.m0) + chunk * kRows, static_cast<int>(work.bh), loaded);
      }
      ws::wait_phase(loaded, loads & 1);
#pragma unroll 1
      for (int r0 = 0; r0 < kRows; r0 += 2 * kPassRows) {
        uint32_t scales[2];
#pragma unroll
        for (int pass = 0; pass < 2; ++pass) {
          const int r = r0 + pass * kPassRows + row_of_pass;
          const uint4 v = lds128(src_lane + swizzle<128>(r, src_chunk));
          const uint4 w = lds128(src_lane + swizzle<128>(r, src_chunk + 1));
          const uint32_t raw[8] = {v.x, v.y, v.z, v.w, w.x, w.y, w.z, w.w};
          const int row = chunk * kRows + r;
          const float q_inv = ws_quantize_q_lane<kLanes, kLaneCh>(
              raw, dst_lane + q_slot * W::kQBytes + swizzle<128>(row, dst_chunk));
          scales[pass] = ws_q_scale_bits(q_inv, p.base.q_fold);
        }
        // Rows r0, r0 + 1 (pass 0's two), r0 + 2, r0 + 3: lane 0 writes them, the lane that
        // arrives on q_full (ws_quantize_q: racecheck, s27).
        const uint32_t s1 = __shfl_sync(0xffffffffu, scales[0], kLanes);
        const uint32_t s3 = __shfl_sync(0xffffffffu, scales[1], kLanes);
        if (lane == 0)
          sts128(base + W::kQScaleOffset + (q_slot * W::kBlockM + chunk * kRows + r0) * 4,
                 make_uint4(scales[0], s1, scales[1], s3));
      }
      fence_proxy_async();  // the buffer's reads before the next chunk's TMA writes it
      __syncwarp();
    }
    fence_proxy_async();  // the codes, written by threads, are read by wgmma (the async proxy)
    __syncwarp();
    if (lane == 0) ws::arrive(&bar.q_full[q_slot]);
  }
}

// How a consumer orders its products and its ALU work (FusedTuning::ws_schedule):
//   Overlap (int8-qk at 64): issue S(blk + 1) and P·V(blk); wait for S; scale and softmax it while
//             P·V runs; wait for P·V and rescale O.
//   PingPong (int8-qk at head_dim 128, fp16-fa): Overlap, the consumers taking turns to
//             issue, round robin (named barriers 1 to kConsumers).
//   DeferO (int8-fa, 64-key P blocks): issue S(blk + 1); merge P·V(blk - 1) into O while S
//             runs; issue P·V(blk); scale and softmax S(blk + 1) while P·V(blk) runs. Both tensor
//             waits are covered by the warp's own ALU work. The merge is one FFMA per element
//             with no branch on the block weight: O is kept divided by a per-row scale (the last
//             block's weight), so O*alpha + beta*P·V becomes O*(alpha*scale/beta) + P·V.
//             (int8-fa's Overlap and PingPong measured 2-3% slower, docs/perf-log.md v17 and v24.)
//   Serial (int8-fa, 128-key P blocks, three consumers): S, its softmax, P·V and the merge one
//             after another (ws_consume_fa_serial); the other consumers fill the waits. At
//             head_dim 64 the consumers take turns to issue P·V (WsTurns), round robin.
//   PvParts (int8-fa at head_dim 256, 64-key P blocks, two consumers): S(blk + 1) with P·V(blk)'s
//             first channel part, then each part merged before the next is issued, then S's
//             softmax (ws_consume_fa_pv_parts); the consumers take turns to issue S and the
//             first part (WsTurns), so that the other fills the waits.
enum WsSchedule { kWsOverlap = 0, kWsPingPong = 1, kWsDeferO = 2, kWsSerial = 3, kWsPvParts = 4 };

// Ping-pong's turns (named barriers 1..kConsumers, 0 being __syncthreads): a consumer waits for
// its turn before it issues a step's products and passes the turn to the next one, round robin,
// once they are issued, so one warpgroup's softmax runs while another's products hold the tensor
// cores. kOn false: no code.
template <bool kOn, int kConsumers>
struct WsTurns {
  static constexpr int kThreads = 2 * 128;  // the waiting warpgroup and the passing one
  int mine, next;
  // With two consumers 2 - cg: the expression their kernels were measured with (same SASS).
  __device__ __forceinline__ explicit WsTurns(int cg)
      : mine(1 + cg), next(kConsumers == 2 ? 2 - cg : 1 + (cg + 1) % kConsumers) {
    if (kOn && cg == kConsumers - 1) ws::named_arrive(1, kThreads);  // consumer 0 issues first
  }
  __device__ __forceinline__ void take() const {
    if constexpr (kOn) ws::named_sync(mine, kThreads);
  }
  __device__ __forceinline__ void pass() const {
    if constexpr (kOn) ws::named_arrive(next, kThreads);
  }
  __device__ __forceinline__ void finish(int cg) const {  // the last consumer's last arrival
    if (kOn && cg == 0) ws::named_sync(mine, kThreads);
  }
};

// A consumer warpgroup's side of the ring for one tile: slots, barriers, and the S = Q·K^T
// product with its K scales. ring_base: the ring's block count at the tile's first block;
// tile_iter: the tile's rank among the CTA's (its Q slot); cg: the consumer's index.
// The int8-fa descriptors' high word (stride and layout; their low words move by 32-bit adds,
// ptx.cuh gmma_desc_lo), read from constant memory instead of written as an immediate: ptxas
// then keeps it in a uniform register, where with the immediate it wrote it into the operand
// pair again before every wgmma (s38: the 128-key d128 step 803 -> 791 SASS, 23 -> 8 UMOV, the
// softmax's SASS unchanged; docs/perf-log.md s38). Head_dim 128 only: at head_dim 64 the
// immediate form measured 3% faster (s39), so kD picks the form.
static __constant__ uint32_t c_ws_desc_hi[2] = {static_cast<uint32_t>(gmma_desc_hi_bits<128>() >> 32),
                                                static_cast<uint32_t>(gmma_desc_hi_bits<64>() >> 32)};
template <int kSwizzleBytes, int kD>
__device__ __forceinline__ uint64_t ws_desc_of_lo(uint32_t lo) {
  static_assert(kSwizzleBytes == 128 || kSwizzleBytes == 64, "128- or 64-byte swizzle");
  if constexpr (kD == 128)
    return (static_cast<uint64_t>(c_ws_desc_hi[kSwizzleBytes == 128 ? 0 : 1]) << 32) | lo;
  else
    return gmma_desc_hi_bits<kSwizzleBytes>() | lo;
}

template <class W_>
struct WsConsumerRing {
  using W = W_;
  static constexpr int kD = W::kD;
  using KScales = float2[W::kKeys / 8];  // (fp16-fa has none: unused)
  using SScalar = std::conditional_t<W::kFp16QK, float, uint32_t>;  // S's accumulators: FP32 or INT32
  using SAcc = SScalar[W::kKeys / 2];
  const WsBarriers& bar;
  const char* smem;
  uint32_t smem_base, ring_base, q_slot;
  int lane;
  uint64_t desc_q;        // Q's descriptor (the consumer's 64 rows of the tile)
  uint32_t q_desc_lo;     // kDescLowAdds: its low word (ptx.cuh gmma_desc_lo)
  uint32_t ring_address;  // kDescLowAdds: the ring's first slot, in the descriptors' 16-byte units

  __device__ __forceinline__ WsConsumerRing(const char* smem_, const WsBarriers& bar_, uint32_t ring_base_,
                                            uint32_t tile_iter, int cg, int lane_)
      : bar(bar_), smem(smem_), smem_base(smem_addr(smem_)), ring_base(ring_base_), q_slot(tile_iter % W::kQSlots),
        lane(lane_), desc_q(gmma_desc<W::kQKRowBytes>(smem_base + q_slot * W::kQBytes + cg * 64 * W::kQKRowBytes)),
        q_desc_lo(gmma_desc_lo(smem_base + q_slot * W::kQBytes + cg * 64 * W::kQKRowBytes)),
        ring_address(gmma_desc_lo(smem_base + W::kRingOffset, 0)) {}
  // int8-fa moves its descriptors by 32-bit adds on the low word (kernel +1-3% on the H200);
  // fp16-fa by 64-bit adds on the whole descriptor. int8-qk takes the 32-bit form too: alone it
  // measured 1-5% slower (docs/perf-log.md desc32), but with the claimed walk (kDynamicTiles) it
  // keeps the step at 640 SASS where 64-bit adds make 649 (s60); its round-robin form
  // (kRoundRobinForm) keeps the 64-bit adds and 636. Its serial kernel (head_dim 64)
  // took it as it was measured (at 128 the whole descriptors held in vector registers through the
  // serial step spilled).
  static constexpr bool kDescLowAdds = W::kInt8PV || (!W::kFp16QK && !W::kRoundRobinForm);
  static_assert(W::kStageBytes % 16 == 0 && W::kKBytes % 16 == 0, "descriptor offsets in 16-byte units");
  // kDescLowAdds: the low descriptor word (ptx.cuh gmma_desc_lo) of block blk's slot plus `bytes`
  // (its V tile: W::kKBytes).
  __device__ __forceinline__ uint32_t slot_desc_lo(int blk, uint32_t bytes = 0) const {
    return (ring_address + stage_of(blk) * (W::kStageBytes >> 4) + (bytes >> 4)) | (1u << 16);
  }

  __device__ __forceinline__ uint32_t stage_of(int blk) const { return (ring_base + blk) % W::kStages; }
  // The parity of block blk's round through its slot: what its full barriers complete.
  __device__ __forceinline__ uint32_t round_parity(int blk) const { return ((ring_base + blk) / W::kStages) & 1; }
  __device__ __forceinline__ uint32_t slot_addr(int blk) const {
    return smem_base + W::kRingOffset + stage_of(blk) * W::kStageBytes;
  }
  __device__ __forceinline__ void wait_q(uint32_t tile_iter) const {
    ws::wait_phase(&bar.q_full[q_slot], (tile_iter / W::kQSlots) & 1);
  }
  // kDynamicTiles: the item whose Q the slot holds (n_tiles or more: the walk is over), once
  // wait_q returned. Lane 0 reads it for the warp: the lane that releases the slot, so that
  // racecheck sees the read ordered before the word's next write (another lane's, ordered by
  // the warp's barrier, it reports as a race); the shuffle also tells the compiler it is
  // warp-uniform.
  __device__ __forceinline__ uint32_t q_item() const {
    return __shfl_sync(0xffffffffu, lane == 0 ? lds32(ws_item_word<W>(smem_base, q_slot)) : 0u, 0);
  }
  // Block blk's K and its scales (and, without kSplitKV, its V).
  __device__ __forceinline__ void wait_full(int blk) const {
    ws::wait_phase(&bar.full[stage_of(blk)], round_parity(blk));
  }
  // kSplitKV: block blk's V (without it, wait_full's).
  __device__ __forceinline__ void wait_v(int blk) const {
    if constexpr (W::kSplitKV) ws::wait_phase(&bar.v_full[stage_of(blk)], round_parity(blk));
  }
  __device__ __forceinline__ void release(uint64_t* barrier) const {  // one arrival per consumer warp
    __syncwarp();
    if (lane == 0) ws::arrive(barrier);
  }
  __device__ __forceinline__ uint64_t* empty_of(int blk) const { return &bar.empty[stage_of(blk)]; }
  // kSplitKV: block blk's K, once S and its scales have read it (without it: nothing, the slot
  // goes with its V).
  __device__ __forceinline__ void release_k(int blk) const {
    if constexpr (W::kSplitKV) release(empty_of(blk));
  }
  // What is left of block blk's slot once P·V has read it: its V (kSplitKV), else all of it.
  __device__ __forceinline__ void release_block(int blk) const {
    release(W::kSplitKV ? &bar.v_empty[stage_of(blk)] : empty_of(blk));
  }
  // Block blk's K scales (one per key), loaded with its tile.
  __device__ __forceinline__ const float* k_scales(int blk) const {
    return reinterpret_cast<const float*>(smem + (slot_addr(blk) + W::kScaleOffset - smem_base));
  }
  // kVPerBlock: block blk's kD V scales, loaded with its tile.
  __device__ __forceinline__ const float* v_scales(int blk) const {
    return reinterpret_cast<const float*>(smem + (slot_addr(blk) + W::kVScaleOffset - smem_base));
  }
  __device__ __forceinline__ void release_q() const { release(&bar.q_empty[q_slot]); }

  // q_scales_in_smem: the usable Q scales of rows g and g + 8 of the warp whose first row in
  // the tile is row. The quantizing warps write usable ones; kFloor: the producer's TMA may have
  // brought stored ones (zeros past seq_q and for all-zero rows).
  template <bool kFloor = false>
  __device__ __forceinline__ void q_scales_from_smem(int row, float (&scale)[2]) const {
    const float* slot_scales = reinterpret_cast<const float*>(smem + W::kQScaleOffset) + q_slot * W::kBlockM;
    scale[0] = slot_scales[row + lane / 4];
    scale[1] = slot_scales[row + lane / 4 + 8];
    if constexpr (kFloor) scale[0] = usable_q_scale(scale[0]), scale[1] = usable_q_scale(scale[1]);
  }
  __device__ __forceinline__ void issue_scores(int blk, SAcc& acc) const {
    // Q's and K's descriptors `units` 16-byte units on (kDescLowAdds: by the low word).
    const uint32_t k_lo = kDescLowAdds ? slot_desc_lo(blk) : 0;
    const uint64_t desc_k = kDescLowAdds ? 0 : gmma_desc<W::kQKRowBytes>(slot_addr(blk));
    auto q_at = [&](uint32_t units) {
      return kDescLowAdds ? ws_desc_of_lo<W::kQKRowBytes, kD>(q_desc_lo + units) : desc_q + units;
    };
    auto k_at = [&](uint32_t units) {
      return kDescLowAdds ? ws_desc_of_lo<W::kQKRowBytes, kD>(k_lo + units) : desc_k + units;
    };
    if constexpr (W::kFp16QK) {  // k16 steps of 32 bytes, 4 in each column of 64 channels
#pragma unroll
      for (int c = 0; c < W::kQKColumns; ++c)
#pragma unroll
        for (int ks = 0; ks < 4; ++ks) {
          const uint64_t a = q_at((c * W::kQColumnBytes >> 4) + ks * kDescKStep);
          const uint64_t b = k_at((c * W::kKColumnBytes >> 4) + ks * kDescKStep);
          if (c == 0 && ks == 0) wgmma_ss_f16_n128<0>(acc, a, b);
          else wgmma_ss_f16_n128<1>(acc, a, b);
        }
    } else {  // k32 steps of 32 bytes, W::kQKRowBytes / 32 in each column of codes
#pragma unroll
      for (int c = 0; c < W::kQKColumns; ++c)
#pragma unroll
        for (int ks = 0; ks < W::kQKRowBytes / 32; ++ks) {
          const uint64_t a = q_at((c * W::kQColumnBytes >> 4) + ks * kDescKStep);
          const uint64_t b = k_at((c * W::kKColumnBytes >> 4) + ks * kDescKStep);
          if constexpr (W::kKeys == 128) {
            if (c == 0 && ks == 0) wgmma_ss_s8s8_n128<0>(acc, a, b);
            else wgmma_ss_s8s8_n128<1>(acc, a, b);
          } else {
            if (c == 0 && ks == 0) wgmma_ss_s8s8_n64<0>(acc, a, b);
            else wgmma_ss_s8s8_n64<1>(acc, a, b);
          }
        }
    }
    wgmma_commit();
  }
  // A tile's first S, with no P·V in flight: issued, its K scales read, waited for.
  template <class Tile>
  __device__ __forceinline__ void first_scores(const Tile& tile, SAcc& acc, KScales& ks) const {
    wait_full(0);
    fence_regs(acc);
    wgmma_fence();
    issue_scores(0, acc);
    load_k_scales(tile, 0, ks);
    wgmma_wait<0>();
    fence_regs(acc);
  }
  // Per-thread K groups: this thread's K scale of block blk, which every one of its keys shares
  // (attn_types.h k_thread_group), read from its first key (2t, the group's lowest: if it is
  // past seq_kv all are, and masked); or with G groups of a thread's n-tiles (G = 4: grouped K's,
  // common/k_groups.h) group g's, read from its first key, column 2t of n-tile g * (16 / G).
  // kFloor: at least FLT_MIN, so that the row max of masked keys (-inf) times it stays -inf where
  // the quantizer wrote 0 (padded keys, all-zero groups). A block without masked keys needs no
  // floor: a scale is 0 only for a group of all-zero codes, whose scores are 0 times anything.
  template <bool kFloor, int G>
  __device__ __forceinline__ void k_group_scales(int blk, float (&k_group)[G]) const {
    auto floor = [](float scale) { return kFloor ? fmaxf(scale, FLT_MIN) : scale; };
    if constexpr (G == kWsKGrouped) {  // grouped K's slot: group g = 4t + q's scale at float g, one LDS.128
      const float4 four = reinterpret_cast<const float4*>(k_scales(blk))[lane % 4];
      k_group[0] = floor(four.x), k_group[1] = floor(four.y), k_group[2] = floor(four.z), k_group[3] = floor(four.w);
    } else {
      const float* scales = k_scales(blk) + 2 * (lane % 4);
#pragma unroll
      for (int g = 0; g < G; ++g) k_group[g] = floor(scales[g * (W::kKeys / G)]);
    }
  }
  // Grouped K: block blk's order bytes (each column's key's offset), after its group scales.
  __device__ __forceinline__ const uint8_t* k_order(int blk) const {
    return reinterpret_cast<const uint8_t*>(k_scales(blk)) + kGroupedOrderOffset;
  }
  // The K scales are read before the wait for S, so their shared-memory latency overlaps the
  // product instead of stalling the first multiply (ncu: 6% of all stalls).
  // (kFirst, kEnd: only the n-tiles [kFirst, kEnd) of the block's keys.)
  template <int kFirst = 0, int kEnd = W::kKeys / 8, class Tile>
  __device__ __forceinline__ void load_k_scales(const Tile& tile, int blk, KScales& ks) const {
    if constexpr (!W::kFp16QK)
      tile.template load_k_scales<kFirst, kEnd>(k_scales(blk), ks);
  }
  // x = the scaled, masked scores of a block (mask_blk: the block whose keys are masked; past
  // the last block every key is, so the softmax of a repeated block changes nothing).
  // kMasked false: a block every row of the warpgroup sees whole (no mask code at all).
  template <bool kMasked = true, class Tile>
  static __device__ __forceinline__ void scaled_scores(Tile& tile, int mask_blk, const SAcc& acc, const KScales& ks,
                                                       float (&x)[W::kKeys / 8][4], float (&bmax)[2]) {
    if constexpr (W::kFp16QK) {  // the FP32 scores themselves (sm_scale is the tile's q_scale)
#pragma unroll
      for (int n = 0; n < W::kKeys / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) x[n][e] = acc[4 * n + e];
    } else {
      tile.template scale_scores<true>(acc, ks, x);
    }
    if constexpr (kMasked) tile.template mask<W::kBranchFreeMask, true>(mask_blk, x);
    tile.block_max(x, bmax);
  }
  // Blocks [0, n) that every row of consumer cg sees whole (no tail, not past the diagonal):
  // its steady-state loop runs them without mask code. Uniform over the warpgroup, as the
  // loop's wgmma must be.
  template <class Work>
  static __device__ __forceinline__ int whole_blocks(const Params& p, const Work& work, int cg) {
    int64_t seen = p.seq_kv;  // keys the warpgroup's first row sees
    if (p.causal) seen = min64(seen, max64(0, work.m0 + 64 * cg + work.offset + 1));
    return static_cast<int>(min64(seen / W::kKeys, work.n_blocks));
  }
  // Blocks [0, n) holding a key that some row of consumer cg sees: past them (the causal
  // diagonal), its rows see none, and the contract skips such blocks (common/numerics.h), so the
  // consumer keeps pace with the ring there without computing. Uniform over the warpgroup.
  template <class Work>
  static __device__ __forceinline__ int own_blocks(const Params& p, const Work& work, int cg) {
    int64_t seen = p.seq_kv;  // keys the warpgroup's last row sees
    if (p.causal) seen = min64(seen, max64(0, work.m0 + 64 * cg + 64 + work.offset));
    return static_cast<int>(min64((seen + W::kKeys - 1) / W::kKeys, work.n_blocks));
  }
};

// A consumer warpgroup's O store through shared memory and TMA (FlashAttention-3's
// epilogue): each warp writes its 16 rows of FP16 O by stmatrix into the warpgroup's columns
// (WsShape), one thread issues the boxes' stores, which clip rows past seq_q. Against a thread's
// 4-byte global store an element pair, this is 8 stmatrix a thread and no wait on the stores'
// source registers: kernel_bench at 1K / 4K, int8-fa +8% / +2-4%, int8-qk +12% / +6%, fp16-fa
// +7% / +2%, within ±3% from 16K (docs/perf-log.md s16). Two named barriers of the warpgroup
// (after the ping-pong turns' ids) order it: the columns read by the last tile's stores, and
// written by every warp. W::kOInQSlot: the Q slot
// is released here, by the issuing warp once the stores have read it. The addresses are formed
// here, from what the walk keeps live anyway: held across the tile, they cost the step loop
// registers. O (rows first_row.., the warpgroup's) is what WarpTile::store would write: O / l,
// times int8-fa's V scales per channel (V per block: in the merges).
// vs: the tile's V scales (WarpTile::load_out_v_scales), read by the caller before it needs them.
template <class W, class Ring, class Tile, class Finished>
__device__ __forceinline__ void ws_store_o(const WsParams& p, const char* smem, int cg, const Ring& ring,
                                           const Tile& wt, const Finished& f, const float2 (&vs)[W::kD / 8],
                                           int64_t bh, int64_t first_row, const CUtensorMap& map) {
  constexpr int kN = W::kD / 8, kThreads = 128;
  const int bar_free = 1 + W::kConsumers + 2 * cg, bar_written = bar_free + 1;
  // The warp through a shuffle, so the compiler knows the branches on it are uniform: with
  // threadIdx, the step loop's ring arithmetic left the uniform datapath (+22 SASS a step).
  const int warp = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 32, 0) % 4;
  auto column = [&](int c) {  // the warpgroup's 64 rows of channels 64c..
    if (c < W::kOQColumns) return smem + ring.q_slot * W::kQBytes + c * W::kQColumnBytes + cg * W::kOColumnBytes;
    const int own = c - W::kOQColumns;
    return smem + W::kOOffset + (cg * W::kOOwnColumns + own) * W::kOColumnBytes;
  };
  const int matrix = wt.lane / 8;  // stmatrix's lanes 8m..8m+7 address matrix m's rows
  const int row = warp * 16 + (matrix & 1) * 8 + wt.lane % 8;
  const uint32_t chunk_xor = static_cast<uint32_t>((matrix >> 1) ^ (row % 8));  // the half and the swizzle
  if (warp == 0) {  // the last tile's stores have read the columns
    if (wt.lane == 0) ws::tma_store_wait_read();
    __syncwarp();
    ws::named_arrive(bar_free, kThreads);
  } else {
    ws::named_sync(bar_free, kThreads);
  }
  auto pair = [&](int n, int r) {  // as WarpTile::store writes them
    const __half2 h = wt.out_pair(f, n, r, vs);
    return *reinterpret_cast<const uint32_t*>(&h);
  };
#pragma unroll
  for (int np = 0; np < kN / 2; ++np) {  // n-tiles 2np, 2np + 1: 16-byte chunks 2np and 2np + 1 of the rows
    const uint32_t chunk = static_cast<uint32_t>(2 * (np % 4)) ^ chunk_xor;
    stmatrix_x4(smem_addr(column(np / 4)) + row * 128 + chunk * 16, pair(2 * np, 0), pair(2 * np, 1),
                pair(2 * np + 1, 0), pair(2 * np + 1, 1));
  }
  fence_proxy_async();  // the threads' writes, read by the TMA unit (the async proxy)
  if (warp == 0) {
    ws::named_sync(bar_written, kThreads);
    if (wt.lane == 0) {
#pragma unroll
      for (int c = 0; c < W::kD / 64; ++c)
        ws::tma_store(&map, column(c), c * 64, static_cast<int>(first_row), static_cast<int>(bh));
      ws::tma_store_commit();
      if constexpr (W::kOInQSlot) ws::tma_store_wait_read();  // the Q slot's column read: the slot is free
    }
  } else {
    ws::named_arrive(bar_written, kThreads);
  }
  if constexpr (W::kOInQSlot) ring.release_q();
}

// After a consumer's last tile: its O stores complete before the CTA (and its shared memory) ends.
template <class W>
__device__ __forceinline__ void ws_drain_o_stores() {
  if (threadIdx.x % 128 == 0) ws::tma_store_wait();  // ws_store_o's issuing thread
}

// The mask block of a tile's last step when no tile follows (ws_walk_tiles): S is repeated on
// the tile's last block with every key masked, past any block there is.
template <int kKeys>
inline constexpr int kRepeatedBlock = INT32_MAX / kKeys;

// One consumer warpgroup's walk over its CTA's tiles, for either variant. The last step of a
// tile computes the next tile's first S (its Q waits in the other slot) and stores O once its
// P·V is done, so the next tile starts in the steady state: no prologue without overlap and
// no recomputed last block per tile (int8-qk +9% at 1K, +4% at 4K: docs/perf-log.md qk-ws5). The
// consumer supplies, with `ring` the tile's side of the ring:
//   prologue(ring)      the tile's first S and P (no P·V in flight yet);
//   steps(ring, work)   every step but the last, S(blk + 1) with P·V(blk);
//   step(ring, blk, s_ring, next, mask_blk, between, after)  one step: P·V(blk) and S of
//                       block `next` of s_ring (this tile's, or the next tile's first), with
//                       `between` run after both are issued and before S's softmax, `after`
//                       once P·V is done, before P is packed;
//   complete(ring, work)  O complete after the last P·V (int8-fa's last merge; and its store's
//                       V scales read first, so that their latency overlaps the merge);
//   restarted()         the softmax state of a new tile (before its first softmax);
//   reset()             O empty for a new tile;
//   store(ring, f, work)  O of the tile `work` out, with f = wt.finish(...) (WarpTile::store, or
//                       ws_store_o, which releases the tile's Q slot where O passes through it).
// The tile's last step without a next tile (or when the next sees no key) recomputes the last
// block's S with every key masked instead of branching around the wgmma: ptxas serializes
// all wgmma of a kernel whose pipeline it cannot follow through branches (perf-log v7).
template <class W, class Tile, class Prologue, class Steps, class Step, class Complete, class Restarted, class Reset,
          class Store>
__device__ __forceinline__ void ws_walk_tiles(const WsParams& p, char* smem, const WsBarriers& bar, int cg, int lane,
                                              Tile& wt, int warp_row, Prologue&& prologue, Steps&& steps, Step&& step,
                                              Complete&& complete, Restarted&& restarted, Reset&& reset,
                                              Store&& store) {
  using Ring = WsConsumerRing<W>;
  using Work = typename W::Work;
  static_assert(!W::kCausalLead, "the causal lead's rows before 0: the serial consumer's (ws_consume_fa_serial)");
  auto nothing = [] {};
  // The tile's INT8 Q in its slot (TMA's, or fused_q the quantizing warps'); fused_q: and its
  // scales, from shared memory (as q_scales_of would read them).
  auto q_ready = [&](const Ring& r, uint32_t iter, float(&scale)[2]) {
    r.wait_q(iter);
    if (W::kFusedQ && p.fused_q) r.q_scales_from_smem(warp_row, scale);
  };
  int64_t tile = blockIdx.x;
  Work work = ws_work<W>(p, tile);
  uint32_t ring_base = 0, tile_iter = 0;
  bool started = false;  // the tile's first S and P are done (by the last step of the one before)
  for (;;) {
    const Ring ring(smem, bar, ring_base, tile_iter, cg, lane);
    const int n_blocks = work.n_blocks;
    if (!started) {
      q_ready(ring, tile_iter, wt.q_scale);
      if (n_blocks > 0) prologue(ring);
    }
    if (n_blocks > 0) steps(ring, work);
    // kDynamicTiles with a counter: the producer names the next item in its Q slot (the walk's
    // end past n_tiles); round robin keeps its own count, whose walk the full rows measured with.
    int64_t next_tile = tile + gridDim.x;
    const Ring next_ring(smem, bar, ring_base + n_blocks, tile_iter + 1, cg, lane);
    if (W::kDynamicTiles && p.tile_counter != nullptr) {
      next_ring.wait_q(tile_iter + 1);
      next_tile = next_ring.q_item();
    }
    bool switched = false;
    float next_q_scale[2];
    int64_t next_first_row = 0;
    if (n_blocks > 0 && next_tile < p.n_tiles) {
      const Work next_work = ws_work<W>(p, next_tile);
      switched = next_work.n_blocks > 0;
      if (!(W::kFusedQ && p.fused_q)) wt.q_scales_of(next_work.bh, next_work.m0 + warp_row, next_q_scale);  // read before they are needed
      next_first_row = next_work.m0 + warp_row;
    }
    if (switched) {
      q_ready(next_ring, tile_iter + 1, next_q_scale);
      float l_final[2];
      step(ring, n_blocks - 1, next_ring, 0, 0,
           [&] {
             l_final[0] = wt.l[0], l_final[1] = wt.l[1];
             wt.restart(next_first_row, next_q_scale);
             restarted();
           },
           [&] {
             if (!W::kOInQSlot) ring.release_q();  // every S of the tile is done
             complete(ring, work);
             store(ring, wt.finish(l_final, work.m0 + warp_row), work);
             reset();
           });
    } else {
      if (n_blocks > 0) step(ring, n_blocks - 1, ring, n_blocks - 1, kRepeatedBlock<W::kKeys>, nothing, nothing);
      if (!W::kOInQSlot) ring.release_q();
      complete(ring, work);
      store(ring, wt.finish(), work);
    }
    if (next_tile >= p.n_tiles) return;
    ring_base += n_blocks;
    ++tile_iter;
    tile = next_tile;
    work = ws_work<W>(p, tile);
    if (!switched) {
      float q_scale[2] = {FLT_MIN, FLT_MIN};  // fused_q: q_ready reads them before the first S
      if (!(W::kFusedQ && p.fused_q)) wt.q_scales_of(work.bh, work.m0 + warp_row, q_scale);
      wt.restart(work.m0 + warp_row, q_scale);
      restarted();
      reset();
    }
    started = switched;
  }
}

// A consumer's steps of a tile but the last (ws_walk_tiles' `steps`): the first `whole` blocks,
// which every row sees whole, without mask code, then the rest with it. step_of(ring, blk,
// s_ring, next, mask_blk, masked, between, after) is the consumer's step with `masked` a type.
template <class Ring, class StepOf>
__device__ __forceinline__ void ws_steps(const Ring& ring, int whole, int n_blocks, StepOf&& step_of) {
  auto nothing = [] {};
  int blk = 0;
  for (; blk + 1 < whole; ++blk) step_of(ring, blk, ring, blk + 1, blk + 1, std::false_type{}, nothing, nothing);
  for (; blk + 1 < n_blocks; ++blk) step_of(ring, blk, ring, blk + 1, blk + 1, std::true_type{}, nothing, nothing);
}

// The thread's lane, read afresh (asm volatile: not the value computed before the roles split).
// The consumers of WsShape::kDynamicTiles take theirs so: the one computed before the branch
// lives across the producer's 24- or 32-register region, and with the producer's dynamic walk ptxas
// spilled it there (the step reloaded it from local memory each block).
__device__ __forceinline__ int ws_lane() {
  int lane;
  asm volatile("mov.u32 %0, %%laneid;" : "=r"(lane));
  return lane;
}

// This warp's first query row in the CTA's tile: 16 rows a warp, 64 a consumer warpgroup.
__device__ __forceinline__ int ws_warp_row(int cg) { return (cg * 4 + (static_cast<int>(threadIdx.x) / 32) % 4) * 16; }

// One block's softmax in int8-fa's 64-key consumers: S scaled (with the mask's code or, on a
// block every row sees whole, without), the row state moved (pending: the merge scale of the
// block's P·V; log2_o_scale: O's) and the block's P terms.
template <class Ring, class Tile>
__device__ __forceinline__ void ws_fa_block_softmax(Tile& wt, const typename Ring::SAcc& s_acc, bool masked,
                                                    int mask_blk, const typename Ring::KScales& ks,
                                                    typename Tile::PTerms& tp, float (&log2_o_scale)[2],
                                                    float (&pending)[2]) {
  float x[Ring::W::kKeys / 8][4], bmax[2];
  if (masked) Ring::template scaled_scores<true>(wt, mask_blk, s_acc, ks, x, bmax);
  else Ring::template scaled_scores<false>(wt, mask_blk, s_acc, ks, x, bmax);
  wt.template softmax_rescaled<!Tile::kCodeRowSum>(x, bmax, tp, log2_o_scale, pending, wt.q_scale);
}

// P's codes of the block ws_fa_block_softmax did and, with l from the quantized P, their share
// of l (8 IDP.4A a step instead of a float sum of the codes' values).
template <class Tile, int kChunks>
__device__ __forceinline__ void ws_fa_pack_codes(Tile& wt, const typename Tile::PTerms& tp,
                                                 uint32_t (&codes)[kChunks][4], float (&pending)[2]) {
  wt.pack_p_codes(tp, codes);
  if constexpr (Tile::kCodeRowSum) wt.add_code_sums(codes, pending);
}

// ws_walk_tiles' prologue of the int8-fa consumers with 64-key P blocks: a tile's first S, its
// softmax, and P packed (no P·V in flight yet).
template <class Ring, class Tile, class SAcc, class SoftmaxOf, class PackCodes>
__device__ __forceinline__ void ws_fa_first_block(const Ring& ring, Tile& wt, SAcc& s_acc, SoftmaxOf&& softmax_of,
                                                  PackCodes&& pack_codes) {
  typename Ring::KScales ks;
  ring.first_scores(wt, s_acc, ks);
  softmax_of(true, 0, ks);
  pack_codes();
}

// One int8-fa consumer warpgroup over its CTA's tiles, in the DeferO schedule (64-key P blocks):
// O and l are stored divided by the last block's weight (WarpTile::softmax_rescaled);
// merge_scale is the factor of the merge in flight, pending the next one's.
template <int kD, bool kPU8, bool kLFromQ>
__device__ __forceinline__ void ws_consume_fa(const WsParams& p, char* smem, const WsBarriers& bar, int cg, int lane) {
  constexpr int kKeys = kBlockN;
  using W = WsShape<Variant::Int8Full, kD, kKeys>;
  using Ring = WsConsumerRing<W>;
  using KScales = typename Ring::KScales;
  using Work = typename W::Work;
  const int warp_row = ws_warp_row(cg);
  const Work first = ws_work<W>(p, blockIdx.x);
  WarpTile<Variant::Int8Full, kD, 4 * W::kConsumers, kPU8, kLFromQ, kWgmmaSchedule, kKeys> wt(
      p.base, lane, first.m0 + warp_row, first.offset);
  if (!p.fused_q) wt.load_q_scales(first.bh);  // fused_q: q_ready reads them with the tile's Q
  float2 store_v_scales[kD / 8];  // live from the tile's last merge to its store
  uint32_t s_acc[kKeys / 2], o_acc[kD / 2], pa[kKeys / 32][4];
  typename decltype(wt)::PTerms tp;
  float log2_o_scale[2] = {0.f, 0.f}, merge_scale[2] = {1.f, 1.f}, pending[2];
#pragma unroll
  for (int i = 0; i < kD / 2; ++i) o_acc[i] = 0;  // the merge of "block -1" adds nothing
  auto merge = [&] {  // O = O * merge_scale + P·V, one FFMA
#pragma unroll
    for (int n = 0; n < kD / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        wt.o[n][e] = fmaf(wt.o[n][e], merge_scale[e >> 1], static_cast<float>(static_cast<int32_t>(o_acc[4 * n + e])));
  };
  auto softmax_of = [&](bool masked, int mask_blk, const KScales& ks) {
    ws_fa_block_softmax<Ring>(wt, s_acc, masked, mask_blk, ks, tp, log2_o_scale, pending);
  };
  auto pack_codes = [&](uint32_t(&codes)[kKeys / 32][4]) { ws_fa_pack_codes(wt, tp, codes, pending); };
  // masked (a type): whether S needs the mask.
  auto step_of = [&](const Ring& ring, int blk, const Ring& s_ring, int next, int mask_blk, auto masked,
                     auto&& between, auto&& after) {
    s_ring.wait_full(next);
    // Read at the top so that no branch (the mask's) waits for them: ptxas makes a branch wait
    // for every load in flight.
    KScales ks;
    s_ring.load_k_scales(wt, next, ks);
    fence_regs(s_acc);
    wgmma_fence();
    s_ring.issue_scores(next, s_acc);
    merge();
    fence_regs(o_acc);
    wgmma_fence();
    const uint32_t v_lo = ring.slot_desc_lo(blk, W::kKBytes);  // rows of kKeys key bytes
    wgmma_pv<kD, kPU8, 0>(o_acc, pa[0], ws_desc_of_lo<kKeys, kD>(v_lo));
#pragma unroll
    for (int kk = 1; kk < kKeys / 32; ++kk)
      wgmma_pv<kD, kPU8, 1>(o_acc, pa[kk], ws_desc_of_lo<kKeys, kD>(v_lo + kk * kDescKStep));
    wgmma_commit();
    merge_scale[0] = pending[0], merge_scale[1] = pending[1];
    between();
    wgmma_wait<1>();  // S(next) done; P·V(blk) may still run
    fence_regs(s_acc);
    softmax_of(decltype(masked)::value, mask_blk, ks);
    wgmma_wait<0>();
    fence_regs(o_acc);
#pragma unroll
    for (int kk = 0; kk < kKeys / 32; ++kk) fence_regs(pa[kk]);  // read by the wgmma until here
    ring.release_block(blk);
    after();
    pack_codes(pa);
  };
  ws_walk_tiles<W>(
      p, smem, bar, cg, lane, wt, warp_row,
      [&](const Ring& ring) { ws_fa_first_block(ring, wt, s_acc, softmax_of, [&] { pack_codes(pa); }); },
      [&](const Ring& ring, const Work& work) {
        // One loop with the mask's branch (peeling the masked blocks measured 1-3% slower).
        ws_steps(ring, 0, work.n_blocks, step_of);
      },
      [&](const Ring& ring, int blk, const Ring& s_ring, int next, int mask_blk, auto&& between, auto&& after) {
        step_of(ring, blk, s_ring, next, mask_blk, std::true_type{}, between, after);
      },
      [&](const Ring&, const Work& work) {  // complete: the last P·V into O
        wt.load_out_v_scales(work.kv_index, store_v_scales);  // read before the merge, used by the store after it
        merge();
      },
      [&] { log2_o_scale[0] = log2_o_scale[1] = 0.f; },
      [&] {
#pragma unroll
        for (int i = 0; i < kD / 2; ++i) wt.o[i / 4][i % 4] = 0.f, o_acc[i] = 0;
        merge_scale[0] = merge_scale[1] = 1.f;
      },
      [&](const Ring& ring, const auto& f, const Work& work) {
        ws_store_o<W>(p, smem, cg, ring, wt, f, store_v_scales, work.bh, work.m0 + 64 * cg, p.o_map);
      });
  ws_drain_o_stores<W>();
}

// One int8-fa consumer warpgroup at head_dim 256 (64-key P blocks, V per channel). O's 128 FP32
// registers a thread leave no room for the whole INT32 P·V beside them (another 128), so P·V(blk)
// runs in W::kPvParts parts of kD / kPvParts channels, one at a time into the same accumulators,
// each merged into its channels of O (O = O * scale + P·V, one FFMA) before the next is issued.
// S(next) is issued with the first part; its softmax runs once the parts are merged, so that
// no accumulator is in flight beside O, S and the softmax's terms. The two consumers take turns
// to issue S(next) and the first part (WsTurns), so that one's softmax and merges run beside the
// other's products (+2.5 to +5.6% measured, docs/perf-log.md s68), and blocks that every row sees
// whole skip the mask's code. V's scales per channel go into O before the store (not held across
// it: 64 registers a thread at 256).
template <bool kPU8, bool kLFromQ>
__device__ __forceinline__ void ws_consume_fa_pv_parts(const WsParams& p, char* smem, const WsBarriers& bar, int cg,
                                                       int lane) {
  constexpr int kD = 256, kKeys = kBlockN;
  using W = WsShape<Variant::Int8Full, kD, kKeys>;
  using Ring = WsConsumerRing<W>;
  using KScales = typename Ring::KScales;
  using Work = typename W::Work;
  constexpr int kParts = W::kPvParts, kPartD = kD / kParts;  // a part's channels: one wgmma N
  static_assert(kPartD == 128 || kPartD == 64, "wgmma_pv's N");
  const int warp_row = ws_warp_row(cg);
  const Work first = ws_work<W>(p, blockIdx.x);
  using Tile = WarpTile<Variant::Int8Full, kD, 4 * W::kConsumers, kPU8, kLFromQ, kWgmmaSchedule, kKeys>;
  Tile wt(p.base, lane, first.m0 + warp_row, first.offset);
  if (!p.fused_q) wt.load_q_scales(first.bh);  // fused_q: q_ready reads them with the tile's Q
  float2 unit_v_scales[kD / 8];  // the store's: O holds them already (scale_o_by_v_scales, V per channel)
#pragma unroll
  for (int n = 0; n < kD / 8; ++n) unit_v_scales[n] = make_float2(1.f, 1.f);
  uint32_t s_acc[kKeys / 2], o_acc[kPartD / 2], pa[kKeys / 32][4];
  typename Tile::PTerms tp;
  float log2_o_scale[2] = {0.f, 0.f}, merge_scale[2], pending[2];
  const WsTurns<true, W::kConsumers> turns(cg);  // S(next) and P·V's first part issued in turns
  auto issue_part = [&](uint32_t v_lo, int part) {  // V^T rows (channels) part * kPartD.., kKeys key bytes each
    const uint32_t lo = v_lo + part * (kPartD * kKeys >> 4);
    wgmma_pv<kPartD, kPU8, 0>(o_acc, pa[0], ws_desc_of_lo<kKeys, kD>(lo));
#pragma unroll
    for (int kk = 1; kk < kKeys / 32; ++kk)
      wgmma_pv<kPartD, kPU8, 1>(o_acc, pa[kk], ws_desc_of_lo<kKeys, kD>(lo + kk * kDescKStep));
    wgmma_commit();
  };
  auto merge_part = [&](int part) {  // O's channels of the part = O * merge_scale + P·V
#pragma unroll
    for (int n = 0; n < kPartD / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float& o = wt.o[part * (kPartD / 8) + n][e];
        o = fmaf(o, merge_scale[e >> 1], static_cast<float>(static_cast<int32_t>(o_acc[4 * n + e])));
      }
  };
  auto softmax_of = [&](bool masked, int mask_blk, const KScales& ks) {
    ws_fa_block_softmax<Ring>(wt, s_acc, masked, mask_blk, ks, tp, log2_o_scale, pending);
  };
  auto pack_codes = [&] { ws_fa_pack_codes(wt, tp, pa, pending); };
  // masked (a type): whether S needs the mask.
  auto step_of = [&](const Ring& ring, int blk, const Ring& s_ring, int next, int mask_blk, auto masked,
                     auto&& between, auto&& after) {
    s_ring.wait_full(next);
    merge_scale[0] = pending[0], merge_scale[1] = pending[1];  // block blk's, before S(next)'s softmax
    turns.take();
    fence_regs(s_acc);
    fence_regs(o_acc);
    wgmma_fence();
    s_ring.issue_scores(next, s_acc);
    const uint32_t v_lo = ring.slot_desc_lo(blk, W::kKBytes);
    issue_part(v_lo, 0);
    turns.pass();
    between();
#pragma unroll
    for (int part = 0; part < kParts; ++part) {
      wgmma_wait<0>();  // (the first: S(next) too)
      fence_regs(o_acc);
      merge_part(part);
      if (part + 1 < kParts) {
        fence_regs(o_acc);
        wgmma_fence();
        issue_part(v_lo, part + 1);
      }
    }
#pragma unroll
    for (int kk = 0; kk < kKeys / 32; ++kk) fence_regs(pa[kk]);  // read by the wgmma until here
    fence_regs(s_acc);
    ring.release_block(blk);
    KScales ks;
    s_ring.load_k_scales(wt, next, ks);
    softmax_of(decltype(masked)::value, mask_blk, ks);
    after();
    pack_codes();
  };
  ws_walk_tiles<W>(
      p, smem, bar, cg, lane, wt, warp_row,
      [&](const Ring& ring) { ws_fa_first_block(ring, wt, s_acc, softmax_of, pack_codes); },
      [&](const Ring& ring, const Work& work) {  // the whole blocks without mask code, then the rest
        ws_steps(ring, Ring::whole_blocks(p.base, work, cg), work.n_blocks, step_of);
      },
      [&](const Ring& ring, int blk, const Ring& s_ring, int next, int mask_blk, auto&& between, auto&& after) {
        step_of(ring, blk, s_ring, next, mask_blk, std::true_type{}, between, after);
      },
      [&](const Ring&, const Work& work) { wt.scale_o_by_v_scales(work.kv_index); },  // complete
      [&] { log2_o_scale[0] = log2_o_scale[1] = 0.f; },
      [&] {
#pragma unroll
        for (int i = 0; i < kD / 2; ++i) wt.o[i / 4][i % 4] = 0.f;
      },
      [&](const Ring& ring, const auto& f, const Work& work) {
        ws_store_o<W>(p, smem, cg, ring, wt, f, unit_v_scales, work.bh, work.m0 + 64 * cg, p.o_map);
      });
  turns.finish(cg);
  ws_drain_o_stores<W>();
}

// The causal and tail mask of a serial int8-fa consumer's blocks (WarpTile::mask's, every block
// through the compares) from 32-bit bounds formed once a tile: with WarpTile's 64-bit row
// bounds live through the step loops, the 128-key kernels spilled 284 bytes at head_dim 128
// (docs/perf-log.md s20). Blocks are ints, so keys are below 2^31.
struct WsKeyMask {
  int seq_kv;  // the head's keys (at most INT32_MAX - 8, so that diag + 8 cannot overflow)
  int diag;    // the keys row g of the warp sees under the causal mask (its position + offset +
               // 1), clamped to [-8, seq_kv]: row g + 8 sees 8 more, and no row sees past seq_kv
  __device__ __forceinline__ explicit WsKeyMask(const Params& p)
      : seq_kv(static_cast<int>(min64(p.seq_kv, INT32_MAX - 8))), diag(0) {}
  // The tile's rows from first_row (the warp's), this thread's row g = lane / 4.
  __device__ __forceinline__ void restart(const Params& p, int64_t first_row, int64_t offset, int lane) {
    diag = static_cast<int>(max64(-8, min64(first_row + lane / 4 + offset + 1, p.seq_kv)));
  }
  // Keys counted from key0 (a split tile's part, ws_split.h): its blocks numbered from 0. A part
  // is its CTA's last item, so nothing restores seq_kv.
  __device__ __forceinline__ void start_at(int key0) {
    seq_kv -= key0;
    diag -= key0;
  }
  // apply() for a block whose rows hold the keys its order bytes name (grouped K; `order`: the
  // block's kGroupedOrderOffset bytes of its scale slot in shared memory, sm90/int8_fa_ws_launch.h):
  // column c is key j0 + order[c], masked where that key is past seq_kv or past the row's causal
  // bound. A partial last block keeps its order, so its padded columns are masked as in apply().
  template <int kKeys>
  __device__ __forceinline__ void apply_ordered(const Params& p, int blk, int t, const uint8_t* order,
                                                float (&x)[kKeys / 8][4]) const {
    const int j0 = blk * kKeys, kv_left = min(seq_kv - j0, kKeys);
    int seen[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) seen[r] = p.causal ? max(0, min(diag + 8 * r - j0, kv_left)) : kv_left;
    const uint8_t* const row = order + 2 * t;  // this thread's columns 2t, 2t + 1 of each n-tile
#pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
      const uint32_t pair = *reinterpret_cast<const uint16_t*>(row + 8 * n);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = static_cast<int>(e & 1 ? pair >> 8 : pair & 0xffu);
        if (key >= seen[e >> 1]) x[n][e] = -INFINITY;
      }
    }
  }
  // x = -inf for the keys of block blk that rows g and g + 8 do not see (t = lane % 4: the
  // thread's columns 2t, 2t + 1 of each 8-key n-tile).
  template <int kKeys>
  __device__ __forceinline__ void apply(const Params& p, int blk, int t, float (&x)[kKeys / 8][4]) const {
    const int j0 = blk * kKeys, kv_left = min(seq_kv - j0, kKeys);
    int seen[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) seen[r] = (p.causal ? max(0, min(diag + 8 * r - j0, kv_left)) : kv_left) - 2 * t;
    mask_unseen(seen, x);
  }
};

// The merge of a split tile's parts (ws_split.h) for one consumer warp's 16 rows, by the last
// part to finish them: out = sum_q O_q w_q / sum_q w_q over the parts' O / l (FP16, in their
// slots), w_q = 2^(u_q - max u) / (1 / l_q), u_q the log2 of part q's O scale (0 for a part none
// of whose keys a row sees). Part order, so that O does not depend on which part finished last.
// The weights a row a lane (lanes 0-15), then kD / 8 lanes a row, 16 bytes of FP16 a lane, with
// every row's loads of a part in flight at once: the merge adds to the grid's last round, and
// a row at a time (a chain of loads a row) measured 25-45 us a part (s27 call 3).
template <int kD>
__device__ __forceinline__ void ws_merge_split_rows(const WsParams& p, int slot0, int first_tile_row, int64_t out_row0,
                                                    int64_t bh, int lane) {
  constexpr int kLanesPerRow = kD / 8, kRowsPerPass = 32 / kLanesPerRow, kPasses = 16 / kRowsPerPass;
  const int parts = p.split_parts;
  float weight[kWsSplitMaxParts];  // of row `lane % 16`, divided by their sum
  {
    const float2* const lu_row = p.split_lu + static_cast<int64_t>(slot0) * kWsSplitRows + first_tile_row + lane % 16;
    float2 lu[kWsSplitMaxParts];
    float top = -INFINITY, total = 0.f;
#pragma unroll
    for (int q = 0; q < kWsSplitMaxParts; ++q) {
      lu[q] = q < parts ? __ldcg(lu_row + q * kWsSplitRows) : make_float2(0.f, -INFINITY);
      top = fmaxf(top, lu[q].y);
    }
#pragma unroll
    for (int q = 0; q < kWsSplitMaxParts; ++q) {
      weight[q] = lu[q].y == -INFINITY || lu[q].x == 0.f ? 0.f : fast_exp2(lu[q].y - top) / lu[q].x;
      total += weight[q];
    }
    const float inv_total = total > 0.f ? 1.f / total : 0.f;
#pragma unroll
    for (int q = 0; q < kWsSplitMaxParts; ++q) weight[q] *= inv_total;
  }
  const int chunk = lane % kLanesPerRow, pass_row = lane / kLanesPerRow;  // row i * kRowsPerPass + pass_row
  float sum[kPasses][8] = {};
#pragma unroll
  for (int q = 0; q < kWsSplitMaxParts; ++q) {
    if (q >= parts) break;
    const uint4* const o = reinterpret_cast<const uint4*>(
                               p.split_o + (static_cast<int64_t>(slot0 + q) * kWsSplitRows + first_tile_row) * kD) +
                           chunk;
    uint4 raw[kPasses];
#pragma unroll
    for (int i = 0; i < kPasses; ++i) raw[i] = __ldcg(o + (i * kRowsPerPass + pass_row) * (kD / 8));
#pragma unroll
    for (int i = 0; i < kPasses; ++i) {
      const float w = __shfl_sync(0xffffffffu, weight[q], i * kRowsPerPass + pass_row);
      const __half2* const h = reinterpret_cast<const __half2*>(&raw[i]);
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float2 v = __half22float2(h[c]);
        sum[i][2 * c] = fmaf(v.x, w, sum[i][2 * c]);
        sum[i][2 * c + 1] = fmaf(v.y, w, sum[i][2 * c + 1]);
      }
    }
  }
  const int64_t seq_q = p.base.seq_q;
#pragma unroll
  for (int i = 0; i < kPasses; ++i) {
    const int64_t row = out_row0 + i * kRowsPerPass + pass_row;
    if (row >= seq_q) continue;
    uint4 out;
    __half2* const h = reinterpret_cast<__half2*>(&out);
#pragma unroll
    for (int c = 0; c < 4; ++c) h[c] = __floats2half2_rn(sum[i][2 * c], sum[i][2 * c + 1]);
    *(reinterpret_cast<uint4*>(p.base.out + (bh * seq_q + row) * kD) + chunk) = out;
  }
}

// A split tile's part after ws_store_o wrote its O / l into its slot (ws_split.h): 1 / l and u of
// each of the warp's rows beside it.
template <class Finished>
__device__ __forceinline__ void ws_store_split_scales(const WsParams& p, const Finished& f, const float (&u)[2], int slot,
                                                      int tile_row, int lane) {
  if (lane % 4 == 0) {
    float2* const lu = p.split_lu + static_cast<int64_t>(slot) * kWsSplitRows + tile_row + lane / 4;
    __stcg(lu, make_float2(f.inv_l[0], u[0]));
    __stcg(lu + 8, make_float2(f.inv_l[1], u[1]));
  }
}

// Whether consumer warpgroup cg of a tile has rows to compute and store: its 64 start before
// seq_q, and (kCausalLead) not before row 0, where a causal head's first block may start (the
// lead moves whole warpgroups, so a warpgroup's rows all lie before 0 or none do).
template <class W, class Work>
__device__ __forceinline__ bool ws_consumer_has_rows(const WsParams& p, const Work& work, int cg) {
  const int64_t first_row = work.m0 + 64 * cg;
  return first_row < min64(p.base.seq_q, work.row_end) && (!W::kCausalLead || first_row >= 0);
}

// After a consumer's last item, when it was a split tile's part with rows here: each warp counts
// the part as done for its rows once the warpgroup's stores are complete (ws_drain_o_stores'
// wait by the TMA store's issuing thread, then a named barrier); the last part to count merges
// the warp's rows. A split part is always a CTA's last item (the plan's parts fill the last round).
template <class W>
__device__ __forceinline__ void ws_count_split_part(const WsParams& p, int split, int cg, int lane, int64_t bh,
                                                    int64_t first_row) {
  const int warp = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 32, 0) % 4;
  if (warp == 0 && lane == 0) fence_proxy_async();  // the TMA stores (complete) before the generic count
  __threadfence();
  ws::named_sync(1 + W::kConsumers + 2 * cg, 128);  // ws_store_o's first barrier, free again
  uint32_t* const counter = p.split_counters + (static_cast<int64_t>(split) * W::kConsumers + cg) * 4 + warp;
  uint32_t done = 0;
  if (lane == 0) done = atomicAdd(counter, 1u);
  done = __shfl_sync(0xffffffffu, done, 0);
  if (static_cast<int>(done) + 1 < p.split_parts) return;  // a part still running merges
  if (lane == 0) *counter = 0;                             // every part has counted: ready for the next launch
  __threadfence();
  ws_merge_split_rows<W::kD>(p, split * p.split_parts, 64 * cg + 16 * warp, first_row + 16 * warp, bh, lane);
}

// A tile's blocks as a serial consumer walks them (ws_walk_serial): the first `whole` every row
// of the warpgroup sees whole, without mask code, then up to `own` those it sees a key of, then
// up to `count` those past its diagonal (causal: up to two of a 192-row tile's last blocks for
// its first consumers), passed; none but passed where the warpgroup has no rows.
struct WsSerialBlocks {
  int count, whole, own;
  bool rows_here;
};

// One serial consumer warpgroup's walk over its CTA's tiles (int8-fa's 128-key consumer and
// int8-qk's at head_dim 64): the tile order (round robin, or kDynamicTiles the item the producer
// names in its Q slot), the ring's blocks and the Q slot. The consumer supplies:
//   begin(tile)          the tile's rows, mask and softmax state, before its Q's wait (global
//                        loads there overlap it); returns its WsSerialBlocks;
//   start(ring)          O empty, once Q is in its slot;
//   block(ring, blk, masked)  one block's S, softmax and P·V (masked: a type), with its turn
//                        (`turns`, WsTurns) to issue P·V where the consumer takes turns;
//   store(ring, tile)    O of the tile out.
// A block without work keeps pace with the ring and the turns. Returns the last tile walked
// (kDynamicTiles: the walk's end past n_tiles).
template <class W, class Turns, class Begin, class Start, class Block, class Store>
__device__ __forceinline__ int64_t ws_walk_serial(const WsParams& p, char* smem, const WsBarriers& bar, int cg,
                                                  int lane, const Turns& turns, Begin&& begin, Start&& start,
                                                  Block&& block, Store&& store) {
  using Ring = WsConsumerRing<W>;
  auto pass_block = [&](const Ring& ring, int blk) {
    ring.wait_full(blk);
    turns.take();
    turns.pass();
    ring.release_block(blk);
  };
  int64_t tile = blockIdx.x;
  uint32_t ring_base = 0, tile_iter = 0;
  for (;;) {
    const Ring ring(smem, bar, ring_base, tile_iter, cg, lane);
    if constexpr (W::kDynamicTiles) {  // the producer names the tile: it arrives with its Q
      ring.wait_q(tile_iter);
      const uint32_t item = ring.q_item();
      if (item >= static_cast<uint32_t>(p.n_tiles)) break;
      tile = item;
    }
    const WsSerialBlocks blocks = begin(tile);
    if constexpr (!W::kDynamicTiles) ring.wait_q(tile_iter);
    if (blocks.rows_here) {
      start(ring);
      int blk = 0;
      for (; blk < blocks.whole; ++blk) block(ring, blk, std::false_type{});
      for (; blk < blocks.own; ++blk) block(ring, blk, std::true_type{});
      for (; blk < blocks.count; ++blk) pass_block(ring, blk);
      if constexpr (!W::kOInQSlot) ring.release_q();  // every S of the tile is done
      store(ring, tile);
    } else {  // rows all past seq_q (1024 rows: five tiles of 192 and one of 64): int8-fa +0.3 to
              // +0.9% at head_dim 128, +2.4 to +3% causal, +1 to +4.6% at 64 (docs/perf-log.md s25)
      for (int blk = 0; blk < blocks.count; ++blk) pass_block(ring, blk);
      ring.release_q();
    }
    if constexpr (!W::kDynamicTiles) {
      tile += gridDim.x;
      if (tile >= p.n_tiles) break;
    }
    ring_base += blocks.count;
    ++tile_iter;
  }
  return tile;
}

// One int8-fa consumer warpgroup of three over its CTA's tiles, in the serial schedule (128-key
// P blocks, V scaled per block): each block one product at a time, S, its softmax and P's
// codes, then P·V in halves of 64 channels, each merged into O with the block's V scales as
// soon as it is done (at head_dim 128 the first while the second runs). No product of its own
// overlaps the warpgroup's softmax; the other two consumers' work fills its waits (three warps
// a scheduler), and only O and P's codes stay live beside S or the INT32 P·V, never both S and
// P·V. docs/perf-log.md s20: against two consumers overlapping S, P·V and the softmax, +12-16%
// at head_dim 128 from 16K keys, +14-20% at 2K-4K, +11-15% at 64. One P·V of 128 channels
// spilled 64 bytes and ran 4-10% slower than the halves; merging each half only after the
// other is issued spills 84 bytes but measured 3-5% faster than one half at a time.
// At head_dim 64 (one P·V of 64 channels, whose merge nothing of the warpgroup's own overlaps)
// the consumers issue P·V in turns, round robin, which staggers their steps: +2-4.5% there,
// within ±1% at 128, where it is off; turns to issue S cost 10-20% (docs/perf-log.md s21).
// Per-thread K (QuantConfig::k_granularity per-thread): a thread's keys of a block share one K scale,
// which goes into its row max and its exponents' factor instead of a multiply a score (802 ->
// 732 instructions a step at head_dim 128): +6-7% (docs/perf-log.md s22).
// kKScales: K's scales of a thread's keys of a block in that step: 0 per token (a multiply a
// score), kWsKPerThread (per-thread K: one), or kWsKGrouped (grouped K, common/k_groups.h: one
// a group of its n-tiles, the four quarters, its blocks' keys permuted: the masked steps compare
// k_order's positions, WsKeyMask::apply_ordered). Grouped K's step: 701 SASS at head_dim 128
// against per-thread K's 670 and per-token K's 766, +10% over per-token K at 16K-32K keys
// (H100, docs/perf-log.md s74).
static_assert(kWsKGrouped == kKGroups / 4, "grouped K: a quad thread's four groups");
template <int kD, bool kPU8, bool kLFromQ, int kKScales>
__device__ __forceinline__ void ws_consume_fa_serial(const WsParams& p, char* smem, const WsBarriers& bar, int cg,
                                                     int lane) {
  constexpr int kKeys = kWsFaWideKeys;
  static_assert(kKScales == kWsKPerToken || kKScales == kWsKPerThread || kKScales == kWsKGrouped, "K's scales");
  static_assert(kKScales != kWsKGrouped || kKeys == kKGroupSpan, "grouped K's blocks are the P blocks");
  constexpr bool kKThread = kKScales != kWsKPerToken, kOrderedKeys = kKScales == kWsKGrouped;
  using W = WsShape<Variant::Int8Full, kD, kKeys>;
  using Ring = WsConsumerRing<W>;
  using KScales = typename Ring::KScales;
  using Work = typename W::Work;
  static_assert(W::kVPerBlock && W::kConsumers == 3, "int8-fa's 128-key kernels");
  const int warp_row = ws_warp_row(cg);
  // Its rows are each tile's: ws_walk_serial's begin restarts them.
  WarpTile<Variant::Int8Full, kD, 4 * W::kConsumers, kPU8, kLFromQ, kWgmmaSchedule, kKeys> wt(
      p.base, lane, warp_row, p.base.seq_kv - p.base.seq_q);
  constexpr bool kCodeRowSum = decltype(wt)::kCodeRowSum;
  WsKeyMask mask(p.base);
  const WsTurns<kD == 64, W::kConsumers> pv_turns(cg);  // barriers 1..3; ws_store_o's follow them
  uint32_t s_acc[kKeys / 2], pa[kKeys / 32][4];
  // The softmax's state: folded at head_dim 128 (WarpTile::softmax_folded); at 64 ref and O's
  // log2 scale apart (softmax_rescaled), which measured 2-3% faster there (ptxas's schedule).
  constexpr bool kFoldedState = kD == 128;
  // l's terms as the codes' FP16 pairs (per-thread K): numerics.h.
  constexpr bool kHalfPairSum =
      l_terms_as_half_pairs(kKeys, kKThread ? KGranularity::PerThread : KGranularity::AsQ, kLFromQ);
  float log2_o_scale[2];  // !kFoldedState
  // Per-token K scales of the first four n-tiles read before S's wait: +0.9 to +2.2% at head_dim
  // 64 (s25, H200). At 128 they pay only beside the offset max below (+0.9 to +2.7% together;
  // each alone -2 to +1%: s53, H100). kernel_bench, docs/perf-log.md.
  constexpr int kKScalesEarly = 4;
  auto block = [&](const Ring& ring, int blk, auto masked) {  // masked (a type): whether S needs the mask
    ring.wait_full(blk);
    fence_regs(s_acc);
    wgmma_fence();
    ring.issue_scores(blk, s_acc);
    [[maybe_unused]] KScales ks;  // per-token K: the first kKScalesEarly n-tiles' scales read while S runs
    if constexpr (!kKThread) ring.template load_k_scales<0, kKScalesEarly>(wt, blk, ks);
    wgmma_wait<0>();
    fence_regs(s_acc);
    float merge_scale[2];
    {
      constexpr int kScaleGroups = kKThread ? kKScales : 1;
      float x[kKeys / 8][4], bmax[2], exp_scale[kScaleGroups][2], x_offset[2] = {0.f, 0.f};
      typename decltype(wt)::PTerms tp;
      if constexpr (kKThread) {  // one K scale for this thread's keys of the block (or a group of them)
        // The FLT_MIN floors (k_group_scales) where keys are masked; at head_dim 64 in every step,
        // where dropping them measured 8.5% slower on an H100 (docs/perf-log.md s76)
        constexpr bool kFloorScales = decltype(masked)::value || kD != 128;
        float k_group[kScaleGroups];
        ring.template k_group_scales<kFloorScales>(blk, k_group);
        wt.raw_scores(s_acc, x);
        // Every key seen, at head_dim 128: the max from the INT32 scores (VIMNMX3), +5 to +9% on
        // an H100; at 64 it measured 4-8% slower (docs/perf-log.md s51).
        if constexpr (!decltype(masked)::value && kD == 128) {
          wt.block_max_raw_group_scaled(s_acc, k_group, bmax);
        } else {
          if constexpr (decltype(masked)::value && kOrderedKeys)
            mask.template apply_ordered<kKeys>(p.base, blk, lane % 4, ring.k_order(blk), x);
          else if constexpr (decltype(masked)::value) mask.template apply<kKeys>(p.base, blk, lane % 4, x);
          wt.block_max_group_scaled(x, k_group, bmax);
        }
        // Where keys are masked, FLT_MIN at least, so that a masked key's -inf times it stays -inf
        // (the factor is below FP32's normal range only for a group of all-zero keys, whose scores
        // are 0 either way: without a mask the floor changes no exponent)
        for (int g = 0; g < kScaleGroups; ++g)
          for (int r = 0; r < 2; ++r) {
            exp_scale[g][r] = wt.q_scale[r] * k_group[g];
            if constexpr (kFloorScales) exp_scale[g][r] = fmaxf(exp_scale[g][r], FLT_MIN);
          }
      } else {
        ring.template load_k_scales<kKScalesEarly>(wt, blk, ks);
        exp_scale[0][0] = wt.q_scale[0], exp_scale[0][1] = wt.q_scale[1];
        // Every key seen, at head_dim 128: the scores less an offset, their max by integer max
        // (VIMNMX3 on the FP32 bits, 766 SASS a step against 792 with FMNMX).
        if constexpr (!decltype(masked)::value && kD == 128) {
          wt.scale_scores_offset(s_acc, ks, x, x_offset);
          wt.block_max_offset(x, x_offset, bmax);
        } else {
          wt.template scale_scores<true>(s_acc, ks, x);
          if constexpr (decltype(masked)::value) mask.template apply<kKeys>(p.base, blk, lane % 4, x);
          wt.block_max(x, bmax);
        }
      }
      if constexpr (kFoldedState && !kKThread && !decltype(masked)::value)
        wt.template softmax_folded<!kCodeRowSum>(x, bmax, tp, merge_scale, exp_scale[0], x_offset);
      else if constexpr (kFoldedState)
        wt.template softmax_folded<!kCodeRowSum, kHalfPairSum>(x, bmax, tp, merge_scale, exp_scale);
      else wt.template softmax_rescaled<!kCodeRowSum, kHalfPairSum>(x, bmax, tp, log2_o_scale, merge_scale, exp_scale);
      wt.pack_p_codes(tp, pa);
    }
    if constexpr (kCodeRowSum) wt.add_code_sums(pa, merge_scale);
    const uint32_t v_lo = ring.slot_desc_lo(blk, W::kKBytes);  // rows of kKeys key bytes
    const float* v_scales = ring.v_scales(blk);
    uint32_t pv[kD / 64][32];  // P·V in halves of 64 channels: each half's own accumulators
#pragma unroll
    for (int kk = 0; kk < kKeys / 32; ++kk) fence_regs(pa[kk]);
    pv_turns.take();
#pragma unroll
    for (int h = 0; h < kD / 64; ++h) {  // every half issued, each its own commit group
      fence_regs(pv[h]);
      wgmma_fence();
      const uint32_t v_half = v_lo + h * (64 * kKeys >> 4);  // V^T rows (channels) 64h..
      wgmma_pv<64, kPU8, 0>(pv[h], pa[0], ws_desc_of_lo<kKeys, kD>(v_half));
#pragma unroll
      for (int kk = 1; kk < kKeys / 32; ++kk)
        wgmma_pv<64, kPU8, 1>(pv[h], pa[kk], ws_desc_of_lo<kKeys, kD>(v_half + kk * kDescKStep));
      wgmma_commit();
    }
    pv_turns.pass();
#pragma unroll
    for (int h = 0; h < kD / 64; ++h) {  // half h merged while the next one runs
      if (h + 1 < kD / 64) wgmma_wait<1>();
      else wgmma_wait<0>();
      fence_regs(pv[h]);
#pragma unroll
      for (int nh = 0; nh < 8; ++nh) {  // O = O * merge_scale + P·V * the block's V scales (n-tiles 8h..)
        const int n = h * 8 + nh;
        const float2 vs = *reinterpret_cast<const float2*>(v_scales + n * 8 + 2 * (lane % 4));
#pragma unroll
        for (int e = 0; e < 4; ++e)
          wt.o[n][e] = fmaf(wt.o[n][e], merge_scale[e >> 1],
                            static_cast<float>(static_cast<int32_t>(pv[h][4 * nh + e])) * (e & 1 ? vs.y : vs.x));
      }
    }
    ring.release_block(blk);  // K, V and their scales all read
  };
  // The tile's work is formed again for its store: none of it is live across the blocks.
  auto begin = [&](int64_t tile) {
    const WsItem<W> item = ws_item<W>(p, tile);
    const Work& work = item.work;
    float q_scale[2] = {FLT_MIN, FLT_MIN};  // q_scales_in_smem: from shared memory once Q is there
    if (!(W::kFusedQ && p.q_scales_in_smem))
      wt.template q_scales_of<W::kCausalLead>(work.bh, work.m0 + warp_row, q_scale);
    wt.restart(work.m0 + warp_row, q_scale);
    mask.restart(p.base, work.m0 + warp_row, work.offset, lane);
    WsSerialBlocks blocks{item.count, Ring::whole_blocks(p.base, work, cg), Ring::own_blocks(p.base, work, cg),
                          ws_consumer_has_rows<W>(p, work, cg)};
    if (item.split >= 0) {  // a split tile's part: its blocks from 0, relative to its first key
      mask.start_at(item.begin * kKeys);
      blocks.whole = min(max(blocks.whole - item.begin, 0), blocks.count);
      blocks.own = min(max(blocks.own - item.begin, 0), blocks.count);
    }
    return blocks;
  };
  auto start = [&](const Ring& ring) {
    if (W::kFusedQ && p.q_scales_in_smem) ring.template q_scales_from_smem<W::kTmaQScales>(warp_row, wt.q_scale);
    log2_o_scale[0] = log2_o_scale[1] = 0.f;
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) wt.o[i / 4][i % 4] = 0.f;
  };
  auto store = [&](const Ring& ring, int64_t tile) {
    const WsItem<W> item = ws_item<W>(p, tile);
    const Work& work = item.work;
    const auto f = wt.finish(wt.l, work.m0 + warp_row);
    float2 no_v_scales[kD / 8];  // V per block: its scales are in the merges, none at the store
    wt.load_out_v_scales(work.kv_index, no_v_scales);
    // A split tile's part (ws_split.h): O / l into the part's slot, and the merge.
    const bool split = W::kSplitKeys && item.split >= 0;
    const int slot = item.split * p.split_parts + item.part;
    ws_store_o<W>(p, smem, cg, ring, wt, f, no_v_scales, split ? slot : work.bh, split ? 64 * cg : work.m0 + 64 * cg,
                  split ? p.split_map : p.o_map);
    if (split) {
      float u[2];  // log2 of O's scale (softmax_folded keeps it in ref)
      for (int r = 0; r < 2; ++r) u[r] = kFoldedState ? wt.ref[r] : wt.ref[r] + log2_o_scale[r];
      ws_store_split_scales(p, f, u, slot, warp_row, lane);
    }
  };
  const int64_t tile = ws_walk_serial<W>(p, smem, bar, cg, lane, pv_turns, begin, start, block, store);
  pv_turns.finish(cg);  // every consumer walks the same tiles and blocks: the turns balance
  ws_drain_o_stores<W>();
  if constexpr (W::kSplitKeys) {
    static_assert(W::kDynamicTiles, "tile: the last item");
    const WsItem<W> item = ws_item<W>(p, tile);
    if (item.split >= 0 && ws_consumer_has_rows<W>(p, item.work, cg))
      ws_count_split_part<W>(p, item.split, cg, lane, item.work.bh, item.work.m0 + 64 * cg);
  }
}

// O += P·V of block blk for the consumers with FP16 P (int8-qk, fp16-fa): P from registers,
// kKeys / 16 k16 fragments; V from the slot's FP16 columns. Issued, not committed.
template <class W, class Ring>
__device__ __forceinline__ void ws_issue_pv_f16(const Ring& ring, int blk, float (&o_acc)[W::kD / 2],
                                                const uint32_t (&pa)[W::kKeys / 16][4]) {
  const uint32_t v_tile = ring.slot_addr(blk) + W::kKBytes;
#pragma unroll
  for (int kk = 0; kk < W::kKeys / 16; ++kk) {  // 16 keys: two 8-row groups of 128 bytes
    const uint64_t desc_v = gmma_desc_mn128(v_tile + kk * 16 * 128, W::kVColumnBytes);
    if constexpr (W::kD == 128) wgmma_rs_f16_n128<1>(o_acc, pa[kk], desc_v);
    else wgmma_rs_f16_n64<1>(o_acc, pa[kk], desc_v);
  }
}

// One int8-qk (or fp16-fa: FP16 S, no K scales) consumer warpgroup over its CTA's tiles. O lives
// in the FP32 accumulators of the P·V wgmma (WarpTile's o[] has their layout): issue S(blk + 1)
// and P·V(blk); wait for S and run its softmax while P·V runs; wait for P·V, rescale O by the
// new alpha and pack the next P. The rescale is unconditional: skipping it where alpha is 1 for
// the whole warp (a vote and a branch) measured 2-7% slower (docs/perf-log.md qk-ws2).
// kSchedule: kWsOverlap, or kWsPingPong (the consumers take turns to issue).
template <class W, bool kLFromQ, int kSchedule>
__device__ __forceinline__ void ws_consume_qk(const WsParams& p, char* smem, const WsBarriers& bar, int cg,
                                              int lane) {
  constexpr Variant kV = W::kVariant;
  constexpr int kD = W::kD;
  using Ring = WsConsumerRing<W>;
  using KScales = typename Ring::KScales;
  constexpr int kKeys = W::kKeys;
  const int warp_row = ws_warp_row(cg);
  const typename W::Work first = ws_work<W>(p, blockIdx.x);
  WarpTile<kV, kD, 4 * W::kConsumers, false, kLFromQ, kWgmmaSchedule, kKeys> wt(p.base, lane, first.m0 + warp_row,
                                                                             first.offset);
  wt.load_q_scales(first.bh);  // int8-qk takes INT8 Q (WsShape::kFusedQ)
  float(&o_acc)[kD / 2] = reinterpret_cast<float(&)[kD / 2]>(wt.o);
  typename Ring::SAcc s_acc;
  float tp[kKeys / 8][4], alpha[2];
  uint32_t pa[kKeys / 16][4];
  // fp16-fa at head_dim 128: P against a lazy reference (WarpTile::softmax's kLazyRef), and O's
  // rescale skipped where alpha is 1 for the whole warp: +3-5% at 1K-32K (kernel_bench, H200,
  // docs/perf-log.md s18). Not int8-qk (−5 to −8%, the same code in another schedule of
  // ptxas's) nor fp16-fa at head_dim 64 (−1%).
  constexpr bool kLazyRef = kV == Variant::Fp16Flash && kD == 128;
  bool rescale_o = true;  // some row of the warp has alpha != 1
  const WsTurns<kSchedule == kWsPingPong, W::kConsumers> turns(cg);
  const float2 no_v_scales[kD / 8] = {};  // int8-qk and fp16-fa store O / l (WarpTile::kOutVScales false)

  auto softmax_of = [&](bool masked, int mask_blk, const KScales& ks) {
    float x[kKeys / 8][4], bmax[2], beta[2];
    bool unit_beta;
    if (masked) Ring::template scaled_scores<true>(wt, mask_blk, s_acc, ks, x, bmax);
    else Ring::template scaled_scores<false>(wt, mask_blk, s_acc, ks, x, bmax);
    wt.template softmax<true, kLazyRef>(x, bmax, tp, alpha, beta, unit_beta);  // beta is 1
    if constexpr (kLazyRef) rescale_o = __any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f);
  };
  // masked (a type): whether S needs the mask.
  auto step_of = [&](const Ring& ring, int blk, const Ring& s_ring, int next, int mask_blk, auto masked,
                     auto&& between, auto&& after) {
    // A tile's last step without a switch repeats S on its last block, every key masked; with
    // kSplitKV that block's K is released already (its slot may be loading a later block: the
    // repeated S reads whatever is there, masked), so neither wait for it again nor release it.
    const bool repeat = decltype(masked)::value && mask_blk == kRepeatedBlock<kKeys>;
    if (!W::kSplitKV || !repeat) s_ring.wait_full(next);
    ring.wait_v(blk);
    KScales ks;
    s_ring.load_k_scales(wt, next, ks);
    turns.take();
    fence_regs(s_acc);
    fence_regs(o_acc);
    wgmma_fence();
    s_ring.issue_scores(next, s_acc);
    ws_issue_pv_f16<W>(ring, blk, o_acc, pa);
    wgmma_commit();
    turns.pass();
    between();
    wgmma_wait<1>();  // S(next) done; P·V(blk) may still run
    fence_regs(s_acc);
    softmax_of(decltype(masked)::value, mask_blk, ks);
    if (!repeat) s_ring.release_k(next);  // S and its K scales have read it
    wgmma_wait<0>();
    fence_regs(o_acc);
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) fence_regs(pa[kk]);  // read by the wgmma until here
    ring.release_block(blk);
    after();
    if (!kLazyRef || rescale_o) {
#pragma unroll
      for (int i = 0; i < kD / 2; ++i) o_acc[i] *= alpha[(i >> 1) & 1];  // accumulator e's row: (e >> 1) & 1
    }
    wt.pack_p_half(tp, pa);  // after the wait: a wgmma's input written while one runs serializes all (C7513)
  };
  auto nothing = [] {};
  ws_walk_tiles<W>(
      p, smem, bar, cg, lane, wt, warp_row,
      [&](const Ring& ring) {  // prologue: O is 0, the first alpha has nothing to scale
        KScales ks;
        ring.first_scores(wt, s_acc, ks);
        softmax_of(true, 0, ks);
        ring.release_k(0);
        wt.pack_p_half(tp, pa);
      },
      [&](const Ring& ring, const typename W::Work& work) {
        // The steady state without mask code, then the blocks that need it (tails, the
        // diagonal): +2% at head_dim 128, +12% at 64 (docs/perf-log.md qk-ws4).
        ws_steps(ring, Ring::whole_blocks(p.base, work, cg), work.n_blocks, step_of);
      },
      [&](const Ring& ring, int blk, const Ring& s_ring, int next, int mask_blk, auto&& between, auto&& after) {
        step_of(ring, blk, s_ring, next, mask_blk, std::true_type{}, between, after);
      },
      [](const Ring&, const typename W::Work&) {}, nothing,
      [&] {
#pragma unroll
        for (int i = 0; i < kD / 2; ++i) o_acc[i] = 0.f;
      },
      [&](const Ring& ring, const auto& f, const typename W::Work& work) {
        ws_store_o<W>(p, smem, cg, ring, wt, f, no_v_scales, work.bh, work.m0 + 64 * cg, p.o_map);
      });
  turns.finish(cg);
  ws_drain_o_stores<W>();
}

// int8-qk at head_dim 64 on three consumer warpgroups (160 registers each): each runs a block's
// products one after another, S, its softmax, O's rescale, then P·V into O, and the other two
// consumers fill its waits, as int8-fa's serial kernel does (the overlapped consumer, which
// holds S(blk + 1) beside P·V(blk), spilled 0.9 KB at 160 registers). kernel_bench +4.2 to
// +8.3% over the two overlapped consumers at 1K-32K, full and causal (H200, docs/perf-log.md
// s41). At head_dim 128 the same consumer measured 20-31% slower: its FP16 P·V, twice the
// tensor time of int8-fa's INT8 one, is what the two-consumer ping-pong hides. Tiles are walked
// round robin, whole; a consumer without rows in a tile, or past its diagonal, keeps pace with
// the ring. The K scales are read after S's wait but for the first four n-tiles' (+0.5 to +2.4%,
// s42), and the mask keeps 32-bit bounds (WsKeyMask): either held over the step's loops beside O
// and S spilled at head_dim 128.
template <Variant kV, int kD, bool kLFromQ>
__device__ __forceinline__ void ws_consume_qk_serial(const WsParams& p, char* smem, const WsBarriers& bar, int cg,
                                                     int lane) {
  using W = WsShape<kV, kD>;
  using Ring = WsConsumerRing<W>;
  using KScales = typename Ring::KScales;
  using Work = typename W::Work;
  constexpr int kKeys = W::kKeys;
  static_assert(W::kConsumers == 3 && !W::kSplitKV && !W::kDynamicTiles && !W::kCausalLead,
                "the serial FP16-P·V consumer: three consumers, round robin");
  const int warp_row = ws_warp_row(cg);
  // Its rows are each tile's: ws_walk_serial's begin restarts them.
  WarpTile<kV, kD, 4 * W::kConsumers, false, kLFromQ, kWgmmaSchedule, kKeys> wt(p.base, lane, warp_row,
                                                                                p.base.seq_kv - p.base.seq_q);
  float(&o_acc)[kD / 2] = reinterpret_cast<float(&)[kD / 2]>(wt.o);
  typename Ring::SAcc s_acc;
  const float2 no_v_scales[kD / 8] = {};  // O / l (WarpTile::kOutVScales false)
  WsKeyMask mask(p.base);  // WarpTile::mask's 64-bit bounds through the loops spilled 400 bytes
  auto block = [&](const Ring& ring, int blk, auto masked) {  // masked (a type): whether S needs the mask
    ring.wait_full(blk);
    fence_regs(s_acc);
    wgmma_fence();
    ring.issue_scores(blk, s_acc);
    constexpr int kKScalesEarly = kD == 64 ? 4 : 0;
    KScales ks;  // the first kKScalesEarly n-tiles' read while S runs (at 128 held over the wait they spilled)
    ring.template load_k_scales<0, kKScalesEarly>(wt, blk, ks);
    wgmma_wait<0>();
    fence_regs(s_acc);
    ring.template load_k_scales<kKScalesEarly>(wt, blk, ks);
    float alpha[2];
    uint32_t pa[kKeys / 16][4];
    {
      float x[kKeys / 8][4], bmax[2], beta[2], tp[kKeys / 8][4];
      bool unit_beta;
      wt.template scale_scores<true>(s_acc, ks, x);
      if constexpr (decltype(masked)::value) mask.template apply<kKeys>(p.base, blk, lane % 4, x);
      wt.block_max(x, bmax);
      wt.template softmax<true>(x, bmax, tp, alpha, beta, unit_beta);  // beta is 1
      wt.pack_p_half(tp, pa);
    }
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) o_acc[i] *= alpha[(i >> 1) & 1];  // accumulator e's row: (e >> 1) & 1
    fence_regs(o_acc);
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) fence_regs(pa[kk]);
    wgmma_fence();
    ws_issue_pv_f16<W>(ring, blk, o_acc, pa);
    wgmma_commit();
    wgmma_wait<0>();
    fence_regs(o_acc);
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) fence_regs(pa[kk]);
    ring.release_block(blk);  // K, V and the K scales all read
  };
  auto begin = [&](int64_t tile) {  // the tile's work is formed again for its store
    const Work work = ws_work<W>(p, tile);
    // The blocks before the scales: in the other order ptxas reorders the steps (same opcodes)
    // and they measured 1-2% slower (kernel_bench, H200, docs/perf-log.md s43).
    const WsSerialBlocks blocks{work.n_blocks, Ring::whole_blocks(p.base, work, cg),
                                Ring::own_blocks(p.base, work, cg), ws_consumer_has_rows<W>(p, work, cg)};
    float q_scale[2];
    wt.q_scales_of(work.bh, work.m0 + warp_row, q_scale);
    wt.restart(work.m0 + warp_row, q_scale);
    mask.restart(p.base, work.m0 + warp_row, work.offset, lane);
    return blocks;
  };
  auto start = [&](const Ring&) {
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) o_acc[i] = 0.f;
  };
  auto store = [&](const Ring& ring, int64_t tile) {
    const Work work = ws_work<W>(p, tile);
    ws_store_o<W>(p, smem, cg, ring, wt, wt.finish(), no_v_scales, work.bh, work.m0 + 64 * cg, p.o_map);
  };
  ws_walk_serial<W>(p, smem, bar, cg, lane, WsTurns<false, W::kConsumers>(cg), begin, start, block, store);
  ws_drain_o_stores<W>();
}

// kPU8, and kKeys other than the default: int8-fa only. kKScales: K's scales other than per
// token (kWsKPerThread: per thread group, attn_types.h k_thread_group; kWsKGrouped: grouped K,
// common/k_groups.h), int8-fa's serial schedule only.
template <Variant kV, int kD, bool kPU8, bool kLFromQ, int kSchedule, int kKeys = WsShape<kV, kD>::kKeys,
          int kKScales = 0, bool kClaimForm = true>
__global__ void __launch_bounds__(WsShape<kV, kD, kKeys>::kThreads, 1) int8_ws_kernel(const __grid_constant__ WsParams p) {
#if INT8ATTN_WGMMA_BODY
  using W = WsShape<kV, kD, kKeys, kClaimForm>;
  static_assert(kClaimForm || W::kTwoWalks, "a round-robin form: only kernels with two walks");
  extern __shared__ char smem_raw[];
  char* const smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);  // TMA swizzle: 1 KB aligned
  uint64_t* const barriers = reinterpret_cast<uint64_t*>(smem + W::kBarrierOffset);
  uint64_t* const v_barriers = barriers + 2 * (W::kStages + W::kQSlots) + (W::kFusedQ ? 2 : 0);
  const WsBarriers bar{barriers,
                       barriers + W::kStages,
                       barriers + 2 * W::kStages,
                       barriers + 2 * W::kStages + W::kQSlots,
                       barriers + 2 * (W::kStages + W::kQSlots),
                       barriers + 2 * (W::kStages + W::kQSlots) + 1,
                       W::kSplitKV ? v_barriers : barriers,
                       W::kSplitKV ? v_barriers + W::kStages : barriers + W::kStages,
                       barriers + 2 * (W::kStages + W::kQSlots) + 2};
  // The warp index through a shuffle: the compiler then knows it is warp-uniform, so the
  // consumers' descriptor and ring-slot arithmetic runs on the uniform datapath instead of
  // in vector registers moved over by R2UR before each wgmma (as CUTLASS's canonical_warp_idx_sync):
  // int8-fa +1-3%, int8-qk in ping-pong +3-6%. Not int8-qk at head_dim 64, where ptxas's
  // schedule of the overlapped kernel's shorter loop measured 9% slower (docs/perf-log.md v23);
  // its serial successor was measured as it is (s41).
  constexpr bool kUniformWarp = !(kV == Variant::Int8QK && kD == 64);
  const int tid = static_cast<int>(threadIdx.x), lane = tid % 32;
  const int warp = kUniformWarp ? __shfl_sync(0xffffffffu, tid / 32, 0) : tid / 32, wg = warp / 4;
  if (tid == 0) {
    for (int s = 0; s < W::kStages; ++s) {
      cuda::ptx::mbarrier_init(&bar.full[s], 1);                    // the producer's arrival + its bytes
      cuda::ptx::mbarrier_init(&bar.empty[s], 4 * W::kConsumers);   // one per consumer warp
      if constexpr (W::kSplitKV) {
        cuda::ptx::mbarrier_init(&bar.v_full[s], 1);
        cuda::ptx::mbarrier_init(&bar.v_empty[s], 4 * W::kConsumers);
      }
    }
    const bool quantizing = W::kFusedQ && p.fused_q;  // Q's slots are filled by kQuantWarps warps
    for (int s = 0; s < W::kQSlots; ++s) {
      cuda::ptx::mbarrier_init(&bar.q_full[s], quantizing ? W::kQuantWarps : 1);
      cuda::ptx::mbarrier_init(&bar.q_empty[s], 4 * W::kConsumers);
    }
    if constexpr (W::kFusedQ) {  // the others keep main's SASS: their schedules move with any change (fq3)
      cuda::ptx::mbarrier_init(bar.q16_full, 1);
      cuda::ptx::mbarrier_init(bar.q16_empty, W::kQuantWarps);
      if constexpr (W::kQ16Chunked)
        for (int w = 0; w < W::kQuantWarps; ++w) cuda::ptx::mbarrier_init(&bar.q16_chunk[w], 1);
    }
    cuda::ptx::fence_mbarrier_init(cuda::ptx::sem_release, cuda::ptx::scope_cluster);
  }
  __syncthreads();  // the last CTA-wide barrier: the producer's idle warps leave after it
  if (wg == 0) {
    ws::set_max_registers<W::kProducerRegs>();
    if (warp == 0 && lane == 0) ws_produce<W>(p, smem, bar);
    if constexpr (W::kFusedQ) {
      if (p.fused_q && warp >= 1 && warp <= W::kQuantWarps) {
        if constexpr (W::kQ16Chunked) ws_quantize_q_chunks<W>(p, smem, bar, warp - 1, lane);
        else ws_quantize_q<W>(p, smem, bar, warp - 1, lane);
      }
    }
    return;
  }
  ws::set_max_registers<W::kConsumerRegs>();
  if (blockIdx.x >= p.n_tiles) return;
  pdl_wait();  // a dependent launch: Q's scales, the split's workspace and O are global
  if constexpr (kV == Variant::Int8Full) {
    static_assert(kSchedule == ws_default_schedule(kV, kD, kKeys), "int8-fa's schedule of its head dim and P block");
    static_assert(kKScales == 0 || kSchedule == kWsSerial, "per-thread and grouped K scales: the serial consumer's");
    if constexpr (kSchedule == kWsSerial) ws_consume_fa_serial<kD, kPU8, kLFromQ, kKScales>(p, smem, bar, wg - 1, W::kDynamicTiles ? ws_lane() : lane);
    else if constexpr (kSchedule == kWsPvParts) ws_consume_fa_pv_parts<kPU8, kLFromQ>(p, smem, bar, wg - 1, ws_lane());
    else ws_consume_fa<kD, kPU8, kLFromQ>(p, smem, bar, wg - 1, lane);
  } else if constexpr (kSchedule == kWsSerial) {
    ws_consume_qk_serial<kV, kD, kLFromQ>(p, smem, bar, wg - 1, lane);
  } else {
    ws_consume_qk<W, kLFromQ, kSchedule>(p, smem, bar, wg - 1, lane);
  }
#endif
}

}  // namespace int8attn::kernels::fa
