// What differs between two JSON documents, in words, for messages that must say exactly
// which setting changed (a resume with other options, a merge of different sweeps).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace int8attn {

// "kernels: [a,b] then, [a,b,c] now; thresholds.max_mse: 0.001 then, 0.01 now" with
// labels "then"/"now": objects are entered key by key, anything else is shown whole.
// Empty when the two are equal.
std::string describe_json_differences(const nlohmann::json& a, const nlohmann::json& b, const std::string& a_label,
                                      const std::string& b_label);

}  // namespace int8attn
