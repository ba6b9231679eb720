// The one FLOP count (common/attn_types.h): what the report's TOPS, `profile`'s kernel-only
// and end-to-end TOPS, the progress line, the CPU backend's limit, the shard cost and
// tools/kernel_bench all divide by. Causal is half the full count for every shape (not the
// exact visible fraction), so every tool's causal TOPS agree.
#include <gtest/gtest.h>

#include <cmath>

#include "common/attn_types.h"
#include "src/bench/partition.h"

namespace int8attn {
namespace {

AttnDims dims(int64_t batch, int64_t heads, int64_t kv_heads, int64_t seq_q, int64_t seq_kv, int64_t head_dim,
              bool causal) {
  return AttnDims{batch, heads, kv_heads, seq_q, seq_kv, head_dim, causal, 0.f};
}

TEST(AttentionFlops, FourFlopsPerQueryKeyChannelAndKvHeadsDoNotCount) {
  EXPECT_DOUBLE_EQ(attention_flops(dims(2, 4, 4, 1024, 2048, 128, false)), 4.0 * 2 * 4 * 1024 * 2048 * 128);
  // GQA: every query head does its own QK^T and P·V, whatever heads it shares K and V with.
  EXPECT_DOUBLE_EQ(attention_flops(dims(2, 4, 1, 1024, 2048, 128, false)),
                   attention_flops(dims(2, 4, 4, 1024, 2048, 128, false)));
}

TEST(AttentionFlops, CausalIsExactlyHalfForEveryShape) {
  // Square, decode (one query row), prefill longer than the cache, odd lengths: always 1/2.
  for (const auto& [sq, skv] : {std::pair<int64_t, int64_t>{4096, 4096}, {1, 8192}, {300, 70}, {77, 77}, {130, 4100}}) {
    const double full = attention_flops(dims(1, 8, 2, sq, skv, 64, false));
    EXPECT_DOUBLE_EQ(attention_flops(dims(1, 8, 2, sq, skv, 64, true)), full / 2) << sq << "x" << skv;
  }
}

TEST(AttentionFlops, LargeShapesStayExact) {
  // 128K tokens: 4 * 32 * 2^17 * 2^17 * 128 = 2^48 FLOPs, exact in a double (no int64 product to overflow).
  const AttnDims d = dims(1, 32, 8, 131072, 131072, 128, false);
  EXPECT_DOUBLE_EQ(attention_flops(d), std::ldexp(1.0, 2 + 5 + 17 + 17 + 7));
}

TEST(AttentionTops, FlopsOverLatency) {
  AttnDims d = dims(2, 4, 4, 1024, 2048, 128, false);
  const double ops = 4.0 * 2 * 4 * 1024 * 2048 * 128;
  EXPECT_NEAR(attention_tops(d, 1.0), ops / 1e-3 / 1e12, 1e-9);
  EXPECT_NEAR(attention_tops(d, 0.25), 4 * attention_tops(d, 1.0), 1e-9);
  d.causal = true;
  EXPECT_NEAR(attention_tops(d, 1.0), ops / 2 / 1e-3 / 1e12, 1e-9);
}

TEST(AttentionTops, NoLatencyNoThroughput) {
  const AttnDims d = dims(1, 8, 8, 1024, 1024, 64, true);
  EXPECT_EQ(attention_tops(d, 0.0), 0.0);
  EXPECT_EQ(attention_tops(d, -1.0), 0.0);
  EXPECT_EQ(attention_tops(d, NAN), 0.0);
}

// The shard cost counts the same FLOPs in integers: 200 units + one per 8.6 GFLOP.
TEST(AttentionFlops, ShardCostCountsTheSameFlops) {
  for (bool causal : {false, true}) {
    for (int64_t seq : {1024, 4096, 32768}) {
      const AttnDims d = dims(1, 16, 16, seq, seq, 128, causal);
      EXPECT_EQ(estimated_case_cost(d), 200 + static_cast<int64_t>(attention_flops(d) / 8.6e9)) << seq << causal;
    }
  }
}

}  // namespace
}  // namespace int8attn
