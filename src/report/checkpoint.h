// Checkpoint of a running sweep: a JSON-lines file next to the report
// (`<report>.ckpt.jsonl`). Line 1 is a header object with "schema": kCheckpointSchema
// (src/io/schema_names.h) plus whatever the caller needs to decide whether a resume is
// valid (config sha256, backend, tool, ...); every further line is one finished CaseResult in
// the report's JSON form. Each line is written and fsync'd as the case finishes, so a killed
// process loses at most the line being written, and the reader drops that torn last line.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/io/schema_names.h"  // kCheckpointSchema
#include "src/report/report.h"

namespace int8attn {

// "<report>.ckpt.jsonl"
std::string checkpoint_path_for(const std::string& report_path);

// Whether a new sweep may start its checkpoint over the regular file at `path`: the file is
// empty or its first non-blank line is a checkpoint header. Anything else there is the user's.
bool replaceable_by_checkpoint(const std::string& path);

// The lines after the checkpoint's header at `path` (each a finished case, a torn last one
// included): what a new sweep without --resume would throw away. 0 when it cannot be read.
size_t checkpoint_case_lines(const std::string& path);

// Whether `text` (a whole checkpoint file) is only the start of a header, cut by a kill or a
// full disk while the first line was written, an empty file included: a checkpoint with no
// finished case.
bool torn_checkpoint_header(const std::string& text);

class CheckpointWriter {
 public:
  CheckpointWriter() = default;
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;
  CheckpointWriter(CheckpointWriter&& other) noexcept;
  CheckpointWriter& operator=(CheckpointWriter&& other) noexcept;

  // append == false, or no file yet: starts a new file with `header` ("schema" is filled in).
  // append == true and a file exists: keeps its lines (the caller has checked its header with
  // read_checkpoint), cuts a torn last line, and continues after it.
  // Refuses (OutputError) a checkpoint another process holds open for writing: one writer a
  // file. Throws OutputError naming the path and the OS reason.
  void open(const std::string& path, nlohmann::json header, bool append);
  // Writes one line and fsyncs it. Throws OutputError naming the path (a full disk: exit 2).
  void append(const CaseResult& result);
  void close();
  // Removes the file, then closes it: the lock is held until the file is gone, so a sweep that
  // starts on the same path meanwhile is refused or makes a new file, never one removed under it.
  void remove();
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  void lock_file_at_path();
  void write_line(const std::string& line);
  int fd_ = -1;
  std::string path_;
};

// Tests only: called by CheckpointWriter::open between opening the file and locking it, the
// window in which a finishing sweep may remove the file (nullptr: none).
void set_checkpoint_open_hook_for_test(std::function<void(const std::string& path)> hook);

struct Checkpoint {
  nlohmann::json header;
  std::vector<CaseResult> cases;
  int64_t dropped_lines = 0;  // a torn last line (killed mid-write), not read
};

// Throws ReportError (src/report/json_io.h) for an unreadable file, a missing or foreign
// header, or a damaged line that is not the last one.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace int8attn
