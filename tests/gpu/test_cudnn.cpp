// The cuDNN SDPA baselines (fp16-cudnn, fp8-cudnn) through the session, against the
// all-FP32 cuBLASLt reference on the same FP16 inputs. Skips cleanly with no CUDA device,
// and (saying why) in a build without cuDNN.
//
// Bounds:
// - fp16-cudnn: rel L2 <= 1e-3, what any FP16 attention with an FP32 softmax reaches (our
//   fp16-fa measures 3e-4).
// - fp8-cudnn: rel L2 <= 0.08 and >= 0.005, cosine >= 0.995. e4m3 keeps 3 mantissa bits:
//   rounding one value has a relative rms error of about 2^-3/sqrt(12)/1.5 = 2.4%, and the
//   output carries four such roundings that do not average away (Q and K through the scores,
//   P, V, and O itself, which Hopper's FP8 SDPA writes in e4m3). An emulation with per-tensor
//   scales (448/amax, P scaled by 448, O by 448/amax(V)) on normal inputs gives rel L2
//   0.053-0.060 at seq 512-1024, head_dim 64/128, causal or not; the bound leaves 1.3x for
//   cuDNN's own order of operations. The lower bound catches an FP8 op that is not FP8.
#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "kernels/api.h"
#include "src/bench/backend.h"
#include "src/bench/runner.h"

namespace int8attn {
namespace {

using gpu::RunPart;

struct Fixture {
  std::unique_ptr<gpu::GpuSession> session;
  std::string skip_reason;
};

// A session with cuDNN, or why there is none.
Fixture open_cudnn_session() {
  Fixture f;
  std::string why;
  if (gpu::device_count(why) == 0) {
    f.skip_reason = "no CUDA device: " + why;
    return f;
  }
  const gpu::CudnnStatus cudnn = gpu::cudnn_status();
  if (!cudnn.available) {
    f.skip_reason = "no cuDNN: " + cudnn.why_not;
    return f;
  }
  f.session = gpu::GpuSession::open(0, why);
  if (!f.session) f.skip_reason = "cannot open device 0: " + why;
  return f;
}

#define CUDNN_SESSION_OR_SKIP(name)                     \
  Fixture fixture_ = open_cudnn_session();              \
  if (!fixture_.session) GTEST_SKIP() << fixture_.skip_reason; \
  gpu::GpuSession& name = *fixture_.session;

AttnDims dims_of(int64_t b, int64_t h, int64_t kv, int64_t sq, int64_t skv, int64_t d, bool causal) {
  AttnDims dims;
  dims.batch = b; dims.heads = h; dims.kv_heads = kv; dims.seq_q = sq; dims.seq_kv = skv;
  dims.head_dim = d; dims.causal = causal;
  return dims;
}

// Inputs and the all-FP32 reference of one problem.
void start_case(gpu::GpuSession& s, const AttnDims& dims, uint64_t seed = 11) {
  gpu::OpSettings settings;
  settings.reference.fp32 = true;
  s.set_op_settings(settings);
  gpu::InputGenSpec spec;
  spec.seed = seed;
  gpu::GpuStatus st = s.set_inputs(dims, spec);
  ASSERT_TRUE(st.ok) << st.message;
  st = s.prepare(KernelId::Reference);
  ASSERT_TRUE(st.ok) << st.message;
}

// Runs `op` once and measures it against the reference; nullopt (with a skip message) when
// cuDNN declined the problem.
std::optional<gpu::ErrorMetrics> measure(gpu::GpuSession& s, KernelId op, std::string& declined) {
  const gpu::GpuStatus st = s.prepare(op);
  if (st.not_supported) {
    declined = st.message;
    return std::nullopt;
  }
  EXPECT_TRUE(st.ok) << st.message;
  gpu::ErrorMetrics m;
  const gpu::GpuStatus cmp = s.compare(op, m);
  EXPECT_TRUE(cmp.ok) << cmp.message;
  return m;
}

struct Shape {
  const char* name;
  AttnDims dims;
};

// MHA and GQA, head_dim 64 and 128, causal square and bottom-right (seq_q < seq_kv).
const Shape kShapes[] = {
    {"mha_d64", dims_of(1, 4, 4, 256, 256, 64, false)},
    {"gqa_d128_causal", dims_of(2, 8, 2, 512, 512, 128, true)},
    {"gqa_d128_causal_q_shorter", dims_of(1, 8, 2, 128, 384, 128, true)},
    {"mha_d128_odd_seq", dims_of(1, 2, 2, 200, 333, 128, false)},
    {"gqa_d64_causal", dims_of(1, 8, 1, 1024, 1024, 64, true)},
};

class CudnnShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(CudnnShapes, Fp16WithinOneInAThousandOfTheReference) {
  CUDNN_SESSION_OR_SKIP(s);
  const AttnDims& d = GetParam().dims;
  start_case(s, d);
  std::string declined;
  const auto m = measure(s, KernelId::Fp16Cudnn, declined);
  ASSERT_TRUE(m) << "cuDNN declined a shape it supports: " << declined;
  EXPECT_EQ(m->nonfinite, 0);
  EXPECT_LE(m->rel_l2, 1e-3);
  EXPECT_GT(m->rel_l2, 0);  // FP16 output against the FP32 reference
}

TEST_P(CudnnShapes, Fp8WithinFp8sExpectedError) {
  CUDNN_SESSION_OR_SKIP(s);
  if (s.device().cc_major < 9) GTEST_SKIP() << "cuDNN's FP8 SDPA needs Hopper or newer";
  const AttnDims& d = GetParam().dims;
  if (d.causal && d.seq_q != d.seq_kv && s.device().cc_major < 10) {
    GTEST_SKIP() << "bottom-right causal FP8 needs compute capability 10 (the registry says so)";
  }
  start_case(s, d);
  std::string declined;
  const auto m = measure(s, KernelId::Fp8Cudnn, declined);
  if (!m) GTEST_SKIP() << "cuDNN declined: " << declined;
  EXPECT_EQ(m->nonfinite, 0);
  EXPECT_LE(m->rel_l2, 0.08);
  EXPECT_GE(m->rel_l2, 0.005);
  EXPECT_GE(m->cosine, 0.995);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudnnShapes, ::testing::ValuesIn(kShapes),
                         [](const auto& info) { return std::string(info.param.name); });

// Plan building happens in prepare(); the timed runs reuse the cached graph, and the quantizer
// of fp8-cudnn is timed on its own like the INT8 one.
TEST(Cudnn, TimedRunsAndTheFp8QuantizeStep) {
  CUDNN_SESSION_OR_SKIP(s);
  const AttnDims d = dims_of(1, 4, 4, 512, 512, 128, false);
  start_case(s, d);
  ASSERT_TRUE(s.prepare(KernelId::Fp16Cudnn).ok);
  gpu::TimedRun run;
  ASSERT_TRUE(s.time_once(KernelId::Fp16Cudnn, {true, true}, run).ok);
  EXPECT_GT(run.ms, 0);
  if (s.device().cc_major < 9) return;
  const gpu::GpuStatus st = s.prepare(KernelId::Fp8Cudnn);
  ASSERT_TRUE(st.ok || st.not_supported) << st.message;
  if (st.not_supported) GTEST_SKIP() << st.message;
  gpu::TimedRun quantize, total;
  ASSERT_TRUE(s.time_once(KernelId::Fp8Cudnn, {false, true}, quantize, RunPart::QuantizeOnly).ok);
  ASSERT_TRUE(s.time_once(KernelId::Fp8Cudnn, {false, true}, total).ok);
  EXPECT_GT(quantize.ms, 0);
  EXPECT_GT(total.ms, quantize.ms);
  const gpu::GpuStatus none = s.run(KernelId::Fp16Cudnn, RunPart::QuantizeOnly);  // it has no quantizer
  EXPECT_FALSE(none.ok);
  EXPECT_FALSE(none.context_lost) << none.message;
}

// The same shape in a new case (new inputs) reuses the graph and still computes the new inputs.
TEST(Cudnn, CachedGraphServesTheNextCase) {
  CUDNN_SESSION_OR_SKIP(s);
  const AttnDims d = dims_of(1, 2, 2, 256, 256, 64, true);
  for (uint64_t seed : {1u, 2u}) {
    start_case(s, d, seed);
    std::string declined;
    const auto m = measure(s, KernelId::Fp16Cudnn, declined);
    ASSERT_TRUE(m) << declined;
    EXPECT_LE(m->rel_l2, 1e-3) << "seed " << seed;
  }
}

// Memory through the accounting allocator: output (+ FP8 copies + cuDNN's workspace), and
// nothing left behind after release.
TEST(Cudnn, MemoryIsAccounted) {
  CUDNN_SESSION_OR_SKIP(s);
  const AttnDims d = dims_of(1, 4, 2, 256, 256, 128, false);
  start_case(s, d);
  const int64_t before = s.allocated_bytes();
  ASSERT_TRUE(s.prepare(KernelId::Fp16Cudnn).ok);
  const int64_t inputs = 2 * (d.q_elements() + 2 * d.kv_elements());
  const gpu::OpMemory mem = s.memory(KernelId::Fp16Cudnn);
  EXPECT_GE(mem.peak_bytes, inputs + 2 * d.q_elements());
  EXPECT_GE(mem.workspace_bytes, 0);
  s.release(KernelId::Fp16Cudnn);
  EXPECT_EQ(s.allocated_bytes(), before);
  if (s.device().cc_major < 9) return;
  if (!s.prepare(KernelId::Fp8Cudnn).ok) return;
  const gpu::OpMemory fp8 = s.memory(KernelId::Fp8Cudnn);
  EXPECT_GE(fp8.workspace_bytes, d.q_elements() * 2 + 2 * d.kv_elements());  // e4m3 Q/K/V and O
  s.release(KernelId::Fp8Cudnn);
  EXPECT_EQ(s.allocated_bytes(), before);
}

// Needs no GPU: a build CMake configured with cuDNN must find the library at run time, and a
// build without it must say why (list-kernels and devices print that reason).
TEST(CudnnBuild, AvailableExactlyWhenCMakeFoundIt) {
  const gpu::CudnnStatus st = gpu::cudnn_status();
#if INT8ATTN_EXPECT_CUDNN
  EXPECT_TRUE(st.available) << st.why_not;
  EXPECT_EQ(st.version.rfind("9.", 0), 0u) << st.version;
#else
  EXPECT_FALSE(st.available);
  EXPECT_NE(st.why_not.find("built without cuDNN"), std::string::npos) << st.why_not;
#endif
}

// A problem cuDNN declines is a skip with cuDNN's words, and allocates nothing.
TEST(Cudnn, DeclinedProblemIsNotSupportedNotAnError) {
  CUDNN_SESSION_OR_SKIP(s);
  const AttnDims d = dims_of(1, 2, 2, 64, 64, 20, false);  // head_dim not a multiple of 8
  start_case(s, d);
  const int64_t before = s.allocated_bytes();
  const gpu::GpuStatus st = s.prepare(KernelId::Fp16Cudnn);
  EXPECT_FALSE(st.ok);
  EXPECT_TRUE(st.not_supported) << st.message;
  EXPECT_FALSE(st.context_lost);
  EXPECT_NE(st.message.find("cuDNN"), std::string::npos) << st.message;
  s.release(KernelId::Fp16Cudnn);
  EXPECT_EQ(s.allocated_bytes(), before);
}

// The backend end to end: both kernels measured, the case's baseline chosen among the FP16
// kernels, the FP8 verdict given.
TEST(Cudnn, BackendMeasuresAndJudges) {
  std::string why;
  auto backend = make_cuda_backend(0, why);
  if (!backend) GTEST_SKIP() << why;
  if (!gpu::cudnn_status().available) GTEST_SKIP() << gpu::cudnn_status().why_not;
  BenchCase c;
  c.dims = dims_of(1, 8, 8, 1024, 1024, 128, false);
  c.id = make_case_id(c.dims, c.input);
  RunSettings settings;
  settings.measure.min_samples = 3;
  settings.measure.max_seconds = 0.5;
  settings.measure.min_seconds = 0.001;
  settings.kernels = {"fp16-ref-cublaslt", "fp16-fa", "fp16-cudnn", "fp8-cudnn"};
  const CaseResult r = run_one_case(c, *backend, settings);
  ASSERT_EQ(r.kernels.size(), 4u);
  const KernelResult& cudnn = r.kernels[2];
  ASSERT_EQ(cudnn.status, KernelStatus::Ok) << cudnn.reason;
  ASSERT_TRUE(r.baseline && r.baseline->median_ms);
  EXPECT_TRUE(r.baseline->kernel == "fp16-cudnn" || r.baseline->kernel == "fp16-fa") << r.baseline->kernel;
  const KernelResult& fp8 = r.kernels[3];
  ASSERT_TRUE(fp8.fp8_verdict.has_value());
  if (fp8.status == KernelStatus::Ok) {
    EXPECT_TRUE(fp8.quantize_latency.has_value());
    EXPECT_TRUE(fp8.speedup.has_value());
  }
}

}  // namespace
}  // namespace int8attn
