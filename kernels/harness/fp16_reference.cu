// The cuBLASLt reference attention (fp16-ref-cublaslt); see reference.cuh.
#include "kernels/harness/reference.cuh"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/numerics.h"
#include "kernels/harness/cuda_check.cuh"

namespace int8attn::gpu {

// ---------------------------------------------------------------- cuBLASLt wrapper -------

struct LtGemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

namespace {

uint32_t pointer_alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && address % align != 0) align /= 2;
  return align;
}

// Layout of a stored (rows x cols, column-major, leading dimension ld) strided batch.
cublasLtMatrixLayout_t make_layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld,
                                   int32_t batch, int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld));
  if (batch > 1) {
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
                                                  sizeof batch));
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
  }
  return layout;
}

}  // namespace

LtGemm::LtGemm(DeviceAllocator& alloc, int64_t workspace_bytes) : workspace_(alloc, workspace_bytes) {
  CUBLAS_CHECK(cublasLtCreate(&handle_));
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

const LtGemm::Plan& LtGemm::plan_for(const GemmDesc& d) {
  auto found = plans_.find(d.key());
  if (found != plans_.end()) return *found->second;
  auto plan = std::make_unique<Plan>();
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &d.trans_a,
                                              sizeof d.trans_a));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &d.trans_b,
                                              sizeof d.trans_b));
  const bool ta = d.trans_a == CUBLAS_OP_T, tb = d.trans_b == CUBLAS_OP_T;
  plan->a = make_layout(d.ab_type, ta ? d.k : d.m, ta ? d.m : d.k, d.lda, d.batch, d.stride_a);
  plan->b = make_layout(d.ab_type, tb ? d.n : d.k, tb ? d.k : d.n, d.ldb, d.batch, d.stride_b);
  plan->c = make_layout(d.c_type, d.m, d.n, d.ldc, d.batch, d.stride_c);

  cublasLtMatmulPreference_t pref = nullptr;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = static_cast<uint64_t>(workspace_.bytes());
  cublasLtMatmulHeuristicResult_t result{};
  int found_count = 0;
  cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, d.align_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, d.align_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, d.align_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, d.align_c}};
  for (const auto& [attr, value] : aligns) {
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof value);
    }
  }
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulAlgoGetHeuristic(handle_, plan->op, plan->a, plan->b, plan->c, plan->c,
                                            pref, 1, &result, &found_count);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  CUBLAS_CHECK(status);
  if (found_count == 0) {
    throw CudaError("cuBLASLt has no algorithm for a " + std::to_string(d.m) + "x" +
                        std::to_string(d.n) + "x" + std::to_string(d.k) + " GEMM (batch " +
                        std::to_string(d.batch) + ")",
                    cudaSuccess);
  }
  plan->algo = result.algo;
  return *plans_.emplace(d.key(), std::move(plan)).first->second;
}

void LtGemm::run(GemmDesc desc, const void* a, const void* b, void* d, cudaStream_t stream) {
  desc.align_a = pointer_alignment(a);
  desc.align_b = pointer_alignment(b);
  desc.align_c = pointer_alignment(d);
  const Plan& plan = plan_for(desc);
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasLtMatmul(handle_, plan.op, &alpha, a, plan.a, b, plan.b, &beta, d, plan.c, d,
                              plan.c, &plan.algo, workspace_.get(), workspace_.bytes(), stream));
}

std::string cublaslt_version_string() {
  const size_t v = cublasLtGetVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

// ---------------------------------------------------------------- softmax --------------

namespace {

constexpr int kSoftmaxThreads = 256;
constexpr int64_t kLtWorkspaceBytes = 32ll << 20;

// Running (max, sum of exp((s - max) * scale)) of a set of scores.
struct MaxSum {
  float max;
  float sum;
};

__device__ MaxSum combine(MaxSum a, MaxSum b, float scale) {
  if (a.max == -INFINITY) return b;
  if (b.max == -INFINITY) return a;
  const float m = fmaxf(a.max, b.max);
  return {m, a.sum * expf((a.max - m) * scale) + b.sum * expf((b.max - m) * scale)};
}

__device__ MaxSum block_reduce(MaxSum v, float scale) {
  __shared__ MaxSum warp_results[kSoftmaxThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) {
    MaxSum other{__shfl_xor_sync(0xffffffffu, v.max, offset), __shfl_xor_sync(0xffffffffu, v.sum, offset)};
    v = combine(v, other, scale);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warp_results[warp] = v;
  __syncthreads();
  MaxSum total{-INFINITY, 0.f};
  for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) total = combine(total, warp_results[w], scale);
  return total;
}

template <typename P>
__device__ P to_prob(float p);
template <>
__device__ float to_prob<float>(float p) { return p; }
template <>
__device__ __half to_prob<__half>(float p) { return __float2half_rn(p); }

struct SoftmaxRows {
  const float* scores;     // [rows][seq_kv]
  int64_t rows;            // rows of this chunk = groups * rows_per_chunk
  int64_t rows_per_chunk;  // rows per group in this chunk
  int64_t row0;            // first row (within the group's G*seq_q rows) of the chunk
  int64_t seq_q, seq_kv;   // seq_kv is also the row stride
  int64_t chunk_keys;      // keys the chunk computed (<= seq_kv); P is written up to here
  float scale;             // sm_scale
  bool causal;
};

// Visible keys of a row: a prefix of the row under the bottom-right causal mask.
__device__ int64_t visible_keys(const SoftmaxRows& a, int64_t row) {
  if (!a.causal) return a.seq_kv;
  const int64_t query = (a.row0 + row % a.rows_per_chunk) % a.seq_q;
  const int64_t last = query + (a.seq_kv - a.seq_q);  // last visible key (numerics.h)
  return last < 0 ? 0 : (last + 1 < a.seq_kv ? last + 1 : a.seq_kv);
}

// One block per row: pass 1 an online max/sum, pass 2 writes the normalised P (masked keys
// and rows with no visible key get 0). `probs` may alias `scores` (FP32 in place): each
// element is read before the same thread writes it.
// Measured on an H200 (docs/methodology.md): a variant that staged each row in shared
// memory with 1024 threads was 1.4-3x slower (one large block per SM, no overlap).
template <typename P>
__global__ void softmax_rows_kernel(SoftmaxRows a, P* probs) {
  const int64_t row = blockIdx.x;
  const float* s = a.scores + row * a.seq_kv;
  P* p = probs + row * a.seq_kv;
  const int64_t visible = visible_keys(a, row);
  MaxSum local{-INFINITY, 0.f};
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) {
    const float x = s[j];
    if (x > local.max) {
      local.sum = local.sum * expf((local.max - x) * a.scale) + 1.f;
      local.max = x;
    } else {
      local.sum += expf((x - local.max) * a.scale);
    }
  }
  const MaxSum total = block_reduce(local, a.scale);
  for (int64_t j = threadIdx.x; j < a.chunk_keys; j += blockDim.x) {
    const float prob = j < visible ? expf((s[j] - total.max) * a.scale) / total.sum : 0.f;
    p[j] = to_prob<P>(prob);
  }
}

template <typename P>
void launch_softmax(const SoftmaxRows& a, P* probs, cudaStream_t stream) {
  const int threads = static_cast<int>(std::min<int64_t>(kSoftmaxThreads, (a.seq_kv + 31) / 32 * 32));
  softmax_rows_kernel<P><<<static_cast<unsigned>(a.rows), threads, 0, stream>>>(a, probs);
  CUDA_CHECK_LAUNCH();
}

// dst[g][i] = float(src[g * src_group_stride + i]) for i < per_group.
__global__ void widen_kernel(const __half* src, int64_t src_group_stride, int64_t per_group,
                             int64_t groups, float* dst) {
  const int64_t total = per_group * groups;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t g = i / per_group;
    dst[i] = __half2float(src[g * src_group_stride + i % per_group]);
  }
}

void widen(const __half* src, int64_t src_group_stride, int64_t per_group, int64_t groups, float* dst,
           cudaStream_t stream) {
  const int64_t total = per_group * groups;
  const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 65535));
  widen_kernel<<<blocks, 256, 0, stream>>>(src, src_group_stride, per_group, groups, dst);
  CUDA_CHECK_LAUNCH();
}

int64_t rows_per_group(const AttnDims& d) { return d.group_size() * d.seq_q; }

}  // namespace

// ---------------------------------------------------------------- chunk plan -----------

ReferencePlan plan_reference(const AttnDims& d, const ReferenceOptions& o) {
  const int64_t group_rows = rows_per_group(d);
  const int64_t groups = d.batch * d.kv_heads;
  // Bytes per query row: S (P in place for fp32, separate FP16 P otherwise) and the FP32 Q row;
  // per group: the FP32 K and V copies.
  const int64_t row_bytes = o.fp32 ? d.seq_kv * 4 + d.head_dim * 4 : d.seq_kv * (4 + 2);
  const int64_t group_bytes = o.fp32 ? 2 * d.seq_kv * d.head_dim * 4 : 0;
  const int64_t row_cap = o.max_chunk_rows > 0 ? o.max_chunk_rows : group_rows;
  ReferencePlan plan;
  const int64_t whole_group = group_rows * row_bytes + group_bytes;
  if (group_rows <= row_cap && whole_group <= o.workspace_bytes) {
    plan.rows_per_chunk = group_rows;
    // cuBLASLt's batch count is 32-bit.
    plan.groups_per_chunk = std::clamp<int64_t>(o.workspace_bytes / whole_group, 1,
                                                std::min<int64_t>(groups, 1 << 30));
  } else {
    int64_t rows = (o.workspace_bytes - group_bytes) / row_bytes;
    if (rows >= 64) rows = rows / 64 * 64;  // whole GEMM tiles
    plan.rows_per_chunk = std::clamp<int64_t>(rows, 1, std::min(row_cap, group_rows));
    plan.groups_per_chunk = 1;
  }
  plan.workspace_bytes = plan.groups_per_chunk * (plan.rows_per_chunk * row_bytes + group_bytes);
  return plan;
}

// ---------------------------------------------------------------- the reference --------

ReferenceAttention::ReferenceAttention(DeviceAllocator& alloc, const AttnDims& dims,
                                       const ReferenceOptions& options)
    : dims_(dims), options_(options), plan_(plan_reference(dims, options)),
      gemm_(alloc, kLtWorkspaceBytes) {
  const int64_t chunk_rows = plan_.groups_per_chunk * plan_.rows_per_chunk;
  scores_ = DeviceBuffer<float>(alloc, chunk_rows * dims.seq_kv);
  if (options.fp32) {
    q32_ = DeviceBuffer<float>(alloc, chunk_rows * dims.head_dim);
    k32_ = DeviceBuffer<float>(alloc, plan_.groups_per_chunk * dims.seq_kv * dims.head_dim);
    v32_ = DeviceBuffer<float>(alloc, plan_.groups_per_chunk * dims.seq_kv * dims.head_dim);
  } else {
    probs_ = DeviceBuffer<__half>(alloc, chunk_rows * dims.seq_kv);
  }
}

void ReferenceAttention::run(const __half* q, const __half* k, const __half* v, float* out,
                             cudaStream_t stream) {
  const int64_t groups = dims_.batch * dims_.kv_heads;
  const int64_t group_rows = rows_per_group(dims_);
  k32_group0_ = -1;  // inputs may have changed since the last run
  for (int64_t g0 = 0; g0 < groups; g0 += plan_.groups_per_chunk) {
    const int64_t g = std::min(plan_.groups_per_chunk, groups - g0);
    for (int64_t r0 = 0; r0 < group_rows; r0 += plan_.rows_per_chunk) {
      run_chunk(q, k, v, out, g0, g, r0, std::min(plan_.rows_per_chunk, group_rows - r0), stream);
    }
  }
}

int64_t ReferenceAttention::chunk_keys(int64_t row0, int64_t rows) const {
  const int64_t sq = dims_.seq_q, skv = dims_.seq_kv;
  const int64_t first_query = row0 % sq;
  if (!dims_.causal || first_query + rows > sq) return skv;  // a chunk spanning heads sees all
  const int64_t last_visible = first_query + rows - 1 + (skv - sq);  // of its last row
  return std::clamp<int64_t>(last_visible + 1, 0, skv);
}

void ReferenceAttention::run_chunk(const __half* q, const __half* k, const __half* v, float* out,
                                   int64_t group0, int64_t groups, int64_t row0, int64_t rows,
                                   cudaStream_t stream) {
  const int64_t d = dims_.head_dim, skv = dims_.seq_kv, group_rows = rows_per_group(dims_);
  const __half* q_chunk = q + (group0 * group_rows + row0) * d;
  const __half* k_group = k + group0 * skv * d;
  const __half* v_group = v + group0 * skv * d;
  float* out_chunk = out + (group0 * group_rows + row0) * d;

  const void *a1 = k_group, *b1 = q_chunk, *a2 = v_group;
  int64_t q_stride = group_rows * d;
  cudaDataType_t ab_type = CUDA_R_16F;
  if (options_.fp32) {
    widen(q_chunk, group_rows * d, rows * d, groups, q32_.get(), stream);
    if (k32_group0_ != group0) {  // K/V of this group range, widened once for all its chunks
      widen(k_group, skv * d, skv * d, groups, k32_.get(), stream);
      widen(v_group, skv * d, skv * d, groups, v32_.get(), stream);
      k32_group0_ = group0;
    }
    a1 = k32_.get();
    b1 = q32_.get();
    a2 = v32_.get();
    q_stride = rows * d;
    ab_type = CUDA_R_32F;
  }
  const int32_t batch = static_cast<int32_t>(groups);
  const int64_t keys = chunk_keys(row0, rows);
  if (keys == 0) {  // no row of the chunk sees a key (one head, so one contiguous block)
    CUDA_CHECK(cudaMemsetAsync(out_chunk, 0, static_cast<size_t>(rows * d) * sizeof(float), stream));
    return;
  }

  // S^T (keys x rows, column-major) = K (keys x d) · Q^T: S row-major [rows][skv], the
  // first `keys` columns of each row.
  GemmDesc scores{CUBLAS_OP_T, CUBLAS_OP_N, keys, rows, d, d, d, skv, skv * d, q_stride, rows * skv, batch,
                  ab_type, CUDA_R_32F};
  gemm_.run(scores, a1, b1, scores_.get(), stream);

  const SoftmaxRows args{scores_.get(), groups * rows, rows, row0, dims_.seq_q, skv, keys,
                         effective_sm_scale(dims_), dims_.causal};
  const void* probs = nullptr;
  if (options_.fp32) {
    launch_softmax(args, scores_.get(), stream);
    probs = scores_.get();
  } else {
    launch_softmax(args, probs_.get(), stream);
    probs = probs_.get();
  }

  // O^T (d x rows) = V^T (d x keys) · P^T (keys x rows): O row-major [rows][d].
  GemmDesc output{CUBLAS_OP_N, CUBLAS_OP_N, d, rows, keys, d, skv, d, skv * d, rows * skv, group_rows * d,
                  batch, ab_type, CUDA_R_32F};
  gemm_.run(output, a2, probs, out_chunk, stream);
}

}  // namespace int8attn::gpu
