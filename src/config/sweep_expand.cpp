#include "src/config/sweep_expand.h"

#include <array>
#include <map>
#include <unordered_set>

#include <fmt/format.h>

#include "common/hadamard.h"

namespace int8attn {
namespace {

// Axis positions in the odometer, outer to inner.
enum AxisPosition { kBatch, kHeads, kKvHeads, kSeq, kHeadDim, kCausal, kInput, kRotation, kAxisCount };
using AxisIndex = std::array<size_t, kAxisCount>;

AxisIndex axis_sizes(const SweepAxes& axes) {
  return {axes.batch.size(),
          axes.heads.size(),
          axes.kv_heads ? axes.kv_heads->size() : 1,
          axes.seqs.size(),
          axes.head_dim.size(),
          axes.causal.size(),
          axes.inputs.size(),
          axes.rotations.size()};
}

// A larger product is almost certainly a typo, and would take days to run.

void check_product_size(const AxisIndex& sizes, const std::string& file) {
  size_t product = 1;
  for (size_t n : sizes) {
    product *= n;  // each n <= json array size, and we stop before overflow
    if (product > kMaxProductCases) {
      throw ConfigError(file, "axes",
                        fmt::format("expected at most {} cases in the product of the axes, found more",
                                    kMaxProductCases));
    }
  }
}

// Advances the mixed-radix counter (innermost axis fastest); false after the last case.
bool advance(AxisIndex& index, const AxisIndex& sizes) {
  for (int axis = kAxisCount - 1; axis >= 0; --axis) {
    if (++index[axis] < sizes[axis]) return true;
    index[axis] = 0;
  }
  return false;
}

BenchCase make_case(const SweepAxes& axes, const AxisIndex& at) {
  BenchCase c;
  c.dims.batch = axes.batch[at[kBatch]];
  c.dims.heads = axes.heads[at[kHeads]];
  c.dims.kv_heads = axes.kv_heads ? (*axes.kv_heads)[at[kKvHeads]] : c.dims.heads;
  c.dims.seq_q = axes.seqs[at[kSeq]].seq_q;
  c.dims.seq_kv = axes.seqs[at[kSeq]].seq_kv;
  c.dims.head_dim = axes.head_dim[at[kHeadDim]];
  c.dims.causal = axes.causal[at[kCausal]];
  c.input = axes.inputs[at[kInput]];
  c.rotation = axes.rotations[at[kRotation]];
  c.id = make_case_id(c.dims, c.input, c.rotation);
  return c;
}

// Checks combinations of axis values that are each valid alone.
void check_combination(const BenchCase& c, const AxisIndex& at, const std::string& file) {
  if (c.dims.heads % c.dims.kv_heads != 0) {
    throw ConfigError(file, fmt::format("axes.kv_heads[{}]", at[kKvHeads]),
                      fmt::format("expected a divisor of heads ({}), found {}; drop the combination "
                                  "with an exclude rule such as {{\"heads\": {}, \"kv_heads\": {}}}",
                                  c.dims.heads, c.dims.kv_heads, c.dims.heads, c.dims.kv_heads));
  }
  const bool has_channels = c.input.distribution == Distribution::OutlierChannels ||
                            c.input.distribution == Distribution::OutlierScale;
  if (has_channels &&
      c.input.outlier_channels > c.dims.head_dim) {
    throw ConfigError(file, fmt::format("axes.input[{}].channels", at[kInput]),
                      fmt::format("expected at most head_dim ({}) outlier channels, found {}",
                                  c.dims.head_dim, c.input.outlier_channels));
  }
  if (c.rotation == QkRotation::Hadamard && !is_power_of_two(c.dims.head_dim)) {
    throw ConfigError(file, fmt::format("axes.head_dim[{}]", at[kHeadDim]),
                      fmt::format("expected a power of two with quantization.rotation \"hadamard\" (the "
                                  "Walsh-Hadamard transform), found {}; sweep it without the rotation",
                                  c.dims.head_dim));
  }
}

// The exclude rules, grouped by which fields they set: a case is excluded when its values of
// one group's fields are in that group's set. Cost per case: one lookup per group (at most
// 2^8 groups), not one match per rule (100 000 rules × 100 000 cases took minutes).
class ExcludeIndex {
 public:
  explicit ExcludeIndex(const std::vector<ExcludeRule>& rules) {
    for (const ExcludeRule& r : rules) {
      const Fields fields = rule_fields(r);
      groups_[fields.mask].insert(key(fields.values, fields.mask));
    }
  }

  bool excludes(const BenchCase& c) const {
    const Fields fields = case_fields(c);
    for (const auto& [mask, keys] : groups_) {
      if (keys.count(key(fields.values, mask))) return true;
    }
    return false;
  }

 private:
  static constexpr int kFieldCount = 8;
  struct Fields {
    std::array<int64_t, kFieldCount> values{};
    unsigned mask = 0;  // bit i: the rule sets field i
  };

  static Fields rule_fields(const ExcludeRule& r) {
    Fields f;
    auto put = [&f](int i, const auto& v) {
      if (v) f.values[i] = static_cast<int64_t>(*v), f.mask |= 1u << i;
    };
    put(0, r.batch), put(1, r.heads), put(2, r.kv_heads), put(3, r.seq_q), put(4, r.seq_kv);
    put(5, r.head_dim), put(6, r.causal), put(7, r.distribution);
    return f;
  }
  static Fields case_fields(const BenchCase& c) {
    const AttnDims& d = c.dims;
    return {{d.batch, d.heads, d.kv_heads, d.seq_q, d.seq_kv, d.head_dim, d.causal,
             static_cast<int64_t>(c.input.distribution)},
            (1u << kFieldCount) - 1};
  }
  static std::string key(const std::array<int64_t, kFieldCount>& values, unsigned mask) {
    std::string k;
    for (int i = 0; i < kFieldCount; ++i) {
      if (mask & (1u << i)) k.append(reinterpret_cast<const char*>(&values[i]), sizeof(int64_t));
    }
    return k;
  }

  std::map<unsigned, std::unordered_set<std::string>> groups_;
};

}  // namespace

bool exclude_matches(const ExcludeRule& rule, const BenchCase& c) {
  auto same = [](const auto& wanted, const auto& actual) { return !wanted || *wanted == actual; };
  return same(rule.batch, c.dims.batch) && same(rule.heads, c.dims.heads) &&
         same(rule.kv_heads, c.dims.kv_heads) && same(rule.seq_q, c.dims.seq_q) &&
         same(rule.seq_kv, c.dims.seq_kv) && same(rule.head_dim, c.dims.head_dim) &&
         same(rule.causal, c.dims.causal) && same(rule.distribution, c.input.distribution);
}

std::vector<BenchCase> expand_cases(const SweepAxes& axes, const std::vector<ExcludeRule>& excludes,
                                    const std::string& file) {
  const AxisIndex sizes = axis_sizes(axes);
  check_product_size(sizes, file);
  std::vector<BenchCase> cases;
  std::unordered_set<std::string> seen_ids;
  const ExcludeIndex exclude_index(excludes);
  AxisIndex at{};
  do {
    BenchCase c = make_case(axes, at);
    if (exclude_index.excludes(c)) continue;
    check_combination(c, at, file);
    if (!seen_ids.insert(c.id).second) {
      // Same id: the same case given twice (silently kept once), unless the inputs are
      // files from different directories, which the id cannot tell apart.
      for (const BenchCase& earlier : cases) {
        if (earlier.id == c.id && earlier.input.npy_dir != c.input.npy_dir) {
          throw ConfigError(file, fmt::format("axes.input[{}].npy_dir", at[kInput]),
                            fmt::format("expected one npy_dir per shape, found \"{}\" and \"{}\" "
                                        "for case {}", earlier.input.npy_dir, c.input.npy_dir, c.id));
        }
      }
      continue;
    }
    cases.push_back(std::move(c));
  } while (advance(at, sizes));
  if (cases.empty()) {
    throw ConfigError(file, "exclude",
                      "expected at least one case left after the exclude rules, found none");
  }
  return cases;
}

}  // namespace int8attn
