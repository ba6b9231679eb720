// Checkpoint: a killed sweep leaves a readable file; a resume continues after the torn line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "src/io/output_file.h"
#include "src/io/schema_names.h"
#include "src/report/checkpoint.h"
#include "src/report/json_io.h"
#include "tests/cpu/report_fixture.h"

namespace int8attn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("int8attn-ckpt-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = checkpoint_path_for((dir_ / "sweep.json").string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  static json header() {
    return {{"config_sha256", std::string(64, 'f')}, {"backend", "cpu"}, {"tool", {{"version", "0.1.0"}}}};
  }

  void write_cases(int count, bool append) {
    CheckpointWriter writer;
    writer.open(path_, header(), append);
    for (int i = 0; i < count; ++i) writer.append(testing::make_case("case-" + std::to_string(i), 1.0 + i));
  }

  std::string text() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Cuts the file in the middle of its last line, like a kill during write().
  void tear_last_line() {
    const std::string t = text();
    const size_t last_start = t.rfind('\n', t.size() - 2) + 1;
    fs::resize_file(path_, last_start + (t.size() - last_start) / 2);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(CheckpointTest, PathSitsNextToTheReport) {
  EXPECT_EQ(checkpoint_path_for("results/x.json"), "results/x.json.ckpt.jsonl");
}

// Outputs (src/io, below report) recognise a checkpoint by the schema its writer puts in the
// header: one constant for both, so a new schema version cannot leave -o replacing checkpoints.
TEST_F(CheckpointTest, OutputsRecogniseTheHeaderTheWriterWrites) {
  static_assert(std::string_view(kCheckpointSchema).starts_with(kCheckpointSchemaPrefix));
  static_assert(kCheckpointSchemaPrefix.ends_with('/'));
  write_cases(1, false);
  try {
    check_output_path(path_, {}, "-o");
    ADD_FAILURE() << "a checkpoint was taken for a replaceable output";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("is a sweep's checkpoint"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, HeaderAndCasesRoundTrip) {
  write_cases(3, false);
  const Checkpoint ckpt = read_checkpoint(path_);
  json expected = header();
  expected["schema"] = kCheckpointSchema;
  EXPECT_EQ(ckpt.header, expected);
  ASSERT_EQ(ckpt.cases.size(), 3u);
  EXPECT_EQ(ckpt.dropped_lines, 0);
  for (int i = 0; i < 3; ++i) {
    testing::expect_same(ckpt.cases[i], testing::make_case("case-" + std::to_string(i), 1.0 + i));
  }
}

TEST_F(CheckpointTest, TornLastLineIsDroppedAndCounted) {
  write_cases(3, false);
  tear_last_line();
  const Checkpoint ckpt = read_checkpoint(path_);
  ASSERT_EQ(ckpt.cases.size(), 2u);
  EXPECT_EQ(ckpt.cases[0].id, "case-0");
  EXPECT_EQ(ckpt.cases[1].id, "case-1");
  EXPECT_EQ(ckpt.dropped_lines, 1);
  EXPECT_EQ(ckpt.header["backend"], "cpu");
}

TEST_F(CheckpointTest, ResumeCutsTheTornLineAndAppends) {
  write_cases(3, false);
  tear_last_line();
  {
    CheckpointWriter writer;
    writer.open(path_, header(), /*append=*/true);
    writer.append(testing::make_case("case-2", 3.0));
    writer.append(testing::make_case("case-3", 4.0));
  }
  const Checkpoint ckpt = read_checkpoint(path_);
  EXPECT_EQ(ckpt.dropped_lines, 0);
  ASSERT_EQ(ckpt.cases.size(), 4u);
  EXPECT_EQ(ckpt.cases[2].id, "case-2");
  EXPECT_EQ(ckpt.cases[3].id, "case-3");
  EXPECT_EQ(text().find("\"schema\""), text().rfind("\"schema\""));  // one header only
}

TEST_F(CheckpointTest, CompleteLastLineWithoutNewlineIsKept) {
  write_cases(2, false);
  fs::resize_file(path_, text().size() - 1);  // drop only the final '\n'
  EXPECT_EQ(read_checkpoint(path_).cases.size(), 2u);
  {
    CheckpointWriter writer;
    writer.open(path_, header(), true);
    writer.append(testing::make_case("case-2", 3.0));
  }
  const Checkpoint ckpt = read_checkpoint(path_);
  EXPECT_EQ(ckpt.cases.size(), 3u);
  EXPECT_EQ(ckpt.dropped_lines, 0);
}

TEST_F(CheckpointTest, FreshOpenReplacesAnOldCheckpoint) {
  write_cases(3, false);
  write_cases(1, false);
  EXPECT_EQ(read_checkpoint(path_).cases.size(), 1u);
}

// A sweep that opened the file just before a finishing sweep removed it, and took the lock just
// after, must not write into the removed file: it opens the path again and writes there.
TEST_F(CheckpointTest, FileRemovedBetweenOpenAndLockIsOpenedAgain) {
  CheckpointWriter finishing;
  finishing.open(path_, header(), false);
  finishing.append(testing::make_case("old-case", 2.0));
  int calls = 0;
  set_checkpoint_open_hook_for_test([&](const std::string&) {
    if (++calls == 1) finishing.remove();  // between the starting sweep's open and its lock
  });
  {
    CheckpointWriter starting;
    starting.open(path_, header(), false);
    starting.append(testing::make_case("case-0", 1.0));
  }
  set_checkpoint_open_hook_for_test(nullptr);
  EXPECT_EQ(calls, 2) << "the path was not opened again";
  ASSERT_TRUE(fs::exists(path_)) << "the lines went into the removed file";
  const Checkpoint ckpt = read_checkpoint(path_);
  ASSERT_EQ(ckpt.cases.size(), 1u);
  EXPECT_EQ(ckpt.cases[0].id, "case-0");
}

TEST_F(CheckpointTest, DamagedMiddleLineIsAnError) {
  write_cases(3, false);
  std::string t = text();
  const size_t second_case = t.find('\n', t.find('\n') + 1) + 1;  // line 3
  t.insert(second_case + 10, "@@");
  std::ofstream(path_, std::ios::binary) << t;
  try {
    read_checkpoint(path_);
    FAIL() << "expected ReportError";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.file(), path_ + ":3");
  }
}

TEST_F(CheckpointTest, WrongTypeInACaseNamesLineAndPath) {
  write_cases(2, false);
  std::string t = text();
  const std::string needle = "\"head_dim\":128";
  ASSERT_NE(t.find(needle), std::string::npos);
  t.replace(t.find(needle), needle.size(), "\"head_dim\":\"128\"");
  std::ofstream(path_, std::ios::binary) << t;
  try {
    read_checkpoint(path_);
    FAIL() << "expected ReportError";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.file(), path_ + ":2");
    EXPECT_EQ(e.json_path(), "$.dims.head_dim");
  }
}

TEST_F(CheckpointTest, ForeignFileIsRejected) {
  std::ofstream(path_) << "{\"schema\": \"int8attn-bench/report/v1\"}\n";
  EXPECT_THROW(read_checkpoint(path_), ReportError);
  std::ofstream(path_, std::ios::trunc).flush();
  EXPECT_THROW(read_checkpoint(path_), ReportError);
}

// A finished sweep removes its own checkpoint, not a file put at the path since (a report
// written there by another command, a copy): before, the other file was deleted by name.
TEST_F(CheckpointTest, RemoveLeavesAFileThatReplacedTheCheckpoint) {
  CheckpointWriter finishing;
  finishing.open(path_, header(), false);
  finishing.append(testing::make_case("case-0", 1.0));
  const std::string other = path_ + ".other";
  { std::ofstream(other) << "a report written at this path\n"; }
  fs::rename(other, path_);
  finishing.remove();
  ASSERT_TRUE(fs::exists(path_)) << "the file that replaced the checkpoint was removed";
  std::ifstream in(path_);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "a report written at this path");
}

}  // namespace
}  // namespace int8attn
