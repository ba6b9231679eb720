// Shards and the longest-first queue: every case in exactly one shard, balanced by
// estimated cost, the same on every call; `--shard` text checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "src/bench/partition.h"
#include "src/model/shard.h"

using namespace int8attn;

namespace {

BenchCase make_case(int64_t batch, int64_t seq, bool causal = false) {
  BenchCase c;
  c.dims = AttnDims{batch, 16, 16, seq, seq, 128, causal, 0.f};
  c.id = make_case_id(c.dims, c.input);
  return c;
}

// A study-like mix: a few long-context cases among many short ones.
std::vector<BenchCase> mixed_cases() {
  std::vector<BenchCase> cases;
  for (int64_t seq : {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536}) {
    for (int64_t batch : {1, 2, 4}) {
      for (bool causal : {false, true}) cases.push_back(make_case(batch, seq, causal));
    }
  }
  return cases;
}

std::vector<const BenchCase*> pointers(const std::vector<BenchCase>& cases) {
  std::vector<const BenchCase*> out;
  for (const BenchCase& c : cases) out.push_back(&c);
  return out;
}

int64_t cost_of(const std::vector<const BenchCase*>& cases, const std::vector<size_t>& positions) {
  int64_t total = 0;
  for (size_t p : positions) total += estimated_case_cost(cases[p]->dims);
  return total;
}

}  // namespace

TEST(Shard, ParsesIOfN) {
  const ShardSpec s = parse_shard("2/3");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(to_string(s), "2/3");
  EXPECT_EQ(parse_shard("1/1").count, 1);
}

TEST(Shard, RejectsWhatIsNotIOfN) {
  for (const char* bad : {"0/3", "4/3", "3", "/3", "1/", "1/0", "-1/3", "a/b", "1/3/3", "1 /3", "2/1000001", ""}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("--shard"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("1 <= I <= N"), std::string::npos) << e.what();
    }
  }
}

TEST(Shard, EstimatedCostGrowsWithWorkAndHalvesItsFlopPartWhenCausal) {
  const int64_t small = estimated_case_cost(make_case(1, 1024).dims);
  const int64_t large = estimated_case_cost(make_case(1, 32768).dims);
  EXPECT_GT(small, 0);  // even a tiny case costs its fixed part
  EXPECT_GT(large, 5 * small);  // 32x the tokens: the FLOP part dominates
  const int64_t causal = estimated_case_cost(make_case(1, 32768, true).dims);
  EXPECT_LT(causal, large);
  EXPECT_GT(causal, large / 2);  // the fixed part does not halve
  // 128K tokens, batch 64: no overflow.
  BenchCase huge = make_case(64, 131072);
  huge.dims.heads = huge.dims.kv_heads = 128;
  EXPECT_GT(estimated_case_cost(huge.dims), large);
}

TEST(Shard, EveryCaseInExactlyOneShard) {
  const std::vector<BenchCase> cases = mixed_cases();
  const auto list = pointers(cases);
  for (int64_t n : {1, 2, 3, 7, 48, 60}) {
    std::vector<int> seen(cases.size(), 0);
    for (int64_t i = 1; i <= n; ++i) {
      const std::vector<size_t> mine = shard_positions(list, {i, n});
      EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end())) << "shard " << i << "/" << n << " not in list order";
      for (size_t p : mine) ++seen[p];
    }
    for (size_t p = 0; p < seen.size(); ++p) EXPECT_EQ(seen[p], 1) << cases[p].id << " with " << n << " shards";
  }
}

TEST(Shard, BalancedByCostNotByCount) {
  const std::vector<BenchCase> cases = mixed_cases();
  const auto list = pointers(cases);
  int64_t largest = 0;
  for (const BenchCase* c : list) largest = std::max(largest, estimated_case_cost(c->dims));
  for (int64_t n : {2, 3, 4, 8}) {
    std::vector<int64_t> loads;
    std::vector<size_t> counts;
    for (int64_t i = 1; i <= n; ++i) {
      const std::vector<size_t> mine = shard_positions(list, {i, n});
      loads.push_back(cost_of(list, mine));
      counts.push_back(mine.size());
    }
    const auto [lo, hi] = std::minmax_element(loads.begin(), loads.end());
    // Greedy on costs sorted descending: shards differ by at most one case's cost.
    EXPECT_LE(*hi - *lo, largest) << n << " shards";
    // The long cases are spread: no shard holds two 64K cases while another holds none.
    const auto [fewest, most] = std::minmax_element(counts.begin(), counts.end());
    if (n <= 4) EXPECT_GT(*most - *fewest, 1u) << "shards balanced by count, not by cost, with " << n;
  }
}

TEST(Shard, SameListSamePartitionAndMoreShardsThanCasesLeaveSomeEmpty) {
  const std::vector<BenchCase> cases = mixed_cases();
  EXPECT_EQ(shard_positions(pointers(cases), {2, 5}), shard_positions(pointers(mixed_cases()), {2, 5}));
  const std::vector<BenchCase> two = {make_case(1, 512), make_case(1, 1024)};
  EXPECT_EQ(shard_positions(pointers(two), {1, 4}).size(), 1u);
  EXPECT_EQ(shard_positions(pointers(two), {2, 4}).size(), 1u);
  EXPECT_TRUE(shard_positions(pointers(two), {3, 4}).empty());
  EXPECT_TRUE(shard_positions(pointers(two), {4, 4}).empty());
}

TEST(Shard, LongestFirstKeepsTheListOrderAmongEquals) {
  // b8 s512 costs a little more than b1 s512; b1 s512 full and causal cost the same.
  const std::vector<BenchCase> cases = {make_case(1, 512), make_case(1, 32768), make_case(8, 512), make_case(1, 4096),
                                        make_case(1, 512, true)};
  const std::vector<const BenchCase*> order = longest_first(pointers(cases));
  ASSERT_EQ(order.size(), cases.size());
  EXPECT_EQ(order[0], &cases[1]);
  EXPECT_EQ(order[1], &cases[3]);
  EXPECT_EQ(order[2], &cases[2]);
  EXPECT_EQ(order[3], &cases[0]);
  EXPECT_EQ(order[4], &cases[4]);
}
