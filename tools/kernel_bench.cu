// Standalone development benchmark and correctness check of the fused kernels (CMake target
// kernel_bench with -DINT8ATTN_KERNEL_TUNING=ON, against the tuning kernels; scripts/kernel-bench.sh
// builds and runs it). For each shape it
// quantizes, runs int8-fa (u8 and s8 P), int8-qk and fp16-fa, compares every variant with a
// naive FP32 GPU reference on a sample of rows (all rows for small shapes), counts NaNs and
// unwritten outputs over the whole output, and times each kernel with CUDA events (L2
// flushed before every run, median of --iters). Prints one table row per (shape, variant), with
// the median SM clock of its timed runs (the harness's probe, kernels/harness/sm_clock_probe.cuh:
// an FP16-P·V kernel under the power cap runs slower clocks, docs/methodology.md).
//
// usage: kernel_bench [check|perf|quick|quant|quant-ncu|profile|wsprofile|wsprofile-qk|wsprofile-qkov|wsprofile-wide|wsprofile-wide16k|wsprofile-kt16k|wsprofile-kg16k|wsprofile-kg4k|wsprofile-fp16-4k|wsprofile-l2|sancheck|wssan|schedules|ws|wsqk|wsfa|wsfp16|wsfq|ws64|wswide|wsd64|wsall|wsgqa|ws-threshold] [--iters N] [--schedule S] [--ws W] [--dynamic-tiles D]
//   --ws W: the int8-fa and int8-qk kinds' FusedTuning::ws (0 never, 1 always the warp-specialized
//   Hopper kernels, int8-fa's with its default schedule); ws: the A/B of the Hopper kernels on the
//   issue's shapes.
//   --dynamic-tiles D: int8-fa's 128-key d128 kernel's FusedTuning::dynamic_tiles (-1 the rule: causal
//   rows claim their tiles one at a time; 0 round robin; 1 claimed wherever no tile is split).
//   --schedule S: the fused kernels' register schedule (FusedTuning::schedule; -1 = default);
//   schedules: every schedule on the A/B shapes (d128 4K, 16K, 4K causal; d64 4K); check
//   also runs every schedule unless --schedule is given.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "common/kernel_id.h"
#include "common/numerics.h"
#include "common/rng.h"
#include "kernels/attn_kernels.h"
#include "kernels/harness/sm_clock_probe.cuh"

using namespace int8attn;
using namespace int8attn::kernels;

#define CHECK_CUDA(call)                                                                           \
  do {                                                                                             \
    cudaError_t err_ = (call);                                                                     \
    if (err_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

namespace {

__device__ uint32_t hash32(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

// Approximately N(0, 1) (Box-Muller); with outliers, 4 channels per head get a constant
// +/-20 offset (common/rng.h outlier_channel_offset, as the harness's inputs).
__global__ void fill_normal(__half* x, int64_t n, int64_t d, int64_t seq, uint64_t seed, float scale, bool outliers) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float u1 = (hash32(seed * 0x9E3779B97F4A7C15ULL + 2 * i) + 1.f) * 2.3283064e-10f;
    const float u2 = hash32(seed * 0x9E3779B97F4A7C15ULL + 2 * i + 1) * 2.3283064e-10f;
    float v = sqrtf(-2.f * logf(u1)) * cospif(2.f * u2) * scale;
    if (outliers) v += outlier_channel_offset(seed, static_cast<uint64_t>(i / (seq * d)), i % d, d, 4, 20.f);
    x[i] = __float2half_rn(v);
  }
}

// Naive FP32 attention for selected rows: one CTA per row. scores: [n_rows, seq_kv] scratch.
__global__ void reference_rows(AttnDims dims, const __half* q, const __half* k, const __half* v,
                               const int64_t* row_ids, float* scores, float* out) {
  extern __shared__ float sh[];  // [d] q row, then reduction scratch
  const int64_t d = dims.head_dim, row_id = row_ids[blockIdx.x];
  const int64_t bh = row_id / dims.seq_q, i = row_id % dims.seq_q;
  const int64_t b = bh / dims.heads, h = bh % dims.heads;
  const int64_t kv = b * dims.kv_heads + h / (dims.heads / dims.kv_heads);
  float* red = sh + d;
  float* s = scores + int64_t{blockIdx.x} * dims.seq_kv;
  for (int c = threadIdx.x; c < d; c += blockDim.x) sh[c] = __half2float(q[row_id * d + c]);
  __syncthreads();
  const float scale = effective_sm_scale(dims);
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < dims.seq_kv; j += blockDim.x) {
    float acc = 0.f;
    const __half* kr = k + (kv * dims.seq_kv + j) * d;
    for (int c = 0; c < d; ++c) acc += sh[c] * __half2float(kr[c]);
    const bool vis = !dims.causal || causal_visible(i, j, dims.seq_q, dims.seq_kv);
    s[j] = vis ? acc * scale : -INFINITY;
    mx = fmaxf(mx, s[j]);
  }
  red[threadIdx.x] = mx;
  __syncthreads();
  for (int st = blockDim.x / 2; st > 0; st /= 2) {
    if (threadIdx.x < st) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + st]);
    __syncthreads();
  }
  mx = red[0];
  __syncthreads();
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < dims.seq_kv; j += blockDim.x) {
    const float p = mx == -INFINITY ? 0.f : expf(s[j] - mx);
    s[j] = p;
    sum += p;
  }
  red[threadIdx.x] = sum;
  __syncthreads();
  for (int st = blockDim.x / 2; st > 0; st /= 2) {
    if (threadIdx.x < st) red[threadIdx.x] += red[threadIdx.x + st];
    __syncthreads();
  }
  sum = red[0];
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.f;
    for (int64_t j = 0; j < dims.seq_kv; ++j) acc += s[j] * __half2float(v[(kv * dims.seq_kv + j) * d + c]);
    out[int64_t{blockIdx.x} * d + c] = sum > 0.f ? acc / sum : 0.f;
  }
}

struct Shape {
  int64_t b, h, kvh, sq, skv, d;
  bool causal;
  bool outliers;
};

enum class Kind { Int8FaU8, Int8FaS8, Int8FaU8LQ, Int8Qk, Fp16Fa, Int8FaU8W8, Fp16FaW8, Int8FaU8Mma, Int8FaU8Wgmma, Int8FaU8WsDefer, Int8QkWs, Int8QkMma, Int8QkWsPP, Fp16FaWs, Fp16FaWsPP, Int8FaU8LQWs, Int8FaU8WsFq, Int8FaU8WsWide, Int8FaU8WsWideQ8, Int8QkWsOv, Fp16FaWsOv, Int8FaU8WsWideKt, Int8FaU8Fq, Int8FaU8WsWideKg };

// A kind is a tuning variant of one of the library's kernels (its KernelId): P options and the
// FusedTuning it forces. warps: 8 forces one 8-warp CTA per SM, 0 the library's choice.
// wgmma: 0 forces int8-fa's mma.sync kernel where the wgmma one would run, 1 the wgmma kernel
// (head_dim 64 has it only in tuning builds), -1 the library's choice. ws: 1 the
// warp-specialized kernel (kernels/sm90), 0 the older kernels themselves, kFromCommandLine the
// --ws option (default -1: the library's choice). ws_schedule: 0 overlap, 1 ping-pong, 2
// deferred merge (int8-fa's 64-key P blocks), -1 the library's default (int8-fa's 128-key
// blocks: the serial schedule, their only one). fused_q: the kernel gets FP16 Q and quantizes it
// itself (attention_quantizes_q; the quantizer skips Q), else the quantizer's codes. wide:
// QuantConfig kv_block = v_block = 128 (128-key P blocks, V scaled per block; Hopper only).
// k_per_thread: K scaled per thread group (QuantConfig::k_granularity per-thread). k_grouped: K
// scaled per group of 8 keys led by each block's largest (k_granularity grouped, common/k_groups.h).
constexpr int kFromCommandLine = -2;
struct KindSpec {
  Kind kind;
  const char* name;
  KernelId kernel;
  PQuant p_quant;
  bool l_from_q;
  int warps, wgmma, ws, ws_schedule;
  bool fused_q = false;
  bool wide = false;
  bool k_per_thread = false;
  bool k_grouped = false;
};
constexpr PQuant kU8 = PQuant::U8x255;
constexpr KindSpec kKinds[] = {
    {Kind::Int8FaU8, "int8-fa(u8)", KernelId::Int8Full, kU8, false, 0, -1, kFromCommandLine, -1},
    {Kind::Int8FaS8, "int8-fa(s8)", KernelId::Int8Full, PQuant::S8x127, false, 0, -1, kFromCommandLine, -1},
    {Kind::Int8FaU8LQ, "int8-fa(u8,lq)", KernelId::Int8Full, kU8, true, 0, -1, kFromCommandLine, -1},
    {Kind::Int8Qk, "int8-qk", KernelId::Int8QK, kU8, false, 0, -1, kFromCommandLine, -1},
    {Kind::Fp16Fa, "fp16-fa", KernelId::Fp16Flash, kU8, false, 0, -1, kFromCommandLine, -1},
    {Kind::Int8FaU8W8, "int8-fa(u8,8w)", KernelId::Int8Full, kU8, false, 8, 0, kFromCommandLine, -1},
    {Kind::Fp16FaW8, "fp16-fa(8w)", KernelId::Fp16Flash, kU8, false, 8, -1, kFromCommandLine, -1},
    {Kind::Int8FaU8Mma, "int8-fa(u8,mma)", KernelId::Int8Full, kU8, false, 0, 0, kFromCommandLine, -1},
    {Kind::Int8FaU8Wgmma, "int8-fa(u8,wgmma)", KernelId::Int8Full, kU8, false, 0, 1, 0, -1},
    {Kind::Int8FaU8WsDefer, "int8-fa(u8,ws,defer)", KernelId::Int8Full, kU8, false, 0, -1, 1, 2},
    {Kind::Int8QkWs, "int8-qk(ws)", KernelId::Int8QK, kU8, false, 0, -1, 1, -1},
    {Kind::Int8QkMma, "int8-qk(mma)", KernelId::Int8QK, kU8, false, 0, -1, 0, -1},
    {Kind::Int8QkWsPP, "int8-qk(ws,pp)", KernelId::Int8QK, kU8, false, 0, -1, 1, 1},
    {Kind::Fp16FaWs, "fp16-fa(ws)", KernelId::Fp16Flash, kU8, false, 0, -1, 1, -1},
    {Kind::Fp16FaWsPP, "fp16-fa(ws,pp)", KernelId::Fp16Flash, kU8, false, 0, -1, 1, 1},
    {Kind::Int8FaU8LQWs, "int8-fa(u8,lq,ws)", KernelId::Int8Full, kU8, true, 0, -1, 1, 2},
    {Kind::Int8FaU8WsFq, "int8-fa(u8,ws,fq)", KernelId::Int8Full, kU8, false, 0, -1, 1, 2, true},
    {Kind::Int8FaU8WsWide, "int8-fa(u8,ws,wide)", KernelId::Int8Full, kU8, false, 0, -1, 1, -1, true, true},
    {Kind::Int8FaU8WsWideQ8, "int8-fa(u8,ws,wide,q8)", KernelId::Int8Full, kU8, false, 0, -1, 1, -1, false, true},
    // The overlap schedule forced (the "(ws)" kinds take the default, ping-pong but for int8-qk at 64).
    {Kind::Int8QkWsOv, "int8-qk(ws,ov)", KernelId::Int8QK, kU8, false, 0, -1, 1, 0},
    {Kind::Fp16FaWsOv, "fp16-fa(ws,ov)", KernelId::Fp16Flash, kU8, false, 0, -1, 1, 0},
    {Kind::Int8FaU8WsWideKt, "int8-fa(u8,ws,wide,kt)", KernelId::Int8Full, kU8, false, 0, -1, 1, -1, true, true, true},
    // The library's kernel given FP16 Q, which it quantizes wherever it can (FusedTuning::fused_q 1).
    {Kind::Int8FaU8Fq, "int8-fa(u8,fq)", KernelId::Int8Full, kU8, false, 0, -1, kFromCommandLine, -1, true},
    // Grouped K's kernel (its own quantizer's codes, scale slots and key order), Q fused as `wide,kt`.
    {Kind::Int8FaU8WsWideKg, "int8-fa(u8,ws,wide,kg)", KernelId::Int8Full, kU8, false, 0, -1, 1, -1, true, true, false,
     true},
};
constexpr bool kinds_in_enum_order() {
  for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); ++i)
    if (static_cast<size_t>(kKinds[i].kind) != i) return false;
  return sizeof(kKinds) / sizeof(kKinds[0]) == static_cast<size_t>(Kind::Int8FaU8WsWideKg) + 1;
}
static_assert(kinds_in_enum_order(), "one kKinds row per Kind, in the enum's order");
const KindSpec& spec_of(Kind k) { return kKinds[static_cast<size_t>(k)]; }
int g_ws = -1;  // --ws
int g_dynamic_tiles = -1;  // --dynamic-tiles
const char* kind_name(Kind k) { return spec_of(k).name; }
// The int8-qk kinds: FP16 V, only Q and K quantized.
bool is_int8qk(Kind k) { return spec_of(k).kernel == KernelId::Int8QK; }

double threshold(Kind k, bool outliers) {
  const KindSpec& s = spec_of(k);
  if (s.kernel == KernelId::Fp16Flash) return 0.002;
  if (s.kernel == KernelId::Int8QK) return outliers ? 0.02 : 0.01;
  if (s.p_quant == PQuant::S8x127) return 0.05;  // INT-FlashAttention's scheme: reported, not a target
  return outliers ? 0.02 : 0.015;
}

int g_schedule = -1;  // --schedule; the schedules mode sets it per row

struct Result {
  double ms = 0, tops = 0, rel_l2 = 0, max_abs = 0;
  double sm_clock_mhz = 0;  // median over the timed runs
  int64_t bad = 0;  // NaN / unwritten outputs
  bool unsupported = false;  // this build has no instance for the kind at this shape
};

float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Bench {
  Shape s;
  AttnDims dims;
  QuantConfig cfg;
  __half *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr;
  QuantizedQKV qkv;
  void* qbuf = nullptr;
  void* flush = nullptr;
  size_t flush_bytes = 256ull << 20;
  void *copy_src = nullptr, *copy_dst = nullptr;  // copy_ms's buffers, copy_bytes each
  size_t copy_bytes = 0;
  std::vector<int64_t> rows;
  std::vector<float> ref;  // [rows, d]
  int iters = 20;
  gpu::SmClockProbe clock_probe;
  int sm_count = 0;

  explicit Bench(const Shape& sh, int it) : s(sh), iters(it) {
    dims = AttnDims{sh.b, sh.h, sh.kvh, sh.sq, sh.skv, sh.d, sh.causal, 0.f};
    const int64_t nq = dims.q_elements(), nkv = dims.kv_elements();
    CHECK_CUDA(cudaMalloc(&q, nq * 2));
    CHECK_CUDA(cudaMalloc(&k, nkv * 2));
    CHECK_CUDA(cudaMalloc(&v, nkv * 2));
    CHECK_CUDA(cudaMalloc(&out, nq * 2));
    CHECK_CUDA(cudaMalloc(&flush, flush_bytes));
    CHECK_CUDA(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, 0));
    fill_normal<<<1024, 256>>>(q, nq, sh.d, sh.sq, 11, 1.f, false);
    fill_normal<<<1024, 256>>>(k, nkv, sh.d, sh.skv, 22, 1.f, sh.outliers);
    fill_normal<<<1024, 256>>>(v, nkv, sh.d, sh.skv, 33, 1.f, false);
    CHECK_CUDA(cudaGetLastError());
    // Sized for every kind: the wide kinds scale V per 128-key block, seq_kv / 128 times the
    // V scales of the default per-channel form (before s15 they wrote past this buffer).
    QuantizedSizes qs = quantized_sizes(dims, cfg, true);
    const QuantizedSizes wide = quantized_sizes(dims, wide_config(), true);
    qs.v_scale = std::max(qs.v_scale, wide.v_scale);
    qs.split_partials = wide.split_partials, qs.ws_counters = wide.ws_counters, qs.split_slots = wide.split_slots;
    if (sh.d <= kKThreadMaxHeadDim) qs.k_order = quantized_sizes(dims, grouped_config(), true).k_order;
    CHECK_CUDA(cudaMalloc(&qbuf, quantized_block_bytes(qs)));
    qkv = carve_quantized(qs, qbuf);
    CHECK_CUDA(clear_ws_counters(qkv, nullptr));
    compute_reference();
  }
  ~Bench() {
    cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(out); cudaFree(qbuf); cudaFree(flush);
    cudaFree(copy_src); cudaFree(copy_dst);
  }

  void compute_reference() {
    const int64_t total = dims.batch * dims.heads * dims.seq_q;
    const int64_t max_rows = 1024;
    if (total <= max_rows) {
      for (int64_t r = 0; r < total; ++r) rows.push_back(r);
    } else {
      for (int64_t r = 0; r < max_rows; ++r) rows.push_back(r * (total - 1) / (max_rows - 1));
    }
    int64_t* d_rows;
    float *scores, *d_ref;
    CHECK_CUDA(cudaMalloc(&d_rows, rows.size() * 8));
    CHECK_CUDA(cudaMalloc(&scores, rows.size() * dims.seq_kv * 4));
    CHECK_CUDA(cudaMalloc(&d_ref, rows.size() * dims.head_dim * 4));
    CHECK_CUDA(cudaMemcpy(d_rows, rows.data(), rows.size() * 8, cudaMemcpyHostToDevice));
    reference_rows<<<static_cast<unsigned>(rows.size()), 256, (dims.head_dim + 256) * 4>>>(dims, q, k, v, d_rows,
                                                                                           scores, d_ref);
    CHECK_CUDA(cudaGetLastError());
    ref.resize(rows.size() * dims.head_dim);
    CHECK_CUDA(cudaMemcpy(ref.data(), d_ref, ref.size() * 4, cudaMemcpyDeviceToHost));
    cudaFree(d_rows); cudaFree(scores); cudaFree(d_ref);
  }

  cudaError_t quantize(bool with_v, bool with_q = true) {
    return quantize_qkv(dims, cfg, q, k, v, with_v, qkv, nullptr, with_q);
  }

  static void use_tuning_of(const KindSpec& spec) {
    FusedTuning tuning;
    tuning.warps_per_cta = spec.warps;
    tuning.schedule = g_schedule;
    tuning.wgmma = spec.wgmma;
    tuning.ws = spec.ws == kFromCommandLine ? g_ws : spec.ws;
    tuning.ws_schedule = spec.ws_schedule;
    tuning.fused_q = spec.fused_q ? 1 : -1;  // the fq kinds fuse Q wherever the kernel can
    tuning.dynamic_tiles = g_dynamic_tiles;
    set_fused_tuning(tuning);
  }

  cudaError_t attend(Kind kind) {
    const KindSpec& spec = spec_of(kind);
    use_tuning_of(spec);
    const __half* q_fp16 = spec.fused_q ? q : nullptr;
    switch (spec.kernel) {
      case KernelId::Int8Full: return int8_flash_attention(dims, cfg, qkv, out, nullptr, q_fp16);
      case KernelId::Int8QK: return int8qk_flash_attention(dims, cfg, qkv, v, out, nullptr);
      case KernelId::Fp16Flash: return fp16_flash_attention(dims, q, k, v, out, nullptr, qkv.ws_counters);
      default: return cudaErrorInvalidValue;
    }
  }

  // The medians over the timed runs of their time and of the SM clock each ran at.
  struct Timing {
    float ms = 0;
    double sm_clock_mhz = 0;
  };
  Timing time(const std::function<cudaError_t()>& fn) {
    cudaEvent_t e0, e1;
    CHECK_CUDA(cudaEventCreate(&e0));
    CHECK_CUDA(cudaEventCreate(&e1));
    std::vector<float> ms, mhz;
    clock_probe.prepare(0);
    for (int i = 0; i < iters + 2; ++i) {
      CHECK_CUDA(cudaMemsetAsync(flush, i & 0xff, flush_bytes));  // evict L2
      clock_probe.before(0, sm_count);  // outside the events, as the harness's samples
      CHECK_CUDA(cudaEventRecord(e0));
      CHECK_CUDA(fn());
      CHECK_CUDA(cudaEventRecord(e1));
      clock_probe.after(0, sm_count);
      CHECK_CUDA(cudaStreamSynchronize(0));
      float t;
      CHECK_CUDA(cudaEventElapsedTime(&t, e0, e1));
      if (i >= 2) {  // two warm-ups
        ms.push_back(t);
        mhz.push_back(static_cast<float>(clock_probe.mhz()));
      }
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return {median(ms), median(mhz)};
  }
  float time_ms(const std::function<cudaError_t()>& fn) { return time(fn).ms; }

  // int8-fa's wide pair: 128-key P blocks, V scaled per the same 128 keys.
  static QuantConfig wide_config() {
    QuantConfig c;
    c.kv_block = c.v_block = kGpuWideKvBlock;
    return c;
  }
  // The wide pair with grouped K (common/k_groups.h): its quantizer's K items make V's tiles too.
  static QuantConfig grouped_config() {
    QuantConfig c = wide_config();
    c.k_granularity = KGranularity::Grouped;
    return c;
  }

  Result run(Kind kind, bool timed) {
    cfg = spec_of(kind).wide ? wide_config() : QuantConfig{};
    if (spec_of(kind).k_per_thread) cfg.k_granularity = KGranularity::PerThread;
    if (spec_of(kind).k_grouped) cfg.k_granularity = KGranularity::Grouped;
    cfg.p_quant = spec_of(kind).p_quant;
    cfg.l_from_quantized_p = spec_of(kind).l_from_q;
    const bool int8 = spec_of(kind).kernel != KernelId::Fp16Flash;
    // int8-qk keeps V in FP16; Q stays the quantizer's where the kernel does not take it (head_dim 64).
    use_tuning_of(spec_of(kind));  // attention_quantizes_q reads it
    const bool kernel_quantizes_q = spec_of(kind).fused_q && attention_quantizes_q(dims, cfg, true);
    // A quantization this build's quantizer refuses (per-thread K above kKThreadMaxHeadDim) is
    // the kind's "unsupported", as the kernel's refusal is.
    const cudaError_t quantized = int8 ? quantize(!is_int8qk(kind), !kernel_quantizes_q) : cudaSuccess;
    if (quantized != cudaErrorNotSupported) CHECK_CUDA(quantized);
    CHECK_CUDA(cudaMemset(out, 0xff, dims.q_elements() * 2));  // NaN poison
    const cudaError_t err = quantized == cudaErrorNotSupported ? quantized : attend(kind);
    if (err == cudaErrorNotSupported) {
      cudaGetLastError();
      Result r;
      r.unsupported = true;
      return r;
    }
    CHECK_CUDA(err);
    CHECK_CUDA(cudaDeviceSynchronize());
    Result r = compare();
    if (timed) {
      const Timing t = time([&] { return attend(kind); });
      r.ms = t.ms;
      r.sm_clock_mhz = t.sm_clock_mhz;
      r.tops = attention_tops(dims, r.ms);  // the tool's count (common/attn_types.h)
    }
    return r;
  }

  Result compare() {
    std::vector<__half> o(dims.q_elements());
    CHECK_CUDA(cudaMemcpy(o.data(), out, o.size() * 2, cudaMemcpyDeviceToHost));
    Result r;
    for (const __half& h : o)
      if (!std::isfinite(__half2float(h))) ++r.bad;
    double num = 0, den = 0;
    for (size_t i = 0; i < rows.size(); ++i)
      for (int64_t c = 0; c < dims.head_dim; ++c) {
        const double x = __half2float(o[rows[i] * dims.head_dim + c]), y = ref[i * dims.head_dim + c];
        num += (x - y) * (x - y);
        den += y * y;
        r.max_abs = std::max(r.max_abs, std::fabs(x - y));
      }
    r.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return r;
  }

  float quant_ms(bool with_v, bool with_q = true) { return time_ms([&] { return quantize(with_v, with_q); }); }

  // The quantizer's bandwidth yardstick: one device-to-device cudaMemcpyAsync that moves as many
  // bytes (read + written) as quantizing Q (with_q), K and V does, timed as the quantizer is
  // (after the same L2 flush, whose dirty lines both pay to write back). FP16 in, one code
  // byte out per element; the scales are left out (under 1% of the traffic).
  float copy_ms(bool with_q) {
    const int64_t elements = 2 * dims.kv_elements() + (with_q ? dims.q_elements() : 0);
    const size_t bytes = static_cast<size_t>(elements) * 3 / 2;  // (2 read + 1 written) / 2 a copied byte
    if (bytes > copy_bytes) {
      cudaFree(copy_src);
      cudaFree(copy_dst);
      CHECK_CUDA(cudaMalloc(&copy_src, bytes));
      CHECK_CUDA(cudaMalloc(&copy_dst, bytes));
      copy_bytes = bytes;
    }
    return time_ms([&] { return cudaMemcpyAsync(copy_dst, copy_src, bytes, cudaMemcpyDeviceToDevice); });
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "check";
  int iters = 20;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--iters") iters = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--schedule") g_schedule = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--ws") g_ws = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--dynamic-tiles") g_dynamic_tiles = std::atoi(argv[i + 1]);
  }
  if (mode == "count-schedules") {  // for scripts/kernel-bench.sh ab
    std::printf("%d\n", fused_schedule_count());
    return 0;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, L2 %d MB, cc %d.%d\n", prop.name, prop.multiProcessorCount,
              prop.l2CacheSize >> 20, prop.major, prop.minor);

  std::vector<Shape> shapes;
  std::vector<Kind> kinds = {Kind::Int8FaU8, Kind::Int8FaS8, Kind::Int8FaU8LQ, Kind::Int8Qk,
                             Kind::Fp16Fa,   Kind::Int8FaU8W8, Kind::Int8FaU8Mma, Kind::Int8FaU8Wgmma, Kind::Int8FaU8WsDefer,
                             Kind::Int8FaU8LQWs};
  const bool is_wsprofile = mode.rfind("wsprofile", 0) == 0;  // the one-launch modes for ncu
  const bool timed = mode != "check" && mode != "profile" && !is_wsprofile && mode != "sancheck" && mode != "wssan" &&
                     mode != "quant-ncu";
  if (mode == "quant" || mode == "quant-ncu") kinds.clear();
  if (mode == "check") {
    for (int64_t d : {64, 128})
      for (bool causal : {false, true}) {
        shapes.push_back({1, 2, 2, 1, 1, d, causal, false});
        shapes.push_back({2, 4, 2, 77, 77, d, causal, false});
        shapes.push_back({1, 2, 1, 1000, 1000, d, causal, false});
        shapes.push_back({1, 2, 2, 1, 300, d, causal, false});
        shapes.push_back({1, 2, 2, 200, 70, d, causal, false});
        shapes.push_back({1, 2, 2, 130, 4100, d, causal, true});
      }
  } else if (mode == "sancheck") {  // small shapes for compute-sanitizer
    kinds = {Kind::Int8FaU8, Kind::Int8FaS8, Kind::Int8FaU8LQ, Kind::Int8Qk, Kind::Fp16Fa, Kind::Int8FaU8Mma,
             Kind::Int8FaU8Wgmma, Kind::Int8FaU8WsDefer};
    for (int64_t d : {64, 128}) {
      shapes.push_back({2, 4, 2, 77, 77, d, true, false});
      shapes.push_back({1, 2, 2, 200, 70, d, true, false});
      shapes.push_back({1, 2, 1, 1, 300, d, false, false});
    }
  } else if (mode == "wssan") {  // the warp-specialized kernels, small shapes, for compute-sanitizer
    // Int8QkWs: the default schedule, ping-pong at 128 (Int8QkWsPP's kernel) and serial at 64;
    // Int8FaU8 and Int8FaU8Fq: the library's choice, the only kinds that run the 256 shapes below.
    kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8LQWs, Kind::Int8FaU8WsFq, Kind::Int8FaU8WsWide, Kind::Int8FaU8WsWideQ8,
             Kind::Int8FaU8WsWideKt, Kind::Int8FaU8WsWideKg, Kind::Int8QkWs, Kind::Int8QkWsOv, Kind::Fp16FaWsOv,
             Kind::Fp16FaWsPP, Kind::Int8FaU8, Kind::Int8FaU8Fq};
    for (int d : {128, 64})  // 64: fp16-fa's and int8-qk's three consumer warpgroups
      for (bool causal : {false, true}) {
        shapes.push_back({2, 4, 2, 77, 77, d, causal, false});
        shapes.push_back({1, 2, 2, 200, 70, d, causal, false});
        shapes.push_back({1, 2, 1, 130, 1100, d, causal, false});
        shapes.push_back({1, 48, 8, 300, 600, d, causal, false});  // 96-144 tiles: CTAs walk several
      }
    // int8-fa at 256 (the other kinds refuse it): the library's choice, its warp-specialized kernel
    // at these shapes (ws_by_default), one row over 1K keys included.
    for (bool causal : {false, true}) {
      shapes.push_back({2, 4, 2, 130, 300, 256, causal, false});
      shapes.push_back({1, 2, 1, 1, 1100, 256, causal, false});
      shapes.push_back({1, 48, 8, 300, 1030, 256, causal, false});  // 144 tiles: CTAs walk several
    }
  } else if (mode == "wsprofile" || mode == "wsprofile-qk" || mode == "wsprofile-qkov") {  // one launch of a warp-specialized kernel for ncu (16K, d128); qkov: int8-qk in the overlap schedule (s18: as fast as ping-pong with the P·V wait pinned)
    kinds = {mode == "wsprofile" ? Kind::Int8FaU8WsDefer : mode == "wsprofile-qk" ? Kind::Int8QkWs : Kind::Int8QkWsOv};
    shapes.push_back({1, 16, 16, 16384, 16384, 128, false, false});
  } else if (mode == "wsprofile-wide16k" || mode == "wsprofile-kt16k" || mode == "wsprofile-kg16k") {  // one launch of int8-fa's 128-key kernel, 16K d128: per-token K on the quantizer's Q (`wide,q8`), per-thread K with Q fused (`wide,kt`) or grouped K (`wide,kg`), to compare S's chain
    kinds = {mode == "wsprofile-wide16k" ? Kind::Int8FaU8WsWideQ8
             : mode == "wsprofile-kt16k" ? Kind::Int8FaU8WsWideKt : Kind::Int8FaU8WsWideKg};
    shapes.push_back({1, 16, 16, 16384, 16384, 128, false, false});
  } else if (mode == "wsprofile-kg4k") {  // grouped K's kernel at 4K x b4 d128, one full launch then one causal: where short rows lose against 16K's (tile switches, the masked steps)
    kinds = {Kind::Int8FaU8WsWideKg};
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 128, true, false});
  } else if (mode == "ws256" || mode == "wsprofile-256") {  // int8-fa at head_dim 256 (16 heads on 8 KV heads, b*s = 16K): the library's choice (on Hopper the warp-specialized kernel at these lengths) against the mma.sync kernel; wsprofile-256: one warp-specialized launch at 16K for ncu
    if (mode == "ws256") {
      kinds = {Kind::Int8FaU8, Kind::Int8FaU8Fq, Kind::Int8FaU8Mma};
      for (int64_t s : {1024, 4096, 16384}) shapes.push_back({16384 / s, 16, 8, s, s, 256, false, false});
      for (int64_t s : {4096, 16384}) shapes.push_back({16384 / s, 16, 8, s, s, 256, true, false});
    } else {
      kinds = {Kind::Int8FaU8};
      shapes.push_back({1, 16, 8, 16384, 16384, 256, false, false});
    }
  } else if (mode == "wsprofile-wide") {  // one launch of int8-fa's 128-key kernel, Q fused (the product from 2K), 4K d128
    kinds = {Kind::Int8FaU8WsWide};
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, false});
  } else if (mode == "wsprofile-l2") {  // one launch each of fp16-fa's, int8-qk's and int8-fa's (Q fused) kernels at 16K and 32K d128, full rows: their L2 and DRAM traffic (s62: the FP16-K/V kernels' 32K rows read 1.2-1.9x the compulsory bytes, under 2% of DRAM bandwidth; the 8-9% their 20-launch 32K bursts lost was the power cap, docs/perf-log.md s62)
    kinds = {Kind::Fp16FaWsPP, Kind::Int8QkWs, Kind::Int8FaU8WsWide};
    for (int64_t s : {16384, 32768}) shapes.push_back({1, 16, 16, s, s, 128, false, false});
  } else if (mode == "wsprofile-fp16-4k") {  // fp16-fa's ping-pong kernel at 4K d128, one causal launch then one full: where causal's rows lose against full ones
    kinds = {Kind::Fp16FaWsPP};
    shapes.push_back({4, 16, 16, 4096, 4096, 128, true, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, false});
  } else if (mode == "profile") {  // one launch of each kernel for ncu
    kinds = {Kind::Int8FaU8, Kind::Fp16Fa};
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, false});
  } else if (mode == "quick") {
    kinds = {Kind::Int8FaU8, Kind::Int8FaU8Wgmma, Kind::Int8FaU8Mma, Kind::Int8Qk, Kind::Fp16Fa};
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 128, true, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 64, false, false});
  } else if (mode == "ws" || mode == "wsqk" || mode == "wsfa" || mode == "wsfp16" || mode == "wsfq") {  // the Hopper kernels side by side (wsqk: int8-qk in its default schedule; wsfp16: one kernel in both schedules; wsfa: int8-fa, l from the exact and the quantized P; wsfq: int8-fa's 64- and 128-key kernels with Q quantized by the quantizer and in the kernel, the 128-key one with per-thread K scales, and int8-qk for the end-to-end sums)
    if (mode == "ws") kinds = {Kind::Int8FaU8Wgmma, Kind::Int8FaU8WsDefer, Kind::Int8QkMma, Kind::Int8QkWsOv, Kind::Int8QkWs, Kind::Fp16FaWs};  // Int8QkWs: the default schedule, ping-pong at 128 (Int8QkWsPP's kernel) and serial at 64, which the explicit kinds no longer reach
    else if (mode == "wsfa") kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8LQWs};
    else if (mode == "wsfq") kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8WsFq, Kind::Int8FaU8WsWide, Kind::Int8FaU8WsWideQ8, Kind::Int8FaU8WsWideKt, Kind::Int8FaU8WsWideKg, Kind::Int8QkWs};
    else if (mode == "wsfp16") kinds = {Kind::Fp16FaWsOv, Kind::Fp16FaWsPP};
    else kinds = {Kind::Int8QkWs};  // wsqk: int8-qk's default schedule a head_dim (one A/B kind)
    if (mode == "wsfq") shapes.push_back({8, 16, 16, 2048, 2048, 128, false, false});  // where "auto" turns wide
    for (int64_t s : {1024, 4096, 16384, 32768})
      shapes.push_back({std::max<int64_t>(1, 16384 / s), 16, 16, s, s, 128, false, false});
    for (int64_t s : {4096, 16384}) shapes.push_back({16384 / s, 16, 16, s, s, 128, true, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 64, false, false});
  } else if (mode == "wsgqa") {  // int8-fa's 64- and 128-key kernels, each on the quantizer's Q and with Q fused, on Llama-3-8B's prefill shapes (causal GQA 32/8, d128): where "auto" should turn wide on causal rows
    kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8WsFq, Kind::Int8FaU8WsWide, Kind::Int8FaU8WsWideQ8};
    // 3000: a short last query block (72 idle rows of 192) whose causal lead moves one 64-row group
    // and leaves 8 rows past seq_q (every other length here is a multiple of 64)
    for (int64_t s : {1024, 2048, 3000, 4096, 8192}) shapes.push_back({1, 32, 8, s, s, 128, true, false});
  } else if (mode == "wsall") {  // every warp-specialized product kernel (int8-fa's 64- and 128-key ones) at d128 (16 heads) and d64 (32 heads), b*s = 16K; int8-fa's 64-key one with INT8 Q and with Q fused, as the product runs it at d128 (the two differed by 21% at 1K: docs/perf-log.md s13b)
    kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8WsFq, Kind::Int8FaU8WsWide, Kind::Int8QkWs, Kind::Fp16FaWsPP};
    for (int64_t s : {1024, 4096, 16384, 32768})
      shapes.push_back({std::max<int64_t>(1, 16384 / s), 16, 16, s, s, 128, false, false});
    for (int64_t s : {4096, 8192, 16384, 32768})
      shapes.push_back({std::max<int64_t>(1, 16384 / s), 16, 16, s, s, 128, true, false});
    for (int64_t s : {1024, 4096, 16384}) shapes.push_back({16384 / s, 32, 32, s, s, 64, false, false});
  } else if (mode == "ws64" || mode == "wswide" || mode == "wsd64") {  // the warp-specialized kinds at head_dim 64 (32 heads, b*s = 16K); wswide: int8-fa's 64-key blocks against 128-key / V-per-block ones (per-token and per-thread K); wsd64: those, int8-qk and fp16-fa
    if (mode == "ws64") kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8LQWs};
    else if (mode == "wswide") kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8WsWide, Kind::Int8FaU8WsWideKt};
    else kinds = {Kind::Int8FaU8WsDefer, Kind::Int8FaU8WsWide, Kind::Int8QkWs, Kind::Fp16FaWsPP};
    for (int64_t s : {1024, 4096, 16384, 32768})
      shapes.push_back({std::max<int64_t>(1, 16384 / s), 32, 32, s, s, 64, false, false});
    for (int64_t s : {4096, 16384}) shapes.push_back({16384 / s, 32, 32, s, s, 64, true, false});
    shapes.push_back({4, 32, 8, 4096, 4096, 64, true, false});  // GQA 4:1
  } else if (mode == "ws-threshold") {  // where the Hopper kernels start to win: run with --ws 0 and --ws 1
    kinds = {Kind::Int8FaU8, Kind::Int8Qk, Kind::Fp16Fa};
    for (int64_t s : {256, 512, 1024}) shapes.push_back({16384 / s, 16, 16, s, s, 128, false, false});
    for (int64_t s : {512, 1024, 2048, 4096}) shapes.push_back({16384 / s, 16, 16, s, s, 64, false, false});
    shapes.push_back({8, 32, 8, 1024, 1024, 128, true, false});  // Llama-3-8B prefill, 1K
  } else if (mode == "quant" || mode == "quant-ncu") {  // the quantizer alone against the copy yardstick, with and without K's smoothing; quant-ncu: one launch of each (V per 128 keys, K and V) for ncu
    if (mode == "quant") shapes.push_back({8, 16, 16, 2048, 2048, 128, false, false});
    for (int64_t s : {16384, 32768}) shapes.push_back({1, 16, 16, s, s, 128, false, false});
    if (mode == "quant") shapes.push_back({4, 16, 16, 4096, 4096, 64, false, false});
    if (mode == "quant") shapes.push_back({1, 32, 8, 2048, 2048, 128, true, false});  // Llama-3-8B
  } else if (mode == "schedules") {  // A/B of every register schedule
    kinds = {Kind::Int8FaU8, Kind::Int8Qk, Kind::Fp16Fa};
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, false});
    shapes.push_back({1, 16, 16, 16384, 16384, 128, false, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 128, true, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 64, false, false});
  } else {  // perf: the issue's shapes (b*s = 16K tokens, 16 heads)
    kinds = {Kind::Int8FaU8, Kind::Int8FaU8Wgmma, Kind::Int8FaU8Mma, Kind::Int8Qk, Kind::Fp16Fa};
    for (int64_t s : {1024, 4096, 16384, 32768})
      shapes.push_back({std::max<int64_t>(1, 16384 / s), 16, 16, s, s, 128, false, false});
    for (int64_t s : {4096, 16384}) shapes.push_back({16384 / s, 16, 16, s, s, 128, true, false});
    for (int64_t s : {4096, 16384}) shapes.push_back({16384 / s, 16, 16, s, s, 64, false, false});
    shapes.push_back({4, 16, 16, 4096, 4096, 128, false, true});
  }

  std::vector<int> schedules = {g_schedule};
  if (mode == "schedules" || (mode == "check" && g_schedule < 0)) {  // check: every schedule unless given
    schedules.clear();
    for (int sched = 0; sched < fused_schedule_count(); ++sched) schedules.push_back(sched);
  }
  std::vector<std::string> lines;
  int failures = 0;
  for (const Shape& sh : shapes) {
    Bench bench(sh, iters);
    char shape_txt[128];
    std::snprintf(shape_txt, sizeof shape_txt, "b%lld h%lld/%lld sq%lld skv%lld d%lld %s%s", (long long)sh.b,
                  (long long)sh.h, (long long)sh.kvh, (long long)sh.sq, (long long)sh.skv, (long long)sh.d,
                  sh.causal ? "causal" : "full", sh.outliers ? " outl" : "");
    for (int sched : schedules)
      for (Kind kind : kinds) {
        g_schedule = sched;
        const Result r = bench.run(kind, timed);
        if (r.unsupported) {
          std::printf("%-40s %-18s unsupported in this build\n", shape_txt, kind_name(kind));
          continue;
        }
        const bool ok = r.bad == 0 && r.rel_l2 <= threshold(kind, sh.outliers);
        failures += ok ? 0 : 1;
        char line[256];
        char kind_txt[32];
        std::snprintf(kind_txt, sizeof kind_txt, "%s s%d", kind_name(kind), g_schedule);
        std::snprintf(line, sizeof line,
                      "%-40s %-18s %9.3f ms %8.1f TOPS @ %4.0f MHz  relL2 %.5f  maxabs %.4f  bad %lld  %s", shape_txt,
                      kind_txt, r.ms, r.tops, r.sm_clock_mhz, r.rel_l2, r.max_abs, (long long)r.bad, ok ? "ok" : "FAIL");
        std::printf("%s\n", line);
        std::fflush(stdout);
        lines.push_back(line);
      }
    if (timed) {  // V per channel (the 64-key pair, int8-qk's Q and K), then per 128 keys (the wide pair)
      bench.cfg = QuantConfig{};
      const float qkv = bench.quant_ms(true), qk = bench.quant_ms(false), kv = bench.quant_ms(true, false),
                  k_only = bench.quant_ms(false, false);
      bench.cfg = Bench::wide_config();
      const float qkv_wide = bench.quant_ms(true), kv_wide = bench.quant_ms(true, false);
      char line[384];
      std::snprintf(line, sizeof line,
                    "%-40s %-15s %9.3f ms (Q,K,V) %9.3f ms (Q,K) %9.3f ms (K,V) %9.3f ms (K) | V per 128 keys: "
                    "%9.3f ms (Q,K,V) %9.3f ms (K,V)",
                    shape_txt, "quantize", qkv, qk, kv, k_only, qkv_wide, kv_wide);
      lines.push_back(line);
      if (sh.d <= kKThreadMaxHeadDim) {  // grouped K's quantizer (s73), a row of its own (ab_table.py reads the one above)
        bench.cfg = Bench::grouped_config();
        const float qkv_grouped = bench.quant_ms(true), kv_grouped = bench.quant_ms(true, false);
        std::snprintf(line, sizeof line, "%-40s %-15s %9.3f ms (Q,K,V) %9.3f ms (K,V)", shape_txt, "quantize-grouped",
                      qkv_grouped, kv_grouped);
        lines.push_back(line);
      }
      const float copy_qkv = bench.copy_ms(true), copy_kv = bench.copy_ms(false);
      std::snprintf(line, sizeof line,
                    "%-40s %-15s %9.3f ms (Q,K,V) %9.3f ms (K,V): V per 128 keys at %.0f%% / %.0f%% of the copy's rate",
                    shape_txt, "copy same bytes", copy_qkv, copy_kv, 100.f * copy_qkv / qkv_wide,
                    100.f * copy_kv / kv_wide);
      lines.push_back(line);
      if (mode == "quant") {
        bench.cfg.smooth_k = false;
        const float kv_plain = bench.quant_ms(true, false);
        std::snprintf(line, sizeof line, "%-40s %-15s %9.3f ms (K,V), V per 128 keys", shape_txt, "no smoothing", kv_plain);
        lines.push_back(line);
      }
    }
    if (mode == "quant-ncu") {
      bench.cfg = Bench::wide_config();
      for (const bool smooth : {true, false}) {
        bench.cfg.smooth_k = smooth;
        CHECK_CUDA(bench.quantize(true, false));
      }
      CHECK_CUDA(cudaDeviceSynchronize());
    }
  }
  std::printf("\n==== summary (%s) ====\n", mode.c_str());
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  std::printf("failures: %d\n", failures);
  return failures == 0 ? 0 : 2;
}
