#include "src/io/diagnostics.h"

namespace int8attn {
namespace {

// Length of the UTF-8 character at text[i], or 0 when the bytes there are not one.
size_t utf8_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t n = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) n = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) n = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) n = 4;
  else return 0;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = utf8_length(text, i);
    std::string piece;
    if (n == 0) {
      piece = "\xEF\xBF\xBD";  // U+FFFD
      n = 1;
    } else if (c == '\n') {
      piece = "\\n";
    } else if (c == '\t') {
      piece = "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      piece = fmt::format("\\x{:02x}", c);
    } else {
      piece = std::string(text.substr(i, n));
    }
    if (out.size() + piece.size() > max_bytes) return out + "...";
    out += piece;
    i += n;
  }
  return out;
}

void write_diagnostic(std::FILE* out, std::string_view text) noexcept {
  if (out == nullptr || text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fflush(out) != 0) std::clearerr(out);
}

}  // namespace int8attn
