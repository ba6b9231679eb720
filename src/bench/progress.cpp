#include "src/bench/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "src/io/diagnostics.h"

namespace int8attn {

ProgressMode resolve_progress_mode(ProgressMode requested, bool is_terminal, const char* term) {
  if (requested != ProgressMode::Auto) return requested;
  const bool can_redraw = is_terminal && term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
  return can_redraw ? ProgressMode::Bar : ProgressMode::Lines;
}

Progress::Progress(ProgressMode mode, int64_t total_cases, double total_work, std::FILE* out)
    : mode_(resolve_progress_mode(mode, isatty(fileno(out)), std::getenv("TERM"))), out_(out),
      total_cases_(total_cases), total_work_(total_work), start_(std::chrono::steady_clock::now()) {}

double estimate_remaining_seconds(const std::vector<ProgressPoint>& points, double cases_left, double work_left) {
  double cc = 0, cw = 0, ww = 0, ct = 0, wt = 0;
  for (const ProgressPoint& p : points) {
    cc += p.cases * p.cases, cw += p.cases * p.work, ww += p.work * p.work;
    ct += p.cases * p.seconds, wt += p.work * p.seconds;
  }
  if (ww <= 0) return -1;
  const double det = cc * ww - cw * cw;
  double a = 0, b = wt / ww;  // time per FLOP alone
  if (det > 1e-9 * cc * ww) {  // cases of different sizes: the fixed part can be told apart
    a = (ct * ww - wt * cw) / det;
    b = (wt * cc - ct * cw) / det;
    if (a < 0) a = 0, b = wt / ww;
    if (b < 0) a = ct / cc, b = 0;
  }
  return a * std::max(0.0, cases_left) + b * std::max(0.0, work_left);
}

std::string Progress::eta_text() const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double remaining = estimate_remaining_seconds(points_, static_cast<double>(total_cases_ - finished_cases_),
                                                      total_work_ - finished_work_);
  if (remaining < 0) return fmt::format("{:.0f}s elapsed", elapsed);
  return fmt::format("{:.0f}s elapsed, ETA {:.0f}s", elapsed, remaining);
}

void Progress::draw(const std::string& label) {
  constexpr int kWidth = 28;
  const double fraction = total_work_ > 0 ? std::min(1.0, finished_work_ / total_work_) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  write_diagnostic(out_, fmt::format("\r\033[2K[{}{}] {}/{} {} {}", std::string(filled, '#'),
                                     std::string(kWidth - filled, '.'), finished_cases_, total_cases_, eta_text(),
                                     label));
}

void Progress::start_case(const std::string& id) {
  if (mode_ == ProgressMode::Bar) draw(id);
}

void Progress::finish_case(const std::string& id, double work, const std::string& summary) {
  ++finished_cases_;
  finished_work_ += work;
  points_.push_back({static_cast<double>(finished_cases_), finished_work_,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()});
  if (mode_ == ProgressMode::Bar) {
    draw(id);
  } else if (mode_ == ProgressMode::Lines) {
    write_diagnostic(out_, fmt::format("[{}/{}] {} {} ({})\n", finished_cases_, total_cases_, id, summary, eta_text()));
  }
}

void Progress::message(const std::string& text) {
  if (mode_ == ProgressMode::None) return;
  write_diagnostic(out_, fmt::format("{}{}\n", mode_ == ProgressMode::Bar ? "\r\033[2K" : "", text));
}

void Progress::done() {
  if (mode_ == ProgressMode::Bar) {
    write_diagnostic(out_, "\n");
  }
}

}  // namespace int8attn
