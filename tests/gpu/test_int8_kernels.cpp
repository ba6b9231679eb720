// The fused kernels (kernels/attn_kernels.h) against the CPU: the GPU quantizer must produce
// quantize_qkv_host's codes and scales bit for bit; each attention kernel must agree with its
// bit-faithful emulation (src/cpu/emulation.h) on the SAME quantized inputs up to FP32
// reassociation and ex2.approx, and with the FP64 reference within the accuracy targets.
// Skips when no CUDA device is present.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/half.h"
#include "kernels/attn_kernels.h"
#include "kernels/sm90/int8_fa_ws_launch.h"
#include "kernels/sm90/ws_retile.h"
#include "kernels/sm90/ws_tile_order.h"
#include "src/cpu/emulation.h"
#include "src/cpu/quantize.h"
#include "src/host/inputs.h"
#include "src/host/reference.h"
#include "tests/cpu/test_cpu_util.h"

namespace int8attn {
namespace {

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

#define SKIP_WITHOUT_DEVICE() \
  if (!have_device()) GTEST_SKIP() << "no CUDA device"

// Owning device allocation.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    EXPECT_EQ(cudaMalloc(&ptr_, std::max<size_t>(bytes, 16)), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) { other.ptr_ = nullptr; }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

template <class T>
std::vector<T> download(const T* device, size_t count) {
  std::vector<T> host(count);
  EXPECT_EQ(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

// An output with a guard band on each side, 0xff bytes from allocation on, which no kernel may
// change: a store past the last row or head (a TMA box the map does not clip, an index off by
// one tile) or before the first shows as damaged guard bytes. as<T>() and bytes() are the
// output's own, so the tests use it as a plain buffer.
class GuardedOutput {
 public:
  static constexpr size_t kGuardBytes = 64 * 1024;  // four of the widest kernels' O boxes (64 rows x 128 channels x 2 B)
  explicit GuardedOutput(size_t bytes) : buf_(bytes + 2 * kGuardBytes), bytes_(bytes) {
    EXPECT_EQ(cudaMemset(buf_.as<void>(), 0xff, buf_.bytes()), cudaSuccess);
  }
  template <class T>
  T* as() const { return reinterpret_cast<T*>(buf_.as<char>() + kGuardBytes); }
  size_t bytes() const { return bytes_; }
  // Guard bytes that are no longer 0xff, before and after the output.
  int64_t damaged_guard_bytes() const {
    int64_t damaged = 0;
    for (const char* guard : {buf_.as<char>(), buf_.as<char>() + kGuardBytes + bytes_})
      for (const uint8_t byte : download(reinterpret_cast<const uint8_t*>(guard), kGuardBytes)) damaged += byte != 0xff;
    return damaged;
  }

 private:
  DeviceBuffer buf_;
  size_t bytes_;
};

DeviceBuffer upload_half(const std::vector<float>& values) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) bits[i] = float_to_half_bits(values[i]);
  DeviceBuffer buf(bits.size() * 2);
  EXPECT_EQ(cudaMemcpy(buf.as<void>(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
  return buf;
}

std::vector<float> download_half(const __half* device, size_t count) {
  const std::vector<uint16_t> bits = download(reinterpret_cast<const uint16_t*>(device), count);
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = half_bits_to_float(bits[i]);
  return out;
}

using cpu::test::make_dims;

std::string describe(const AttnDims& d) {
  return "b" + std::to_string(d.batch) + " h" + std::to_string(d.heads) + "/" + std::to_string(d.kv_heads) +
         " sq" + std::to_string(d.seq_q) + " skv" + std::to_string(d.seq_kv) + " d" + std::to_string(d.head_dim) +
         (d.causal ? " causal" : "");
}

// One problem on the device: FP16 inputs, the quantized buffers, the output.
struct DeviceProblem {
  AttnDims dims;
  QuantConfig cfg;
  host::HostQKV host;
  DeviceBuffer q, k, v;
  GuardedOutput out;
  DeviceBuffer quant;
  kernels::QuantizedQKV qkv;
  kernels::QuantizedSizes sizes;

  DeviceProblem(const AttnDims& d, const QuantConfig& c, const InputSpec& input)
      : dims(d),
        cfg(c),
        host(host::generate_inputs(d, input)),
        q(upload_half(host.q)),
        k(upload_half(host.k)),
        v(upload_half(host.v)),
        out(d.q_elements() * 2),
        quant(kernels::quantized_block_bytes(kernels::quantized_sizes(d, c, true))) {
    sizes = kernels::quantized_sizes(d, c, true);
    qkv = kernels::carve_quantized(sizes, quant.as<void>());
    EXPECT_EQ(kernels::clear_ws_counters(qkv, nullptr), cudaSuccess);
  }

  // with_v false: Q and K only, as for int8-qk.
  void quantize(bool with_v = true) {
    ASSERT_EQ(kernels::quantize_qkv(dims, cfg, q.as<__half>(), k.as<__half>(), with_v ? v.as<__half>() : nullptr,
                                    with_v, qkv, nullptr),
              cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }

  // The device's quantized tensors in the CPU's plain layout.
  cpu::QuantizedHost quantized_from_device() const {
    const int64_t kv_rows = dims.batch * dims.kv_heads;
    cpu::QuantizedHost h;
    h.q8 = download(qkv.q8, dims.q_elements());
    const std::vector<int8_t> k_padded = download(qkv.k8, sizes.k8);
    const std::vector<int8_t> v_device = download(qkv.v8, sizes.v8);
    h.k8.resize(dims.kv_elements());
    h.v8.resize(dims.kv_elements());
    kernels::k8_to_bhsd(dims, k_padded.data(), h.k8.data());
    kernels::v8_to_bhsd(dims, v_device.data(), h.v8.data());
    h.q_scale = download(qkv.q_scale, sizes.q_scale / 4);
    const std::vector<float> k_scale_padded = download(qkv.k_scale, sizes.k_scale / 4);
    h.k_scale.resize(kv_rows * cpu::qk_groups(dims.seq_kv, cfg));
    kernels::k_scale_unpadded(dims, cfg, k_scale_padded.data(), h.k_scale.data());
    h.v_scale = download(qkv.v_scale, sizes.v_scale / 4);
    if (cfg.smooth_k) h.k_mean = download(qkv.k_mean, sizes.k_mean / 4);
    if (qkv.k_order) {
      const std::vector<uint8_t> order_padded = download(qkv.k_order, sizes.k_order);
      h.k_order.resize(kv_rows * dims.seq_kv);
      kernels::k_order_unpadded(dims, order_padded.data(), h.k_order.data());
    }
    return h;
  }

  // The output of the last run; a kernel that wrote outside it fails here.
  std::vector<float> output() {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(out.damaged_guard_bytes(), 0) << describe(dims) << ": bytes written outside the output";
    return download_half(out.as<__half>(), dims.q_elements());
  }
  void poison_output() { ASSERT_EQ(cudaMemset(out.as<void>(), 0xff, out.bytes()), cudaSuccess); }
};

InputSpec normal_input(uint64_t seed) {
  InputSpec in;
  in.seed = seed;
  return in;
}

double rel_l2(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (got[i] - want[i]) * (got[i] - want[i]);
    ref += want[i] * want[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

std::vector<double> to_double(const std::vector<float>& x) { return {x.begin(), x.end()}; }

// GPU vs emulation on the same quantized inputs. The kernel uses ex2.approx and fused
// multiply-adds, so a P code can land one level off at a rounding boundary; that moves an
// output by at most |v|/(255 l). Every element must be within 2 FP16 ulps + 1e-3 or within
// the one-code bound, no NaN anywhere, and the whole tensor within 3e-3 relative L2.
void expect_matches_emulation(const std::vector<float>& gpu, const std::vector<float>& emu, const std::string& what) {
  ASSERT_EQ(gpu.size(), emu.size());
  int64_t outside = 0;
  double worst = 0;
  for (size_t i = 0; i < gpu.size(); ++i) {
    ASSERT_TRUE(std::isfinite(gpu[i])) << what << " element " << i;
    const double diff = std::fabs(double{gpu[i]} - emu[i]);
    const double ulp = std::ldexp(1.0, std::max(-24, std::ilogb(std::max(std::fabs(emu[i]), 6.1e-5f)) - 10));
    worst = std::max(worst, diff);
    if (diff > 2 * ulp + 1e-3) ++outside;
  }
  EXPECT_LE(worst, 0.02) << what;
  EXPECT_LE(outside, static_cast<int64_t>(gpu.size() / 1000) + 1) << what << ": elements beyond 2 ulp + 1e-3";
  EXPECT_LE(rel_l2(gpu, to_double(emu)), 3e-3) << what;
}

const std::vector<AttnDims>& edge_shapes() {
  static const std::vector<AttnDims> shapes = [] {
    std::vector<AttnDims> s;
    for (int64_t d : {64, 128})
      for (bool causal : {false, true}) {
        s.push_back(make_dims(1, 2, 2, 1, 1, d, causal));       // single token
        s.push_back(make_dims(2, 4, 2, 77, 77, d, causal));     // GQA, tails
        s.push_back(make_dims(1, 2, 1, 1000, 1000, d, causal)); // GQA 2:1, several blocks
        s.push_back(make_dims(1, 2, 2, 1, 300, d, causal));     // decode
        s.push_back(make_dims(1, 2, 2, 200, 70, d, causal));    // seq_q > seq_kv: empty causal rows
        s.push_back(make_dims(1, 2, 1, 100, 333, d, causal));   // 1 < seq_q < seq_kv: bottom-right mask
        s.push_back(make_dims(1, 2, 2, 190, 700, d, causal));   // the same over several query tiles
      }
    return s;
  }();
  return shapes;
}

// The device quantizer's codes and scales (and K's mean, with smoothing) against
// quantize_qkv_host's on the problem's own inputs, bit for bit (V's only if it was quantized).
void expect_quantized_as_host(const DeviceProblem& prob, const std::string& what, bool with_v = true) {
  const cpu::QuantizedHost gpu = prob.quantized_from_device();
  const cpu::QuantizedHost cpu =
      cpu::quantize_qkv_host(prob.dims, prob.cfg, prob.host.q, prob.host.k, prob.host.v, true);
  EXPECT_EQ(gpu.q8, cpu.q8) << what;
  EXPECT_EQ(gpu.k8, cpu.k8) << what;
  EXPECT_EQ(gpu.q_scale, cpu.q_scale) << what;
  EXPECT_EQ(gpu.k_scale, cpu.k_scale) << what;
  if (with_v) {
    EXPECT_EQ(gpu.v8, cpu.v8) << what;
    EXPECT_EQ(gpu.v_scale, cpu.v_scale) << what;
  }
  if (prob.cfg.smooth_k) {
    EXPECT_EQ(gpu.k_mean, cpu.k_mean) << what;
  }
  EXPECT_EQ(gpu.k_order, cpu.k_order) << what;
}

TEST(GpuInt8Kernels, QuantizerMatchesHostBitForBit) {
  SKIP_WITHOUT_DEVICE();
  for (const QkRotation rotation : {QkRotation::None, QkRotation::Hadamard})
  for (const int granularity : {0, 1, 2, 3})  // per-token, per-block, per-token Q with per-thread K, grouped K
    for (const bool smooth : {false, true})
      for (const AttnDims& dims : {make_dims(2, 4, 2, 77, 130, 64, false), make_dims(1, 2, 2, 1000, 1000, 128, false),
                                   make_dims(2, 4, 2, 77, 130, 256, false), make_dims(1, 2, 1, 300, 2000, 256, true)}) {
        if (granularity >= 2 && dims.head_dim > kKThreadMaxHeadDim) continue;  // refused: QuantizerAtHeadDim256
        const bool per_block = granularity == 1;
        QuantConfig cfg;
        cfg.qk_granularity = per_block ? QkGranularity::PerBlock : QkGranularity::PerToken;
        if (granularity == 2) cfg.k_granularity = KGranularity::PerThread;
        if (granularity == 3) cfg.k_granularity = KGranularity::Grouped, cfg.kv_block = 128;
        cfg.smooth_k = smooth;
        cfg.rotation = rotation;
        InputSpec input = normal_input(7);
        // Rotation is for loud channels that vary per token; the offset kind exercises smoothing.
        input.distribution = rotation == QkRotation::None ? Distribution::OutlierChannels : Distribution::OutlierScale;
        DeviceProblem prob(dims, cfg, input);
        prob.quantize();
        const std::string what = describe(dims) + (per_block ? " per-block" : " per-token") +
                                 (granularity == 2 ? " per-thread K" : "") + (granularity == 3 ? " grouped K" : "") +
                                 (smooth ? " smooth" : "") +
                                 (rotation == QkRotation::Hadamard ? " hadamard" : "");
        expect_quantized_as_host(prob, what);
        // Padded K rows are zero codes, so the kernels may read whole tiles.
        const std::vector<int8_t> k_padded = download(prob.qkv.k8, prob.sizes.k8);
        const int64_t rows = kernels::padded_seq_kv(dims.seq_kv), d = dims.head_dim;
        for (int64_t r = dims.seq_kv; r < rows; ++r)
          for (int64_t c = 0; c < d; ++c) ASSERT_EQ(k_padded[r * d + c], 0) << what << " pad row " << r;
      }
}

// V scaled per 128-key block (QuantConfig::v_block == kKvPad): each V tile takes its own
// channel amax in the codes launch (no whole-head pass), the same codes and scales as the CPU
// quantizer's, the last tile partial; with K's smoothing (the launch path: V's tiles run before
// K's, without waiting for launch 1) and without (the one launch). int8-fa refuses it with
// 64-key P blocks (it runs V per 128 keys only with 128-key P blocks:
// WideBlocksInt8FaMatchesEmulation).
TEST(GpuInt8Kernels, QuantizerScalesVPer128KeyBlock) {
  SKIP_WITHOUT_DEVICE();
  for (const bool grouped : {false, true})  // grouped K: each K block's CTA quantizes its V tile, rows in K's order
  for (const bool smooth : {true, false})
  for (const AttnDims& dims : {make_dims(2, 4, 2, 77, 300, 64, false), make_dims(1, 2, 2, 100, 1000, 128, true),
                               make_dims(1, 4, 4, 64, 4100, 128, false)}) {
    QuantConfig cfg;
    cfg.v_block = static_cast<int32_t>(kernels::kKvPad);
    cfg.smooth_k = smooth;
    if (grouped) cfg.k_granularity = KGranularity::Grouped, cfg.kv_block = 128;
    DeviceProblem prob(dims, cfg, normal_input(13));
    prob.quantize();
    expect_quantized_as_host(prob, describe(dims) + " V per 128 keys" + (smooth ? " smooth" : "") +
                                       (grouped ? " grouped K" : ""));
    if (grouped) continue;  // grouped K takes 128-key P blocks; its kernel: GroupedKInt8FaMatchesEmulation
    EXPECT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr),
              cudaErrorNotSupported)
        << describe(dims);
  }
  QuantConfig odd;
  odd.v_block = 256;  // a V block the GPU quantizer does not make
  const AttnDims dims = make_dims(1, 1, 1, 16, 300, 64, false);
  DeviceProblem prob(dims, odd, normal_input(14));
  EXPECT_EQ(kernels::quantize_qkv(dims, odd, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(), true,
                                  prob.qkv, nullptr),
            cudaErrorNotSupported);
}

// Long keys over several GQA kv heads: 40000 keys per head, so K's mean samples 128 of them
// (common/numerics.h k_mean_sample_token) while V's amax carries across the finalize's staging
// rounds (313 chunks of 128 keys, 128 a round, the last one partial), on more heads than one
// finalize CTA covers; V per channel and per 128 keys (313 K tiles a head; K's mean made by
// launch 1).
TEST(GpuInt8Kernels, QuantizerMatchesHostOverManyChunks) {
  SKIP_WITHOUT_DEVICE();
  for (const int32_t v_block : {0, static_cast<int32_t>(kernels::kKvPad)})
  for (const int64_t d : {64, 128}) {
    const AttnDims dims = make_dims(1, 8, 4, 4096, 40000, d, false);
    QuantConfig cfg;
    cfg.smooth_k = true;
    cfg.v_block = v_block;
    InputSpec input = normal_input(11);
    input.distribution = Distribution::OutlierChannels;
    DeviceProblem prob(dims, cfg, input);
    prob.quantize();
    expect_quantized_as_host(prob, describe(dims) + (v_block ? " V per 128 keys" : ""));
  }
}

// Without V (int8-qk's quantization), over many kv heads of few chunks each (GQA, batch 3),
// the last Q and K tiles partial, smoothing on and off.
TEST(GpuInt8Kernels, QuantizerWithoutVMatchesHost) {
  SKIP_WITHOUT_DEVICE();
  for (const bool smooth : {false, true})
    for (const AttnDims& dims : {make_dims(3, 16, 4, 300, 520, 128, false), make_dims(2, 8, 8, 1, 2000, 64, true),
                                 make_dims(1, 4, 2, 64, 2200, 128, false),     // K's mean samples 128 keys
                                 make_dims(1, 2, 1, 16, 9000, 128, false)}) {  // 71 K tiles a head
      QuantConfig cfg;
      cfg.smooth_k = smooth;
      InputSpec input = normal_input(17);
      input.distribution = Distribution::OutlierChannels;
      DeviceProblem prob(dims, cfg, input);
      prob.quantize(false);
      expect_quantized_as_host(prob, describe(dims) + (smooth ? " smooth" : "") + " no V", false);
    }
}

// head_dim 256 (int8-fa only, on its mma.sync kernel everywhere): beside the Q/K options of
// QuantizerMatchesHostBitForBit, V per 128 keys and no V over many tiles (Q and K tiles of 64
// tokens, V tiles quantized as two channel halves, K's mean with one row group a warp), bit for
// bit; K per thread group is refused (its 128-key spans do not fit a CTA).
TEST(GpuInt8Kernels, QuantizerAtHeadDim256MatchesHost) {
  SKIP_WITHOUT_DEVICE();
  for (const bool with_v : {true, false}) {
    const AttnDims dims = make_dims(1, 4, 4, 64, 4100, 256, false);  // K's mean samples 128 keys; 33 V tiles a head
    QuantConfig cfg;
    cfg.v_block = with_v ? static_cast<int32_t>(kernels::kKvPad) : 0;
    DeviceProblem prob(dims, cfg, normal_input(29));
    prob.quantize(with_v);
    expect_quantized_as_host(prob, describe(dims) + (with_v ? " V per 128 keys" : " no V"), with_v);
  }
  QuantConfig k_thread;
  k_thread.k_granularity = KGranularity::PerThread;
  const AttnDims dims = make_dims(1, 1, 1, 16, 300, 256, false);
  DeviceProblem prob(dims, k_thread, normal_input(31));
  EXPECT_EQ(kernels::quantize_qkv(dims, k_thread, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(), true,
                                  prob.qkv, nullptr),
            cudaErrorNotSupported);
}

// Grouped K (KGranularity::Grouped) on buffers its quantizer did not write (no k_order): the
// quantizer and int8-fa refuse them rather than read per-token K as permuted blocks; int8-qk
// refuses grouped K whatever its buffers (its FP16 V would not follow K's order).
TEST(GpuInt8Kernels, GroupedKIsRefusedOnBuffersItsQuantizerDidNotWrite) {
  SKIP_WITHOUT_DEVICE();
  const AttnDims dims = make_dims(1, 2, 2, 64, 300, 128, false);
  QuantConfig plain;
  plain.kv_block = plain.v_block = static_cast<int32_t>(kernels::kKvPad);
  DeviceProblem prob(dims, plain, normal_input(37));
  prob.quantize();
  QuantConfig grouped = plain;
  grouped.k_granularity = KGranularity::Grouped;
  EXPECT_EQ(kernels::quantize_qkv(dims, grouped, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(), true,
                                  prob.qkv, nullptr),
            cudaErrorInvalidValue);  // prob.qkv, carved for per-token K, has no k_order
  EXPECT_EQ(kernels::int8_flash_attention(dims, grouped, prob.qkv, prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
  QuantConfig qk = grouped;
  qk.kv_block = kGpuKvBlock, qk.v_block = 0;
  EXPECT_EQ(kernels::int8qk_flash_attention(dims, qk, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Selects int8-fa's kernel for the scope (FusedTuning::wgmma: -1 the library's choice, which
// is the wgmma kernel at head_dim 128 on Hopper; 0 the mma.sync kernel; FusedTuning::ws: 1 the
// warp-specialized Hopper kernel).
class KernelChoice {
 public:
  explicit KernelChoice(int wgmma, int ws = 0) {
    kernels::FusedTuning t;
    t.wgmma = wgmma;
    t.ws = ws;
    kernels::set_fused_tuning(t);
  }
  ~KernelChoice() { kernels::set_fused_tuning({}); }
};

bool device_is_hopper() {
  int dev = 0, major = 0, minor = 0;
  return cudaGetDevice(&dev) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess &&
         cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) == cudaSuccess && major == 9 &&
         minor == 0;
}

// The kernels int8-fa can run: the library's choice, the mma.sync kernel, and on Hopper with
// the sm_90a image the warp-specialized kernel (head_dim 64 and 128; 256 with 64-key blocks).
struct Int8FullKernel {
  int wgmma, ws;
  const char* name;
};
constexpr Int8FullKernel kInt8FullKernels[] = {{-1, 0, "default kernel"}, {0, 0, "mma.sync"}, {-1, 1, "warp-specialized"}};
bool kernel_applies(const Int8FullKernel& k, const AttnDims& dims) {
  return k.ws == 0 || (device_is_hopper() && kernels::sm90a_image_built() &&
                       fused_head_dim(KernelId::Int8Full, dims.head_dim));  // its warp-specialized head dims
}

enum class Kernel { Int8FaDefault, Int8FaMmaSync, Int8FaWarpSpecialized, Int8Qk, Fp16Fa };

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::Int8FaDefault: return "int8-fa (default kernel)";
    case Kernel::Int8FaMmaSync: return "int8-fa (mma.sync)";
    case Kernel::Int8FaWarpSpecialized: return "int8-fa (warp-specialized)";
    case Kernel::Int8Qk: return "int8-qk";
    case Kernel::Fp16Fa: return "fp16-fa";
  }
  return "?";
}

// int8-qk's CPU emulation on the device's quantized inputs, stepping the online softmax as the
// kernel int8qk_flash_attention runs for the problem does (Hopper: 128 keys).
std::vector<float> int8qk_emulation(const DeviceProblem& prob) {
  QuantConfig emulated = prob.cfg;
  emulated.kv_block = kernels::int8qk_softmax_keys(prob.dims, prob.cfg);
  return cpu::int8_attention_from_quantized(prob.dims, emulated, prob.quantized_from_device(), KernelId::Int8QK,
                                            &prob.host.v);
}

// FusedTuning::fused_q = 1 for the scope, the rest of the caller's tuning kept: int8-fa's
// kernel quantizes FP16 Q wherever it can, the 64-key kernel too (by default only the 128-key
// one does, docs/perf-log.md s15), so that path stays checked.
class FusedQEverywhere {
 public:
  FusedQEverywhere() : saved_(kernels::fused_tuning()) {
    kernels::FusedTuning t = saved_;
    t.fused_q = 1;
    kernels::set_fused_tuning(t);
  }
  ~FusedQEverywhere() { kernels::set_fused_tuning(saved_); }

 private:
  kernels::FusedTuning saved_;
};

// Elements whose bits differ between two outputs of the same shape.
int64_t bit_differences(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += std::memcmp(&a[i], &b[i], sizeof(float)) != 0 ? 1 : 0;
  return differ;
}

// Where int8-fa's kernel can quantize Q itself when given FP16 Q (attention_quantizes_q under
// the caller's tuning with FusedQEverywhere), runs it that way with the Q codes and scales in
// qkv poisoned (a kernel that read them fails): its codes are the quantizer's bit for bit, so
// its output must be `unfused`, the same kernel's on the quantizer's codes, bit for bit. Then
// restores qkv's Q. int8-qk never takes FP16 Q (its kernel was slower so, docs/perf-log.md fq3).
void expect_fused_q_identical(DeviceProblem& prob, const std::vector<float>& unfused, const std::string& label) {
  EXPECT_FALSE(kernels::attention_quantizes_q(prob.dims, prob.cfg, false)) << label << ": int8-qk takes INT8 Q";
  const FusedQEverywhere fused_q;
  EXPECT_FALSE(kernels::attention_quantizes_q(prob.dims, prob.cfg, false)) << label << ": int8-qk, fused_q 1";
  if (!kernels::attention_quantizes_q(prob.dims, prob.cfg, true)) return;
  ASSERT_EQ(cudaMemset(prob.qkv.q8, 0x7f, prob.sizes.q8), cudaSuccess);
  ASSERT_EQ(cudaMemset(prob.qkv.q_scale, 0xff, prob.sizes.q_scale), cudaSuccess);  // NaN scales
  prob.poison_output();
  const cudaError_t err =
      kernels::int8_flash_attention(prob.dims, prob.cfg, prob.qkv, prob.out.as<__half>(), nullptr, prob.q.as<__half>());
  ASSERT_EQ(err, cudaSuccess) << label << ", Q quantized in the kernel: " << cudaGetErrorString(err);
  const std::vector<float> fused = prob.output();
  EXPECT_EQ(bit_differences(fused, unfused), 0)
      << label << ": Q quantized in the kernel, outputs that differ from the quantizer's codes'";
  prob.quantize();  // qkv's Q codes and scales back for what follows
}

// Runs `kernel` on the quantized problem (output poisoned first) and compares it with its CPU
// emulation on the device's own quantized inputs; where the kernel can quantize Q itself, that
// too (expect_fused_q_identical). A kernel error fails.
void expect_kernel_matches_emulation(DeviceProblem& prob, Kernel kernel, const std::string& what) {
  const AttnDims& dims = prob.dims;
  const std::string label = std::string(kernel_name(kernel)) + " " + what;
  prob.poison_output();
  cudaError_t err = cudaSuccess;
  std::vector<float> emu;
  if (kernel != Kernel::Int8Qk && kernel != Kernel::Fp16Fa) {  // an int8-fa kernel
    const int wgmma = kernel == Kernel::Int8FaMmaSync ? 0 : -1;
    const KernelChoice choice(wgmma, kernel == Kernel::Int8FaWarpSpecialized ? 1 : 0);
    err = kernels::int8_flash_attention(dims, prob.cfg, prob.qkv, prob.out.as<__half>(), nullptr);
    ASSERT_EQ(err, cudaSuccess) << label << ": " << cudaGetErrorString(err);
    emu = cpu::int8_attention_from_quantized(dims, prob.cfg, prob.quantized_from_device(), KernelId::Int8Full,
                                             nullptr);
    expect_fused_q_identical(prob, prob.output(), label);
  } else if (kernel == Kernel::Int8Qk) {
    err = kernels::int8qk_flash_attention(dims, prob.cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(),
                                          nullptr);
    ASSERT_EQ(err, cudaSuccess) << label << ": " << cudaGetErrorString(err);
    emu = int8qk_emulation(prob);
  } else {
    err = kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                        prob.out.as<__half>(), nullptr);
    emu = cpu::fp16_flash_attention_host(dims, prob.cfg.kv_block, prob.host.q, prob.host.k, prob.host.v);
  }
  ASSERT_EQ(err, cudaSuccess) << label << ": " << cudaGetErrorString(err);
  expect_matches_emulation(prob.output(), emu, label);
}

// Every int8-fa kernel that runs this problem on this device and build (the warp-specialized
// one takes head_dim 64 and 128 with per-token scales on Hopper), then `others`.
std::vector<Kernel> kernels_for(const DeviceProblem& prob, std::vector<Kernel> others) {
  std::vector<Kernel> list = {Kernel::Int8FaDefault, Kernel::Int8FaMmaSync};
  if (kernel_applies(kInt8FullKernels[2], prob.dims) && prob.cfg.qk_granularity == QkGranularity::PerToken) {
    list.push_back(Kernel::Int8FaWarpSpecialized);
  }
  list.insert(list.end(), others.begin(), others.end());
  return list;
}

TEST(GpuInt8Kernels, Int8FullMatchesEmulationOnSameCodes) {
  SKIP_WITHOUT_DEVICE();
  for (const Int8FullKernel& kernel : kInt8FullKernels) {
    const KernelChoice choice(kernel.wgmma, kernel.ws);
    for (const PQuant pq : {PQuant::U8x255, PQuant::S8x127})
      for (const bool l_from_q : {false, true})
        for (const AttnDims& dims : edge_shapes()) {
          if (!kernel_applies(kernel, dims)) continue;
          QuantConfig cfg;
          cfg.p_quant = pq;
          cfg.l_from_quantized_p = l_from_q;
          DeviceProblem prob(dims, cfg, normal_input(11));
          prob.quantize();
          prob.poison_output();
          ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr), cudaSuccess);
          const std::vector<float> gpu = prob.output();
          const std::vector<float> emu = cpu::int8_attention_from_quantized(
              dims, cfg, prob.quantized_from_device(), KernelId::Int8Full, nullptr);
          expect_matches_emulation(gpu, emu,
                                   "int8-fa " + describe(dims) + (pq == PQuant::U8x255 ? " u8" : " s8") +
                                       (l_from_q ? " lq" : "") + " " + kernel.name);
        }
  }
}

// int8-fa at head_dim 256: its mma.sync kernel against the emulation on the device's codes, on
// the edge shapes at 256 (odd lengths, GQA, causal with seq_q != seq_kv both ways, seq_q = 1,
// several KV blocks), both P codes, l from the exact and the quantized P, per-token and
// per-block Q/K scales, and on Hopper its warp-specialized kernel too (per-token scales), also
// over grids of several tiles a CTA against the mma.sync kernel; the FP64 reference within
// int8-fa's accuracy bound. The wgmma kernel (head_dim 64 and 128) refuses it when forced, as
// does every other fused kernel there and int8-fa's 128-key P blocks (a Hopper-only pair).
TEST(GpuInt8Kernels, HeadDim256Int8FaMatchesEmulation) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<AttnDims> shapes = {
      make_dims(2, 4, 2, 77, 130, 256, false), make_dims(1, 4, 1, 200, 64, 256, true),
      make_dims(1, 2, 2, 64, 300, 256, true),  make_dims(2, 4, 4, 1, 333, 256, false),
      make_dims(1, 2, 2, 1, 100, 256, true),   make_dims(1, 2, 1, 700, 1000, 256, true)};
  for (const PQuant pq : {PQuant::U8x255, PQuant::S8x127})
    for (const bool l_from_q : {false, true})
      for (const bool per_block : {false, true})
        for (const AttnDims& dims : shapes) {
          if (per_block && (pq != PQuant::U8x255 || l_from_q)) continue;  // the Q/K options once
          QuantConfig cfg;
          cfg.p_quant = pq;
          cfg.l_from_quantized_p = l_from_q;
          if (per_block) cfg.qk_granularity = QkGranularity::PerBlock;
          DeviceProblem prob(dims, cfg, normal_input(37));
          prob.quantize();
          for (const Kernel k : kernels_for(prob, {}))
            expect_kernel_matches_emulation(prob, k,
                                            describe(dims) + (pq == PQuant::U8x255 ? " u8" : " s8") +
                                                (l_from_q ? " lq" : "") + (per_block ? " per-block" : ""));
        }
  const AttnDims dims = make_dims(1, 2, 2, 1000, 1000, 256, false);
  QuantConfig cfg;
  DeviceProblem prob(dims, cfg, normal_input(41));
  const std::vector<double> ref = host::reference_attention(dims, prob.host.q, prob.host.k, prob.host.v);
  prob.quantize();
  prob.poison_output();
  ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr), cudaSuccess);
  EXPECT_LE(rel_l2(prob.output(), ref), 0.015) << "int8-fa " << describe(dims);
  if (kernel_applies(kInt8FullKernels[2], dims)) {
    const KernelChoice forced_ws(-1, 1);
    prob.poison_output();
    ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr), cudaSuccess);
    EXPECT_LE(rel_l2(prob.output(), ref), 0.015) << "int8-fa (warp-specialized) " << describe(dims);
    for (const bool causal : {false, true}) {  // 512 tiles: each CTA switches tiles
      const AttnDims grid = make_dims(2, 16, 8, 2048, 2048, 256, causal);
      DeviceProblem big(grid, cfg, normal_input(47));
      big.quantize();
      const auto run = [&](int wgmma, int ws) {
        const KernelChoice choice(wgmma, ws);
        big.poison_output();
        EXPECT_EQ(kernels::int8_flash_attention(grid, cfg, big.qkv, big.out.as<__half>(), nullptr), cudaSuccess);
        return big.output();
      };
      const std::vector<float> mma_sync = run(0, 0), ws = run(-1, 1);
      expect_matches_emulation(ws, mma_sync, "int8-fa (warp-specialized) against mma.sync " + describe(grid));
      const KernelChoice forced(-1, 1);  // Q quantized in the kernel over many tiles a CTA, bit for bit
      expect_fused_q_identical(big, ws, "int8-fa (warp-specialized) " + describe(grid));
    }
  }
  {
    const KernelChoice forced_wgmma(1);
    EXPECT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr),
              cudaErrorNotSupported);
  }
  EXPECT_EQ(kernels::int8qk_flash_attention(dims, cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
  EXPECT_EQ(kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                          prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
  QuantConfig wide = cfg;
  wide.kv_block = wide.v_block = static_cast<int32_t>(kernels::kKvPad);
  DeviceProblem wide_prob(dims, wide, normal_input(43));
  wide_prob.quantize();
  EXPECT_EQ(kernels::int8_flash_attention(dims, wide, wide_prob.qkv, wide_prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
}

// On Hopper a build with the sm_90a image (the default architectures) must run the wgmma
// kernel when forced at head_dim 128 (and refuse it where it does not apply), so the tests
// above ran it.
TEST(GpuInt8Kernels, WgmmaKernelRunsOnHopper) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper()) GTEST_SKIP() << "not a compute capability 9.0 device";
  if (!kernels::sm90a_image_built()) GTEST_SKIP() << "built without sm_90a (INT8ATTN_CUDA_ARCHS)";
  const KernelChoice choice(1);
  for (const int64_t d : {128, 64}) {
    const AttnDims dims = make_dims(1, 2, 2, 300, 300, d, false);
    QuantConfig cfg;
    DeviceProblem prob(dims, cfg, normal_input(17));
    prob.quantize();
    prob.poison_output();
    const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
    if (d == 64 && err == cudaErrorNotSupported) continue;  // product builds: d64 runs on mma.sync
                                                             // (tuning builds carry a d64 instance)
    ASSERT_EQ(err, cudaSuccess) << cudaGetErrorString(err);
    const std::vector<float> emu = cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                     KernelId::Int8Full, nullptr);
    expect_matches_emulation(prob.output(), emu, "int8-fa wgmma " + describe(dims));
  }
}

// int8-qk on a quantized problem (output poisoned first) against its emulation.
void expect_int8qk_matches_emulation(DeviceProblem& prob, const std::string& what) {
  prob.poison_output();
  ASSERT_EQ(kernels::int8qk_flash_attention(prob.dims, prob.cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(),
                                            nullptr),
            cudaSuccess)
      << "int8-qk " << what;
  expect_matches_emulation(prob.output(), int8qk_emulation(prob),
                           "int8-qk " + what + " (softmax step " +
                               std::to_string(kernels::int8qk_softmax_keys(prob.dims, prob.cfg)) + ")");
}

// The warp-specialized Hopper kernels (int8-fa, int8-qk) on what the edge shapes above leave
// out: a causal query block shorter than its keys (bottom-right) and long rows that cycle the
// shared-memory ring many times; per-block Q/K scales, which they refuse.
TEST(GpuInt8Kernels, WarpSpecializedKernelMatchesEmulation) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper()) GTEST_SKIP() << "not a compute capability 9.0 device";
  if (!kernels::sm90a_image_built()) GTEST_SKIP() << "built without sm_90a (INT8ATTN_CUDA_ARCHS)";
  const KernelChoice choice(-1, 1);
  for (const bool per_block : {false, true})
    for (const AttnDims& dims : {make_dims(1, 2, 2, 130, 4100, 128, true), make_dims(1, 4, 2, 300, 4096, 128, false),
                                 make_dims(2, 2, 1, 257, 257, 128, true), make_dims(1, 4, 2, 200, 4200, 64, true),
                                 make_dims(2, 2, 2, 129, 1000, 64, false),
                                 // More tiles than SMs, so a persistent CTA walks several: causal with
                                 // seq_q > seq_kv puts tiles without a visible key among them.
                                 make_dims(1, 48, 8, 700, 300, 128, true), make_dims(2, 40, 8, 260, 520, 64, false),
                                 make_dims(1, 48, 16, 300, 700, 128, false)}) {
      QuantConfig cfg;
      cfg.qk_granularity = per_block ? QkGranularity::PerBlock : QkGranularity::PerToken;
      cfg.qk_block = 128;
      DeviceProblem prob(dims, cfg, normal_input(23));
      prob.quantize();
      prob.poison_output();
      const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
      if (per_block) {  // forced, it refuses; unforced, int8-fa takes the wgmma kernel (tests above)
        EXPECT_EQ(err, cudaErrorNotSupported) << "per-block K scales: " << describe(dims);
        EXPECT_EQ(kernels::int8qk_flash_attention(dims, cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(),
                                                  nullptr),
                  cudaErrorNotSupported)
            << "int8-qk, per-block K scales: " << describe(dims);
        continue;
      }
      ASSERT_EQ(err, cudaSuccess) << cudaGetErrorString(err);
      const std::vector<float> emu = cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                       KernelId::Int8Full, nullptr);
      expect_matches_emulation(prob.output(), emu, "int8-fa warp-specialized " + describe(dims));
      // Q quantized in the kernel across a persistent CTA's tiles (its FP16 stage runs a tile
      // ahead; the shapes above with more tiles than SMs walk several a CTA): at head_dim 128
      // only (at 64 its kernel was slower with the quantizing warps, docs/perf-log.md s10), and
      // for these 64-key blocks only when asked (FusedQEverywhere; slower by default, s15).
      EXPECT_FALSE(kernels::attention_quantizes_q(dims, cfg, true)) << describe(dims) << ": 64-key blocks";
      {
        const FusedQEverywhere fused_q;
        EXPECT_EQ(kernels::attention_quantizes_q(dims, cfg, true), dims.head_dim == 128) << describe(dims);
      }
      expect_fused_q_identical(prob, prob.output(), "int8-fa warp-specialized " + describe(dims));
      expect_int8qk_matches_emulation(prob, "warp-specialized " + describe(dims));
      prob.poison_output();
      ASSERT_EQ(kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                              prob.out.as<__half>(), nullptr),
                cudaSuccess);
      expect_matches_emulation(prob.output(),
                               cpu::fp16_flash_attention_host(dims, kernels::fp16_softmax_keys(dims), prob.host.q,
                                                              prob.host.k, prob.host.v),
                               "fp16-fa warp-specialized " + describe(dims));
    }
}

// The fused-Q rule (attention_quantizes_q) on Hopper, restated: head_dim 128 with 128-key blocks
// or 256 with the default ones, from 1K keys, on grids of 4 tiles an SM at 128 and 3.5 at 256
// (the kernel's tiles, 192 rows at 128 and 128 at 256, over every head, counted by the caller).
bool fused_q_expected(const AttnDims& d, int64_t tiles, int sms) {
  if (d.head_dim != 128 && d.head_dim != 256) return false;
  return d.seq_kv >= 1024 && (d.head_dim == 256 ? 2 * tiles >= 7 * sms : tiles >= 4 * sms);
}
// With 128-key blocks (the 192-row tiles of head_dim 128's kernel).
bool fused_q_by_rule(const AttnDims& d) {
  int sms = 0;
  if (kernels::fa::current_device_sms(sms) != cudaSuccess) return false;
  return fused_q_expected(d, d.batch * d.heads * ((d.seq_q + 191) / 192), sms);
}

// int8-fa with 128-key P blocks and V scaled per the same 128 keys (kv_block = v_block = 128):
// on Hopper with the sm_90a image the warp-specialized kernel alone runs it (at head_dim 128
// with Q quantized in the kernel where it can), every P option, on the edge shapes and on more
// tiles than SMs, against the emulation with the device's own codes and per-block V scales;
// elsewhere, and with the other kernels forced, the launch refuses.
TEST(GpuInt8Kernels, WideBlocksInt8FaMatchesEmulation) {
  SKIP_WITHOUT_DEVICE();
  const bool hopper = device_is_hopper() && kernels::sm90a_image_built();
  std::vector<AttnDims> shapes = edge_shapes();
  shapes.push_back(make_dims(2, 40, 8, 260, 520, 64, false));  // 160 tiles: persistent CTAs walk several
  shapes.push_back(make_dims(1, 48, 8, 700, 300, 64, true));   // causal seq_q > seq_kv: tiles without a key
  shapes.push_back(make_dims(1, 2, 2, 130, 4100, 64, true));   // the last block past the padded keys
  shapes.push_back(make_dims(1, 48, 8, 700, 300, 128, true));  // the same at head_dim 128
  shapes.push_back(make_dims(1, 2, 2, 130, 4100, 128, true));
  // Per-thread K scales: the serial kernel's own form with u8 P and l from the exact P, the
  // per-token kernel on the same scales otherwise (kernels/instances.h).
  for (const bool k_per_thread : {false, true})
  for (const PQuant p_quant : {PQuant::U8x255, PQuant::S8x127})
    for (const bool l_from_q : {false, true})
      for (const AttnDims& dims : shapes) {
        QuantConfig cfg;
        cfg.kv_block = kGpuWideKvBlock;
        cfg.v_block = kGpuWideKvBlock;
        cfg.p_quant = p_quant;
        cfg.l_from_quantized_p = l_from_q;
        if (k_per_thread) cfg.k_granularity = KGranularity::PerThread;
        DeviceProblem prob(dims, cfg, normal_input(31));
        prob.quantize();
        prob.poison_output();
        const std::string what = "int8-fa kv_block/v_block 128 " + describe(dims) +
                                 (p_quant == PQuant::S8x127 ? " s8" : " u8") + (l_from_q ? " lq" : "") +
                                 (k_per_thread ? " per-thread K" : "");
        const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
        if (!hopper) {
          EXPECT_EQ(err, cudaErrorNotSupported) << what;
          continue;
        }
        ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
        expect_matches_emulation(prob.output(),
                                 cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                    KernelId::Int8Full, nullptr),
                                 what);
        EXPECT_EQ(kernels::attention_quantizes_q(dims, cfg, true), fused_q_by_rule(dims))
            << what << ": Q fused by default from 1K keys on grids of " << kernels::kFusedQMinTilesPerSm
            << " tiles an SM";
        expect_fused_q_identical(prob, prob.output(), what);
        const KernelChoice mma_sync(0);  // forced off the warp-specialized kernel: refused
        EXPECT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr),
                  cudaErrorNotSupported)
            << what << ", mma.sync forced";
      }
}

// The warp-specialized kernels' tile orders (FusedTuning::tile_order; kernels/sm90/ws_tile_order.h)
// for the scope.
// split_parts: the last round's split (kernels/sm90/ws_split.h), -1 the rule, 0 none.
// dynamic_tiles: tiles claimed one at a time (ws_tile_order.h ws_dynamic_tiles), -1 the rule.
// ws: 1 the warp-specialized kernels wherever they run (FusedTuning::ws), -1 where they are the best.
// retile_groups: the last heads in items of that many 64-row groups (ws_retile.h), -1 the rule.
class TileOrder {
 public:
  explicit TileOrder(int order, int split_parts = -1, int dynamic_tiles = -1, int ws = -1, int retile_groups = -1) {
    kernels::FusedTuning t;
    t.tile_order = order;
    t.split_parts = split_parts;
    t.dynamic_tiles = dynamic_tiles;
    t.ws = ws;
    t.retile_groups = retile_groups;
    kernels::set_fused_tuning(t);
  }
  ~TileOrder() { kernels::set_fused_tuning({}); }
};

// Grouped K (KGranularity::Grouped): on Hopper with the sm_90a image its own warp-specialized
// kernel (head_dim 128, 128-key blocks, u8 P, l from the exact P) against the emulation on the
// device's own codes, scales and key order: the edge shapes (causal with seq_q != seq_kv, GQA,
// seq_q 1, partial blocks), grids of several tiles a CTA, the last block past the padded keys,
// Q fused as the rule says, and the last round split by keys (a part's mask counts from its
// first key); the other P options and int8-qk refuse it, as does every other GPU.
TEST(GpuInt8Kernels, GroupedKInt8FaMatchesEmulation) {
  SKIP_WITHOUT_DEVICE();
  const bool hopper = device_is_hopper() && kernels::sm90a_image_built();
  std::vector<AttnDims> shapes;
  for (const AttnDims& d : edge_shapes())
    if (d.head_dim == 128) shapes.push_back(d);
  shapes.push_back(make_dims(1, 48, 8, 700, 300, 128, true));   // causal seq_q > seq_kv: tiles without a key
  shapes.push_back(make_dims(1, 2, 2, 130, 4100, 128, true));   // the last block past the padded keys
  shapes.push_back(make_dims(2, 40, 8, 260, 1000, 128, false)); // persistent CTAs walk several tiles
  QuantConfig cfg;
  cfg.kv_block = cfg.v_block = kGpuWideKvBlock;
  cfg.k_granularity = KGranularity::Grouped;
  for (const AttnDims& dims : shapes) {
    DeviceProblem prob(dims, cfg, normal_input(41));
    prob.quantize();
    prob.poison_output();
    const std::string what = "int8-fa grouped K " + describe(dims);
    const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
    if (!hopper) {
      EXPECT_EQ(err, cudaErrorNotSupported) << what;
      continue;
    }
    ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
    const std::vector<float> emu =
        cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(), KernelId::Int8Full, nullptr);
    expect_matches_emulation(prob.output(), emu, what);
    expect_fused_q_identical(prob, prob.output(), what);
    {
      const TileOrder split(-1, 3, 0);  // round robin, the last round split in 3 by keys
      prob.poison_output();
      ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr), cudaSuccess) << what;
      expect_matches_emulation(prob.output(), emu, what + ", last round split in 3");
    }
    for (const bool l_from_q : {false, true}) {  // the options without a grouped instance
      QuantConfig other = cfg;
      other.l_from_quantized_p = l_from_q;
      other.p_quant = l_from_q ? PQuant::U8x255 : PQuant::S8x127;
      EXPECT_EQ(kernels::int8_flash_attention(dims, other, prob.qkv, prob.out.as<__half>(), nullptr),
                cudaErrorNotSupported)
          << what << (l_from_q ? ", l from the codes" : ", s8 P");
    }
  }
}

// The product's quantization for the 128-key kernels: K blocks and V scales per 128 keys.
QuantConfig wide_blocks() {
  QuantConfig cfg;
  cfg.kv_block = kGpuWideKvBlock;
  cfg.v_block = kGpuWideKvBlock;
  return cfg;
}

// Where int8-fa's 128-key kernel quantizes FP16 Q itself (attention_quantizes_q, 128-key blocks):
// from 1K keys on grids of at least kFusedQMinTilesPerSm (4) 192-row tiles an SM, full rows and
// causal ones (Llama-3-8B's 2K prefill, 352 tiles, reads the quantizer's Q 2.5% faster end to end
// on an H100; fused and unfused cross near 2.8 tiles an SM on full rows and 4.4 on causal ones:
// docs/perf-log.md s71). FusedQEverywhere fuses them all. No kernel runs: the rule alone.
TEST(GpuInt8Kernels, FusedQRuleFollowsTheGrid) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  int sms = 0;
  ASSERT_EQ(kernels::fa::current_device_sms(sms), cudaSuccess);
  const QuantConfig cfg = wide_blocks();
  struct Case {
    AttnDims dims;
    int64_t tiles;  // the kernel's tiles over every head: 192 rows at head_dim 128, 128 at 256
  };
  // The line itself: 1K-key heads of 6 tiles, as many as reach it and one fewer.
  const int64_t heads_at_line = (kernels::kFusedQMinTilesPerSm * sms + 5) / 6;
  const Case cases[] = {
      {make_dims(1, 32, 8, 2048, 2048, 128, true), 32 * 11},    // Llama-3-8B, 2K causal: 2.7 tiles an SM
      {make_dims(8, 16, 16, 2048, 2048, 128, true), 128 * 11},  // 16 heads x batch 8, 2K causal
      {make_dims(4, 16, 16, 2048, 2048, 128, true), 64 * 11},   // 5.3 tiles an SM on 132 SMs
      {make_dims(3, 16, 16, 2048, 2048, 128, true), 48 * 11},   // 4.0 tiles an SM on 132 SMs: the line
      {make_dims(3, 32, 8, 2048, 2048, 128, true), 96 * 11},    // 8.0 tiles an SM on 132 SMs
      {make_dims(1, 32, 8, 4096, 4096, 128, true), 32 * 22},    // long rows too follow the grid
      {make_dims(1, 16, 16, 4096, 4096, 128, false), 16 * 22},
      {make_dims(1, 32, 8, 2048, 2048, 128, false), 32 * 11},
      {make_dims(1, 32, 8, 1024, 1024, 128, false), 32 * 6},
      {make_dims(16, 16, 16, 1024, 1024, 128, false), 256 * 6},  // 11.6 tiles an SM on 132 SMs
      {make_dims(16, 16, 16, 1024, 1024, 128, true), 256 * 6},
      {make_dims(1, heads_at_line, heads_at_line, 1024, 1024, 128, false), heads_at_line * 6},
      {make_dims(1, heads_at_line - 1, heads_at_line - 1, 1024, 1024, 128, false), (heads_at_line - 1) * 6},
      {make_dims(32, 16, 16, 512, 512, 128, false), 512 * 3},    // below 1K keys: never
      // At head_dim 256 the 64-key kernel (the default blocks) from 1K keys too, full rows and
      // causal ones, on grids of 3.5 tiles an SM (docs/perf-log.md s70).
      {make_dims(16, 16, 8, 1024, 1024, 256, false), 256 * 8},  // 15.5 tiles an SM on 132 SMs
      {make_dims(16, 16, 8, 1024, 1024, 256, true), 256 * 8},
      {make_dims(4, 16, 8, 2048, 2048, 256, true), 64 * 16},    // 7.8 tiles an SM on 132 SMs
      {make_dims(2, 16, 8, 2048, 2048, 256, true), 32 * 16},    // 3.9 tiles an SM on 132 SMs
      {make_dims(4, 16, 8, 4096, 4096, 256, true), 64 * 32},
      {make_dims(1, 16, 8, 2048, 2048, 256, false), 16 * 16},   // 1.9 tiles an SM
      {make_dims(1, 16, 8, 2048, 2048, 256, true), 16 * 16},
      {make_dims(32, 16, 8, 512, 512, 256, false), 512 * 4},    // below 1K keys: never
  };
  for (const Case& c : cases) {
    const AttnDims& d = c.dims;
    const QuantConfig blocks = d.head_dim == 256 ? QuantConfig{} : cfg;
    EXPECT_EQ(kernels::attention_quantizes_q(d, blocks, true), fused_q_expected(d, c.tiles, sms))
        << describe(d) << ", " << sms << " SMs";
    const FusedQEverywhere everywhere;
    EXPECT_TRUE(kernels::attention_quantizes_q(d, blocks, true)) << describe(d) << ": fused_q 1";
  }
}

// int8-fa's 128-key kernels in every tile order on shapes whose last query block is short and
// whose tiles outnumber the SMs (the rule turns them: short-last at head_dim 128,
// query-block-major at 64): a tile walked twice or never would leave the poison or differ, so
// each order's output is the first one's bit for bit, and that one the emulation's. Without the
// last round's split, whose merge rounds differently where it splits.
TEST(GpuInt8Kernels, EveryTileOrderGivesTheSameOutput) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  // 72 heads of 256 query rows (a 192-row tile and one of 64) and 320 (192 + 128): 144 tiles.
  for (const AttnDims& dims : {make_dims(1, 72, 8, 256, 300, 128, false), make_dims(1, 72, 8, 320, 200, 64, false)}) {
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(37));
    prob.quantize();
    std::vector<float> first;
    for (const int order : {-1, 0, 1, 2}) {
      const std::string what = "int8-fa 128-key " + describe(dims) + " tile order " + std::to_string(order);
      const TileOrder tile_order(order, 0);
      prob.poison_output();
      const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
      ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
      const std::vector<float> out = prob.output();
      if (first.empty()) {
        first = out;
        expect_matches_emulation(out, cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                          KernelId::Int8Full, nullptr),
                                 what);
      } else {
        EXPECT_EQ(bit_differences(out, first), 0) << what << ": outputs that differ from the default order's";
      }
      expect_fused_q_identical(prob, out, what);
    }
  }
}

// Causal grids of several rounds (72 heads of 4 and 6 query blocks: 288 and 432 tiles on at
// most 132 SMs) walked head-major (within a head longest first, so a CTA's next tile may be
// longer than the one it ends, and its first key block masked) and query-block-major (the
// rule's: the next tile never longer): each kernel's outputs agree bit for bit, for int8-fa's
// 128-key kernel (its tiles claimed one at a time, the causal rule), int8-qk and fp16-fa (each
// the kernel the product picks: the warp-specialized ones where they are built), and
// query-block-major's twice (a run that differs from the same run is a race). A tile walked
// twice or never would leave the poison or differ; so would state carried from one tile into
// the next.
TEST(GpuInt8Kernels, CausalTileOrdersGiveTheSameOutput) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  for (const AttnDims& dims : {make_dims(1, 72, 8, 600, 640, 64, true), make_dims(1, 72, 8, 1100, 1300, 128, true)}) {
    for (const Kernel kernel : {Kernel::Int8FaWarpSpecialized, Kernel::Int8Qk, Kernel::Fp16Fa}) {
      // int8-fa: the product's 128-key blocks; int8-qk: its own (it takes no 128-key K blocks)
      const QuantConfig cfg = kernel == Kernel::Int8Qk ? QuantConfig{} : wide_blocks();
      DeviceProblem prob(dims, cfg, normal_input(43));
      prob.quantize();
      std::vector<float> first;
      for (const int order : {1, 1, 0}) {
        const std::string what = std::string(kernel_name(kernel)) + " " + describe(dims) + " tile order " +
                                 std::to_string(order) + (!first.empty() && order == 1 ? ", again" : "");
        const TileOrder scope(order, -1, -1, -1);
        prob.poison_output();
        cudaError_t err = cudaSuccess;
        if (kernel == Kernel::Int8FaWarpSpecialized) {
          err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
        } else if (kernel == Kernel::Int8Qk) {
          err = kernels::int8qk_flash_attention(dims, cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(),
                                                nullptr);
        } else {
          err = kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                              prob.out.as<__half>(), nullptr);
        }
        ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
        const std::vector<float> out = prob.output();
        if (first.empty()) {
          first = out;
          if (kernel == Kernel::Int8FaWarpSpecialized && dims.head_dim == 64)
            expect_matches_emulation(out, cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                              KernelId::Int8Full, nullptr),
                                     what);
          continue;
        }
        int64_t differ = 0, first_row = -1;
        for (size_t i = 0; i < out.size(); ++i)
          if (std::memcmp(&out[i], &first[i], sizeof(float)) != 0) {
            if (first_row < 0) first_row = static_cast<int64_t>(i) / dims.head_dim;
            ++differ;
          }
        EXPECT_EQ(differ, 0) << what << ": outputs that differ from query-block-major's first run, from "
                             << "(batch*head*row) " << first_row;
      }
    }
  }
}

// int8-fa's warp-specialized kernels launched as programmatic dependents of the quantizer
// (FusedTuning::dependent_launch, the default) against plain launches: each time the quantized
// block is zeroed first and the quantizer and the kernel follow with no synchronization between
// them, so a kernel that read a code, a scale or the tile counter before the quantizer's grid
// completed would show it as a difference; then two launches of the kernel alone back to back
// (the second a dependent of the first, the tile counter and O shared). Full rows on the
// quantizer's Q and with Q fused (2K keys) and split last rounds, causal GQA with tiles claimed
// one at a time, and the 128-key kernel at head_dim 64.
class DependentLaunch {
 public:
  explicit DependentLaunch(int on) {
    kernels::FusedTuning t;
    t.dependent_launch = on;
    kernels::set_fused_tuning(t);
  }
  ~DependentLaunch() { kernels::set_fused_tuning({}); }
};

TEST(GpuInt8Kernels, DependentLaunchWaitsForTheQuantizer) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  for (const AttnDims& dims : {make_dims(2, 40, 40, 1000, 1000, 128, false), make_dims(1, 48, 48, 2100, 2100, 128, false),
                               make_dims(1, 64, 16, 2300, 2300, 128, true), make_dims(1, 96, 24, 900, 900, 64, true)}) {
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(53));
    const __half* q16 = prob.q.as<__half>();
    const bool fused = kernels::attention_quantizes_q(dims, cfg, true);
    // Zeroed codes, scales and counters, then the quantizer and the kernel: the harness's order.
    auto quantize_and_run = [&](const std::string& what) {
      ASSERT_EQ(cudaMemsetAsync(prob.quant.as<void>(), 0, prob.quant.bytes(), stream), cudaSuccess) << what;
      ASSERT_EQ(kernels::quantize_qkv(dims, cfg, q16, prob.k.as<__half>(), prob.v.as<__half>(), true, prob.qkv, stream,
                                      !fused),
                cudaSuccess)
          << what;
      const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), stream, q16);
      ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess) << what;
    };
    std::vector<float> plain;
    {
      const DependentLaunch off(0);
      prob.poison_output();
      quantize_and_run(describe(dims) + " plain");
      plain = prob.output();
      ASSERT_FALSE(plain.empty());
      if (!fused)
        expect_matches_emulation(plain, cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                            KernelId::Int8Full, nullptr),
                                 describe(dims) + " plain");
    }
    const DependentLaunch on(1);
    for (int run = 0; run < 3; ++run) {
      const std::string what = describe(dims) + (fused ? " Q fused" : "") + " dependent, run " + std::to_string(run);
      prob.poison_output();
      quantize_and_run(what);
      EXPECT_EQ(bit_differences(prob.output(), plain), 0) << what << ": outputs that differ from the plain launch's";
    }
    for (int launch = 0; launch < 2; ++launch)
      ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), stream, q16), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(bit_differences(prob.output(), plain), 0)
        << describe(dims) << ": two dependent launches back to back, outputs that differ from the plain launch's";
    EXPECT_EQ(prob.out.damaged_guard_bytes(), 0) << describe(dims);
  }
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// The shapes of the claimed (dynamic) tile walks' tests: bottom-right causal with seq_q < seq_kv
// and seq_q > seq_kv (rows that see no key), GQA, short last query blocks, more tiles than SMs;
// full rows (the walk forced); seq_q 1 (no claim but the walk's end).
std::vector<AttnDims> claimed_walk_shapes() {
  return {make_dims(1, 72, 8, 700, 1000, 128, true), make_dims(2, 36, 6, 900, 700, 128, true),
          make_dims(1, 72, 8, 320, 1100, 128, false), make_dims(1, 4, 2, 1, 600, 128, true)};
}

// int8-fa's 128-key kernel at head_dim 128 with its tiles claimed one at a time
// (WsParams::tile_counter) against round robin: each tile is one CTA's whole work either way,
// so the outputs are the same bits, whichever CTA ran a tile. Causal (the rule's case;
// bottom-right with seq_q < seq_kv, and seq_q > seq_kv, whose first rows see no key: tiles of no
// block; GQA, a short last query block) and full rows (forced), with more tiles than SMs so that
// CTAs claim; Q fused too (expect_fused_q_identical); seq_q 1 (no claim but the walk's end).
// Three dynamic runs in a row: the counter a launch leaves must start the next at zero, or the
// next walks fewer tiles and the poison shows.
TEST(GpuInt8Kernels, DynamicTilesGiveTheRoundRobinOutput) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  for (const AttnDims& dims : claimed_walk_shapes()) {
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(43));
    prob.quantize();
    std::vector<float> round_robin;
    for (const int dynamic : {0, dims.causal ? -1 : 1}) {
      const TileOrder walk(-1, 0, dynamic);
      for (int run = 0; run < (dynamic == 0 ? 1 : 3); ++run) {
        const std::string what = "int8-fa 128-key " + describe(dims) + " dynamic_tiles " + std::to_string(dynamic) +
                                 " run " + std::to_string(run);
        prob.poison_output();
        const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
        ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
        const std::vector<float> out = prob.output();
        if (dynamic == 0) {
          round_robin = out;
          expect_matches_emulation(out, cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                            KernelId::Int8Full, nullptr),
                                   what);
        } else {
          EXPECT_EQ(bit_differences(out, round_robin), 0) << what << ": outputs that differ from round robin's";
        }
        expect_fused_q_identical(prob, out, what);
      }
    }
  }
}

// An FP16-P·V kernel (fp16-fa's, int8-qk's) given a tile counter: causal tiles claimed one at a
// time (the rule), full rows forced, against the kernel dealing them round robin (no counter, and
// a counter with dynamic_tiles 0: for int8-qk at 128 and fp16-fa at 64 the round-robin form,
// WsShape::kTwoWalks). Each tile is one CTA's whole work either way, so the same bits, and round
// robin's match the emulation. launch(counter) runs the kernel with the walk's counter (nullptr:
// none). Three claimed runs in a row, each leaving the counter zero, or the next would walk fewer
// tiles and the poison would show; and a counter that does not start at zero shows (so the
// claimed walk is the one that ran).
template <class Launch>
void expect_claimed_walk_is_round_robin(const std::string& name, const AttnDims& dims, DeviceProblem& prob,
                                        Launch&& launch, const std::vector<float>& emulation) {
  uint32_t* const counter = prob.qkv.ws_counters;  // zeroed with the problem
  ASSERT_NE(counter, nullptr);
  auto run = [&](uint32_t* tile_counter, const std::string& what) {
    prob.poison_output();
    const cudaError_t err = launch(tile_counter);
    EXPECT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
    EXPECT_EQ(download(counter, 1)[0], 0u) << what << ": the counter a launch leaves";
    return prob.output();
  };
  std::vector<float> round_robin;
  {
    const TileOrder walk(-1, 0, -1, 1);
    const std::string what = name + " " + describe(dims) + " without a counter";
    round_robin = run(nullptr, what);
    expect_matches_emulation(round_robin, emulation, what);
  }
  for (const int dynamic : {0, dims.causal ? -1 : 1}) {
    const TileOrder walk(-1, 0, dynamic, 1);
    for (int r = 0; r < (dynamic == 0 ? 1 : 3); ++r) {
      const std::string what =
          name + " " + describe(dims) + " dynamic_tiles " + std::to_string(dynamic) + " run " + std::to_string(r);
      EXPECT_EQ(bit_differences(run(counter, what), round_robin), 0) << what << ": outputs that differ from round robin's";
    }
  }
  // The claimed walk reads the counter: started at 5 (a counter a failed launch could leave),
  // the first five claimed tiles are never walked and their rows keep the poison, where round
  // robin would not notice. Where the tiles (128 rows; 192 for fp16-fa's three consumers at 64)
  // outnumber the CTAs (one an SM) by more than five.
  int sms = 0;
  ASSERT_EQ(kernels::fa::current_device_sms(sms), cudaSuccess);
  const int64_t tile_rows = dims.head_dim == 64 ? 192 : 128;
  if (dims.causal && dims.batch * dims.heads * ((dims.seq_q + tile_rows - 1) / tile_rows) > sms + 5) {
    // Its claims 5 .. n_tiles - 1 still wrap the counter back to zero, as run() checks.
    const TileOrder walk(-1, 0, -1, 1);
    const uint32_t five = 5;
    ASSERT_EQ(cudaMemcpy(counter, &five, sizeof five, cudaMemcpyHostToDevice), cudaSuccess);
    const std::string what = name + " " + describe(dims) + " with a counter started at 5";
    EXPECT_GT(bit_differences(run(counter, what), round_robin), 0) << what << ": every tile walked (is it read?)";
    ASSERT_EQ(cudaMemset(counter, 0, sizeof(uint32_t)), cudaSuccess);
  }
}

// fp16-fa's claimed walk (fp16_flash_attention's tile_counter) on the claimed walks' shapes, at
// head_dim 128 and 64.
TEST(GpuInt8Kernels, Fp16DynamicTilesGiveTheRoundRobinOutput) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  for (const int head_dim : {128, 64})
  for (AttnDims dims : claimed_walk_shapes()) {
    dims.head_dim = head_dim;
    DeviceProblem prob(dims, QuantConfig{}, normal_input(53));
    auto launch = [&](uint32_t* tile_counter) {
      return kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                           prob.out.as<__half>(), nullptr, tile_counter);
    };
    expect_claimed_walk_is_round_robin(
        "fp16-fa", dims, prob, launch,
        cpu::fp16_flash_attention_host(dims, kernels::fp16_softmax_keys(dims), prob.host.q, prob.host.k, prob.host.v));
  }
}

// Every quantized block carries the tile walk's counter, the int8-qk op's (no V) too: without
// it the int8-qk kernel at head_dim 128 deals its causal tiles round robin in `sweep` while
// kernel_bench and the tests above, which allocate with V, claim them (s60 found it so). Host
// code only: it runs without a GPU.
TEST(GpuInt8Kernels, EveryQuantizedBlockHasTheWalkCounter) {
  for (const bool causal : {true, false})
    for (const bool quantize_v : {false, true}) {
      const AttnDims dims = make_dims(1, 16, 16, 4096, 4096, 128, causal);
      const kernels::QuantizedSizes sizes = kernels::quantized_sizes(dims, QuantConfig{}, quantize_v, true);
      EXPECT_GE(sizes.ws_counters, sizeof(uint32_t))
          << describe(dims) << (quantize_v ? " with V (int8-fa)" : " without V (int8-qk)");
    }
}

// int8-qk's claimed walk (the QuantizedQKV's ws_counters; nullptr in a copy: round robin), with
// l from the exact and from the quantized P.
TEST(GpuInt8Kernels, Int8QkDynamicTilesGiveTheRoundRobinOutput) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  for (const bool l_from_q : {false, true})
    for (const AttnDims& dims : claimed_walk_shapes()) {
      QuantConfig cfg;
      cfg.l_from_quantized_p = l_from_q;
      DeviceProblem prob(dims, cfg, normal_input(59));
      prob.quantize();
      auto launch = [&](uint32_t* tile_counter) {
        kernels::QuantizedQKV qk = prob.qkv;
        qk.ws_counters = tile_counter;
        return kernels::int8qk_flash_attention(dims, cfg, qk, prob.v.as<__half>(), prob.out.as<__half>(), nullptr);
      };
      expect_claimed_walk_is_round_robin(l_from_q ? "int8-qk lq" : "int8-qk", dims, prob, launch,
                                         int8qk_emulation(prob));
    }
}

// int8-fa's 128-key kernel at head_dim 128 on tiles whose rows are all the first consumer's (a
// head's last query block of at most 64 rows, seq_q 1), where the other two consumers pass every
// block (and research/patches/issue10-short-tile-key-split.patch would split the keys among the
// three). Shapes: a causal short tile whose last blocks cross the diagonal (bottom-right,
// seq_kv > seq_q, GQA) among full tiles; one and two key blocks; a key tail; seq_q 1 causal over
// many blocks; consecutive short tiles of many heads on fewer CTAs. Each output matches the
// emulation, repeats bit for bit and is the same with Q fused.
TEST(GpuInt8Kernels, ShortTilesMatchEmulation) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  for (const AttnDims& dims :
       {make_dims(1, 8, 2, 4 * 192 + 40, 1000, 128, true), make_dims(1, 8, 8, 64, 100, 128, false),
        make_dims(2, 4, 4, 50, 200, 128, false), make_dims(1, 6, 3, 64, 1300, 128, false),
        make_dims(1, 4, 2, 1, 5000, 128, true), make_dims(1, 400, 8, 64, 700, 128, false)}) {
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(47));
    prob.quantize();
    const std::string what = "int8-fa 128-key " + describe(dims);
    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
      prob.poison_output();
      const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
      ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
      const std::vector<float> out = prob.output();
      if (run == 1) {
        EXPECT_EQ(bit_differences(out, first), 0) << what << ": a second run differs";
        continue;
      }
      first = out;
      expect_matches_emulation(out, cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(),
                                                                        KernelId::Int8Full, nullptr),
                               what);
      expect_fused_q_identical(prob, out, what);
    }
  }
}

// int8-fa's causal lead (kernels/sm90/ws_tile_order.h ws_causal_lead_rows): on grids of more
// than one round of 192-row tiles, a causal head's query blocks start before row 0 by the last
// block's idle rows in whole 64-row groups, whose consumers pass the tile and store nothing. Two
// groups and one, seq_kv above, equal to and below seq_q (rows that see no key), GQA; tiles dealt
// round robin with the last round split by keys (the rule, and 3 parts), and claimed one at a
// time. Each output matches the emulation; Q fused too (expect_fused_q_identical). The s39 form
// (a group partly before row 0) died in its TMA store with an illegal instruction.
TEST(GpuInt8Kernels, CausalLeadMatchesEmulation) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  int sms = 0;
  ASSERT_EQ(kernels::fa::current_device_sms(sms), cudaSuccess);
  for (const AttnDims& dims : {make_dims(1, 48, 8, 1000, 1000, 128, true),   // 152 idle rows: two groups move
                               make_dims(1, 48, 8, 1000, 1700, 128, true),   // keys before the rows
                               make_dims(2, 24, 8, 850, 600, 128, true)}) {  // 110 idle rows: one group
    const int64_t tiles = dims.batch * dims.heads * ((dims.seq_q + 191) / 192);
    ASSERT_GT(kernels::fa::ws_causal_lead_rows(true, dims.seq_q, 192, 64, tiles, sms), 0)
        << describe(dims) << ": the shape must move a group on " << sms << " SMs";
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(53));
    prob.quantize();
    const std::vector<float> emu =
        cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(), KernelId::Int8Full, nullptr);
    struct Walk {
      int split_parts, dynamic_tiles;
      const char* what;
    };
    for (const Walk walk : {Walk{-1, 0, "round robin, split by the rule"}, Walk{3, 0, "round robin, split in 3"},
                            Walk{0, 1, "tiles claimed"}}) {
      const std::string what = "int8-fa 128-key " + describe(dims) + ", " + walk.what;
      const TileOrder scope(-1, walk.split_parts, walk.dynamic_tiles);
      prob.poison_output();
      const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
      ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << what;
      const std::vector<float> out = prob.output();
      expect_matches_emulation(out, emu, what);
      if (walk.split_parts < 0) expect_fused_q_identical(prob, out, what);
    }
  }
}

// int8-fa's 128-key kernel at head_dim 128 with the last round's tiles split by keys
// (kernels/sm90/ws_split.h): forced into 2, 3 and 4 parts and by the rule, on shapes with a few
// tiles (every tile splits: the grid is larger than the tiles) and with a second round of 12
// tiles; key tails the last part masks, GQA, seq_q 1, Q fused. Each output matches the
// emulation, differs from the unsplit one somewhere (the split ran: the parts' FP16 O / l round
// differently) and repeats bit for bit (the merge sums the parts in part order, whichever
// finished last). At head_dim 64 the kernel does not split (no workspace, forcing changes
// nothing: the same bits).
TEST(GpuInt8Kernels, SplitLastRoundMatchesEmulation) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  for (const AttnDims& dims : {make_dims(1, 8, 2, 700, 1000, 128, false), make_dims(1, 8, 2, 700, 1000, 64, false),
                               make_dims(1, 4, 4, 400, 2100, 128, false), make_dims(1, 72, 8, 320, 1100, 128, false),
                               make_dims(2, 3, 3, 1, 900, 128, false)}) {
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(41));
    const bool splits = dims.head_dim == 128;
    ASSERT_EQ(prob.qkv.split_slots > 0, splits) << describe(dims) << ": the split workspace";
    prob.quantize();
    const std::vector<float> emu =
        cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(), KernelId::Int8Full, nullptr);
    std::vector<float> whole;
    for (const int parts : {0, 2, 3, 4, -1}) {
      const std::string what = "int8-fa 128-key " + describe(dims) + " split " + std::to_string(parts);
      const TileOrder split(-1, parts);
      std::vector<float> first;
      for (int run = 0; run < 2; ++run) {
        prob.poison_output();
        const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
        ASSERT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << what;
        const std::vector<float> out = prob.output();
        if (run == 0) {
          first = out;
          expect_matches_emulation(out, emu, what);
          expect_fused_q_identical(prob, out, what);  // head_dim 128: the same split with Q fused
          continue;
        }
        EXPECT_EQ(bit_differences(out, first), 0) << what << ": a second run differs";
      }
      if (parts == 0) {
        whole = first;
      } else if (parts > 0) {
        int64_t differ = 0;
        for (size_t i = 0; i < first.size(); ++i) differ += first[i] != whole[i] ? 1 : 0;
        if (splits) EXPECT_GT(differ, 0) << what << ": the same bits as unsplit (did it split?)";
        else EXPECT_EQ(differ, 0) << what << ": head_dim 64 does not split";
      }
    }
  }
}

// int8-fa's 128-key kernel at head_dim 128 with its last heads retiled (kernels/sm90/ws_retile.h):
// items of one and two 64-row groups (forced), by the rule, and tiles claimed one at a time, the
// split off (its parts' FP16 O rounds: other bits).
// A retiled row runs the same blocks in the same order as in its 192-row tile, so every output
// is the unretiled one bit for bit (and that one matches the emulation); Q fused too. Shapes:
// 1K keys on 16 heads (the rule retiles every head: one round of 96 tiles), rows that end
// inside a group and inside an item, keys longer than the rows, GQA, seq_q 1, a causal shape
// and head_dim 64 (neither retiles: the same bits by construction).
TEST(GpuInt8Kernels, RetiledLastHeadsGiveTheSameBits) {
  SKIP_WITHOUT_DEVICE();
  if (!device_is_hopper() || !kernels::sm90a_image_built()) GTEST_SKIP() << "the warp-specialized kernels: Hopper";
  int sms = 0;
  ASSERT_EQ(kernels::fa::current_device_sms(sms), cudaSuccess);
  for (const AttnDims& dims : {make_dims(1, 16, 16, 1024, 1024, 128, false), make_dims(1, 8, 2, 700, 1000, 128, false),
                               make_dims(2, 6, 3, 1000, 1500, 128, false), make_dims(2, 3, 3, 1, 900, 128, false),
                               make_dims(1, 8, 2, 700, 1000, 128, true), make_dims(1, 8, 2, 700, 1000, 64, false)}) {
    const QuantConfig cfg = wide_blocks();
    DeviceProblem prob(dims, cfg, normal_input(47));
    prob.quantize();
    auto run = [&](const std::string& what) {
      prob.poison_output();
      const cudaError_t err = kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr);
      EXPECT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
      EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << what;
      return prob.output();
    };
    std::vector<float> whole;
    {
      const TileOrder scope(-1, 0, -1, -1, 0);  // neither split nor retiled
      whole = run("int8-fa 128-key " + describe(dims) + " not retiled");
    }
    expect_matches_emulation(
        whole, cpu::int8_attention_from_quantized(dims, cfg, prob.quantized_from_device(), KernelId::Int8Full, nullptr),
        "int8-fa 128-key " + describe(dims) + " not retiled");
    struct Walk {
      int groups, dynamic_tiles;
      const char* what;
    };
    for (const Walk walk : {Walk{1, -1, "one group an item"}, Walk{2, -1, "two groups an item"},
                            Walk{-1, -1, "the rule"}, Walk{2, 1, "two groups, items claimed"}}) {
      const std::string what = "int8-fa 128-key " + describe(dims) + ", " + walk.what;
      const TileOrder scope(-1, 0, walk.dynamic_tiles, -1, walk.groups);  // no split: the same bits
      const std::vector<float> out = run(what);
      EXPECT_EQ(bit_differences(out, whole), 0) << what << ": a retiled row changed";
      expect_fused_q_identical(prob, out, what);
    }
  }
  // The rule retiles the first shape where its 128 items of two groups fit one round (96 tiles
  // of 192 rows on an H100 SXM's or H200's 132 SMs).
  const double cost = kernels::fa::ws_short_tile_cost(1024, 192, 3, true);
  if (sms >= 128) EXPECT_TRUE(kernels::fa::ws_retile_choice(false, 16, 6, 1024, 3, cost, sms, 1.0).plan.retiles());
}

// int8-qk on the edge shapes with each of its kernels: the library's choice, mma.sync, and on
// Hopper with the sm_90a image the warp-specialized one (FP16 V read MN-major by wgmma).
TEST(GpuInt8Kernels, Int8QkKernelsMatchEmulation) {
  SKIP_WITHOUT_DEVICE();
  const bool hopper = device_is_hopper() && kernels::sm90a_image_built();
  for (const int ws : {-1, 0, 1}) {
    if (ws == 1 && !hopper) continue;
    const KernelChoice choice(-1, ws);
    for (const bool l_from_q : {false, true})
      for (const AttnDims& dims : edge_shapes()) {
        QuantConfig cfg;
        cfg.l_from_quantized_p = l_from_q;
        DeviceProblem prob(dims, cfg, normal_input(29));
        prob.quantize();
        expect_int8qk_matches_emulation(prob, std::string(ws == 1 ? "warp-specialized " : ws == 0 ? "mma.sync " : "") +
                                                  describe(dims) + (l_from_q ? " lq" : ""));
      }
  }
}

TEST(GpuInt8Kernels, Int8QkAndFp16MatchEmulation) {
  SKIP_WITHOUT_DEVICE();
  for (const AttnDims& dims : edge_shapes()) {
    QuantConfig cfg;
    DeviceProblem prob(dims, cfg, normal_input(13));
    prob.quantize();
    prob.poison_output();
    ASSERT_EQ(kernels::int8qk_flash_attention(dims, cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(), nullptr),
              cudaSuccess);
    const std::vector<float> qk_gpu = prob.output();
    const std::vector<float> qk_emu = int8qk_emulation(prob);
    expect_matches_emulation(qk_gpu, qk_emu, "int8-qk " + describe(dims));

    prob.poison_output();
    ASSERT_EQ(kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                            prob.out.as<__half>(), nullptr),
              cudaSuccess);
    const std::vector<float> fp_gpu = prob.output();
    const std::vector<float> fp_emu = cpu::fp16_flash_attention_host(dims, kernels::fp16_softmax_keys(dims),
                                                                     prob.host.q, prob.host.k, prob.host.v);
    expect_matches_emulation(fp_gpu, fp_emu, "fp16-fa " + describe(dims));
  }
}

// fp16-fa's mma.sync kernel at head_dim 128 in its two-slot ring (FusedTuning::two_slot_ring),
// the form GPUs with 99 KB of shared memory a block take (sm_86, sm_89; its three slots need
// 128 KB): it matches the emulation, and gives the three-slot ring's bits where the device holds
// that one. The ring's depth moves copies, never arithmetic.
TEST(GpuInt8Kernels, Fp16FaTwoSlotRingMatchesThreeSlots) {
  SKIP_WITHOUT_DEVICE();
  int dev = 0, optin = 0;
  ASSERT_EQ(cudaGetDevice(&dev), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), cudaSuccess);
  const auto run = [](DeviceProblem& prob, int two_slot_ring, const std::string& what) {
    kernels::FusedTuning t;
    t.ws = 0;  // the mma.sync kernel on Hopper too
    t.two_slot_ring = two_slot_ring;
    kernels::set_fused_tuning(t);
    prob.poison_output();
    const AttnDims& dims = prob.dims;
    const cudaError_t err = kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(),
                                                          prob.v.as<__half>(), prob.out.as<__half>(), nullptr);
    kernels::set_fused_tuning({});
    EXPECT_EQ(err, cudaSuccess) << what << ": " << cudaGetErrorString(err);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << what;
    return prob.output();
  };
  for (const AttnDims& dims : edge_shapes()) {
    if (dims.head_dim != 128) continue;
    DeviceProblem prob(dims, QuantConfig{}, normal_input(37));
    const std::string what = "fp16-fa mma.sync " + describe(dims);
    const std::vector<float> two = run(prob, 1, what + ", two slots");
    kernels::FusedTuning mma_sync;
    mma_sync.ws = 0;
    kernels::set_fused_tuning(mma_sync);  // the emulation's softmax step follows the kernel's
    const std::vector<float> emu =
        cpu::fp16_flash_attention_host(dims, kernels::fp16_softmax_keys(dims), prob.host.q, prob.host.k, prob.host.v);
    kernels::set_fused_tuning({});
    expect_matches_emulation(two, emu, what + ", two slots");
    if (optin < 128 * 1024) continue;  // the three-slot ring does not fit this device
    EXPECT_EQ(bit_differences(run(prob, 0, what + ", three slots"), two), 0) << what;
  }
}

// The quantization options besides the defaults, through the attention kernels (per-block
// Q/K scales, also of a size that is not a power of two; smoothing off on outlier channels;
// INT8 P; l from the quantized P), on a causal 1 < seq_q < seq_kv shape and a square one.
TEST(GpuInt8Kernels, NonDefaultOptionsMatchEmulation) {
  SKIP_WITHOUT_DEVICE();
  struct Option {
    const char* name;
    QkGranularity granularity;
    int32_t qk_block;
    bool smooth_k;
    PQuant p_quant;
    bool l_from_quantized_p;
    KGranularity k_granularity = KGranularity::AsQ;
  };
  const Option options[] = {
      {"per-block 64", QkGranularity::PerBlock, 64, true, PQuant::U8x255, false},
      {"per-block 48, no smoothing, l quantized", QkGranularity::PerBlock, 48, false, PQuant::U8x255, true},
      {"per-block 128, s8 P, l quantized", QkGranularity::PerBlock, 128, true, PQuant::S8x127, true},
      {"per-token, no smoothing", QkGranularity::PerToken, 64, false, PQuant::U8x255, false},
      {"per-thread K", QkGranularity::PerToken, 64, true, PQuant::U8x255, false, KGranularity::PerThread},
  };
  for (const Option& o : options)
    for (const int64_t d : {64, 128})
      for (const AttnDims& dims : {make_dims(1, 2, 1, 100, 333, d, true), make_dims(2, 2, 2, 257, 257, d, false)}) {
        QuantConfig cfg;
        cfg.qk_granularity = o.granularity;
        cfg.qk_block = o.qk_block;
        cfg.smooth_k = o.smooth_k;
        cfg.p_quant = o.p_quant;
        cfg.l_from_quantized_p = o.l_from_quantized_p;
        cfg.k_granularity = o.k_granularity;
        InputSpec input = normal_input(19);
        if (!o.smooth_k) input.distribution = Distribution::OutlierChannels;
        DeviceProblem prob(dims, cfg, input);
        prob.quantize();
        for (const Kernel k : kernels_for(prob, {Kernel::Int8Qk}))
          expect_kernel_matches_emulation(prob, k, describe(dims) + " " + o.name);
      }
}

// 4096 keys: 64 online-softmax blocks per row, causal with 1 < seq_q < seq_kv and not.
TEST(GpuInt8Kernels, FourThousandKeysMatchEmulation) {
  SKIP_WITHOUT_DEVICE();
  for (const int64_t d : {64, 128})
    for (const AttnDims& dims : {make_dims(1, 2, 1, 300, 4096, d, true), make_dims(1, 2, 2, 64, 4096, d, false)}) {
      DeviceProblem prob(dims, QuantConfig{}, normal_input(23));
      prob.quantize();
      for (const Kernel k : kernels_for(prob, {Kernel::Int8Qk, Kernel::Fp16Fa}))
        expect_kernel_matches_emulation(prob, k, describe(dims));
    }
}

// Accuracy against FP64 on normal inputs and on outlier-channel K (smoothing on).
TEST(GpuInt8Kernels, AccuracyAgainstFp64Reference) {
  SKIP_WITHOUT_DEVICE();
  for (const bool outliers : {false, true})
    for (const AttnDims& dims : {make_dims(1, 2, 2, 1000, 1000, 128, false), make_dims(1, 2, 1, 600, 2000, 64, true)}) {
      InputSpec input = normal_input(21);
      if (outliers) input.distribution = Distribution::OutlierChannels;
      QuantConfig cfg;
      DeviceProblem prob(dims, cfg, input);
      const std::vector<double> ref = host::reference_attention(dims, prob.host.q, prob.host.k, prob.host.v);
      const std::string what = describe(dims) + (outliers ? " outliers" : "");
      prob.quantize();

      prob.poison_output();
      ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr), cudaSuccess);
      EXPECT_LE(rel_l2(prob.output(), ref), outliers ? 0.02 : 0.015) << "int8-fa " << what;

      prob.poison_output();
      ASSERT_EQ(
          kernels::int8qk_flash_attention(dims, cfg, prob.qkv, prob.v.as<__half>(), prob.out.as<__half>(), nullptr),
          cudaSuccess);
      EXPECT_LE(rel_l2(prob.output(), ref), outliers ? 0.02 : 0.01) << "int8-qk " << what;

      prob.poison_output();
      ASSERT_EQ(kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                              prob.out.as<__half>(), nullptr),
                cudaSuccess);
      EXPECT_LE(rel_l2(prob.output(), ref), 2e-3) << "fp16-fa " << what;
    }
}

// fp16-fa's Hopper kernel at head_dim 128 keeps P against a reference that moves only when a
// block's max passes it by more than 8 (log2 units; WarpTile::softmax's kLazyRef): scores that
// jump far past that between blocks (K x12 from key 256, x36 from key 640) and ones that creep
// up by less a block (K x(1 + j/256)) must both match the FP64 reference.
TEST(GpuInt8Kernels, Fp16FaLazyReferenceFollowsRisingScores) {
  SKIP_WITHOUT_DEVICE();
  for (const bool jumps : {true, false})
    for (const AttnDims& dims : {make_dims(1, 2, 2, 300, 1000, 128, false), make_dims(1, 2, 1, 700, 1000, 128, true)}) {
      DeviceProblem prob(dims, QuantConfig{}, normal_input(29));
      const int64_t d = dims.head_dim;
      for (int64_t row = 0; row < dims.batch * dims.kv_heads * dims.seq_kv; ++row) {  // BHSD
        const int64_t j = row % dims.seq_kv;
        const float scale = jumps ? (j >= 256 ? 12.f : 1.f) * (j >= 640 ? 3.f : 1.f) : 1.f + j / 256.f;
        for (int64_t c = 0; c < d; ++c) prob.host.k[row * d + c] = round_to_half(prob.host.k[row * d + c] * scale);
      }
      const DeviceBuffer k_scaled = upload_half(prob.host.k);
      ASSERT_EQ(cudaMemcpy(prob.k.as<void>(), k_scaled.as<void>(), k_scaled.bytes(), cudaMemcpyDeviceToDevice),
                cudaSuccess);
      const std::vector<double> ref = host::reference_attention(dims, prob.host.q, prob.host.k, prob.host.v);
      prob.poison_output();
      ASSERT_EQ(kernels::fp16_flash_attention(dims, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                              prob.out.as<__half>(), nullptr),
                cudaSuccess);
      EXPECT_LE(rel_l2(prob.output(), ref), 2e-3) << "fp16-fa " << describe(dims) << (jumps ? " jumps" : " creep");
    }
}

TEST(GpuInt8Kernels, EmptyCausalRowsAreZeroAndUnsupportedProblemsAreRefused) {
  SKIP_WITHOUT_DEVICE();
  const AttnDims dims = make_dims(1, 1, 1, 200, 70, 128, true);  // rows 0..129 see no key
  QuantConfig cfg;
  DeviceProblem prob(dims, cfg, normal_input(5));
  prob.quantize();
  prob.poison_output();
  ASSERT_EQ(kernels::int8_flash_attention(dims, cfg, prob.qkv, prob.out.as<__half>(), nullptr), cudaSuccess);
  const std::vector<float> out = prob.output();
  for (int64_t i = 0; i < dims.seq_q; ++i)
    for (int64_t c = 0; c < dims.head_dim; ++c) {
      const float x = out[i * dims.head_dim + c];
      ASSERT_TRUE(std::isfinite(x));
      if (i + dims.seq_kv - dims.seq_q < 0) {
        ASSERT_EQ(x, 0.f) << "row " << i;
      }
    }

  QuantConfig other_block = cfg;
  other_block.kv_block = 128;
  EXPECT_EQ(kernels::int8_flash_attention(dims, other_block, prob.qkv, prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
  const AttnDims d96 = make_dims(1, 1, 1, 16, 16, 96, false);
  EXPECT_EQ(kernels::fp16_flash_attention(d96, prob.q.as<__half>(), prob.k.as<__half>(), prob.v.as<__half>(),
                                          prob.out.as<__half>(), nullptr),
            cudaErrorNotSupported);
  EXPECT_FALSE(kernels::fused_kernels_support(96, 9, 0));
  EXPECT_TRUE(kernels::fused_kernels_support(128, 9, 0));
  EXPECT_FALSE(kernels::fused_kernels_support(128, 7, 5));
}

}  // namespace
}  // namespace int8attn
