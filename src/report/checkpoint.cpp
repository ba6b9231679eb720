#include "src/report/checkpoint.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "src/io/diagnostics.h"
#include "src/io/json_text.h"
#include "src/io/output_file.h"
#include "src/report/json_io.h"

namespace int8attn {

using nlohmann::json;

namespace {

std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

bool parses_as_json(std::string_view text) { return json::accept(text.begin(), text.end()); }

// Length of `text` that holds whole lines: a last line without '\n' counts only if it is
// complete JSON (then `needs_newline`), otherwise it was torn by a kill and is cut off.
size_t whole_lines_length(const std::string& text, bool& needs_newline) {
  needs_newline = false;
  if (text.empty() || text.back() == '\n') return text.size();
  size_t last_start = text.rfind('\n');
  last_start = last_start == std::string::npos ? 0 : last_start + 1;
  if (parses_as_json(std::string_view(text).substr(last_start))) {
    needs_newline = true;
    return text.size();
  }
  return last_start;
}

// An output that cannot be written (exit 2, as for -o), not a kernel's failure (exit 1).
[[noreturn]] void throw_io(const std::string& path, const std::string& what) {
  throw OutputError("checkpoint " + path + ": " + what + ": " + std::strerror(errno) +
                    " (the cases it holds are kept; --resume continues from them)");
}

std::function<void(const std::string&)>& open_hook_for_test() {
  static std::function<void(const std::string&)> hook;
  return hook;
}

// Whether the open file fd is still the one at path: not removed or replaced since it was opened.
bool still_at_path(int fd, const std::string& path) {
  struct stat opened {}, named {};
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 && opened.st_dev == named.st_dev &&
         opened.st_ino == named.st_ino;
}

}  // namespace

void set_checkpoint_open_hook_for_test(std::function<void(const std::string& path)> hook) {
  open_hook_for_test() = std::move(hook);
}

std::string checkpoint_path_for(const std::string& report_path) { return report_path + ".ckpt.jsonl"; }

CheckpointWriter::~CheckpointWriter() { close(); }

CheckpointWriter::CheckpointWriter(CheckpointWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

CheckpointWriter& CheckpointWriter::operator=(CheckpointWriter&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

void CheckpointWriter::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void CheckpointWriter::open(const std::string& path, json header, bool append) {
  close();
  path_ = path;
  lock_file_at_path();
  size_t keep = 0;
  bool needs_newline = false;
  if (append) keep = whole_lines_length(read_text_file(path), needs_newline);
  if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0) throw_io(path, "cannot cut it");
  if (keep == 0) {  // a new file (or one whose header line itself was torn)
    if (!header.is_object()) header = json::object();
    header["schema"] = kCheckpointSchema;
    write_line(dump_line(header));
    return;
  }
  if (needs_newline) write_line("\n");
}

// Opens path_ and takes its lock. One writer: a second sweep on the same -o would cut this
// one's checkpoint and interleave its lines; the lock is taken before anything is cut, and where
// locks are not supported, none is taken. A file removed or replaced between the open and the
// lock (a finishing sweep removes its checkpoint) is let go and the path opened again: lines
// written to a removed file would be lost.
void CheckpointWriter::lock_file_at_path() {
  for (int attempt = 1;; ++attempt) {
    // Appending only: a line is never written over another, even if someone cut the file.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw_io(path_, "cannot open");
    if (open_hook_for_test()) open_hook_for_test()(path_);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      close();
      throw OutputError("checkpoint " + path_ + ": another sweep is writing it (a sweep with the same -o is running); "
                        "wait for it to finish or choose another -o");
    }
    if (still_at_path(fd_, path_)) return;
    close();
    if (attempt == 10) {
      throw OutputError("checkpoint " + path_ + ": removed or replaced each time it was opened (another program keeps "
                        "changing it); choose another -o");
    }
  }
}

// Only the file this sweep wrote: one put at the path since (a report there, a copy) stays.
void CheckpointWriter::remove() {
  if (fd_ >= 0 && still_at_path(fd_, path_)) std::filesystem::remove(path_);
  close();
}

void CheckpointWriter::append(const CaseResult& result) {
  if (fd_ < 0) throw std::runtime_error("checkpoint " + path_ + ": append before open");
  write_line(dump_line(to_json(result)));
}

// One write() per line keeps a torn line at the end of the file, never in the middle.
void CheckpointWriter::write_line(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io(path_, "write failed");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd_) != 0) throw_io(path_, "fsync failed");
}

namespace {

struct LineRef {
  std::string_view text;
  size_t number;  // 1-based
};

std::vector<LineRef> non_blank_lines(const std::string& text) {
  std::vector<LineRef> lines;
  size_t start = 0, number = 1;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) lines.push_back({line, number});
    start = end + 1;
    ++number;
  }
  return lines;
}

// One line's JSON; nullopt when it is not JSON at all (a torn line). Too deep or with a
// repeated key: ReportError.
std::optional<json> parse_line(std::string_view text, const std::string& source) {
  try {
    return parse_json_text(text);
  } catch (const JsonTextError& e) {
    if (e.syntax()) return std::nullopt;
    throw ReportError(source, report_style_path(e.path()), e.what());
  }
}

json parse_header(const std::string& path, const std::vector<LineRef>& lines) {
  if (lines.empty()) {
    throw ReportError(path, "$", std::string("expected a header line with \"schema\": \"") +
                                     kCheckpointSchema + "\", found an empty file");
  }
  const std::string source = path + ":" + std::to_string(lines[0].number);
  json header = parse_line(lines[0].text, source).value_or(json());
  if (!header.is_object() || !header.contains("schema") || header["schema"] != kCheckpointSchema) {
    throw ReportError(source, "$.schema",
                      std::string("expected a checkpoint header with \"schema\": \"") + kCheckpointSchema +
                          "\", found " + printable(lines[0].text, 60));
  }
  return header;
}

}  // namespace

bool torn_checkpoint_header(const std::string& text) {
  // The header as this tool writes it (keys in order: "backend" first), cut before its end.
  constexpr std::string_view kStart = "{\"backend\":";
  // Nothing at all: cut before its first byte (a full disk refuses the header's one write).
  if (text.empty()) return true;
  if (text.find('\n') != std::string::npos || text.compare(0, kStart.size(), kStart) != 0) return false;
  try {
    parse_json_text(text);
    return false;
  } catch (const JsonTextError& e) {
    return e.syntax();
  }
}

bool replaceable_by_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string head(size_t{1} << 20, '\0');  // a header is far shorter; a longer first line is not one
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (torn_checkpoint_header(head)) return true;  // killed while writing its first line
  const std::vector<LineRef> lines = non_blank_lines(head);
  if (lines.empty()) return head.size() < (size_t{1} << 20);  // empty or blank
  try {
    const json header = parse_json_text(lines[0].text);
    return header.is_object() && header.value("schema", json()) == kCheckpointSchema;
  } catch (const std::exception&) {
    return false;
  }
}

size_t checkpoint_case_lines(const std::string& path) {
  try {
    const std::string text = read_text_file(path);
    const size_t lines = non_blank_lines(text).size();  // the reader's own notion of a line
    return lines > 0 ? lines - 1 : 0;
  } catch (const ReportError&) {
    return 0;
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  const std::string text = read_text_file(path);
  const std::vector<LineRef> lines = non_blank_lines(text);
  Checkpoint ckpt;
  ckpt.header = parse_header(path, lines);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string source = path + ":" + std::to_string(lines[i].number);
    std::optional<json> j = parse_line(lines[i].text, source);
    if (!j) {
      if (i + 1 == lines.size()) {  // killed mid-write: the torn tail is expected
        ++ckpt.dropped_lines;
        break;
      }
      throw ReportError(source, "$", "expected one JSON case result per line, found a damaged line");
    }
    ckpt.cases.push_back(from_json_as<CaseResult>(*j, source));
  }
  return ckpt;
}

}  // namespace int8attn
