#include "src/io/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <iostream>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

#include <fmt/format.h>

#include "src/io/schema_names.h"

namespace int8attn {
namespace fs = std::filesystem;
namespace {

// An atomic write's temporary file: <name> + kTempInfix + <pid>, beside the output.
constexpr std::string_view kTempInfix = ".int8attn-tmp.";
constexpr size_t kPidDigitsMax = 10;  // a 32-bit pid

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

void check_directory_writable(const std::string& file, const std::string& shown, const std::string& option,
                              bool atomic) {
  const std::string dir = directory_of(file);
  struct stat st {};
  const bool found = ::stat(dir.c_str(), &st) == 0;
  // "No directory" only where there is none: a path over PATH_MAX, a loop or a search bit
  // missing say the OS's reason instead.
  if (!found && errno != ENOENT && errno != ENOTDIR) {
    throw OutputError(fmt::format("{} {}: cannot reach directory {}: {}", option, shown, dir, errno_text()));
  }
  if (!found || !S_ISDIR(st.st_mode)) {
    throw OutputError(fmt::format("{} {}: expected a file in an existing directory, found no directory {}",
                                  option, shown, dir));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw OutputError(fmt::format("{} {}: cannot write into directory {}: {}", option, shown, dir, errno_text()));
  }
  // The name, and an atomic write's temporary file (<name>.int8attn-tmp.<pid>), must fit the
  // directory's name limit: found only at the write, it would fail after the whole sweep had run.
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const size_t limit = name_max > 0 ? static_cast<size_t>(name_max) : 255;
  const size_t name = fs::path(file).filename().string().size();
  const size_t tmp_suffix = atomic ? kTempInfix.size() + kPidDigitsMax : 0;
  if (name + tmp_suffix > limit) {
    throw OutputError(fmt::format("{} {}: a name of {} bytes is too long here: {} allows {}{} (choose a name of at "
                                  "most {} bytes)", option, shown, name, dir, limit,
                                  atomic ? fmt::format(", and writing it safely takes a temporary file named {} bytes "
                                                       "longer", tmp_suffix) : "",
                                  limit - std::min(limit, tmp_suffix)));
  }
}

// Where a dangling symlink points (its target does not exist yet), resolved hop by hop
// against each link's own directory.
std::string dangling_link_target(const std::string& path, const std::string& option) {
  fs::path at = path;
  for (int hop = 0; hop < 40; ++hop) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(at, ec))) return at.string();
    const fs::path to = fs::read_symlink(at, ec);
    if (ec) throw OutputError(fmt::format("{} {}: {}", option, path, ec.message()));
    at = to.is_absolute() ? to : at.parent_path() / to;
  }
  throw OutputError(fmt::format("{} {}: too many levels of symbolic links", option, path));
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The folders whose entries name this process's descriptors by number.
constexpr std::string_view kDescriptorFolders[] = {"/dev/fd/", "/proc/self/fd/"};

// The descriptor that /dev/stderr, /dev/fd/N or /proc/self/fd/N names, or -1. It is written
// as it is: reopening the path would start a file opened for appending (3>>log) at offset 0,
// over what the user wrote there.
int named_descriptor(const std::string& path) {
  if (path == "/dev/stderr") return STDERR_FILENO;
  for (std::string_view folder : kDescriptorFolders) {
    if (path.rfind(folder, 0) != 0) continue;
    const std::string_view number = std::string_view(path).substr(folder.size());
    if (!all_digits(number)) return -1;
    const long long descriptor = std::stoll(std::string(number));
    return descriptor <= INT_MAX ? static_cast<int>(descriptor) : -1;
  }
  return -1;
}

// /dev/stdout, /dev/fd/N and /proc/self/fd/N name a descriptor this process already has: it
// is written as it is (a file behind it is not ours to replace).
bool names_a_descriptor(const std::string& path) {
  if (path.rfind("/dev/stdout", 0) == 0 || path.rfind("/dev/stderr", 0) == 0) return true;
  for (std::string_view folder : kDescriptorFolders) {
    if (path.rfind(folder, 0) == 0) return true;
  }
  return false;
}

// Descriptor `fd` of output `path` must be open for writing; checked before any work.
void check_descriptor_writable(int fd, const std::string& path, const std::string& option) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw OutputError(fmt::format("{} {}: descriptor {} is not open", option, path, fd));
  if ((flags & O_ACCMODE) == O_RDONLY) {
    throw OutputError(fmt::format("{} {}: descriptor {} is open for reading only", option, path, fd));
  }
}

// Where and how `path` is written; throws for paths that can never be written.
OutputTarget classify(const std::string& path, const std::string& option, bool atomic = true) {
  if (path.empty()) throw OutputError(option + ": expected a file path, found an empty string");
  OutputTarget target;
  if (path == kStdoutPath || path == "/dev/stdout" || path == "/dev/fd/1" || path == "/proc/self/fd/1") {
    target.write_through = target.to_stdout = true;
    return target;
  }
  target.file = path;
  if (names_a_descriptor(path)) {
    target.write_through = true;
    target.descriptor = named_descriptor(path);
    if (target.descriptor >= 0) check_descriptor_writable(target.descriptor, path, option);
    return target;
  }
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) {  // a new file
    check_directory_writable(path, path, option, atomic);
    return target;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {  // a dangling symlink: create its target
    target.file = dangling_link_target(path, option);
    check_directory_writable(target.file, path, option, atomic);
    return target;
  }
  if (S_ISDIR(st.st_mode)) {
    throw OutputError(fmt::format("{} {}: expected a file path, found a directory", option, path));
  }
  if (!S_ISREG(st.st_mode)) {
    target.write_through = true;  // never replace a device or FIFO with a regular file
    return target;
  }
  if (S_ISLNK(link.st_mode)) {
    std::error_code ec;
    target.file = fs::canonical(path, ec).string();
    if (ec) throw OutputError(fmt::format("{} {}: {}", option, path, ec.message()));
  }
  // The directory allows the rename over it, but the file may say it is not to be changed.
  struct stat target_st {};
  if (::stat(target.file.c_str(), &target_st) != 0) {
    throw OutputError(fmt::format("{} {}: {}", option, path, errno_text()));
  }
  const int access_errno = ::access(target.file.c_str(), W_OK) == 0 ? 0 : errno;
  const std::string refusal = file_replace_refusal(target_st.st_mode, target_st.st_uid, access_errno);
  if (!refusal.empty()) throw OutputError(fmt::format("{} {}: {}", option, path, refusal));
  check_directory_writable(target.file, path, option, atomic);
  return target;
}

void write_all(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category());
    done += static_cast<size_t>(n);
  }
}

void write_descriptor(int fd, const std::string& path, std::string_view text) {
  try {
    write_all(fd, text);
  } catch (const std::system_error& e) {
    throw OutputError(fmt::format("cannot write {}: {}", path, std::strerror(e.code().value())));
  }
}

void write_through(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw OutputError(fmt::format("cannot write {}: {}", path, errno_text()));
  try {
    write_all(fd, text);
  } catch (const std::system_error& e) {
    ::close(fd);
    throw OutputError(fmt::format("cannot write {}: {}", path, std::strerror(e.code().value())));
  }
  if (::close(fd) != 0) throw OutputError(fmt::format("cannot write {}: {}", path, errno_text()));
}

// Makes the rename itself durable; best effort (some filesystems refuse to fsync a dir).
void fsync_directory_of(const std::string& path) {
  const int fd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_atomically(const std::string& shown, const std::string& file, std::string_view text) {
  remove_stale_temp_files(file);
  std::string tmp = file;
  tmp.append(kTempInfix).append(std::to_string(::getpid()));
  struct stat old {};
  const bool replacing = ::stat(file.c_str(), &old) == 0;
  // Made new, never opened through what is there: a name of this pid is no write of ours (a
  // dead process's of the same pid, or a planted link or FIFO, which would be written through
  // or hang); its name goes, whatever it points to stays.
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(tmp.c_str(), flags, 0644);
  if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0) fd = ::open(tmp.c_str(), flags, 0644);
  if (fd < 0) throw OutputError(fmt::format("cannot write {}: creating {}: {}", shown, tmp, errno_text()));
  int error = 0;
  try {
    if (replacing) ::fchmod(fd, old.st_mode & 07777);  // keep the file's permissions
    write_all(fd, text);
    if (::fsync(fd) != 0) error = errno;
  } catch (const std::system_error& e) {
    error = e.code().value();
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(tmp.c_str(), file.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(tmp.c_str());
    throw OutputError(fmt::format("cannot write {}: {}", shown, std::strerror(error)));
  }
  fsync_directory_of(file);
}

bool process_is_gone(long long pid) {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return true;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

enum class ExistingFile { Replaceable, Checkpoint, Foreign };

// Whether `head` (a file's first bytes) starts as one of the tool's text outputs does: the
// table, markdown, HTML and CSV views of a report, compare's text, markdown and JUnit files, by
// the openings report writes (src/io/schema_names.h).
bool starts_as_tool_output(std::string_view head) {
  const std::string_view first_line = head.substr(0, head.find('\n'));
  const auto starts = [&](std::string_view prefix) { return first_line.substr(0, prefix.size()) == prefix; };
  const auto holds = [&](std::string_view text) { return head.find(text) != std::string_view::npos; };
  const std::string tool_then_space = std::string(kToolName) + " ";
  const bool versioned_table = starts(tool_then_space) && first_line.size() > tool_then_space.size() &&
                               first_line[tool_then_space.size()] >= '0' && first_line[tool_then_space.size()] <= '9';
  const bool compare_markdown =
      starts("### ") && first_line.find(" " + std::string(kCompareTitleOpening)) != std::string_view::npos;
  return versioned_table || starts(kCompareTitleOpening) || compare_markdown || starts(kReportMarkdownHeading) ||
         starts(kReportCsvOpening) || starts(kCompareCsvOpening) || (starts(kReportHtmlDoctype) && holds(kReportHtmlTitle)) ||
         (starts(kJunitXmlDeclaration) && holds(kJunitSuitesOpening));
}

// A JSON report's keys sort "cases" first, and compare -f json's "rows", so each one's schema
// is near its end.
ExistingFile existing_file_kind(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.empty()) return ExistingFile::Replaceable;
  if (starts_as_checkpoint(head)) return ExistingFile::Checkpoint;  // as the readers tell one
  if (starts_as_tool_output(head)) return ExistingFile::Replaceable;
  in.clear();
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff tail_size = std::min<std::streamoff>(size, 65536);
  std::string tail(static_cast<size_t>(tail_size), '\0');
  in.seekg(size - tail_size);
  in.read(tail.data(), tail_size);
  for (const std::string_view prefix : {kReportSchemaPrefix, kCompareSchemaPrefix}) {
    if (tail.find(quoted_schema_prefix(prefix)) != std::string::npos) return ExistingFile::Replaceable;
  }
  return ExistingFile::Foreign;
}

void refuse_an_input(const struct stat& out, const std::vector<NamedInput>& inputs, const std::string& shown) {
  for (const NamedInput& input : inputs) {
    struct stat in {};
    if (::stat(input.path.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      throw OutputError(fmt::format("{}: is the same file as the {} {}; refusing to overwrite an input "
                                    "(choose another output path)", shown, input.what, input.path));
    }
  }
}

}  // namespace

std::string file_replace_refusal(mode_t mode, uid_t owner_uid, int access_errno) {
  const unsigned permissions = mode & 07777;
  // No write bit at all: refused even where access() allows it (root's says yes).
  if ((mode & 0222) == 0) {
    return fmt::format("the file is write-protected (mode {:o}); refusing to replace it", permissions);
  }
  if (access_errno == 0) return "";
  // A write bit that is not this user's (another owner's 644): "write-protected" would be untrue.
  if (access_errno == EACCES) {
    return fmt::format("the file is not writable by this user (mode {:o}, owner uid {}); refusing to replace it",
                       permissions, owner_uid);
  }
  return fmt::format("the file cannot be written ({}); refusing to replace it", std::strerror(access_errno));
}

OutputTarget check_output_path(const std::string& path, const std::vector<NamedInput>& inputs,
                               const std::string& option, ReplacePolicy policy, bool atomic) {
  const OutputTarget target = classify(path, option, atomic);
  struct stat out {};
  const int descriptor = target.to_stdout ? STDOUT_FILENO : target.descriptor;
  const bool exists = descriptor >= 0 ? ::fstat(descriptor, &out) == 0 : ::stat(path.c_str(), &out) == 0;
  // A regular file however reached (stdout redirected, 3<>file): never one of the inputs.
  if (exists && S_ISREG(out.st_mode)) {
    refuse_an_input(out, inputs, target.to_stdout ? "standard output" : option + " " + path);
  }
  if (target.write_through || !exists) return target;
  if (policy == ReplacePolicy::Any || !S_ISREG(out.st_mode)) return target;
  switch (existing_file_kind(path)) {
    case ExistingFile::Checkpoint:
      throw OutputError(fmt::format("{} {}: is a sweep's checkpoint (its finished cases, for --resume); refusing to "
                                    "write over it (choose another output path)", option, path));
    case ExistingFile::Foreign:
      throw OutputError(fmt::format("{} {}: the file exists and is not one int8attn-bench wrote (a report, a table, a "
                                    "compare summary); refusing to replace it (move it away or choose another output "
                                    "path)", option, path));
    case ExistingFile::Replaceable:
      break;
  }
  return target;
}

void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  auto same_file = [](const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    std::error_code ea, eb;
    return fs::weakly_canonical(fs::absolute(a), ea) == fs::weakly_canonical(fs::absolute(b), eb) && !ea && !eb;
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      const auto &[option_a, a] = outputs[i];
      const auto &[option_b, b] = outputs[j];
      if (a.empty() || b.empty() || a == kStdoutPath || b == kStdoutPath) continue;
      if (same_file(classify(a, option_a).file, classify(b, option_b).file)) {
        throw OutputError(fmt::format("{} {} and {} {}: the same file; one would overwrite the other", option_a, a,
                                      option_b, b));
      }
    }
  }
}

void write_stdout(std::string_view text) {
  std::cout.flush();
  std::fflush(stdout);
  try {
    write_all(STDOUT_FILENO, text);
  } catch (const std::system_error& e) {
    throw OutputError(fmt::format("cannot write stdout: {}", std::strerror(e.code().value())));
  }
}

void write_output_file(const std::string& path, std::string_view text) {
  const OutputTarget target = classify(path, "output");
  if (target.to_stdout) {
    write_stdout(text);
  } else if (target.descriptor >= 0) {
    write_descriptor(target.descriptor, path, text);
  } else if (target.write_through) {
    write_through(path, text);
  } else {
    write_atomically(path, target.file, text);
  }
}

int remove_stale_temp_files(const std::string& path) {
  const fs::path file(path);
  const std::string prefix = file.filename().string().append(kTempInfix);
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(directory_of(path), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string_view pid = std::string_view(name).substr(prefix.size());
    if (!all_digits(pid) || !process_is_gone(std::stoll(std::string(pid)))) continue;
    std::error_code remove_error;
    if (it->is_regular_file(remove_error) && fs::remove(it->path(), remove_error)) ++removed;
  }
  return removed;
}

}  // namespace int8attn
