// merge: shards become the unsharded case set, every environment is kept, and reports of
// different sweeps, repeated cases or shards are refused with what differs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "src/bench/backend.h"
#include "src/bench/partition.h"
#include "src/config/sweep_config.h"
#include "src/report/json_io.h"
#include "src/report/merge.h"

using namespace int8attn;

namespace {

const char* kStudy = R"({"axes": {"batch": [1, 2], "heads": [2], "seq_len": [16, 64, 256, 1024],
                          "head_dim": [64], "causal": [false, true]}})";

Environment gpu(const std::string& name, int64_t clock) {
  Environment e;
  e.backend = "cuda";
  e.hostname = "node-" + name;
  e.gpu_name = name;
  e.sm_clock_mhz = clock;
  return e;
}

class MergeTest : public ::testing::Test {
 protected:
  SweepConfig config_ = parse_sweep_config(kStudy, "study.json");

  // Shard `index` of `count` as `sweep --shard` would report it, run on `env`.
  MergeInput shard(int64_t index, int64_t count, const Environment& env = gpu("H200", 1980)) {
    std::vector<const BenchCase*> all;
    for (const BenchCase& c : config_.cases) all.push_back(&c);
    Report r;
    r.tool = {"int8attn-bench", "0.1.0", "0123456789ab"};
    r.environment = env;
    r.config = {config_.path, config_.sha256, config_.expanded, settings_to_json_expanded(config_.settings)};
    r.config.options["npy_dirs"] = nlohmann::json::array();
    r.shard = ShardSpec{index, count};
    r.started_at = "2026-11-30T10:0" + std::to_string(index) + ":00Z";
    r.finished_at = "2026-11-30T11:0" + std::to_string(index) + ":00Z";
    for (size_t p : shard_positions(all, *r.shard)) {
      CaseResult c = case_result_for(*all[p]);
      c.kernels = {status_result("fp16-ref-cublaslt", KernelStatus::Ok, "")};
      r.cases.push_back(c);
    }
    summarize(r);
    return {"shard-" + std::to_string(index) + ".json", r};
  }

  std::vector<std::string> config_ids() const {
    std::vector<std::string> ids;
    for (const BenchCase& c : config_.cases) ids.push_back(c.id);
    return ids;
  }
};

std::vector<std::string> ids_of(const Report& r) {
  std::vector<std::string> ids;
  for (const CaseResult& c : r.cases) ids.push_back(c.id);
  return ids;
}

// merge_reports as the `merge` command calls it: the cases in the order of the first
// report's config.
MergeResult merge(const std::vector<MergeInput>& inputs, bool allow_mixed) {
  std::vector<std::string> order;
  if (!inputs.empty()) order = expanded_case_ids(inputs[0].report.config.settings, inputs[0].report.config.path);
  return merge_reports(inputs, allow_mixed, order);
}

std::string merge_error(const std::vector<MergeInput>& inputs, bool allow_mixed = false) {
  try {
    merge(inputs, allow_mixed);
  } catch (const MergeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_F(MergeTest, ShardsBecomeTheUnshardedCaseSetInTheConfigsOrder) {
  // Given in reverse: the config's order still wins.
  const MergeResult m = merge({shard(3, 3), shard(2, 3), shard(1, 3)}, false);
  EXPECT_EQ(ids_of(m.report), config_ids());
  EXPECT_TRUE(m.report.complete);
  EXPECT_TRUE(m.notes.empty());
  EXPECT_FALSE(m.report.shard.has_value());
  EXPECT_EQ(m.report.summary.cases, static_cast<int64_t>(config_.cases.size()));
  ASSERT_EQ(m.report.parts.size(), 3u);
  EXPECT_EQ(m.report.parts[0].source, "shard-3.json");
  EXPECT_EQ(m.report.parts[0].shard->index, 3);
  EXPECT_EQ(m.report.started_at, "2026-11-30T10:01:00Z");
  EXPECT_EQ(m.report.finished_at, "2026-11-30T11:03:00Z");
  ASSERT_EQ(m.report.environments.size(), 1u);  // one GPU model at one clock: one environment
}

TEST_F(MergeTest, CasesTheOrderLacksKeepTheInputsOrder) {
  // A config this build cannot expand (another version's) gives no order: input order stands.
  EXPECT_TRUE(expanded_case_ids(nlohmann::json{{"axes", "not axes"}}, "old.json").empty());
  const MergeInput third = shard(3, 3), first = shard(1, 3);
  std::vector<std::string> input_order = ids_of(third.report);
  for (const std::string& id : ids_of(first.report)) input_order.push_back(id);
  EXPECT_EQ(ids_of(merge_reports({third, first}, false, {}).report), input_order);
  // Ids in the order come first, in its order; the others after them, as given.
  const std::string last = input_order.back();
  std::vector<std::string> want = {last};
  for (const std::string& id : input_order) {
    if (id != last) want.push_back(id);
  }
  EXPECT_EQ(ids_of(merge_reports({third, first}, false, {last, "no-such-case"}).report), want);
}

TEST_F(MergeTest, KeepsEveryEnvironmentAndEachCaseSaysWhichRanIt) {
  const std::vector<MergeInput> inputs = {shard(1, 3, gpu("H200", 1980)), shard(2, 3, gpu("H100", 1755)),
                                          shard(3, 3, gpu("H200", 1500))};
  const Report merged = merge(inputs, false).report;
  ASSERT_EQ(merged.environments.size(), 3u);
  EXPECT_EQ(merged.environment, inputs[0].report.environment);
  // Through JSON and back: indices resolve to the same environments.
  const Report read = report_from_json(to_json(merged), "merged.json");
  ASSERT_EQ(read.environments.size(), 3u);
  for (const MergeInput& in : inputs) {
    for (const CaseResult& c : in.report.cases) {
      auto it = std::find_if(read.cases.begin(), read.cases.end(), [&](const CaseResult& r) { return r.id == c.id; });
      ASSERT_NE(it, read.cases.end());
      ASSERT_TRUE(it->environment.has_value()) << c.id;
      EXPECT_EQ(*it->environment, in.report.environment) << c.id;
    }
  }
  const nlohmann::json j = to_json(merged);
  EXPECT_EQ(j["cases"][0]["environment"], 0);
}

TEST_F(MergeTest, AnIndexBeyondTheEnvironmentsIsAnErrorNamingItsPath) {
  nlohmann::json j = to_json(merge({shard(1, 2), shard(2, 2)}, false).report);
  j["cases"][1]["environment"] = 7;
  try {
    report_from_json(j, "bad.json");
    FAIL() << "accepted an environment index beyond the list";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.json_path(), "$.cases[1].environment");
    EXPECT_NE(e.expected().find("0 to 0"), std::string::npos) << e.what();
  }
}

TEST_F(MergeTest, RefusesReportsOfDifferentSweepsSayingWhatDiffers) {
  struct Variant {
    const char* field;
    std::function<void(Report&)> change;
  };
  const std::vector<Variant> variants = {
      {"tool version", [](Report& r) { r.tool.version = "0.2.0"; }},
      {"tool git_commit", [](Report& r) { r.tool.git_commit = "fedcba987654"; }},
      {"config sha256", [](Report& r) { r.config.sha256 = std::string(64, 'e'); }},
      {"options: kernels", [](Report& r) { r.config.options["kernels"] = {"fp16-ref-cublaslt", "int8-fa"}; }},
      {"options: thresholds.max_mse", [](Report& r) { r.config.options["thresholds"]["max_mse"] = 0.5; }},
      {"backend", [](Report& r) { r.environment.backend = "cpu"; }},
      {"schema", [](Report& r) { r.schema = "int8attn-bench/report/v2"; }},
      {"shard count", [](Report& r) { r.shard = ShardSpec{2, 4}; }},
  };
  for (const Variant& v : variants) {
    MergeInput other = shard(2, 3);
    v.change(other.report);
    const std::string error = merge_error({shard(1, 3), other});
    EXPECT_NE(error.find(v.field), std::string::npos) << v.field << ": " << error;
    EXPECT_NE(error.find("shard-1.json"), std::string::npos) << error;
    EXPECT_NE(error.find("shard-2.json"), std::string::npos) << error;
    EXPECT_NE(error.find("--allow-mixed"), std::string::npos) << error;
    const MergeResult mixed = merge({shard(1, 3), other}, true);
    ASSERT_FALSE(mixed.notes.empty()) << v.field;
    EXPECT_NE(mixed.notes[0].find(v.field), std::string::npos) << mixed.notes[0];
    EXPECT_EQ(mixed.report.cases.size(), shard(1, 3).report.cases.size() + other.report.cases.size());
  }
}

TEST_F(MergeTest, ReportsWithoutOptionsAreComparedByTheirSettings) {
  MergeInput a = shard(1, 2), b = shard(2, 2);
  a.report.config.options = nlohmann::json();
  b.report.config.options = nlohmann::json();
  EXPECT_EQ(merge_error({a, b}), "");
  b.report.config.settings["kernels"] = {"fp16-ref-cublaslt"};
  EXPECT_NE(merge_error({a, b}).find("config settings: kernels"), std::string::npos) << merge_error({a, b});
}

TEST_F(MergeTest, RefusesACaseIdInTwoReportsEvenWhenMixingIsAllowed) {
  MergeInput again = shard(1, 3);
  again.source = "rerun.json";
  again.report.shard.reset();
  const std::string error = merge_error({shard(1, 3), again}, true);
  EXPECT_NE(error.find("appear in more than one report"), std::string::npos) << error;
  EXPECT_NE(error.find("shard-1.json and rerun.json"), std::string::npos) << error;
}

TEST_F(MergeTest, RefusesTheSameShardTwice) {
  MergeInput empty_copy = shard(1, 3);
  empty_copy.source = "copy.json";
  empty_copy.report.cases.clear();
  const std::string error = merge_error({shard(1, 3), empty_copy, shard(2, 3)});
  EXPECT_NE(error.find("shard 1/3 is in both shard-1.json and copy.json"), std::string::npos) << error;
}

TEST_F(MergeTest, AMissingShardOrAnIncompletePartMakesItIncomplete) {
  const MergeResult gap = merge({shard(1, 3), shard(3, 3)}, false);
  EXPECT_FALSE(gap.report.complete);
  ASSERT_EQ(gap.notes.size(), 1u);
  EXPECT_NE(gap.notes[0].find("2/3"), std::string::npos) << gap.notes[0];

  // A run that is no shard (a --filter run of the same config) beside them hides no gap.
  MergeInput filtered = shard(3, 3);
  filtered.source = "filtered.json";
  filtered.report.shard.reset();
  const MergeResult mixed = merge({shard(1, 3), filtered}, false);
  EXPECT_FALSE(mixed.report.complete);
  EXPECT_NE(mixed.notes.at(0).find("2/3"), std::string::npos) << mixed.notes.at(0);

  MergeInput interrupted = shard(2, 3);
  interrupted.report.complete = false;
  const MergeResult m = merge({shard(1, 3), interrupted, shard(3, 3)}, false);
  EXPECT_FALSE(m.report.complete);
  EXPECT_NE(m.notes.at(0).find("shard-2.json is incomplete"), std::string::npos) << m.notes.at(0);
}

// --allow-mixed with shard counts that differ: 1/3 and 2/3 with 3/4 lack shard 3/3 (and
// three of the 4-set), and were marked complete because sets of two counts were not checked.
TEST_F(MergeTest, ShardsOfAnotherCountHideNoGap) {
  const MergeInput first = shard(1, 3), second = shard(2, 3);
  MergeInput other_count = shard(3, 4);
  other_count.source = "quarter-3.json";
  std::erase_if(other_count.report.cases, [&](const CaseResult& c) {  // no case twice: that is refused
    const std::vector<std::string> taken = ids_of(first.report), more = ids_of(second.report);
    return std::count(taken.begin(), taken.end(), c.id) + std::count(more.begin(), more.end(), c.id) > 0;
  });
  ASSERT_FALSE(other_count.report.cases.empty());
  const MergeResult m = merge({first, second, other_count}, true);
  EXPECT_FALSE(m.report.complete);
  const std::string notes = m.notes.empty() ? "" : m.notes.back();
  EXPECT_NE(notes.find("3/3"), std::string::npos) << notes;
  EXPECT_NE(notes.find("1/4"), std::string::npos) << notes;
}

TEST_F(MergeTest, AMillionShardsMissingAreCountedNotListed) {
  const auto start = std::chrono::steady_clock::now();
  const MergeResult m = merge({shard(1, 1'000'000)}, false);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  ASSERT_EQ(m.notes.size(), 1u);
  EXPECT_LT(m.notes[0].size(), 1000u) << m.notes[0].substr(0, 200);
  EXPECT_NE(m.notes[0].find("2/1000000, 3/1000000"), std::string::npos) << m.notes[0];
  EXPECT_NE(m.notes[0].find("(999999 in all)"), std::string::npos) << m.notes[0];
}

TEST_F(MergeTest, AMergedReportMergesAgainWithItsParts) {
  const Report first_two = merge({shard(1, 3), shard(2, 3)}, false).report;
  EXPECT_FALSE(first_two.complete);  // 3/3 missing so far
  const Report all = merge({{"first-two.json", first_two}, shard(3, 3)}, false).report;
  EXPECT_EQ(ids_of(all), config_ids());
  ASSERT_EQ(all.parts.size(), 3u);
  EXPECT_EQ(all.parts[1].source, "shard-2.json");
  EXPECT_TRUE(all.complete);  // the missing shard arrived; no part was interrupted
}

TEST_F(MergeTest, NothingToMergeIsAnError) { EXPECT_NE(merge_error({}).find("at least one"), std::string::npos); }
