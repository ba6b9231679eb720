#include "src/io/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include <fmt/format.h>

namespace int8attn {
namespace fs = std::filesystem;
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

void check_directory_writable(const std::string& file, const std::string& shown, const std::string& option) {
  const std::string dir = directory_of(file);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw OutputError(fmt::format("{} {}: expected a file in an existing directory, found no directory {}",
                                  option, shown, dir));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw OutputError(fmt::format("{} {}: cannot write into directory {}: {}", option, shown, dir, errno_text()));
  }
}

// Where and how `path` is written; throws for paths that can never be written.
OutputTarget classify(const std::string& path, const std::string& option) {
  if (path.empty()) throw OutputError(option + ": expected a file path, found an empty string");
  OutputTarget target;
  if (path == kStdoutPath) {
    target.write_through = target.to_stdout = true;
    return target;
  }
  target.file = path;
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) {  // a new file
    check_directory_writable(path, path, option);
    return target;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {  // a dangling symlink: create its target
    std::error_code ec;
    target.file = fs::weakly_canonical(path, ec).string();
    if (ec || target.file.empty()) throw OutputError(fmt::format("{} {}: {}", option, path, ec.message()));
    check_directory_writable(target.file, path, option);
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
  check_directory_writable(target.file, path, option);
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
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  struct stat old {};
  const bool replacing = ::stat(file.c_str(), &old) == 0;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool process_is_gone(long long pid) {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return true;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

OutputTarget check_output_path(const std::string& path, const std::vector<NamedInput>& inputs,
                               const std::string& option) {
  const OutputTarget target = classify(path, option);
  struct stat out {};
  if (target.write_through || ::stat(path.c_str(), &out) != 0) return target;
  for (const NamedInput& input : inputs) {
    struct stat in {};
    if (::stat(input.path.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      throw OutputError(fmt::format("{} {}: is the same file as the {} {}; refusing to overwrite an input "
                                    "(choose another output path)", option, path, input.what, input.path));
    }
  }
  return target;
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
  } else if (target.write_through) {
    write_through(path, text);
  } else {
    write_atomically(path, target.file, text);
  }
}

int remove_stale_temp_files(const std::string& path) {
  const fs::path file(path);
  const std::string prefix = file.filename().string() + ".tmp.";
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
