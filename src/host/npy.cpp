#include "src/host/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "common/half.h"

namespace int8attn::host {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// Far beyond any attention tensor, small enough that bytes never overflow int64.
constexpr int64_t kMaxElements = int64_t{1} << 50;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw NpyError(fmt::format("{}: {}", path, what));
}

int64_t element_count(const std::array<int64_t, 4>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

int64_t element_size(NpyDtype dtype) { return dtype == NpyDtype::Float16 ? 2 : 4; }

std::string shape_text(const std::array<int64_t, 4>& s) {
  return fmt::format("({}, {}, {}, {})", s[0], s[1], s[2], s[3]);
}

// At most `n` characters of `text` for a message.
std::string clipped(std::string_view text, size_t n = 40) {
  return text.size() <= n ? std::string(text) : std::string(text.substr(0, n)) + "...";
}

// An fd that refers to a regular file. O_NONBLOCK so that a FIFO cannot block the open.
class RegularFile {
 public:
  explicit RegularFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) fail(path, fmt::format("cannot open for reading: {}", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
    if (S_ISDIR(st.st_mode)) fail(path, "not a file (a directory)");
    if (!S_ISREG(st.st_mode)) fail(path, "not a regular file (a FIFO, device or socket); expected a .npy file");
    size_ = st.st_size;
  }
  ~RegularFile() { ::close(fd_); }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int64_t size() const { return size_; }

  // Reads exactly n bytes at `offset`; throws naming what was being read.
  void read_at(int64_t offset, void* out, size_t n, const char* what) const {
    auto* bytes = static_cast<char*>(out);
    size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, bytes + done, n - done, offset + static_cast<int64_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw std::runtime_error(fmt::format("{}: read error: {}", path_, std::strerror(errno)));
      if (got == 0) fail(path_, fmt::format("truncated {}", what));
      done += static_cast<size_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// Linear parser of the header's Python dict literal:
//   {'descr': '<f2', 'fortran_order': False, 'shape': (1, 2, 3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  void parse(NpyHeader& out) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        once(have_descr, key);
        out.dtype = dtype(quoted());
      } else if (key == "fortran_order") {
        once(have_order, key);
        if (identifier() != "False") fail(path_, "Fortran-order arrays are not supported (save a C-contiguous array)");
      } else if (key == "shape") {
        once(have_shape, key);
        out.shape = shape();
      } else {
        error(fmt::format("a key 'descr', 'fortran_order' or 'shape', found '{}'", clipped(key)));
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) error("only spaces after the header's closing '}'");
    if (!have_descr || !have_order || !have_shape) {
      fail(path_, fmt::format("npy header has no '{}' field", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape"));
    }
  }

 private:
  [[noreturn]] void error(const std::string& expected) const {
    fail(path_, fmt::format("npy header: expected {} at byte {} of the header", expected, pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }
  void expect(char c) {
    if (!consume(c)) error(fmt::format("'{}'", c));
  }
  void once(bool& seen, const std::string& key) {
    if (seen) error(fmt::format("'{}' once, found it twice", key));
    seen = true;
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) error("a quoted string");
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) error("a closing quote");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }
  std::string identifier() {
    skip_space();
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ == start) error("True or False");
    return std::string(text_.substr(start, pos_ - start));
  }
  NpyDtype dtype(const std::string& descr) const {
    if (descr == "<f2") return NpyDtype::Float16;
    if (descr == "<f4") return NpyDtype::Float32;
    fail(path_, fmt::format("dtype '{}' is not supported (expected little-endian float16 '<f2' or float32 '<f4')",
                            clipped(descr)));
  }
  int64_t dimension(size_t index) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '-') error(fmt::format("a non-negative size for dimension {}", index));
    const size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (value > (kMaxElements - digit) / 10) {
        fail(path_, fmt::format("dimension {} of the shape is too large (more than {} elements)", index, kMaxElements));
      }
      value = value * 10 + digit;
    }
    if (pos_ == start) error(fmt::format("an integer size for dimension {}", index));
    return value;
  }
  std::array<int64_t, 4> shape() {
    expect('(');
    std::array<int64_t, 4> dims{};
    size_t count = 0;
    while (!consume(')')) {
      const int64_t d = dimension(count);
      if (count < 4) dims[count] = d;
      ++count;
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    if (count != 4) {
      fail(path_, fmt::format("expected a 4-D shape [batch, heads, seq, head_dim], found {} dimension(s)", count));
    }
    int64_t elements = 1;
    for (int64_t d : dims) {
      if (d == 0) fail(path_, fmt::format("shape {} has no elements (expected sizes >= 1)", shape_text(dims)));
      if (elements > kMaxElements / d) fail(path_, fmt::format("shape {} has too many elements", shape_text(dims)));
      elements *= d;
    }
    return dims;
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

NpyHeader parse_header(const RegularFile& file, const std::string& path) {
  char magic[kMagicLen];
  unsigned char version[2];
  if (file.size() < static_cast<int64_t>(kMagicLen + 2)) fail(path, "not a .npy file (too short for the magic string)");
  file.read_at(0, magic, kMagicLen, "magic");
  file.read_at(kMagicLen, version, 2, "version");
  if (std::memcmp(magic, kMagic, kMagicLen) != 0) fail(path, "not a .npy file (bad magic)");
  int64_t offset = kMagicLen + 2;
  uint32_t header_len = 0;
  if (version[0] == 1) {
    unsigned char len[2];
    file.read_at(offset, len, 2, ".npy header length");
    header_len = len[0] | (len[1] << 8);
    offset += 2;
  } else if (version[0] == 2 || version[0] == 3) {
    unsigned char len[4];
    file.read_at(offset, len, 4, ".npy header length");
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<uint32_t>(len[3]) << 24);
    offset += 4;
  } else {
    fail(path, fmt::format("unsupported .npy version {}.{}", version[0], version[1]));
  }
  if (header_len > kMaxNpyHeaderBytes) {
    fail(path, fmt::format("npy header declares {} bytes; expected at most {}", header_len, kMaxNpyHeaderBytes));
  }
  if (offset + header_len > file.size()) {
    fail(path, fmt::format("truncated .npy header: declares {} bytes, the file has {} after the preamble",
                           header_len, file.size() - offset));
  }
  std::string text(header_len, '\0');
  file.read_at(offset, text.data(), header_len, ".npy header");
  NpyHeader header;
  HeaderParser(text, path).parse(header);
  header.data_offset = offset + header_len;
  header.element_count = element_count(header.shape);
  return header;
}

// Before anything is allocated for the data: the shape the caller needs, then the file's
// size against what the header declares.
void check_header(const NpyHeader& header, const RegularFile& file, const std::string& path,
                  const std::array<int64_t, 4>* expected_shape) {
  if (expected_shape && header.shape != *expected_shape) {
    fail(path, fmt::format("shape {} does not match the case {}", shape_text(header.shape),
                           shape_text(*expected_shape)));
  }
  const int64_t data_bytes = header.element_count * element_size(header.dtype);
  const int64_t found = file.size() - header.data_offset;
  if (found != data_bytes) {
    fail(path, fmt::format("{}: expected {} data bytes for shape {} as {}, found {}",
                           found < data_bytes ? "truncated data" : "extra bytes after the data", data_bytes,
                           shape_text(header.shape), header.dtype == NpyDtype::Float16 ? "float16" : "float32",
                           found));
  }
}

}  // namespace

NpyHeader read_npy_header(const std::string& path, const std::array<int64_t, 4>* expected_shape) {
  const RegularFile file(path);
  const NpyHeader header = parse_header(file, path);
  check_header(header, file, path, expected_shape);
  return header;
}

NpyTensor read_npy(const std::string& path, const std::array<int64_t, 4>* expected_shape) {
  const RegularFile file(path);
  const NpyHeader header = parse_header(file, path);
  check_header(header, file, path, expected_shape);
  NpyTensor tensor;
  tensor.shape = header.shape;
  tensor.dtype = header.dtype;
  const int64_t count = header.element_count;
  tensor.data.resize(count);
  if (tensor.dtype == NpyDtype::Float16) {
    std::vector<uint16_t> bits(count);
    file.read_at(header.data_offset, bits.data(), count * 2, "data");
    for (int64_t i = 0; i < count; ++i) tensor.data[i] = half_bits_to_float(bits[i]);
  } else {
    file.read_at(header.data_offset, tensor.data.data(), count * 4, "data");
  }
  return tensor;
}

void write_npy(const std::string& path, const std::array<int64_t, 4>& shape,
               const std::vector<float>& data, NpyDtype dtype) {
  const int64_t count = element_count(shape);
  if (static_cast<int64_t>(data.size()) != count) {
    fail(path, fmt::format("write_npy: {} values for shape with {} elements", data.size(), count));
  }
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
                                   dtype == NpyDtype::Float16 ? "<f2" : "<f4", shape[0], shape[1],
                                   shape[2], shape[3]);
  // Pad with spaces so magic + version + length + header + '\n' is a multiple of 64.
  const size_t preamble = kMagicLen + 2 + 2;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header.push_back('\n');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open for writing");
  const unsigned char version[2] = {1, 0};
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(kMagic, kMagicLen);
  out.write(reinterpret_cast<const char*>(version), 2);
  out.write(reinterpret_cast<const char*>(len), 2);
  out.write(header.data(), header.size());
  if (dtype == NpyDtype::Float16) {
    std::vector<uint16_t> bits(count);
    for (int64_t i = 0; i < count; ++i) bits[i] = float_to_half_bits(data[i]);
    out.write(reinterpret_cast<const char*>(bits.data()), count * 2);
  } else {
    out.write(reinterpret_cast<const char*>(data.data()), count * 4);
  }
  if (!out) fail(path, "write failed");
}

}  // namespace int8attn::host
