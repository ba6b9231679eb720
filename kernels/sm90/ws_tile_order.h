// The order in which a persistent grid of the warp-specialized kernels walks its tiles
// (WsParams::tile_order_heads): plain C++, so that the CPU tests check the choice.
//
// A CTA takes tiles blockIdx.x, + gridDim.x, ... of one order (CtaWork):
//   head-major         (batch, head) outer, query blocks inner: the CTAs that run together
//                      share K/V in L2;
//   query-block-major  query blocks outer, heads inner, longest first (causal's order);
//   short-last         head-major over every head's full query blocks, then the short ones.
// When seq_q is not a multiple of the tile's rows, every head ends in a short tile. The serial
// int8-fa kernel passes a short tile's idle consumers through it, so that tile takes less time
// than a full one; but in head-major order, when the grid and the query blocks share a factor,
// the short tiles all land on the same CTAs, which then idle while the others run full tiles.
// At 1K keys (16 heads, batch 16: six query blocks of 192 rows, the last of 64) on 132 SMs,
// 22 CTAs get only short tiles and the grid lasts 12 full tiles; short-last puts the short
// tiles last, on the CTAs with one tile fewer, and lasts 11.
#pragma once
#include <algorithm>
#include <cstdint>

#if defined(__CUDACC__)
#define INT8ATTN_HOST_DEVICE __host__ __device__
#else
#define INT8ATTN_HOST_DEVICE
#endif

namespace int8attn::kernels::fa {

// n / d and n % d for n < 2^31 by a multiply and a shift (Granlund and Montgomery, "Division by
// invariant integers using multiplication", PLDI 1994): with l = ceil(log2 d) and
// m = ceil(2^(31 + l) / d) < 2^32, floor(n m / 2^(31 + l)) = floor(n / d), since the error
// n (m d - 2^(31 + l)) / (d 2^(31 + l)) < n / 2^(31 + l) < 2^-l <= 1 / d. The narrow tile walk
// (CtaWork's kNarrow) divides by the launch's constants once or twice a tile in every warp; a
// division by a run-time divisor is about 20 instructions (I2F, MUFU.RCP, F2I, two corrections).
struct WsFastDiv {
  uint32_t d = 1, m = 1u << 31, s = 31;
  INT8ATTN_HOST_DEVICE uint32_t div(uint32_t n) const {
    return static_cast<uint32_t>((static_cast<uint64_t>(n) * m) >> s);
  }
  INT8ATTN_HOST_DEVICE uint32_t mod(uint32_t n) const { return n - div(n) * d; }
};
// d >= 1 (0, a divisor the walk never divides by, gives 1's).
inline WsFastDiv ws_fast_div(uint32_t d) {
  if (d == 0) d = 1;
  uint32_t l = 0;
  while ((uint64_t{1} << l) < d) ++l;
  return {d, static_cast<uint32_t>(((uint64_t{1} << (31 + l)) + d - 1) / d), 31 + l};
}
// The narrow walk's divisors: the order's head count (|tile_order_heads|), the query blocks, the
// full ones (n_qblocks - 1, short-last's), the heads, and the query heads of a KV head.
struct WsWalkDivs {
  WsFastDiv order_heads, qblocks, full_qblocks, heads, group;
};
// Names CtaWork's constructor from a head and a first row (a retiled item: ws_retile.h).
struct WsRowsOf {};
inline WsWalkDivs ws_walk_divs(int64_t tile_order_heads, int64_t n_qblocks, int64_t heads, int64_t kv_heads) {
  const int64_t order = tile_order_heads < 0 ? -tile_order_heads : tile_order_heads;
  return {ws_fast_div(static_cast<uint32_t>(order)), ws_fast_div(static_cast<uint32_t>(n_qblocks)),
          ws_fast_div(static_cast<uint32_t>(n_qblocks - 1)), ws_fast_div(static_cast<uint32_t>(heads)),
          ws_fast_div(static_cast<uint32_t>(kv_heads > 0 ? heads / kv_heads : 1))};
}

// The short-last order (int8-fa's serial kernel at head_dim 128: CtaWork's kShortLast): every
// head's full query blocks head-major, then the heads' last, short blocks. Its deal lasts as
// long as query-block-major's (the short tiles follow the full ones round robin, from the CTAs
// that got one full tile fewer), and the full tiles keep head-major's sharing of K/V in L2: at
// 2K keys and head_dim 128 (128 heads of 512 KB K/V: 64 MB, more than L2 holds)
// query-block-major measured 3% slower than head-major, where its deal predicted 2% faster
// (docs/perf-log.md s26). UInt: the kernel's width of the walk. by_full_qblocks divides by
// n_qblocks - 1: the narrow CtaWork's WsFastDiv, or WsPlainDiv (the overload below).
template <class UInt, class Div>
INT8ATTN_HOST_DEVICE inline void ws_short_last_tile(UInt tile, UInt batch_heads, UInt n_qblocks,
                                                    const Div& by_full_qblocks, UInt& bh, UInt& qblk) {
  const UInt full_qblocks = n_qblocks - 1, full = batch_heads * full_qblocks;
  bh = tile < full ? by_full_qblocks.div(tile) : tile - full;
  qblk = tile < full ? tile - bh * full_qblocks : full_qblocks;
}
// n / d by the division operator, for the walks that keep it (64 bits, the host's models).
template <class UInt>
struct WsPlainDiv {
  UInt d;
  INT8ATTN_HOST_DEVICE UInt div(UInt n) const { return n / d; }
};
template <class UInt>
INT8ATTN_HOST_DEVICE inline void ws_short_last_tile(UInt tile, UInt batch_heads, UInt n_qblocks, UInt& bh,
                                                    UInt& qblk) {
  ws_short_last_tile(tile, batch_heads, n_qblocks, WsPlainDiv<UInt>{n_qblocks - 1}, bh, qblk);
}

// Time of the last query block's tile against a full one, for a kernel whose idle consumers
// pass the tile (passes_idle) with `consumers` warpgroups of block_m / consumers rows each:
// (active + 1) / (consumers + 1) approximates the H200 measurements of one, two or three
// consumers working a tile (docs/perf-log.md s25, s26: 0.58 / 0.77 at head_dim 128, 0.54 / 0.79
// at 64). A kernel whose idle consumers compute anyway spends a full tile's time.
inline double ws_short_tile_cost(int64_t seq_q, int64_t block_m, int consumers, bool passes_idle) {
  const int64_t rows = seq_q % block_m;
  if (!passes_idle || rows == 0 || consumers <= 0) return 1.0;
  const int64_t consumer_rows = block_m / consumers;
  const int64_t active = std::min<int64_t>(consumers, (rows + consumer_rows - 1) / consumer_rows);
  return static_cast<double>(active + 1) / static_cast<double>(consumers + 1);
}

// Rows by which a causal head's query blocks start before row 0 (WsParams::causal_lead_rows,
// CtaWork's kCausalLead): the last block's rows past seq_q in whole consumers' groups of
// consumer_rows, so that the head's short block is its first, whose rows see the fewest keys,
// instead of its last, whose rows see every key while its idle consumers wait. Whole groups: a
// TMA store's box may not start before row 0 (an illegal instruction, docs/perf-log.md s40).
// Only when the grid walks more than one round of tiles: in one round the longest tile (a
// head's last block) bounds the launch, and the lead fills its idle consumer with rows
// (Llama-3-8B causal 512, 96 tiles on 132 SMs: +4.4% end to end with it, s40).
inline int64_t ws_causal_lead_rows(bool causal, int64_t seq_q, int64_t block_m, int64_t consumer_rows, int64_t tiles,
                                   int64_t sms) {
  if (!causal || tiles <= sms || consumer_rows <= 0) return 0;
  const int64_t past = (seq_q + block_m - 1) / block_m * block_m - seq_q;
  return past / consumer_rows * consumer_rows;
}

namespace detail {
inline int64_t gcd64(int64_t a, int64_t b) {
  while (b != 0) {
    const int64_t r = a % b;
    a = b, b = r;
  }
  return a;
}
// x with a * x = 1 (mod m), for gcd(a, m) = 1 and m >= 1.
inline int64_t inverse_mod(int64_t a, int64_t m) {
  int64_t r0 = m, r1 = a % m, t0 = 0, t1 = 1;
  while (r1 != 0) {
    const int64_t q = r0 / r1;
    const int64_t r2 = r0 - q * r1, t2 = t0 - q * t1;
    r0 = r1, r1 = r2, t0 = t1, t1 = t2;
  }
  return ((t0 % m) + m) % m;
}
}  // namespace detail

// The time, in full tiles, until the busiest CTA of a grid of `ctas` is done when `batch_heads`
// heads of `n_qblocks` query blocks each are dealt round robin head-major or query-block-major
// (short-last deals alike: its short tiles are the last batch_heads, too), the
// last query block of each head costing short_cost. O(ctas): the short tiles a CTA gets in
// head-major order are the k < its tile count with (cta + k * ctas) % n_qblocks == n_qblocks - 1,
// an arithmetic progression in k.
inline double ws_round_robin_makespan(int64_t batch_heads, int64_t n_qblocks, double short_cost, int64_t ctas,
                                      bool qblock_major) {
  if (batch_heads <= 0 || n_qblocks <= 0 || ctas <= 0) return 0.0;
  const int64_t tiles = batch_heads * n_qblocks;
  const int64_t full = batch_heads * (n_qblocks - 1);  // query-block-major: the tiles before the short ones
  const int64_t g = detail::gcd64(ctas % n_qblocks, n_qblocks);  // gcd(ctas, n_qblocks)
  const int64_t period = n_qblocks / g;
  const int64_t step_inverse = period > 1 ? detail::inverse_mod((ctas / g) % period, period) : 0;
  double worst = 0.0;
  for (int64_t cta = 0; cta < std::min(ctas, tiles); ++cta) {
    const int64_t taken = (tiles - cta + ctas - 1) / ctas;
    int64_t shorts = 0;
    if (qblock_major) {
      shorts = taken - (cta < full ? (full - cta + ctas - 1) / ctas : 0);
    } else {
      const int64_t need = ((n_qblocks - 1 - cta) % n_qblocks + n_qblocks) % n_qblocks;  // k * ctas = need (mod n_qblocks)
      if (need % g == 0) {
        const int64_t first = (need / g) % period * step_inverse % period;
        shorts = first < taken ? (taken - 1 - first) / period + 1 : 0;
      }
    }
    worst = std::max(worst, static_cast<double>(taken - shorts) + short_cost * static_cast<double>(shorts));
  }
  return worst;
}

// WsParams::tile_order_heads: 0 head-major, batch_heads query-block-major, -batch_heads
// short-last (a kernel built with it: short_last). Causal tiles differ in length:
// query-block-major, longest first. Otherwise head-major (L2 sharing) unless the short tiles
// last end the grid at least 1% sooner: short-last where built, else query-block-major.
// forced: 0 head-major, 1 query-block-major, 2 short-last (where built, else head-major),
// anything else the rule (FusedTuning::tile_order).
inline bool ws_tile_order_forced(int forced) { return forced >= 0 && forced <= 2; }
inline int64_t ws_tile_order_heads(bool causal, int64_t batch_heads, int64_t n_qblocks, double short_cost,
                                   int64_t ctas, bool short_last, int forced = -1) {
  if (ws_tile_order_forced(forced)) {
    if (forced == 2) return short_last ? -batch_heads : 0;
    return forced == 1 ? batch_heads : 0;
  }
  if (causal) return batch_heads;
  if (!(short_cost < 1.0)) return 0;  // every tile alike: both orders deal the same
  const double head_major = ws_round_robin_makespan(batch_heads, n_qblocks, short_cost, ctas, false);
  const double shorts_last = ws_round_robin_makespan(batch_heads, n_qblocks, short_cost, ctas, true);
  if (!(shorts_last < 0.99 * head_major)) return 0;
  return short_last ? -batch_heads : batch_heads;
}

// Whether a kernel of WsShape::kDynamicTiles (int8-fa's 128-key one, fp16-fa's and int8-qk's, at
// head_dim 128) claims its tiles one at a time (WsParams::tile_counter) rather than round robin:
// forced (FusedTuning::dynamic_tiles) 0 never, 1 always, else on causal rows, whose tiles differ
// in length, when the walk has more items than CTAs (a split turns it off: int8_fa_ws.cu). In one
// round each CTA walks one item either way, and its claim past the walk only adds an atomic's
// round trip before the CTA ends (Llama-3-8B's 512-token prefill: about 1 µs of 24, s64).
inline bool ws_dynamic_tiles(bool causal, int forced, bool several_rounds) {
  return forced == 1 || (forced != 0 && causal && several_rounds);
}

}  // namespace int8attn::kernels::fa
