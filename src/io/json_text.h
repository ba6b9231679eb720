// Reading the JSON files a user hands us (configs, reports, checkpoints) so that no input
// can crash the tool or be half-read:
//  - the file must be a file (a directory is named as such) of at most a size cap (so
//    `compare A /dev/zero` stops instead of growing without bound); FIFOs are allowed, so
//    `validate <(jq ... )` works;
//  - the text may not contain a NUL byte (nlohmann's lexer would stop there and ignore the rest);
//  - nesting is bounded (kMaxJsonDepth) while parsing, through a SAX handler: 100 000 nested
//    `[` would otherwise overflow the stack in recursive code that later walks or dumps it;
//  - a key repeated in one object is an error instead of a silent "last one wins";
//  - a number a double cannot hold is an error at its path, named as written: 1e400, and
//    1e-400, which the library would silently read as 0; so is an integer beyond 64 bits
//    (99999999999999999999), which it would read as the double 1e+20.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace int8attn {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr size_t kMaxConfigBytes = size_t{64} << 20;   // a config of 100 000 rules is ~4 MB
inline constexpr size_t kMaxReportBytes = size_t{1} << 30;  // 40 000 GPU cases: ~220 MB, more with samples

// What went wrong and where: `path` is the JSON path ("axes.batch[1]", "" for the whole
// text); `syntax` marks a malformed text (message from the JSON library, with line/column).
class JsonTextError : public std::runtime_error {
 public:
  JsonTextError(std::string path, std::string message, bool syntax)
      : std::runtime_error(message), path_(std::move(path)), syntax_(syntax) {}
  const std::string& path() const { return path_; }
  bool syntax() const { return syntax_; }

 private:
  std::string path_;
  bool syntax_;
};

// "$" joined with a JsonTextError path as reports write paths: "$.cases[2]", "$[0]", "$".
std::string report_style_path(const std::string& path);

// JSON text of a document that may hold what a user typed or named (paths, -a values, error
// messages): bytes that are not UTF-8 become U+FFFD instead of a type_error. indent -1: one line.
std::string dump_json(const nlohmann::json& value, int indent = -1);

// Parses `text` with the checks above. Throws JsonTextError.
nlohmann::json parse_json_text(std::string_view text, bool ignore_comments = false);

// Reads a whole file of at most `max_bytes`. Throws FileReadError whose message completes
// "expected a readable file, found ...": "a directory", "more than 64 MiB", "none (No such file or directory)".
class FileReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
std::string read_file_bounded(const std::string& path, size_t max_bytes);

}  // namespace int8attn
