#include "src/io/json_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

namespace int8attn {
namespace {

using nlohmann::json;

constexpr int kNumberOverflow = 406;  // nlohmann's out_of_range id for a number beyond double's range

// Whether a JSON number's text is nonzero: a digit 1-9 before its exponent ("1e-400", "-0.5").
bool has_nonzero_digit_before_exponent(std::string_view literal) {
  const std::string_view mantissa = literal.substr(0, literal.find_first_of("eE"));
  return mantissa.find_first_of("123456789") != std::string_view::npos;
}

// Whether a JSON number's text is an integer's: no fraction, no exponent. One that reaches
// number_float did not fit 64 bits.
bool is_integer_literal(std::string_view literal) { return literal.find_first_of(".eE") == std::string_view::npos; }

// A number's text as typed, bounded for a message (a literal may be thousands of digits long).
std::string shown_literal(std::string_view literal) {
  constexpr size_t kMaxShown = 40;
  return literal.size() <= kMaxShown ? std::string(literal) : std::string(literal.substr(0, kMaxShown)) + "...";
}

// Builds the document through nlohmann's own DOM builder, watching depth and keys on the way.
class CheckedSax {
 public:
  explicit CheckedSax(json& result) : dom_(result, /*allow_exceptions=*/true) {}

  bool null() { return value(), dom_.null(); }
  bool boolean(bool v) { return value(), dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return value(), dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value(), dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& literal) {
    value();
    // nlohmann reads 1e-400 as 0.0 without a word (it refuses only an overflow), and a later
    // "found number 0.0" would name a value nobody wrote: refused here, where the text is known.
    if (v == 0 && has_nonzero_digit_before_exponent(literal)) {
      throw JsonTextError(path(), fmt::format("expected 0 or a number of magnitude at least 4.9e-324 (the smallest "
                                              "double), found {}, which would read as 0", shown_literal(literal)),
                          false);
    }
    // An integer beyond 64 bits (99999999999999999999) would read as the double 1e+20, and a
    // later "found number 1e+20" names neither what was written nor an integer: refused here.
    if (is_integer_literal(literal)) {
      throw JsonTextError(path(), fmt::format("expected an integer from {} to {}, found {} (a number this large is "
                                              "written with an exponent: {:g})", std::numeric_limits<int64_t>::min(),
                                              std::numeric_limits<uint64_t>::max(), shown_literal(literal), v),
                          false);
    }
    return dom_.number_float(v, literal);
  }
  bool string(json::string_t& v) { return value(), dom_.string(v); }
  bool binary(json::binary_t& v) { return value(), dom_.binary(v); }

  bool start_object(std::size_t n) {
    open(false);
    return dom_.start_object(n);
  }
  bool key(json::string_t& k) {
    Frame& frame = frames_.back();
    if (!frame.keys.insert(k).second) {
      throw JsonTextError(child_path(k), fmt::format("duplicate key \"{}\" (a key may appear once per object)", k),
                          false);
    }
    frame.key = k;
    return dom_.key(k);
  }
  bool end_object() {
    frames_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    open(true);
    return dom_.start_array(n);
  }
  bool end_array() {
    frames_.pop_back();
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& e) {
    // A number beyond double's range (1e400): named at its path, as an underflow is, instead
    // of as a syntax error of the whole text.
    if constexpr (std::is_same_v<Exception, json::out_of_range>) {
      if (e.id == kNumberOverflow) {
        value();
        throw JsonTextError(path(), fmt::format("expected a number of magnitude at most 1.8e308 (the largest "
                                                "double), found {}", shown_literal(token)), false);
      }
    }
    return dom_.parse_error(position, token, e);  // throws e
  }

 private:
  struct Frame {
    bool is_array = false;
    size_t elements = 0;  // arrays: elements started so far
    std::string key;      // objects: the current key
    std::unordered_set<std::string> keys;
  };

  void value() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().elements;
  }

  void open(bool is_array) {
    value();
    if (frames_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
      std::string where = path();
      if (where.size() > 60) where = where.substr(0, 60) + "...";  // 64 levels of "[0]" say nothing more
      throw JsonTextError(where, fmt::format("nested deeper than {} levels (expected at most {})",
                                              kMaxJsonDepth, kMaxJsonDepth), false);
    }
    frames_.push_back(Frame{is_array, 0, {}, {}});
  }

  // Path of the value being parsed now: "axes.batch[1]".
  std::string path() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.is_array) {
        out += fmt::format("[{}]", f.elements == 0 ? 0 : f.elements - 1);
      } else {
        out += out.empty() ? f.key : "." + f.key;
      }
    }
    return out;
  }
  std::string child_path(const std::string& key) const {
    const std::string parent = path_of_container();
    return parent.empty() ? key : parent + "." + key;
  }
  // Path of the innermost open container (its own key/index in its parent).
  std::string path_of_container() const {
    std::string out;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      out += f.is_array ? fmt::format("[{}]", f.elements - 1) : (out.empty() ? f.key : "." + f.key);
    }
    return out;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<Frame> frames_;
};

// nlohmann's messages start with "[json.exception.parse_error.101] "; the tag helps no user.
std::string without_tag(const char* what) {
  std::string text = what;
  if (auto tag_end = text.find("] "); text.rfind("[json.exception", 0) == 0 && tag_end != std::string::npos) {
    text = text.substr(tag_end + 2);
  }
  return text;
}

}  // namespace

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string report_style_path(const std::string& path) {
  if (path.empty()) return "$";
  return path.front() == '[' ? "$" + path : "$." + path;
}

json parse_json_text(std::string_view text, bool ignore_comments) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    throw JsonTextError("", fmt::format("a NUL byte at offset {} (expected JSON text; not a text file?)", nul),
                        true);
  }
  json result;
  CheckedSax sax(result);
  try {
    json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, /*strict=*/true, ignore_comments);
  } catch (const json::exception& e) {  // parse_error
    throw JsonTextError("", "a " + without_tag(e.what()), true);
  }
  return result;
}

std::string read_file_bounded(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FileReadError(fmt::format("none ({})", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw FileReadError("a directory");
  }
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      throw FileReadError(fmt::format("a read error ({})", std::strerror(error)));
    }
    if (text.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      throw FileReadError(fmt::format("more than {} MiB (the limit for this kind of file)", max_bytes >> 20));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace int8attn
