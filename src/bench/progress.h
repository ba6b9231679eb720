// Sweep progress on stderr: a redrawn bar with ETA on a terminal, plain lines otherwise,
// nothing when quiet. The ETA models a case's time as a fixed cost plus a cost per FLOP:
// one 32K case costs as much as a thousand 1K cases, but a 512-token case is mostly the
// fixed part (inputs, reference, launches), so FLOPs alone made the first small cases of a
// sweep promise hours.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace int8attn {

enum class ProgressMode { Auto, Bar, Lines, None };

// The sweep after each finished case: cases and work (FLOPs) done, seconds elapsed.
struct ProgressPoint {
  double cases, work, seconds;
};

// Seconds left for cases_left cases of work_left FLOPs, from the points so far: elapsed ≈
// a·cases + b·work (least squares, a and b ≥ 0). While the points cannot tell the two apart
// (every case so far of the same size), time per FLOP alone. Negative: no estimate yet.
double estimate_remaining_seconds(const std::vector<ProgressPoint>& points, double cases_left, double work_left);

// What Auto becomes: the redrawn bar only on a terminal that can move the cursor (TERM set
// and not "dumb"); plain lines on anything else (a pipe, a CI log, Emacs' shell).
ProgressMode resolve_progress_mode(ProgressMode requested, bool is_terminal, const char* term);

class Progress {
 public:
  Progress(ProgressMode mode, int64_t total_cases, double total_work, std::FILE* out = stderr);
  // Call before running a case.
  void start_case(const std::string& id);
  // Call after a case; `work` is its weight (FLOPs), `summary` a few words on its result.
  void finish_case(const std::string& id, double work, const std::string& summary);
  // A line that must stay visible (a worker that died...); nothing in mode None.
  void message(const std::string& text);
  // Ends the bar line.
  void done();

 private:
  void draw(const std::string& label);
  std::string eta_text() const;

  ProgressMode mode_;
  std::FILE* out_;
  int64_t total_cases_, finished_cases_ = 0;
  double total_work_, finished_work_ = 0;
  std::vector<ProgressPoint> points_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace int8attn
