// The cuBLASLt reference, GPU inputs, metrics and memory accounting against the CPU's
// FP64 reference and generator. Skips cleanly when no CUDA device is present.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/half.h"
#include "kernels/api.h"
#include "src/bench/backend.h"
#include "src/bench/registry.h"
#include "src/bench/runner.h"
#include "src/cpu/metrics.h"
#include "src/host/inputs.h"
#include "src/host/npy.h"
#include "src/host/reference.h"

namespace int8attn {
namespace {

using gpu::GpuTensor;

std::unique_ptr<gpu::GpuSession> open_session() {
  std::string why;
  if (gpu::device_count(why) == 0) return nullptr;
  auto s = gpu::GpuSession::open(0, why);
  EXPECT_TRUE(s) << why;
  return s;
}

#define SESSION_OR_SKIP(name)                       \
  auto name = open_session();                       \
  if (!name) GTEST_SKIP() << "no CUDA device";

AttnDims dims_of(int64_t b, int64_t h, int64_t kv, int64_t sq, int64_t skv, int64_t d, bool causal) {
  AttnDims dims;
  dims.batch = b; dims.heads = h; dims.kv_heads = kv; dims.seq_q = sq; dims.seq_kv = skv;
  dims.head_dim = d; dims.causal = causal;
  return dims;
}

std::vector<float> download(gpu::GpuSession& s, GpuTensor t, int64_t count, KernelId op = KernelId::Reference) {
  std::vector<float> out(count);
  const gpu::GpuStatus st = s.download(t, op, 0, count, out.data());
  EXPECT_TRUE(st.ok) << st.message;
  return out;
}

// Whether the registry says device 0 supports `kernel` on these dims: such a kernel must
// run (status ok); an error, or a decline the registry did not predict, fails the test.
bool registry_supports(const std::string& kernel, const AttnDims& dims) {
  gpu::DeviceInfo info;
  std::string why;
  if (!gpu::device_info(0, info, why)) {
    ADD_FAILURE() << why;
    return false;
  }
  const DeviceCaps caps{BackendKind::Cuda, info.name, info.cc_major, info.cc_minor};
  return !find_kernel(kernel)->unsupported_reason(dims, caps).has_value();
}

void expect_ran_unless_unsupported(const KernelResult& k, const AttnDims& dims) {
  if (registry_supports(k.kernel, dims)) {
    EXPECT_EQ(k.status, KernelStatus::Ok) << k.kernel << ": " << k.reason;
  } else {
    EXPECT_EQ(k.status, KernelStatus::Skipped) << k.kernel << ": " << k.reason;
  }
}

double rel_l2(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = got[i] - want[i];
    err += e * e;
    ref += want[i] * want[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

struct RunResult {
  std::vector<float> q, k, v, out;
};

RunResult run_reference(gpu::GpuSession& s, const AttnDims& dims, const gpu::ReferenceOptions& ref,
                        uint64_t seed = 7) {
  gpu::InputGenSpec spec;
  spec.seed = seed;
  gpu::OpSettings settings;
  settings.reference = ref;
  s.set_op_settings(settings);
  gpu::GpuStatus st = s.set_inputs(dims, spec);
  EXPECT_TRUE(st.ok) << st.message;
  st = s.prepare(KernelId::Reference);
  EXPECT_TRUE(st.ok) << st.message;
  return {download(s, GpuTensor::Q, dims.q_elements()), download(s, GpuTensor::K, dims.kv_elements()),
          download(s, GpuTensor::V, dims.kv_elements()), download(s, GpuTensor::Output, dims.q_elements())};
}

// Relative L2 of the GPU reference against the FP64 CPU reference on the same FP16 inputs.
double reference_error(gpu::GpuSession& s, const AttnDims& dims, const gpu::ReferenceOptions& ref) {
  const RunResult r = run_reference(s, dims, ref);
  const std::vector<double> want = host::reference_attention(dims, r.q, r.k, r.v);
  for (float x : r.out) EXPECT_TRUE(std::isfinite(x));
  return rel_l2(r.out, want);
}

struct Shape {
  const char* name;
  AttnDims dims;
};

class ReferenceShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(ReferenceShapes, Fp16WithinOneInAThousandOfFp64) {
  SESSION_OR_SKIP(s);
  gpu::ReferenceOptions ref;
  EXPECT_LT(reference_error(*s, GetParam().dims, ref), 1e-3);
}

TEST_P(ReferenceShapes, Fp32WithinTenToTheMinusFiveOfFp64) {
  SESSION_OR_SKIP(s);
  gpu::ReferenceOptions ref;
  ref.fp32 = true;
  EXPECT_LT(reference_error(*s, GetParam().dims, ref), 1e-5);
}

// Odd lengths, causal, GQA, decode, seq_q != seq_kv both ways (rows with no visible key).
INSTANTIATE_TEST_SUITE_P(
    Shapes, ReferenceShapes,
    ::testing::Values(Shape{"small", dims_of(1, 2, 2, 128, 128, 64, false)},
                      Shape{"causal_gqa_77", dims_of(2, 4, 2, 77, 77, 128, true)},
                      Shape{"one", dims_of(1, 1, 1, 1, 1, 64, false)},
                      Shape{"causal_1000_mqa", dims_of(1, 4, 1, 1000, 1000, 64, true)},
                      Shape{"len_4097", dims_of(1, 1, 1, 4097, 4097, 64, false)},
                      Shape{"causal_q_shorter", dims_of(1, 2, 2, 100, 300, 64, true)},
                      Shape{"causal_q_longer", dims_of(1, 2, 2, 300, 100, 64, true)},
                      Shape{"decode_gqa", dims_of(2, 8, 2, 1, 1000, 128, true)},
                      Shape{"head_dim_256", dims_of(1, 2, 1, 200, 333, 256, false)},
                      // rows far longer than a block's threads and than shared memory
                      Shape{"keys_70000", dims_of(1, 2, 1, 3, 70000, 64, true)}),
    [](const ::testing::TestParamInfo<Shape>& info) { return std::string(info.param.name); });

TEST(Reference, RowsWithNoVisibleKeyAreZero) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 1, 1, 300, 100, 64, true);  // rows 0..199 see nothing
  const RunResult r = run_reference(*s, dims, {});
  for (int64_t i = 0; i < 200 * 64; ++i) ASSERT_EQ(r.out[i], 0.f) << i;
  double last_row = 0;
  for (int64_t c = 0; c < 64; ++c) last_row += std::fabs(r.out[299 * 64 + c]);
  EXPECT_GT(last_row, 0);
}

TEST(Reference, ChunkBoundariesDoNotChangeTheResult) {
  SESSION_OR_SKIP(s);
  // Chunks within a head and across heads; causal chunks that skip masked keys, and (seq_q >
  // seq_kv) chunks whose rows see no key at all.
  for (const AttnDims& dims : {dims_of(2, 4, 2, 77, 150, 64, true), dims_of(1, 2, 1, 300, 100, 64, true)}) {
    for (int64_t rows : {1, 7, 64, 153}) {
      for (bool fp32 : {false, true}) {
        gpu::ReferenceOptions ref;
        ref.fp32 = fp32;
        ref.max_chunk_rows = rows;
        const gpu::ReferencePlan plan = gpu::plan_reference(dims, ref);
        EXPECT_EQ(plan.rows_per_chunk, rows);
        EXPECT_EQ(plan.groups_per_chunk, 1);
        EXPECT_LT(reference_error(*s, dims, ref), fp32 ? 1e-5 : 1e-3)
            << "seq_q " << dims.seq_q << ", " << rows << " rows, fp32 " << fp32;
      }
    }
  }
}

TEST(Reference, WorkspaceLimitSplitsRowsAndBatchesGroups) {
  AttnDims dims = dims_of(1, 32, 8, 32768, 32768, 128, true);
  gpu::ReferenceOptions ref;
  gpu::ReferencePlan plan = gpu::plan_reference(dims, ref);
  EXPECT_LE(plan.workspace_bytes, ref.workspace_bytes);
  EXPECT_EQ(plan.groups_per_chunk, 1);
  EXPECT_EQ(plan.rows_per_chunk % 64, 0);
  dims = dims_of(4, 32, 8, 128, 128, 128, false);  // tiny groups are batched
  plan = gpu::plan_reference(dims, ref);
  EXPECT_EQ(plan.groups_per_chunk, 32);
  EXPECT_EQ(plan.rows_per_chunk, 4 * 128);

  SESSION_OR_SKIP(s);  // a budget of a few rows still gives the right answer
  ref.workspace_bytes = 5 * 150 * 6;
  dims = dims_of(1, 2, 1, 40, 150, 64, false);
  EXPECT_EQ(gpu::plan_reference(dims, ref).rows_per_chunk, 5);
  EXPECT_LT(reference_error(*s, dims, ref), 1e-3);
}

TEST(Reference, SameSeedSameBits) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 4, 2, 333, 333, 128, true);
  const RunResult a = run_reference(*s, dims, {});
  const RunResult b = run_reference(*s, dims, {});
  ASSERT_EQ(a.q, b.q);
  ASSERT_EQ(a.k, b.k);
  ASSERT_EQ(0, std::memcmp(a.out.data(), b.out.data(), a.out.size() * sizeof(float)));
  const RunResult c = run_reference(*s, dims, {}, 8);
  EXPECT_NE(a.q, c.q);
}

// GPU inputs vs the CPU generator after FP16 rounding: logf/cosf may differ by an ulp
// before rounding, so a rare 1-ulp FP16 difference is allowed; uniform is exact.
class GeneratedInputs : public ::testing::TestWithParam<Distribution> {};

TEST_P(GeneratedInputs, EqualTheCpuGenerator) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(2, 4, 2, 257, 300, 64, false);
  InputSpec in;
  in.distribution = GetParam();
  in.seed = 1234;
  in.scale = 1.5;
  in.outlier_magnitude = 20;
  in.outlier_channels = 4;
  in.sink_tokens = 3;
  // The struct the CUDA backend hands to kernels/harness/inputs.cu (cuda_backend.cpp).
  const gpu::InputGenSpec spec = host::generator_spec(in);
  ASSERT_TRUE(s->set_inputs(dims, spec).ok);
  const host::HostQKV want = host::generate_inputs(dims, in);
  const std::vector<float>* wants[] = {&want.q, &want.k, &want.v};
  const GpuTensor tensors[] = {GpuTensor::Q, GpuTensor::K, GpuTensor::V};
  for (int t = 0; t < 3; ++t) {
    const std::vector<float> got = download(*s, tensors[t], static_cast<int64_t>(wants[t]->size()));
    int64_t off_by_one_ulp = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] == (*wants[t])[i]) continue;
      const int diff = std::abs(int(float_to_half_bits(got[i])) - int(float_to_half_bits((*wants[t])[i])));
      ASSERT_EQ(diff, 1) << "tensor " << t << " element " << i << ": " << got[i] << " vs " << (*wants[t])[i];
      ++off_by_one_ulp;
    }
    if (GetParam() == Distribution::Uniform) EXPECT_EQ(off_by_one_ulp, 0);
    EXPECT_LE(off_by_one_ulp, static_cast<int64_t>(got.size() / 1000)) << "tensor " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Distributions, GeneratedInputs, ::testing::ValuesIn(kAllDistributions),
                         [](const auto& info) {
                           std::string name = to_string(info.param);
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST(Inputs, HostUploadRoundTrips) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 2, 1, 5, 7, 64, false);
  std::vector<float> q(dims.q_elements()), k(dims.kv_elements()), v(dims.kv_elements());
  for (size_t i = 0; i < q.size(); ++i) q[i] = round_to_half(0.01f * i - 1.f);
  for (size_t i = 0; i < k.size(); ++i) k[i] = round_to_half(-0.02f * i);
  for (size_t i = 0; i < v.size(); ++i) v[i] = round_to_half(0.5f + 0.001f * i);
  ASSERT_TRUE(s->set_inputs(dims, q.data(), k.data(), v.data()).ok);
  EXPECT_EQ(download(*s, GpuTensor::Q, q.size()), q);
  EXPECT_EQ(download(*s, GpuTensor::K, k.size()), k);
  EXPECT_EQ(download(*s, GpuTensor::V, v.size()), v);
}

TEST(Memory, ReferencePeakIsInputsOutputAndWorkspace) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 4, 2, 500, 600, 128, false);
  run_reference(*s, dims, {});
  const gpu::OpMemory mem = s->memory(KernelId::Reference);
  const int64_t inputs = 2 * (dims.q_elements() + 2 * dims.kv_elements());
  const int64_t output = 4 * dims.q_elements();
  const int64_t lt_workspace = 32ll << 20;
  const int64_t chunk = gpu::plan_reference(dims, {}).workspace_bytes;
  EXPECT_EQ(chunk, 2 * 1000 * 600 * 6);  // both groups in one chunk: S (FP32) and P (FP16)
  EXPECT_EQ(mem.workspace_bytes, chunk + lt_workspace);
  EXPECT_EQ(mem.peak_bytes, inputs + output + chunk + lt_workspace);
  s->release(KernelId::Reference);
  EXPECT_EQ(s->allocated_bytes(), inputs);
}

// The GPU metrics against the CPU's on the same output (any FP16 kernel that runs).
TEST(Metrics, MatchTheCpuMetricsOnAKernelOutput) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 2, 2, 256, 256, 64, true);
  const RunResult ref = run_reference(*s, dims, {});
  gpu::GpuStatus st = s->prepare(KernelId::Fp16Flash);
  if (st.not_supported) GTEST_SKIP() << "fp16-fa not available: " << st.message;
  ASSERT_TRUE(st.ok) << st.message;
  gpu::ErrorMetrics m;
  ASSERT_TRUE(s->compare(KernelId::Fp16Flash, m).ok);
  const std::vector<float> out = download(*s, GpuTensor::Output, dims.q_elements(), KernelId::Fp16Flash);
  const std::vector<double> ref64(ref.out.begin(), ref.out.end());
  const Accuracy want = cpu::compute_accuracy(out, ref64, host::q_shape(dims));
  EXPECT_NEAR(m.mse, want.mse, 1e-9 * want.mse + 1e-30);
  EXPECT_DOUBLE_EQ(m.max_abs_error, want.max_abs_error);
  EXPECT_EQ(m.max_abs_index, want.max_abs_index);
  EXPECT_NEAR(m.rel_l2, want.rel_l2, 1e-9 * want.rel_l2);
  EXPECT_NEAR(m.cosine, want.cosine, 1e-12);
  EXPECT_NEAR(m.mean_abs_error, want.mean_abs_error, 1e-9 * want.mean_abs_error);
  EXPECT_EQ(m.nonfinite, 0);
  EXPECT_GT(m.rel_l2, 0);  // an FP16 kernel is not bit-identical to the FP32 reference
}

// The quantization step is run by naming its kernel: int8-qk's requantizes into its own
// buffers (its kernel-only run then gives the first run's output again); a kernel without a
// quantizer, or one not prepared, is refused without harm to the context.
TEST(Session, QuantizeStepIsAddressedByItsKernel) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 2, 2, 256, 256, 64, false);
  run_reference(*s, dims, {});
  gpu::GpuStatus st = s->run(KernelId::Int8QK, gpu::RunPart::QuantizeOnly);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("int8-qk was not prepared"), std::string::npos) << st.message;
  st = s->prepare(KernelId::Int8QK);
  if (st.not_supported) GTEST_SKIP() << "int8-qk not available: " << st.message;
  ASSERT_TRUE(st.ok) << st.message;
  st = s->prepare(KernelId::Fp16Flash);  // prepared after int8-qk: no "last quantizing op" to fall back on
  ASSERT_TRUE(st.ok || st.not_supported) << st.message;
  const std::vector<float> first = download(*s, GpuTensor::Output, dims.q_elements(), KernelId::Int8QK);
  ASSERT_TRUE(s->run(KernelId::Int8QK, gpu::RunPart::QuantizeOnly).ok);
  ASSERT_TRUE(s->run(KernelId::Int8QK, gpu::RunPart::KernelOnly).ok);
  EXPECT_EQ(download(*s, GpuTensor::Output, dims.q_elements(), KernelId::Int8QK), first);
  st = s->run(KernelId::Fp16Flash, gpu::RunPart::QuantizeOnly);
  EXPECT_FALSE(st.ok);
  EXPECT_FALSE(st.context_lost);
  EXPECT_NE(st.message.find("fp16-fa has no quantization step"), std::string::npos) << st.message;
}

// The backend end to end on one small case: reference check, status, latency, memory.
TEST(CudaBackend, RunsASmallCase) {
  std::string why;
  auto backend = make_cuda_backend(0, why);
  if (!backend) GTEST_SKIP() << why;
  BenchCase c;
  c.dims = dims_of(1, 4, 2, 200, 200, 64, true);
  c.input.seed = 3;
  c.id = make_case_id(c.dims, c.input);
  RunSettings settings;
  settings.measure.min_samples = 3;
  settings.measure.max_seconds = 0.5;
  settings.measure.min_seconds = 0.001;
  settings.kernels = {"fp16-ref-cublaslt", "int8-fa"};
  ASSERT_EQ(backend->skip_reason(c, settings), "");
  std::vector<const KernelSpec*> specs = {find_kernel("fp16-ref-cublaslt"), find_kernel("int8-fa")};
  const CaseResult r = backend->run_case(c, specs, settings, CaseDump());
  ASSERT_EQ(r.kernels.size(), 2u);
  const KernelResult& ref = r.kernels[0];
  EXPECT_EQ(ref.kernel, "fp16-ref-cublaslt");
  ASSERT_EQ(ref.status, KernelStatus::Ok) << ref.reason;
  ASSERT_TRUE(ref.latency && ref.memory && ref.tops);
  EXPECT_GE(ref.latency->samples, 3);
  EXPECT_GT(ref.latency->median_ms, 0);
  EXPECT_GT(ref.memory->peak_bytes, ref.memory->fp16_tensor_bytes);
  ASSERT_TRUE(r.reference_check);
  EXPECT_GE(r.reference_check->rows_checked, 2);
  EXPECT_LT(r.reference_check->rel_l2, 1e-5);  // RunSettings defaults to the FP32 reference
  const KernelResult& k = r.kernels[1];
  expect_ran_unless_unsupported(k, c.dims);
  if (k.status == KernelStatus::Ok) {
    ASSERT_TRUE(k.accuracy && k.quantize_latency);
    EXPECT_LT(k.accuracy->rel_l2, 0.02);
  } else {
    EXPECT_FALSE(k.reason.empty());
  }
  BenchCase huge = c;
  huge.dims = dims_of(64, 64, 64, 131072, 131072, 128, false);
  EXPECT_NE(backend->skip_reason(huge, settings).find("GiB free"), std::string::npos);
}

// The fallback's rotated try on the device: outlier-scale (loud Q and K channels varying per
// token) misses max_rel_l2 0.02 without the rotation (the CPU emulation: rel L2 0.035) and meets
// it with it (0.012), so both INT8 kernels keep INT8 rotated. No FP16 kernel runs, so there is
// no speed criterion to mix in; the rotated run is timed all the same.
TEST(CudaBackend, FallbackTriesTheHadamardRotation) {
  std::string why;
  auto backend = make_cuda_backend(0, why);
  if (!backend) GTEST_SKIP() << why;
  BenchCase c;
  c.dims = dims_of(1, 2, 2, 256, 256, 128, false);
  c.input.distribution = Distribution::OutlierScale;
  c.input.seed = 3;
  c.id = make_case_id(c.dims, c.input);
  RunSettings settings;
  settings.kernels = {"int8-fa", "int8-qk"};
  settings.thresholds.max_mse = 1e-3;
  settings.thresholds.max_abs_error = 0.3;
  settings.thresholds.max_rel_l2 = 0.02;
  settings.measure.min_samples = 2;
  settings.measure.max_seconds = 0.05;
  const CaseResult r = run_one_case(c, *backend, settings);
  ASSERT_EQ(r.kernels.size(), 2u);
  for (const KernelResult& k : r.kernels) {
    if (!registry_supports(k.kernel, c.dims)) continue;
    ASSERT_EQ(k.status, KernelStatus::Ok) << k.kernel << ": " << k.reason;
    ASSERT_TRUE(k.fallback && k.fallback->rotated && k.fallback->rotated->accuracy) << k.kernel;
    EXPECT_EQ(k.fallback->decision, Decision::Int8Hadamard) << k.kernel << ": " << k.fallback->reasons.back();
    EXPECT_GT(k.accuracy->rel_l2, 0.025) << k.kernel;
    EXPECT_LT(k.fallback->rotated->accuracy->rel_l2, 0.016) << k.kernel;
    EXPECT_TRUE(k.fallback->rotated->latency) << k.kernel << ": the rotated run is timed too";
  }
}

// --dump writes inputs and outputs; --inputs reads them back: the same case from the dumped
// files gives the same reference output bit for bit, and the released reference workspace
// leaves the output intact for the other kernels.
TEST(CudaBackend, DumpedInputsReloadToTheSameResult) {
  std::string why;
  auto backend = make_cuda_backend(0, why);
  if (!backend) GTEST_SKIP() << why;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "int8attn_dump_test";
  std::filesystem::remove_all(dir);
  BenchCase c;
  c.dims = dims_of(1, 4, 2, 65, 130, 64, true);
  c.input.distribution = Distribution::OutlierChannels;
  c.input.seed = 11;
  c.id = make_case_id(c.dims, c.input);
  RunSettings settings;
  settings.measure.min_samples = 2;
  settings.measure.max_seconds = 0.05;
  settings.kernels = {"fp16-ref-cublaslt", "fp16-fa"};
  const std::vector<const KernelSpec*> specs = {find_kernel("fp16-ref-cublaslt"), find_kernel("fp16-fa")};
  const CaseResult first = backend->run_case(c, specs, settings, CaseDump(dir.string(), c));
  ASSERT_EQ(first.kernels[0].status, KernelStatus::Ok) << first.kernels[0].reason;
  const std::string case_dir = (dir / c.id).string();
  const host::NpyTensor q = host::read_npy(case_dir + "/q.npy");
  EXPECT_EQ(q.dtype, host::NpyDtype::Float16);
  EXPECT_EQ(q.shape, (std::array<int64_t, 4>{1, 4, 65, 64}));
  const host::HostQKV generated = host::generate_inputs(c.dims, c.input);
  EXPECT_EQ(host::read_npy(case_dir + "/k.npy").shape, (std::array<int64_t, 4>{1, 2, 130, 64}));
  const host::NpyTensor ref1 = host::read_npy(case_dir + "/fp16-ref-cublaslt.npy");
  EXPECT_EQ(ref1.dtype, host::NpyDtype::Float32);
  expect_ran_unless_unsupported(first.kernels[1], c.dims);
  const bool fp16_fa_ran = first.kernels[1].status == KernelStatus::Ok;
  if (fp16_fa_ran) {
    EXPECT_TRUE(std::filesystem::exists(case_dir + "/fp16-fa.npy"));
    EXPECT_LT(first.kernels[1].accuracy->rel_l2, 1e-3);  // metrics against an intact reference
  }
  const std::vector<double> want = host::reference_attention(c.dims, generated.q, generated.k, generated.v);
  EXPECT_LT(rel_l2(ref1.data, want), 1e-5);

  BenchCase reloaded = c;
  reloaded.input.npy_dir = case_dir;
  const CaseResult second = backend->run_case(reloaded, specs, settings, CaseDump((dir / "again").string(), reloaded));
  ASSERT_EQ(second.kernels[0].status, KernelStatus::Ok) << second.kernels[0].reason;
  const host::NpyTensor ref2 = host::read_npy((dir / "again" / c.id / "fp16-ref-cublaslt.npy").string());
  EXPECT_EQ(ref1.data, ref2.data);
  expect_ran_unless_unsupported(second.kernels[1], c.dims);
  if (fp16_fa_ran && second.kernels[1].status == KernelStatus::Ok) {  // the same inputs, the same output
    EXPECT_EQ(host::read_npy(case_dir + "/fp16-fa.npy").data,
              host::read_npy((dir / "again" / c.id / "fp16-fa.npy").string()).data);
  }
  std::filesystem::remove_all(dir);
}

// Tensors of more than 2^31 elements (a peer silently corrupted output past that): every
// INT8 kernel and the reference on 8192 heads x 2080 tokens x 128 (2.18e9 elements a tensor;
// seq 2080 is not a tile multiple and takes the warp-specialized Hopper kernel), checked over
// every element against the reference. A 32-bit offset anywhere corrupts the far half. int8-fa
// runs twice: with K per token, and with grouped K on 128-key blocks (what k_granularity "auto",
// the default, gives it on Hopper here: its quantizer's key order and V rows in that order too).
TEST(Memory, TensorsAbove2To31ElementsAreComputedWhole) {
  SESSION_OR_SKIP(s);
  const AttnDims dims = dims_of(1, 8192, 8192, 2080, 2080, 128, false);
  ASSERT_GT(dims.q_elements(), int64_t{1} << 31);
  const std::vector<KernelId> ops = {KernelId::Reference, KernelId::Int8Full, KernelId::Int8QK};
  gpu::OpSettings grouped;
  grouped.quant.kv_block = grouped.quant.v_block = kGpuWideKvBlock;
  grouped.quant.k_granularity = KGranularity::Grouped;
  int64_t free_bytes = 0, total_bytes = 0;
  ASSERT_TRUE(s->memory_info(free_bytes, total_bytes).ok);
  const int64_t need = std::max(gpu::estimate_case_bytes(dims, {}, ops, s->device().l2_cache_bytes),
                                gpu::estimate_case_bytes(dims, grouped, ops, s->device().l2_cache_bytes));
  if (need > free_bytes) GTEST_SKIP() << "needs " << need << " bytes of device memory, " << free_bytes << " free";
  gpu::InputGenSpec spec;
  spec.seed = 5;
  s->set_op_settings({});
  ASSERT_TRUE(s->set_inputs(dims, spec).ok);
  gpu::GpuStatus st = s->prepare(KernelId::Reference);
  ASSERT_TRUE(st.ok) << st.message;
  s->release_workspace(KernelId::Reference);
  struct Run {
    KernelId op;
    gpu::OpSettings settings;
    std::string what;
  };
  for (const Run& run : {Run{KernelId::Int8Full, {}, "int8-fa"}, Run{KernelId::Int8QK, {}, "int8-qk"},
                         Run{KernelId::Int8Full, grouped, "int8-fa, grouped K"}}) {
    s->set_op_settings(run.settings);
    st = s->prepare(run.op);
    if (st.not_supported) continue;  // not on this device (grouped K: Hopper's sm_90a kernel only)
    ASSERT_TRUE(st.ok) << run.what << ": " << st.message;
    gpu::ErrorMetrics m;
    ASSERT_TRUE(s->compare(run.op, m).ok) << run.what;
    EXPECT_EQ(m.elements, dims.q_elements()) << run.what;
    EXPECT_EQ(m.nonfinite, 0) << run.what;
    EXPECT_LT(m.rel_l2, 0.02) << run.what;  // normal inputs: 0.009-0.015 at any length
    EXPECT_LT(m.max_abs_error, 0.1) << run.what << " worst element " << m.max_abs_index;
    s->release(run.op);
  }
}

}  // namespace
}  // namespace int8attn
