// Self-contained SHA-256 (FIPS 180-4), used to fingerprint config files in reports.
#pragma once
#include <string>
#include <string_view>

namespace int8attn {

// Lower-case hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);

}  // namespace int8attn
