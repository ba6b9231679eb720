#include "src/io/diagnostics.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>

namespace int8attn {

size_t utf8_char_length(std::string_view text, size_t i) {
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

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return text.substr(0, cut);
}

bool is_bidi_control(std::string_view text, size_t i, size_t n) {
  if (n != 3 || static_cast<unsigned char>(text[i]) != 0xE2) return false;
  const auto b1 = static_cast<unsigned char>(text[i + 1]), b2 = static_cast<unsigned char>(text[i + 2]);
  return (b1 == 0x80 && ((b2 >= 0xAA && b2 <= 0xAE) || b2 == 0x8E || b2 == 0x8F)) ||  // U+202A-E, LRM, RLM
         (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9);                                     // U+2066-9 isolates
}

std::string terminal_safe(std::string_view text, bool keep_line_breaks) {
  static constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_char_length(text, i);
    if (n == 0) {
      out += kReplacement;
      i += 1;
      continue;
    }
    if (c == '\t' || c == '\n' || c == '\r') {
      out += keep_line_breaks ? static_cast<char>(c) : ' ';
    } else if (c < 0x20 || c == 0x7F || (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) ||
               is_bidi_control(text, i, n)) {
      out += kReplacement;  // C0, DEL, C1 (U+0080-U+009F: 8-bit CSI and friends), bidi overrides
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string terminal_safe_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    out += terminal_safe(text.substr(start, end - start));
    if (end == text.size()) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = utf8_char_length(text, i);
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
    } else if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {  // C1: U+0080-U+009F
      piece = fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
    } else {
      piece = std::string(text.substr(i, n));
    }
    if (out.size() + piece.size() > max_bytes) return out + "...";
    out += piece;
    i += n;
  }
  return out;
}

namespace {

// Blocks SIGPIPE in this thread while it lives and takes back one it raised: a diagnostic to a
// pipe whose reader went away (sweep 2>&1 | head -1) is dropped like any failed write, where
// the signal killed a sweep at its next progress line, before its report.
class SigpipeHeld {
 public:
  SigpipeHeld() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigemptyset(&pending_);
    sigpending(&pending_);  // one already pending is not ours to take
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
  }
  ~SigpipeHeld() {
    sigset_t now;
    sigemptyset(&now);
    const timespec no_wait{0, 0};
    if (!sigismember(&pending_, SIGPIPE) && sigpending(&now) == 0 && sigismember(&now, SIGPIPE)) {
      sigtimedwait(&sigpipe_, nullptr, &no_wait);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeHeld(const SigpipeHeld&) = delete;
  SigpipeHeld& operator=(const SigpipeHeld&) = delete;

 private:
  sigset_t sigpipe_{}, pending_{}, previous_{};
};

}  // namespace

void write_diagnostic(std::FILE* out, std::string_view text) noexcept {
  if (out == nullptr || text.empty()) return;
  const SigpipeHeld held;
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fflush(out) != 0) std::clearerr(out);
}

}  // namespace int8attn
