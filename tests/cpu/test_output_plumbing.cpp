// The plumbing every subcommand shares: format names, "-" as stdout, stdout write errors,
// and when the progress bar may redraw.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/bench/progress.h"
#include "src/io/output_file.h"
#include "src/io/output_format.h"

namespace int8attn {
namespace {

TEST(OutputFormat, OneVocabularyWithAliasesAndSubsets) {
  EXPECT_EQ(parse_output_format("text", kReportFormats), OutputFormat::Table);
  EXPECT_EQ(parse_output_format("md", kCompareFormats), OutputFormat::Markdown);
  EXPECT_EQ(parse_output_format("json", kListingFormats), OutputFormat::Json);
  EXPECT_FALSE(parse_output_format("html", kCompareFormats).has_value());
  EXPECT_FALSE(parse_output_format("csv", kListingFormats).has_value());
  EXPECT_FALSE(parse_output_format("yaml", kReportFormats).has_value());
  EXPECT_EQ(describe_formats(kCompareFormats), "table, markdown, csv or json");
  EXPECT_EQ(format_spellings(kListingFormats), (std::vector<std::string>{"table", "markdown", "json", "text", "md"}));
}

TEST(ProgressMode, TheBarOnlyOnATerminalThatCanRedraw) {
  EXPECT_EQ(resolve_progress_mode(ProgressMode::Auto, true, "xterm-256color"), ProgressMode::Bar);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::Auto, true, "dumb"), ProgressMode::Lines);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::Auto, true, nullptr), ProgressMode::Lines);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::Auto, true, ""), ProgressMode::Lines);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::Auto, false, "xterm"), ProgressMode::Lines);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::None, true, "xterm"), ProgressMode::None);
}

// The sweep's ETA: a fixed cost per case plus a cost per FLOP, fitted to the cases so far.
TEST(ProgressEta, NoEstimateBeforeTheFirstCase) {
  EXPECT_LT(estimate_remaining_seconds({}, 3, 3e9), 0);
}

TEST(ProgressEta, CasesOfOneSizeScaleByFlops) {
  const std::vector<ProgressPoint> points = {{1, 1e9, 1.0}, {2, 2e9, 2.0}};
  EXPECT_NEAR(estimate_remaining_seconds(points, 3, 3e9), 3.0, 1e-9);
  EXPECT_NEAR(estimate_remaining_seconds(points, 1, 8e9), 8.0, 1e-9);  // one case of 8x the work
}

TEST(ProgressEta, SmallCasesFirstDoNotPromiseHours) {
  // Each case costs 1 s plus 1 ps per FLOP; the first three are small, two large ones remain.
  auto seconds = [](double work) { return 1.0 + 1e-12 * work; };
  std::vector<ProgressPoint> points;
  double cases = 0, work = 0, elapsed = 0;
  for (const double w : {1e9, 1e9, 4e9}) {
    cases += 1, work += w, elapsed += seconds(w);
    points.push_back({cases, work, elapsed});
  }
  const double truth = seconds(1e12) * 2;  // 4 s; FLOPs alone said ~1000 s
  EXPECT_NEAR(estimate_remaining_seconds(points, 2, 2e12), truth, 0.1 * truth);
}

TEST(ProgressEta, TimesThatFallWithWorkCountCasesOnly) {
  // The large first case was the fastest: no cost per FLOP can be fitted, so cases count alone
  // (least squares of elapsed = a * cases: a = 22 / 14 s).
  const std::vector<ProgressPoint> points = {{1, 1e12, 1.0}, {2, 1.001e12, 3.0}, {3, 1.002e12, 5.0}};
  EXPECT_NEAR(estimate_remaining_seconds(points, 2, 5e12), 2 * 22.0 / 14.0, 1e-9);
}

TEST(ProgressMode, AFileGetsPlainLines) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    Progress progress(ProgressMode::Auto, 2, 2.0, file);
    progress.start_case("case-a");
    progress.finish_case("case-a", 1.0, "ok");
    progress.done();
  }
  std::rewind(file);
  char buffer[512] = {};
  const size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  const std::string text(buffer, n);
  EXPECT_EQ(text.rfind("[1/2] case-a ok", 0), 0u) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\033'), std::string::npos);
}

// A refused output says what is true of the file: another user's 644 file has a write bit (it
// is not this user's), so calling it write-protected would send the user looking for a chmod.
TEST(OutputFileRefusal, SaysWhetherTheFileHasNoWriteBitOrIsNotThisUsers) {
  constexpr auto npos = std::string::npos;
  EXPECT_EQ(file_replace_refusal(S_IFREG | 0644, 1001, 0), "");

  const std::string others = file_replace_refusal(S_IFREG | 0644, 1001, EACCES);
  EXPECT_NE(others.find("not writable by this user (mode 644, owner uid 1001)"), npos) << others;
  EXPECT_EQ(others.find("write-protected"), npos) << others;

  for (int access_errno : {0, EACCES}) {  // root's access() says yes; the file still says no
    const std::string no_write_bit = file_replace_refusal(S_IFREG | 0444, 0, access_errno);
    EXPECT_NE(no_write_bit.find("write-protected (mode 444)"), npos) << no_write_bit;
  }

  const std::string read_only_fs = file_replace_refusal(S_IFREG | 0644, 0, EROFS);
  EXPECT_NE(read_only_fs.find(std::strerror(EROFS)), npos) << read_only_fs;
  EXPECT_EQ(read_only_fs.find("write-protected"), npos) << read_only_fs;
}

TEST(StdoutOutput, DashIsStdoutAndNeverAFile) {
  const OutputTarget target = check_output_path("-", {{"config", "-"}}, "-o");
  EXPECT_TRUE(target.to_stdout);
  EXPECT_TRUE(target.write_through);
  EXPECT_FALSE(std::filesystem::exists("-"));
}

// Runs `body` with stdout redirected to `fd`, restoring it afterwards.
template <class F>
void with_stdout(int fd, F body) {
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(fd, STDOUT_FILENO);
  try {
    body();
  } catch (...) {
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    throw;
  }
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
}

TEST(StdoutOutput, WritesAndReportsTheOsReason) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("stdout-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "out.txt").string();
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  with_stdout(fd, [] { write_output_file("-", "report text\n"); });
  ::close(fd);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "report text\n");

  // A full disk, through our own /dev/full node (root only; never the machine's).
  const std::string full = (dir / "full").string();
  if (::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0) {
    const int full_fd = ::open(full.c_str(), O_WRONLY);
    ASSERT_GE(full_fd, 0);
    std::string message;
    with_stdout(full_fd, [&] {
      try {
        write_stdout("x");
      } catch (const OutputError& e) {
        message = e.what();
      }
    });
    ::close(full_fd);
    EXPECT_EQ(message, "cannot write stdout: No space left on device");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace int8attn
