#include "src/cpu/emulation.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/k_groups.h"
#include "common/numerics.h"
#include "src/cpu/online_softmax.h"
#include "src/host/inputs.h"

namespace int8attn::cpu {
namespace {

// For every query row: score_row(bh, bkv, i, n_visible, s) fills the log2-domain scores of the
// keys up to the last visible one's block and returns how many it filled (n_visible, unless
// permuted blocks put masked keys, scored -inf, before visible ones), then the online softmax
// runs with the PV policy make_pv(bkv) (one per (batch, head) item; bkv = batch * kv_heads +
// kv_head). Items run in parallel, each row by exactly one thread, so the output does not
// depend on the thread count.
template <class MakePV, class ScoreFn>
std::vector<float> run_rows(const AttnDims& dims, int64_t kv_block, const host::CpuExec& exec, MakePV make_pv,
                            ScoreFn score_row) {
  const int64_t heads_total = dims.batch * dims.heads;
  const int threads = host::resolve_threads(exec.threads, heads_total);
  const int64_t scratch = (dims.seq_kv + 2 * kv_block + 3 * dims.head_dim) * int64_t{sizeof(float)};
  const host::TalliedBytes output_bytes(exec.tally, dims.q_elements() * int64_t{sizeof(float)});
  const host::TalliedBytes scratch_bytes(exec.tally, threads * scratch);
  std::vector<float> out(dims.q_elements());
  host::parallel_for(heads_total, threads, [&](int64_t bh) {
    const int64_t b = bh / dims.heads;
    const int64_t kv_head = (bh % dims.heads) / dims.group_size();
    auto pv = make_pv(b * dims.kv_heads + kv_head);
    std::vector<float> scores(dims.seq_kv), p, acc;
    for (int64_t i = 0; i < dims.seq_q; ++i) {
      const int64_t n_visible = visible_keys(i, dims.seq_q, dims.seq_kv, dims.causal);
      const int64_t n_scored = score_row(bh, b * dims.kv_heads + kv_head, i, n_visible, scores.data());
      float* row = out.data() + (bh * dims.seq_q + i) * dims.head_dim;
      online_softmax_row(scores.data(), dims.seq_kv, n_scored, kv_block, dims.head_dim, pv, p, acc, row);
    }
  });
  return out;
}

}  // namespace

std::vector<float> int8_attention_from_quantized(const AttnDims& dims, const QuantConfig& cfg,
                                                 const QuantizedHost& qkv, KernelId kernel,
                                                 const std::vector<float>* v_fp16, const host::CpuExec& exec) {
  host::validate_dims(dims);
  validate_quant_config(cfg);
  if (kernel != KernelId::Int8Full && kernel != KernelId::Int8QK) {
    throw std::invalid_argument(std::string("int8 emulation: ") + to_string(kernel) + " is not an INT8 kernel");
  }
  const int64_t d = dims.head_dim;
  const int64_t group = qk_group_tokens(cfg);
  const int64_t q_groups = qk_groups(dims.seq_q, cfg);
  const int64_t k_groups = qk_groups(dims.seq_kv, cfg);
  if (static_cast<int64_t>(qkv.q8.size()) != dims.q_elements() ||
      static_cast<int64_t>(qkv.k8.size()) != dims.kv_elements() ||
      static_cast<int64_t>(qkv.q_scale.size()) != dims.batch * dims.heads * q_groups ||
      static_cast<int64_t>(qkv.k_scale.size()) != dims.batch * dims.kv_heads * k_groups) {
    throw std::invalid_argument("int8 emulation: quantized Q/K do not match the dims and config");
  }

  const bool permuted = cfg.k_granularity == KGranularity::Grouped;
  if (permuted != !qkv.k_order.empty() ||
      (permuted && static_cast<int64_t>(qkv.k_order.size()) != dims.batch * dims.kv_heads * dims.seq_kv)) {
    throw std::invalid_argument("int8 emulation: k_order does not match the config and dims");
  }
  // s_j = dequant_score(q8 · k8_j, folded q scale of row i's group, k scale of key j's group);
  // with grouped K, row j holds key j's block start + k_order[j], masked (-inf) when not visible.
  auto score_row = [&](int64_t bh, int64_t bkv, int64_t i, int64_t n_visible, float* s) {
    const int8_t* q_row = qkv.q8.data() + (bh * dims.seq_q + i) * d;
    const float q_scale = qkv.q_scale[bh * q_groups + i / group];
    const int8_t* k_head = qkv.k8.data() + bkv * dims.seq_kv * d;
    const float* k_scales = qkv.k_scale.data() + bkv * k_groups;
    const uint8_t* order = permuted ? qkv.k_order.data() + bkv * dims.seq_kv : nullptr;
    const int64_t n_scored =
        permuted ? std::min(dims.seq_kv, (n_visible + kKGroupSpan - 1) / kKGroupSpan * kKGroupSpan) : n_visible;
    for (int64_t j = 0; j < n_scored; ++j) {
      if (permuted && j / kKGroupSpan * kKGroupSpan + order[j] >= n_visible) {
        s[j] = -std::numeric_limits<float>::infinity();  // its p is 0, as a masked key's
        continue;
      }
      int32_t dot = 0;
      for (int64_t c = 0; c < d; ++c) dot += int32_t{q_row[c]} * int32_t{k_head[j * d + c]};
      s[j] = dequant_score(dot, q_scale, k_scales[j / group]);
    }
    return n_scored;
  };

  if (kernel == KernelId::Int8Full) {
    const int64_t v_blocks = v_scale_blocks(dims.seq_kv, cfg);
    if (static_cast<int64_t>(qkv.v8.size()) != dims.kv_elements() ||
        static_cast<int64_t>(qkv.v_scale.size()) != dims.batch * dims.kv_heads * v_blocks * d) {
      throw std::invalid_argument("int8-fa emulation: V was not quantized");
    }
    auto make_pv = [&](int64_t bkv) {
      return QuantizedPV{qkv.v8.data() + bkv * dims.seq_kv * d,
                         qkv.v_scale.data() + bkv * v_blocks * d,
                         cfg.v_block,
                         d,
                         cfg.p_quant,
                         cfg.kv_block,
                         row_sum_terms(cfg),
                         {},
                         {}};
    };
    return run_rows(dims, cfg.kv_block, exec, make_pv, score_row);
  }
  if (!v_fp16 || static_cast<int64_t>(v_fp16->size()) != dims.kv_elements()) {
    throw std::invalid_argument("int8-qk emulation: needs the FP16 V");
  }
  // int8-qk's FP16 V rows follow K's (grouped K permutes each block's keys).
  const std::vector<float> v_keys = permuted ? keys_in_order(dims, qkv.k_order, *v_fp16) : std::vector<float>();
  const float* v_rows = permuted ? v_keys.data() : v_fp16->data();
  auto make_pv = [&](int64_t bkv) {
    return FloatPV<true>{v_rows + bkv * dims.seq_kv * d, d, cfg.l_from_quantized_p, {}, {}};
  };
  return run_rows(dims, cfg.kv_block, exec, make_pv, score_row);
}

std::vector<float> int8_attention_host(const AttnDims& dims, const QuantConfig& cfg,
                                       const std::vector<float>& q, const std::vector<float>& k,
                                       const std::vector<float>& v, KernelId kernel, const host::CpuExec& exec) {
  const QuantizedHost qkv = quantize_qkv_host(dims, cfg, q, k, v, kernel == KernelId::Int8Full);
  const host::TalliedBytes quantized_bytes(exec.tally, qkv.bytes());
  return int8_attention_from_quantized(dims, cfg, qkv, kernel, &v, exec);
}

std::vector<float> fp16_flash_attention_host(const AttnDims& dims, int64_t kv_block,
                                             const std::vector<float>& q, const std::vector<float>& k,
                                             const std::vector<float>& v, const host::CpuExec& exec) {
  host::validate_dims(dims);
  if (kv_block <= 0) throw std::invalid_argument("fp16-fa emulation: kv_block must be positive");
  if (static_cast<int64_t>(q.size()) != dims.q_elements() || static_cast<int64_t>(k.size()) != dims.kv_elements() ||
      static_cast<int64_t>(v.size()) != dims.kv_elements()) {
    throw std::invalid_argument("fp16-fa emulation: tensor sizes do not match the dims");
  }
  const int64_t d = dims.head_dim;
  const float score_scale = effective_sm_scale(dims) * kLog2e;  // log2 domain, as the kernel
  auto score_row = [&](int64_t bh, int64_t bkv, int64_t i, int64_t n_visible, float* s) {
    const float* q_row = q.data() + (bh * dims.seq_q + i) * d;
    const float* k_head = k.data() + bkv * dims.seq_kv * d;
    for (int64_t j = 0; j < n_visible; ++j) {
      float dot = 0.f;
      for (int64_t c = 0; c < d; ++c) dot += q_row[c] * k_head[j * d + c];
      s[j] = dot * score_scale;
    }
    return n_visible;
  };
  auto make_pv = [&](int64_t bkv) { return FloatPV<true>{v.data() + bkv * dims.seq_kv * d, d, false, {}, {}}; };
  return run_rows(dims, kv_block, exec, make_pv, score_row);
}

}  // namespace int8attn::cpu
