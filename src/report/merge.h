// `merge`: one report from the reports of shards (`sweep --shard`) or of separate runs of
// one sweep. Reports of different sweeps are refused unless the caller allows mixing,
// since their cases would not be comparable; a case id twice is always refused.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "src/report/report.h"

namespace int8attn {

// A merge that cannot be done: names the files and what differs (exit code 2).
class MergeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MergeInput {
  std::string source;  // the file, for messages and the merged report's `parts`
  Report report;
};

struct MergeResult {
  Report report;
  // What the user should know: differences merged under allow_mixed, incomplete parts,
  // shards that are missing.
  std::vector<std::string> notes;
};

// What makes two reports parts of different sweeps: schema, tool version and commit,
// config bytes, options after overrides (or settings, for reports without them),
// backend, shard count. Each entry names the field and both values; empty when none.
std::vector<std::string> sweep_differences(const MergeInput& a, const MergeInput& b);

// Merges in input order: every case once (in `case_order`, the ids of the sweep's config
// in its order as config/sweep_config.h's expanded_case_ids gives them; ids it lacks after,
// in input order), every environment kept (each case says which one ran it), incomplete
// when any part is or a shard of the set is missing. Throws MergeError for no input, a case
// id in two parts, the same shard twice, and — unless allow_mixed — any sweep difference.
MergeResult merge_reports(const std::vector<MergeInput>& inputs, bool allow_mixed,
                          const std::vector<std::string>& case_order);

}  // namespace int8attn
