#include "src/bench/partition.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace int8attn {
namespace {

// Fitted on the H200 reports in results/ (wall seconds per case and kernel, least
// relative error): about 0.2 s + 0.116 s per TFLOP, i.e. 200 units + 1 unit per 8.6 GFLOP.
constexpr int64_t kFixedCost = 200;
constexpr int64_t kFlopsPerUnit = 8'600'000'000;

}  // namespace

int64_t estimated_case_cost(const AttnDims& d) {
  // attention_flops (common/attn_types.h) in 128-bit integers: 128K-token cases overflow
  // nothing, and every machine computes the same split (no floating-point rounding).
  unsigned __int128 flops = 4;
  for (int64_t factor : {d.batch, d.heads, d.seq_q, d.seq_kv, d.head_dim}) {
    flops *= static_cast<unsigned __int128>(std::max<int64_t>(factor, 0));
  }
  if (d.causal) flops /= 2;
  const unsigned __int128 units = flops / kFlopsPerUnit;
  constexpr int64_t kCap = std::numeric_limits<int64_t>::max() / 1'000'000;  // sums of many stay finite
  return kFixedCost + static_cast<int64_t>(std::min<unsigned __int128>(units, kCap));
}

namespace {

// Positions of `cases`, most costly first; equal costs keep the list's order.
std::vector<size_t> by_cost_descending(const std::vector<const BenchCase*>& cases) {
  std::vector<int64_t> cost(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) cost[i] = estimated_case_cost(cases[i]->dims);
  std::vector<size_t> order(cases.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  return order;
}

}  // namespace

std::vector<size_t> shard_positions(const std::vector<const BenchCase*>& cases, const ShardSpec& shard) {
  std::vector<int64_t> load(static_cast<size_t>(shard.count), 0);
  std::vector<size_t> mine;
  for (size_t position : by_cost_descending(cases)) {
    const size_t lightest = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[lightest] += estimated_case_cost(cases[position]->dims);
    if (static_cast<int64_t>(lightest) + 1 == shard.index) mine.push_back(position);
  }
  std::sort(mine.begin(), mine.end());
  return mine;
}

std::vector<BenchCase> select_shard(std::vector<BenchCase> cases, const ShardSpec& shard) {
  std::vector<const BenchCase*> list;
  for (const BenchCase& c : cases) list.push_back(&c);
  std::vector<BenchCase> mine;
  for (size_t position : shard_positions(list, shard)) mine.push_back(std::move(cases[position]));
  return mine;
}

std::vector<const BenchCase*> longest_first(std::vector<const BenchCase*> cases) {
  std::vector<const BenchCase*> ordered;
  ordered.reserve(cases.size());
  for (size_t position : by_cost_descending(cases)) ordered.push_back(cases[position]);
  return ordered;
}

}  // namespace int8attn
