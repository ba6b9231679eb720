// A shard of a sweep's cases: which part of the list one machine runs (`sweep --shard 2/3`).
// The partition that fills it is src/bench/partition.h's.
#pragma once
#include <cstdint>
#include <string>

namespace int8attn {

// Shard `index` of `count`, 1-based as on the command line (`--shard 2/3`).
struct ShardSpec {
  int64_t index = 1;
  int64_t count = 1;
};

// The most shards a sweep may be cut into (and a report may claim to be one of).
inline constexpr int64_t kMaxShards = 1'000'000;

// "I/N" with 1 <= I <= N; throws std::invalid_argument naming `option` and what was expected.
ShardSpec parse_shard(const std::string& text, const std::string& option = "--shard");
std::string to_string(const ShardSpec& shard);

}  // namespace int8attn
