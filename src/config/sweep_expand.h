// The axes of a sweep after parsing, and their expansion into cases (cartesian product,
// exclude rules, per-case checks, de-duplication).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/config/sweep_config.h"
#include "src/model/case.h"

namespace int8attn {

struct SeqPair {
  int64_t seq_q = 1;
  int64_t seq_kv = 1;
};

struct SweepAxes {
  std::vector<int64_t> batch;
  std::vector<int64_t> heads;
  std::optional<std::vector<int64_t>> kv_heads;  // nullopt: each case uses kv_heads = heads
  bool seq_from_seq_len = true;  // "seq_len" given (else the product of "seq_q" x "seq_kv")
  std::vector<int64_t> seq_q_axis, seq_kv_axis;  // as given (equal lists for "seq_len")
  std::vector<SeqPair> seqs;     // the seq axis: seq_q outer, seq_kv inner when given separately
  std::vector<int64_t> head_dim;
  std::vector<bool> causal;
  std::vector<InputSpec> inputs;
  std::vector<QkRotation> rotations = {QkRotation::None};  // quantization.rotation, as an axis
};

// The most cases the axes' product may give, excluded cases included.
inline constexpr size_t kMaxProductCases = 100000;

// Does the rule remove this case? (every field it sets matches)
bool exclude_matches(const ExcludeRule& rule, const BenchCase& c);

// Cases in the documented order: batch, heads, kv_heads, seq, head_dim, causal, input,
// rotation (outer to inner). Excluded cases are dropped, duplicates (same id) kept once. Throws
// ConfigError for a surviving combination that is invalid (kv_heads not dividing heads,
// more outlier channels than head_dim, a Hadamard rotation of a head_dim that is not a
// power of two) or when nothing survives.
std::vector<BenchCase> expand_cases(const SweepAxes& axes, const std::vector<ExcludeRule>& excludes,
                                    const std::string& file);

}  // namespace int8attn
