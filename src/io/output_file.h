// Writing the files a user names (-o, --junit, report -o) without ever destroying what they
// did not mean to replace:
//  - a new or regular file is written to <path>.int8attn-tmp.<pid> beside it, fsync'd and
//    renamed over it, so a reader never sees half a file and a full disk leaves the old one;
//    a symlink to a regular file replaces the link's target (the link stays);
//  - anything else that exists (a device such as /dev/null or /dev/full, a FIFO, a terminal)
//    is written through, never replaced by a regular file;
//  - an output that is one of the command's inputs (same device and inode, however it is
//    spelt) is refused before any work is done;
//  - "-" is standard output; /dev/fd/N (/proc/self/fd/N, /dev/stderr) is descriptor N, written
//    as it is (at its offset, appending where it was opened to append), never reopened;
// Every failure is an OutputError carrying the OS's reason; the CLI exits 2 on it.
#pragma once
#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace int8attn {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One input of a command, for the same-file check: what it is ("config", "baseline report")
// and its path.
struct NamedInput {
  std::string what;
  std::string path;
};

// The output path that means standard output.
inline constexpr std::string_view kStdoutPath = "-";

// How an output path will be written.
struct OutputTarget {
  bool write_through = false;  // an existing device, FIFO, socket..., or stdout: written in place
  bool to_stdout = false;      // the path was "-"
  int descriptor = -1;         // /dev/fd/N, /proc/self/fd/N, /dev/stderr: N, written at its offset
  std::string file;            // what is replaced atomically (a symlink's target), or `path`
};

// What an existing regular file at an output path may be replaced with.
enum class ReplacePolicy {
  ToolOutputs,  // only an empty file or one int8attn-bench wrote (a report in any format, a compare summary)
  Any,          // whatever it is (profile --force; the checkpoint, which checks its file itself)
};

// Checks an output before any work: a non-empty path, not a directory, in an existing
// directory, not the same file as any input, and (ToolOutputs) not a file the tool did not
// write: a sweep's checkpoint, a config, the user's notes; its name, with the temporary file's
// suffix where it is written atomically, within the directory's name limit. `option` names it
// in messages ("-o", "--junit"). Throws OutputError.
OutputTarget check_output_path(const std::string& path, const std::vector<NamedInput>& inputs,
                               const std::string& option, ReplacePolicy policy = ReplacePolicy::ToolOutputs,
                               bool atomic = true);

// Why an existing regular file at an output path may not be replaced, from its st_mode, its
// owner and access(W_OK)'s errno (0: allowed); "" when it may be. Says what is true: no write
// bit at all (refused even for root), a write bit that is not this user's (EACCES: another
// owner's 644), or the OS's reason (EROFS).
std::string file_replace_refusal(mode_t mode, uid_t owner_uid, int access_errno);

// Refuses two outputs of one command that are the same file (by device and inode, or the
// same path however spelt): `compare --junit X --markdown-out X` would keep only one.
// Pairs of (option, path); empty paths and "-" are skipped. Throws OutputError.
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

// Writes `text` to `path` as the header describes. Before an atomic write it removes
// <name>.int8attn-tmp.<pid> files of the same output left by processes that no longer exist (a
// SIGKILL mid-write). Throws OutputError naming the path and the OS reason (e.g. "No space
// left on device").
void write_output_file(const std::string& path, std::string_view text);

// Writes `text` to standard output (after flushing stdio's buffers, so output stays in
// order). Throws OutputError with the OS reason ("stdout: No space left on device"): a
// result that did not reach its reader is a failure, not a success.
void write_stdout(std::string_view text);

// Removes <dir>/<name>.int8attn-tmp.<pid> files whose process is gone; returns how many.
int remove_stale_temp_files(const std::string& path);

}  // namespace int8attn
