// Selecting cases by id: the one matcher behind `sweep --filter` and `compare --filter`.
#pragma once
#include <string>
#include <vector>

#include "src/model/case.h"

namespace int8attn {

// A glob (*, ?, [...], [!...]) when the pattern has one of * ? [, else a substring; an empty
// pattern matches everything.
bool case_id_matches(const std::string& id, const std::string& pattern);

// The cases whose id matches `pattern`, in order. Throws std::invalid_argument naming
// `option` and showing a few ids when none does: a filter that selects nothing is a typo,
// not an empty sweep.
std::vector<BenchCase> select_cases(std::vector<BenchCase> cases, const std::string& pattern,
                                    const std::string& option);

}  // namespace int8attn
