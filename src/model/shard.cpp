#include "src/model/shard.h"

#include <charconv>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace int8attn {
namespace {

bool parse_int(std::string_view text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

ShardSpec parse_shard(const std::string& text, const std::string& option) {
  const size_t slash = text.find('/');
  ShardSpec shard;
  const bool parsed = slash != std::string::npos && parse_int(std::string_view(text).substr(0, slash), shard.index) &&
                      parse_int(std::string_view(text).substr(slash + 1), shard.count);
  if (!parsed || shard.count < 1 || shard.count > kMaxShards || shard.index < 1 || shard.index > shard.count) {
    throw std::invalid_argument(fmt::format(
        "{} '{}': expected I/N, shard I of N, with 1 <= I <= N <= {} (e.g. 2/3)", option, text, kMaxShards));
  }
  return shard;
}

std::string to_string(const ShardSpec& shard) { return fmt::format("{}/{}", shard.index, shard.count); }

}  // namespace int8attn
