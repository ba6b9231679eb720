// Splitting a sweep's cases across machines (shards) and GPUs (longest first), by an
// estimated cost rather than by count: one 32K-token case costs as much as hundreds of
// 1K-token ones. docs/scale-out.md says how the estimate was fitted.
#pragma once
#include <cstdint>
#include <vector>

#include "src/model/case.h"
#include "src/model/shard.h"

namespace int8attn {

// A case's estimated cost in integer units (about a millisecond of an H200 per kernel):
// a fixed part for warm-up and the minimum sampling time, plus a part proportional to the
// attention FLOPs. Integer so that every machine computes the same partition.
int64_t estimated_case_cost(const AttnDims& dims);

// Positions (into `cases`) of the cases that shard `shard` runs: a greedy partition of
// the cases, most costly first, each to the shard with the least estimated cost so far
// (ties: the lower shard, the earlier case). Depends only on the list, so shard I of N
// selects the same cases on any machine; the N shards together hold every case once.
// Returned in the list's order.
std::vector<size_t> shard_positions(const std::vector<const BenchCase*>& cases, const ShardSpec& shard);

// The cases of shard `shard`, in their order: shard_positions applied to the list.
std::vector<BenchCase> select_shard(std::vector<BenchCase> cases, const ShardSpec& shard);

// `cases` reordered most costly first (ties keep the list's order): the order in which
// workers on several GPUs take them, so the longest cases do not come last.
std::vector<const BenchCase*> longest_first(std::vector<const BenchCase*> cases);

}  // namespace int8attn
