// cuDNN SDPA forward through the cuDNN frontend's graph API (host code, compiled by the C++
// compiler: the frontend is header-only and slow to compile, so it lives in this one file).
// Built without cuDNN (INT8ATTN_HAVE_CUDNN unset), every entry point says why instead.
#include "kernels/harness/cudnn_sdpa.h"

#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "common/numerics.h"
#include "kernels/harness/cuda_check.cuh"

#if INT8ATTN_HAVE_CUDNN
#include <cudnn_frontend.h>
#endif

namespace int8attn::gpu::cudnn {

#if INT8ATTN_HAVE_CUDNN

namespace fe = cudnn_frontend;

namespace {

// Tensor uids of the variant pack.
enum Uid : int64_t { kQ = 1, kK, kV, kO, kDescaleQUid, kDescaleKUid, kDescaleVUid, kDescaleSUid, kScaleSUid,
                     kScaleOUid, kAmaxSUid, kAmaxOUid };

std::string version_text(size_t v) {
  // cuDNN 9 encodes major*10000 + minor*100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

void check_cudnn(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS) {
    throw CudaError(std::string(call) + ": " + cudnnGetErrorString(status), cudaSuccess);
  }
}

// A frontend error; "not supported" kinds become a skip (cudaErrorNotSupported).
void check_fe(fe::error_t status, const char* step) {
  if (status.is_good()) return;
  const fe::error_code_t code = status.get_code();
  const bool declined = code == fe::error_code_t::GRAPH_NOT_SUPPORTED ||
                        code == fe::error_code_t::GRAPH_EXECUTION_PLAN_CREATION_FAILED ||
                        code == fe::error_code_t::HEURISTIC_QUERY_FAILED;
  throw CudaError(std::string("cuDNN ") + step + ": " + status.get_message(),
                  declined ? cudaErrorNotSupported : cudaSuccess);
}

std::vector<int64_t> bhsd_strides(int64_t heads, int64_t seq, int64_t head_dim) {
  return {heads * seq * head_dim, seq * head_dim, head_dim, 1};
}

std::shared_ptr<fe::graph::Tensor_attributes> bhsd_tensor(fe::graph::Graph& g, const char* name, int64_t uid,
                                                          const AttnDims& d, int64_t heads, int64_t seq) {
  return g.tensor(fe::graph::Tensor_attributes()
                      .set_name(name)
                      .set_uid(uid)
                      .set_dim({d.batch, heads, seq, d.head_dim})
                      .set_stride(bhsd_strides(heads, seq, d.head_dim)));
}

std::shared_ptr<fe::graph::Tensor_attributes> scalar_tensor(fe::graph::Graph& g, const char* name, int64_t uid) {
  return g.tensor(fe::graph::Tensor_attributes()
                      .set_name(name)
                      .set_uid(uid)
                      .set_dim({1, 1, 1, 1})
                      .set_stride({1, 1, 1, 1})
                      .set_data_type(fe::DataType_t::FLOAT));
}

// The causal mask as AttnDims means it (bottom-right aligned, common/attn_types.h): with
// seq_q == seq_kv that is the plain top-left mask, which every cuDNN engine has; otherwise
// cuDNN's bottom-right alignment (FP16 from 9.6 with seq_q <= seq_kv; FP8 on Blackwell).
void set_mask(fe::graph::SDPA_attributes& options, const AttnDims& d) {
  if (!d.causal) return;
  if (d.seq_q == d.seq_kv) {
    options.set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT).set_diagonal_band_right_bound(0);
  } else {
    options.set_diagonal_alignment(fe::DiagonalAlignment_t::BOTTOM_RIGHT).set_diagonal_band_right_bound(0);
  }
}

// A graph whose Q, K and V are BHSD tensors of type `io`; softmax and accumulation in FP32.
struct SdpaGraph {
  std::shared_ptr<fe::graph::Graph> graph;
  std::shared_ptr<fe::graph::Tensor_attributes> q, k, v;
};
SdpaGraph sdpa_graph(const AttnDims& d, fe::DataType_t io) {
  SdpaGraph s{std::make_shared<fe::graph::Graph>(), nullptr, nullptr, nullptr};
  s.graph->set_io_data_type(io)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  s.q = bhsd_tensor(*s.graph, "Q", kQ, d, d.heads, d.seq_q);
  s.k = bhsd_tensor(*s.graph, "K", kK, d, d.kv_heads, d.seq_kv);
  s.v = bhsd_tensor(*s.graph, "V", kV, d, d.kv_heads, d.seq_kv);
  return s;
}

// The attention output O as the graph's BHSD output.
void set_bhsd_output(fe::graph::Tensor_attributes& o, const AttnDims& d) {
  o.set_output(true).set_uid(kO).set_dim({d.batch, d.heads, d.seq_q, d.head_dim}).set_stride(
      bhsd_strides(d.heads, d.seq_q, d.head_dim));
}

// FP16 in and out, softmax and accumulation in FP32, no softmax statistics (inference).
std::shared_ptr<fe::graph::Graph> fp16_graph(const AttnDims& d) {
  SdpaGraph s = sdpa_graph(d, fe::DataType_t::HALF);
  auto options = fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(false).set_attn_scale(
      effective_sm_scale(d));
  set_mask(options, d);
  auto [o, stats] = s.graph->sdpa(s.q, s.k, s.v, options);
  set_bhsd_output(*o, d);
  return s.graph;
}

// e4m3 in and out (Hopper's FP8 SDPA writes FP8 only) with per-tensor descales, FP32 softmax.
std::shared_ptr<fe::graph::Graph> fp8_graph(const AttnDims& d) {
  SdpaGraph s = sdpa_graph(d, fe::DataType_t::FP8_E4M3);
  fe::graph::Graph* g = s.graph.get();
  auto options = fe::graph::SDPA_fp8_attributes().set_name("sdpa_fp8").set_generate_stats(false).set_attn_scale(
      effective_sm_scale(d));
  set_mask(options, d);
  auto [o, stats, amax_s, amax_o] =
      g->sdpa_fp8(s.q, s.k, s.v, scalar_tensor(*g, "Descale_Q", kDescaleQUid), scalar_tensor(*g, "Descale_K", kDescaleKUid),
                  scalar_tensor(*g, "Descale_V", kDescaleVUid), scalar_tensor(*g, "Descale_S", kDescaleSUid),
                  scalar_tensor(*g, "Scale_S", kScaleSUid), scalar_tensor(*g, "Scale_O", kScaleOUid), options);
  set_bhsd_output(*o, d);
  for (const auto& [amax, uid] : {std::pair{amax_s, kAmaxSUid}, std::pair{amax_o, kAmaxOUid}}) {
    amax->set_output(true).set_uid(uid).set_dim({1, 1, 1, 1}).set_stride({1, 1, 1, 1}).set_data_type(
        fe::DataType_t::FLOAT);
  }
  return s.graph;
}

using ProblemKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, float, SdpaPrecision>;

ProblemKey key_of(const AttnDims& d, SdpaPrecision p) {
  return {d.batch, d.heads, d.kv_heads, d.seq_q, d.seq_kv, d.head_dim, d.causal, effective_sm_scale(d), p};
}

// A built graph, or why cuDNN declined the problem (kept so it is not rebuilt per case).
struct Built {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t workspace_bytes = 0;
  std::string error;
  bool declined = false;
};

}  // namespace

const Availability& availability() {
  static const Availability a = [] {
    Availability out;
    const size_t v = cudnnGetVersion();
    if (v < 90000) {
      out.why_not = "cuDNN " + version_text(v) + " is loaded; the SDPA graphs need cuDNN 9";
    } else {
      out.available = true;
      out.version = version_text(v);
    }
    return out;
  }();
  return a;
}

struct SdpaPlans::Impl {
  cudnnHandle_t handle = nullptr;
  std::map<ProblemKey, Built> built;

  ~Impl() {
    built.clear();
    if (handle) cudnnDestroy(handle);
  }

  Built build(const AttnDims& d, SdpaPrecision p) {
    Built b;
    try {
      b.graph = p == SdpaPrecision::Fp16 ? fp16_graph(d) : fp8_graph(d);
      check_fe(b.graph->validate(), "graph validation");
      check_fe(b.graph->build_operation_graph(handle), "operation graph");
      check_fe(b.graph->create_execution_plans({fe::HeurMode_t::A}), "execution plans");
      check_fe(b.graph->check_support(handle), "support check");
      check_fe(b.graph->build_plans(fe::BuildPlanPolicy_t::HEURISTICS_CHOICE), "plan build");
      check_fe(b.graph->get_workspace_size(b.workspace_bytes), "workspace size");
    } catch (const CudaError& e) {
      b.graph.reset();
      b.error = e.what();
      b.declined = e.code() == cudaErrorNotSupported;
    }
    return b;
  }
};

SdpaPlans::SdpaPlans() : impl_(std::make_unique<Impl>()) {}
SdpaPlans::~SdpaPlans() = default;

int64_t SdpaPlans::prepare(const AttnDims& dims, SdpaPrecision precision) {
  if (!availability().available) throw CudaError(availability().why_not, cudaErrorNotSupported);
  if (!impl_->handle) check_cudnn(cudnnCreate(&impl_->handle), "cudnnCreate");
  auto [it, inserted] = impl_->built.try_emplace(key_of(dims, precision));
  if (inserted) it->second = impl_->build(dims, precision);
  const Built& b = it->second;
  if (!b.graph) throw CudaError(b.error, b.declined ? cudaErrorNotSupported : cudaSuccess);
  return b.workspace_bytes;
}

void SdpaPlans::run(const AttnDims& dims, SdpaPrecision precision, const SdpaTensors& t, void* workspace,
                    cudaStream_t stream) {
  auto it = impl_->built.find(key_of(dims, precision));
  if (it == impl_->built.end() || !it->second.graph) {
    throw CudaError("cuDNN SDPA: the graph for this problem was not prepared", cudaSuccess);
  }
  check_cudnn(cudnnSetStream(impl_->handle, stream), "cudnnSetStream");
  std::unordered_map<int64_t, void*> pack = {{kQ, const_cast<void*>(t.q)},
                                             {kK, const_cast<void*>(t.k)},
                                             {kV, const_cast<void*>(t.v)},
                                             {kO, t.o}};
  if (precision == SdpaPrecision::Fp8E4M3) {
    float* s = t.fp8_scales;
    pack.insert({{kDescaleQUid, s + kDescaleQ}, {kDescaleKUid, s + kDescaleK}, {kDescaleVUid, s + kDescaleV},
                 {kDescaleSUid, s + kDescaleS}, {kScaleSUid, s + kScaleS},     {kScaleOUid, s + kScaleO},
                 {kAmaxSUid, s + kAmaxS},       {kAmaxOUid, s + kAmaxO}});
  }
  check_fe(it->second.graph->execute(impl_->handle, pack, workspace), "execute");
}

#else  // built without cuDNN

#ifndef INT8ATTN_CUDNN_MISSING
#define INT8ATTN_CUDNN_MISSING "cuDNN not found at configure time"
#endif

const Availability& availability() {
  static const Availability a{false, "", std::string("built without cuDNN: ") + INT8ATTN_CUDNN_MISSING};
  return a;
}

struct SdpaPlans::Impl {};
SdpaPlans::SdpaPlans() : impl_(std::make_unique<Impl>()) {}
SdpaPlans::~SdpaPlans() = default;

int64_t SdpaPlans::prepare(const AttnDims&, SdpaPrecision) {
  throw CudaError(availability().why_not, cudaErrorNotSupported);
}

void SdpaPlans::run(const AttnDims&, SdpaPrecision, const SdpaTensors&, void*, cudaStream_t) {
  throw CudaError(availability().why_not, cudaErrorNotSupported);
}

#endif

}  // namespace int8attn::gpu::cudnn
