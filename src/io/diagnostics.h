// Notes, progress and error messages for the person at the terminal. A stderr that cannot
// be written (closed with 2>&-, /dev/full) must not turn a run into a crash or lose its
// report: fmt::print throws on a failed write, and a throw from an error handler ends in
// std::terminate. These writers drop what they cannot write instead.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace int8attn {

// Length of the UTF-8 character at text[i] (1-4), or 0 where the bytes there are not one.
size_t utf8_char_length(std::string_view text, size_t i);

// The longest prefix of `text` of at most `max_bytes` that does not end inside a UTF-8
// character (a cut message must stay valid UTF-8 for a JSON writer).
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

// `text` with what a terminal would act on made inert, for one cell of a table: control
// characters (C0, DEL, C1) as U+FFFD, tab and newlines as spaces (kept with keep_line_breaks:
// a quoted CSV field holds them), bytes that are not UTF-8 as U+FFFD. Nothing is cut.
std::string terminal_safe(std::string_view text, bool keep_line_breaks = false);

// Whether the n-byte UTF-8 character at text[i] reorders the text around it (U+202A-U+202E,
// U+2066-U+2069, LRM, RLM): a case id that would read reversed.
bool is_bidi_control(std::string_view text, size_t i, size_t n);

// A whole text view for a terminal: terminal_safe line by line, so its line breaks stay and
// every other control character (a CR, an escape sequence in a report's string) is replaced.
std::string terminal_safe_lines(std::string_view text);

// `text` safe to show on a terminal or in a one-line message: control characters as escapes
// ("\n", "\x1b"), bytes that are not UTF-8 as U+FFFD, and at most `max_bytes` (cut between
// characters, "..." added). For what a user wrote: keys, values and paths echoed in errors.
std::string printable(std::string_view text, size_t max_bytes = 200);

// Writes `text` to `out` and flushes it; a failure is ignored (there is nowhere to say it).
void write_diagnostic(std::FILE* out, std::string_view text) noexcept;

// fmt::print(stderr, ...) that never throws on a failed write.
template <typename... Args>
void diag(fmt::format_string<Args...> format, Args&&... args) {
  write_diagnostic(stderr, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace int8attn
