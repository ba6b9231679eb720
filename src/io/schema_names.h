// The "schema" names of the tool's JSON files, at the bottom layer: report writes and reads
// them, and io (which report includes, so never the other way) recognises a checkpoint by its
// header before replacing a file. One spelling for both.
#pragma once
#include <string_view>

namespace int8attn {

inline constexpr const char* kCheckpointSchema = "int8attn-bench/checkpoint/v1";
// Any version's checkpoint header, this build's or another's, holds this.
inline constexpr std::string_view kCheckpointSchemaPrefix =
    std::string_view(kCheckpointSchema).substr(0, std::string_view(kCheckpointSchema).rfind('/') + 1);

}  // namespace int8attn
