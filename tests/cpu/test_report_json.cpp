// Report JSON: lossless round trip through a file, schema validity, and errors that say
// where the problem is. Also the summary arithmetic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>

#include "src/report/json_io.h"
#include "tests/cpu/report_fixture.h"

namespace int8attn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::expect_same;

class ReportJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("int8attn-report-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write_text(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

  // The full report as JSON, changed by `edit`, written to a file.
  template <class Edit>
  std::string write_edited(const std::string& name, Edit edit) const {
    json j = to_json(testing::make_full_report());
    edit(j);
    return write_text(name, j.dump(2));
  }

  // The ReportError that reading `file` throws (fails the test if none).
  static ReportError read_error(const std::string& file) {
    try {
      read_report(file);
    } catch (const ReportError& e) {
      return e;
    }
    ADD_FAILURE() << "read_report(" << file << ") did not throw";
    return ReportError("", "", "");
  }

  fs::path dir_;
};

bool have_jsonschema() {
  return std::system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
}

int validate(const std::string& report_path) {
  const std::string src = INT8ATTN_SOURCE_DIR;
  const std::string cmd = "/usr/bin/python3 '" + src + "/scripts/validate_report.py' '" + src +
                          "/docs/report.schema.json' '" + report_path + "' >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

TEST_F(ReportJsonTest, RoundTripThroughFileIsLossless) {
  const Report original = testing::make_full_report();
  write_report_atomic(original, path("r.json"));
  const Report back = read_report(path("r.json"));

  EXPECT_EQ(back.schema, kReportSchema);
  EXPECT_EQ(back.tool.name, original.tool.name);
  EXPECT_EQ(back.tool.version, original.tool.version);
  EXPECT_EQ(back.tool.git_commit, original.tool.git_commit);
  const Environment &e = back.environment, &o = original.environment;
  EXPECT_EQ(e.backend, o.backend);
  EXPECT_EQ(e.hostname, o.hostname);
  EXPECT_EQ(e.gpu_name, o.gpu_name);
  EXPECT_EQ(e.compute_capability, o.compute_capability);
  EXPECT_EQ(e.sm_count, o.sm_count);
  EXPECT_EQ(e.memory_bytes, o.memory_bytes);
  EXPECT_EQ(e.sm_clock_mhz, o.sm_clock_mhz);
  EXPECT_EQ(e.memory_clock_mhz, o.memory_clock_mhz);
  EXPECT_EQ(e.driver_version, o.driver_version);
  EXPECT_EQ(e.cuda_runtime_version, o.cuda_runtime_version);
  EXPECT_EQ(e.cublaslt_version, o.cublaslt_version);
  EXPECT_EQ(e.cpu_model, o.cpu_model);
  EXPECT_EQ(e.cpu_threads, o.cpu_threads);
  EXPECT_EQ(back.config.path, original.config.path);
  EXPECT_EQ(back.config.sha256, original.config.sha256);
  EXPECT_EQ(back.config.settings, original.config.settings);
  EXPECT_EQ(back.started_at, original.started_at);
  EXPECT_EQ(back.finished_at, original.finished_at);
  EXPECT_EQ(back.complete, original.complete);
  ASSERT_EQ(back.cases.size(), original.cases.size());
  for (size_t i = 0; i < back.cases.size(); ++i) expect_same(back.cases[i], original.cases[i]);
  const Summary &s = back.summary, &os = original.summary;
  EXPECT_EQ(s.cases, os.cases);
  EXPECT_EQ(s.kernel_runs, os.kernel_runs);
  EXPECT_EQ(s.ok, os.ok);
  EXPECT_EQ(s.skipped, os.skipped);
  EXPECT_EQ(s.errors, os.errors);
  EXPECT_EQ(s.int8_share, os.int8_share);
  EXPECT_EQ(s.geomean_speedup, os.geomean_speedup);
  EXPECT_EQ(s.worst_rel_l2, os.worst_rel_l2);
  EXPECT_EQ(s.worst_rel_l2_case, os.worst_rel_l2_case);
  EXPECT_EQ(s.worst_max_abs_error, os.worst_max_abs_error);
  EXPECT_EQ(s.worst_max_abs_error_case, os.worst_max_abs_error_case);
}

// make_full_report with every optional field of the format set as well: the shard and the
// merge's parts, several environments, config options, a case baseline, an FP8 verdict,
// the rotated try's reason, a Hadamard case and one case of each distribution whose input
// has fields of its own. EveryFieldReportCoversTheSchema keeps it complete.
Report make_every_field_report() {
  Report r = testing::make_full_report();
  r.environment.cudnn_version = "91000";
  r.environment.device = 0;
  Environment second = r.environment;
  second.device = 1;
  r.environments = {r.environment, second};
  r.config.options = {{"kernels", {"int8-fa", "fp16-fa"}}};
  r.shard = ShardSpec{2, 3};
  ReportPart part;
  part.source = "shard-2.json";
  part.tool = r.tool;
  part.config_sha256 = r.config.sha256;
  part.shard = r.shard;
  part.complete = false;
  part.cases = 3;
  part.started_at = r.started_at;
  part.finished_at = r.finished_at;
  r.parts = {part};

  r.cases.push_back(testing::make_case("case-c", 0.5));
  r.cases[0].environment = r.environment;
  r.cases[1].environment = second;
  r.cases[1].rotation = QkRotation::Hadamard;
  r.cases[1].input.distribution = Distribution::OutlierScale;
  r.cases[1].input.q_outlier_magnitude = 4.25;
  r.cases[2].input.distribution = Distribution::AttentionSink;
  r.cases[2].input.sink_tokens = 2;
  r.cases[2].input.sink_magnitude = 3.5;
  r.cases[0].baseline = Baseline{"configured", "fp16-fa", 1.0 / 3.0, "the configured kernel"};
  KernelResult& k = r.cases[0].kernels[0];
  k.speedup = 1.7320508075688772;
  k.fp8_verdict = Fp8Verdict{Fp8Decision::Fp16, {"accuracy: rel_l2 0.06 > max_rel_l2 0.05"}};
  k.quantization = KernelQuantization{128, 128, true};  // k_per_thread written when true
  r.cases[1].kernels[0].quantization = KernelQuantization{128, 128, false, true};  // k_grouped too
  k.quantize_latency->raw_ms = {0.125, 0.25};
  k.latency->sm_clock = SmClockStats{1755.5, 1620.25, k.latency->samples};
  k.quantize_latency->sm_clock = SmClockStats{1980, 1965.5, 1};
  r.cases[0].kernels[1].fallback->rotated->latency->sm_clock = SmClockStats{1830, 1830, 2};
  r.cases[0].kernels[1].fallback->rotated->latency->raw_ms = {1.5, 1.25};
  RotatedAttempt skipped;  // a rotated try that did not run: its reason
  skipped.status = KernelStatus::Skipped;
  skipped.reason = "shape: head_dim 96";
  skipped.reasons = {"with the hadamard rotation: skipped (shape: head_dim 96)"};
  r.cases[2].kernels[1].fallback = FallbackDecision{Decision::Fp16Fallback, {"accuracy: rel_l2 0.0141 > max_rel_l2 0.0125"}, skipped};

  Summary& s = r.summary;
  s.int8_hadamard = 1;
  s.baseline_rule = "configured";
  s.fp8_verdicts = 1;
  s.fp8_chosen = 0;
  s.fp8_geomean_speedup = 0.5;
  return r;
}

// "$.cases[].dims.batch" for each key of `value`, descending where `schema_node` names the
// keys (not into free-form objects such as config.settings); `schema` resolves "$ref".
// Without a value: every key path the schema allows, and in `required` those it requires
// (unconditionally: "if"/"then" rules are not followed).
void key_paths(const json& schema, const json& schema_node, const json* value, const std::string& path,
               std::set<std::string>& out, std::set<std::string>* required = nullptr) {
  const json& node = schema_node.contains("$ref")
                         ? schema.at(json::json_pointer(schema_node["$ref"].get<std::string>().substr(1)))
                         : schema_node;
  if (node.contains("properties")) {
    const json& properties = node["properties"];
    if (!value) {
      for (const auto& [key, sub] : properties.items()) {
        out.insert(path + "." + key);
        key_paths(schema, sub, nullptr, path + "." + key, out, required);
      }
      if (required && node.contains("required")) {
        for (const json& key : node["required"]) required->insert(path + "." + key.get<std::string>());
      }
    } else if (value->is_object()) {
      for (const auto& [key, sub] : value->items()) {
        out.insert(path + "." + key);
        if (properties.contains(key)) key_paths(schema, properties[key], &sub, path + "." + key, out);
      }
    }
  }
  if (node.contains("items")) {
    if (!value) key_paths(schema, node["items"], nullptr, path + "[]", out, required);
    if (value && value->is_array()) {
      for (const json& item : *value) key_paths(schema, node["items"], &item, path + "[]", out);
    }
  }
}

json report_schema() {
  std::ifstream in(std::string(INT8ATTN_SOURCE_DIR) + "/docs/report.schema.json");
  return json::parse(in);
}

std::set<std::string> schema_key_paths(std::set<std::string>* required = nullptr) {
  const json schema = report_schema();
  std::set<std::string> paths;
  key_paths(schema, schema, nullptr, "$", paths, required);
  return paths;
}

std::set<std::string> report_key_paths(const json& report) {
  const json schema = report_schema();
  std::set<std::string> paths;
  key_paths(schema, schema, &report, "$", paths);
  return paths;
}

// The paths in one set and not the other ("only in the schema: ...; only in the report: ...",
// with the names given); empty when the sets are equal.
std::string difference(const std::set<std::string>& schema, const std::set<std::string>& other,
                       const std::string& other_name = "the report") {
  std::string only_schema, only_other;
  for (const std::string& p : schema) {
    if (!other.count(p)) only_schema += " " + p;
  }
  for (const std::string& p : other) {
    if (!schema.count(p)) only_other += " " + p;
  }
  if (only_schema.empty() && only_other.empty()) return "";
  return "only in the schema:" + only_schema + "; only in " + other_name + ":" + only_other;
}

// The keys the reader requires: each key of `value` (inside `root`) cut in turn, those whose
// absence fails at their own path.
void required_by_reader(const json& root, const json& value, const json::json_pointer& at, const std::string& at_path,
                        const std::string& path, std::set<std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, sub] : value.items()) {
      json cut = root;
      cut[at].erase(key);
      try {
        report_from_json(cut, "cut.json");
      } catch (const ReportError& e) {
        if (e.json_path() == at_path + "." + key) out.insert(path + "." + key);
      }
      required_by_reader(root, sub, at / key, at_path + "." + key, path + "." + key, out);
    }
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      required_by_reader(root, value[i], at / i, at_path + "[" + std::to_string(i) + "]", path + "[]", out);
    }
  }
}

// The shared field lists name exactly the keys of the schema, a field added to one and not
// the other fails here, whether a report sets it or not.
TEST_F(ReportJsonTest, FieldListsNameTheSchemasKeys) {
  EXPECT_EQ(difference(schema_key_paths(), report_key_paths(report_skeleton()), "the field lists"), "");
}

// What the reader requires is what the schema requires: a field that is required in one and
// optional in the other fails here (a new required field would refuse every older report).
TEST_F(ReportJsonTest, ReaderRequiresWhatTheSchemaRequires) {
  std::set<std::string> schema_required;
  schema_key_paths(&schema_required);
  // Required with their distribution (the schema's "allOf"); the every-field report has them
  // only in the cases whose distribution requires them.
  for (const char* key : {"magnitude", "channels", "q_magnitude", "sink_tokens", "sink_magnitude"}) {
    schema_required.insert(std::string("$.cases[].input.") + key);
  }
  const json full = to_json(make_every_field_report());
  std::set<std::string> reader_required;
  required_by_reader(full, full, json::json_pointer(), "$", "$", reader_required);
  EXPECT_EQ(difference(schema_required, reader_required, "the reader"), "");
}

// Where two texts first differ: "" when they are the same, else the line number and both lines.
std::string first_difference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  std::istringstream x(a), y(b);
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(x, line_a));
    const bool more_b = static_cast<bool>(std::getline(y, line_b));
    if (!more_a || !more_b || line_a != line_b) {
      return "line " + std::to_string(line) + ": \"" + (more_a ? line_a : "<end>") + "\" vs \"" +
             (more_b ? line_b : "<end>") + "\"";
    }
  }
}

// The every-field report holds every key the schema has, and no other: with the two tests
// after it, every field of the format is written, read back and valid.
TEST_F(ReportJsonTest, EveryFieldReportCoversTheSchema) {
  EXPECT_EQ(difference(schema_key_paths(), report_key_paths(to_json(make_every_field_report()))), "");
}

TEST_F(ReportJsonTest, EveryFieldRoundTripsToTheSameBytes) {
  const std::string text = report_json_text(make_every_field_report());
  const std::string file = write_text("every.json", text);
  EXPECT_EQ(first_difference(report_json_text(read_report(file)), text), "");

  // A checkpoint line holds a case with its environment whole.
  const CaseResult c = make_every_field_report().cases[1];
  const json line = to_json(c);
  EXPECT_TRUE(line["environment"].is_object());
  EXPECT_EQ(to_json(from_json_as<CaseResult>(line, "checkpoint:2")), line);
}

TEST_F(ReportJsonTest, EveryFieldReportMatchesTheJsonSchema) {
  if (!have_jsonschema()) GTEST_SKIP() << "python3-jsonschema is not installed";
  write_report_atomic(make_every_field_report(), path("every.json"));
  EXPECT_EQ(validate(path("every.json")), 0);
}

// Each report kept in results/ reads and writes back to the same bytes: the reader reads
// every field the writer writes, and the files are what the writer writes today.
TEST_F(ReportJsonTest, KeptReportsRoundTrip) {
  int reports = 0;
  for (const auto& entry : fs::directory_iterator(std::string(INT8ATTN_SOURCE_DIR) + "/results")) {
    if (entry.path().extension() != ".json") continue;
    const std::string file = entry.path().string();
    EXPECT_EQ(first_difference(report_json_text(read_report(file)), read_text_file(file)), "") << file;
    ++reports;
  }
  EXPECT_GT(reports, 0);
}

// Reports written before a field existed still read: the defaults stand in.
TEST_F(ReportJsonTest, OlderReportsLackingLaterFieldsRead) {
  json j = to_json(make_every_field_report());
  j["config"].erase("options");
  for (json& c : j["cases"]) {
    c.erase("quantization");
    for (json& k : c["kernels"]) {
      if (k.contains("fallback")) k["fallback"].erase("rotated");
      if (k.contains("latency")) k["latency"].erase("stop_reason");
    }
  }
  const Report r = read_report(write_text("old.json", j.dump(2)));
  EXPECT_TRUE(r.config.options.is_null());
  EXPECT_EQ(r.cases[1].rotation, QkRotation::None);
  EXPECT_FALSE(r.cases[0].kernels[1].fallback->rotated.has_value());
  EXPECT_EQ(r.cases[0].kernels[0].latency->stop_reason, "");
}

TEST_F(ReportJsonTest, AbsentOptionalsAreOmittedAndStayAbsent) {
  Report r;
  r.environment.backend = "cpu";
  CaseResult c = testing::make_case("c", 1.0);
  c.kernels[0] = KernelResult{"int8-fa", KernelStatus::Skipped, "shape: head_dim 96", {}, {}, {}, {}, {}, {}};
  c.reference_check.reset();
  c.input = InputSpec{};  // normal: magnitude/channels are not part of it
  c.input.seed = 7;
  r.cases = {c};
  const json j = to_json(r);
  const json& k = j["cases"][0]["kernels"][0];
  for (const char* key : {"latency", "quantize_latency", "tops", "accuracy", "memory", "fallback"}) {
    EXPECT_FALSE(k.contains(key)) << key;
  }
  EXPECT_FALSE(j["cases"][0].contains("reference_check"));
  EXPECT_FALSE(j["cases"][0]["input"].contains("magnitude"));
  EXPECT_FALSE(j["cases"][0]["input"].contains("npy_dir"));
  EXPECT_FALSE(j["summary"].contains("geomean_speedup"));
  EXPECT_FALSE(j["environment"].contains("gpu_name"));

  const Report back = report_from_json(j, "memory");
  expect_same(back.cases[0], c);
}

TEST_F(ReportJsonTest, WrittenReportMatchesTheJsonSchema) {
  if (!have_jsonschema()) GTEST_SKIP() << "python3-jsonschema is not installed";
  write_report_atomic(testing::make_full_report(), path("r.json"));
  EXPECT_EQ(validate(path("r.json")), 0);

  Report minimal;
  minimal.environment.backend = "cpu";
  write_report_atomic(minimal, path("minimal.json"));
  EXPECT_EQ(validate(path("minimal.json")), 0);
}

TEST_F(ReportJsonTest, SchemaRejectsWrongReports) {
  if (!have_jsonschema()) GTEST_SKIP() << "python3-jsonschema is not installed";
  EXPECT_NE(validate(write_edited("status.json", [](json& j) { j["cases"][0]["kernels"][0]["status"] = "fine"; })), 0);
  EXPECT_NE(validate(write_edited("extra.json", [](json& j) { j["cases"][0]["dims"]["bogus"] = 1; })), 0);
  EXPECT_NE(validate(write_edited("missing.json", [](json& j) { j["cases"][0].erase("id"); })), 0);
  EXPECT_NE(validate(write_edited("backend.json", [](json& j) { j["environment"]["backend"] = "tpu"; })), 0);
}

TEST_F(ReportJsonTest, AtomicWriteLeavesOnlyTheReport) {
  write_report_atomic(testing::make_full_report(), path("r.json"));
  write_report_atomic(testing::make_full_report(), path("r.json"));  // replaces it
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"r.json"});
}

TEST_F(ReportJsonTest, AtomicWriteFailureNamesThePath) {
  const std::string target = path("no-such-dir/r.json");
  try {
    write_report_atomic(testing::make_full_report(), target);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
  }
}

TEST_F(ReportJsonTest, MissingFileIsAReportError) {
  ReportError e = read_error(path("absent.json"));
  EXPECT_EQ(e.file(), path("absent.json"));
  EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
}

TEST_F(ReportJsonTest, TruncatedFileIsAReportError) {
  const std::string text = to_json(testing::make_full_report()).dump(2);
  ReportError e = read_error(write_text("cut.json", text.substr(0, text.size() / 2)));
  EXPECT_NE(std::string(e.what()).find("valid JSON"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find(path("cut.json")), std::string::npos) << e.what();
}

TEST_F(ReportJsonTest, NotJsonIsAReportError) {
  ReportError e = read_error(write_text("text.json", "median 1.5 ms\n"));
  EXPECT_NE(e.expected().find("valid JSON"), std::string::npos) << e.what();
}

TEST_F(ReportJsonTest, ACheckpointGivenAsAReportIsNamedAsOne) {
  // Its header, then a case a line: "invalid JSON at line 2" would send the user looking for damage.
  const std::string header = R"({"backend":"cpu","schema":"int8attn-bench/checkpoint/v1"})";
  ReportError lines = read_error(write_text("r.json.ckpt.jsonl", header + "\n{\"id\":\"a\"}\n"));
  EXPECT_NE(lines.expected().find("a sweep's checkpoint"), std::string::npos) << lines.what();
  EXPECT_EQ(lines.expected().find("truncated"), std::string::npos) << lines.what();
  ReportError header_only = read_error(write_text("h.ckpt.jsonl", header + "\n"));
  EXPECT_NE(header_only.expected().find("--resume"), std::string::npos) << header_only.what();
}

TEST_F(ReportJsonTest, SchemaStringIsChecked) {
  ReportError v2 = read_error(write_edited("v2.json", [](json& j) { j["schema"] = "int8attn-bench/report/v2"; }));
  EXPECT_EQ(v2.json_path(), "$.schema");
  EXPECT_NE(v2.expected().find("unsupported schema version \"v2\""), std::string::npos) << v2.what();

  ReportError other = read_error(write_edited("other.json", [](json& j) { j["schema"] = "nvbench/1"; }));
  EXPECT_NE(other.expected().find("nvbench/1"), std::string::npos) << other.what();

  ReportError missing = read_error(write_edited("none.json", [](json& j) { j.erase("schema"); }));
  EXPECT_EQ(missing.json_path(), "$.schema");

  ReportError array = read_error(write_text("array.json", "[1, 2]"));
  EXPECT_EQ(array.json_path(), "$");
}

TEST_F(ReportJsonTest, WrongTypeNamesTheNestedPath) {
  ReportError e = read_error(write_edited("type.json", [](json& j) {
    j["cases"][1]["kernels"][0]["latency"]["samples"] = "many";
  }));
  EXPECT_EQ(e.json_path(), "$.cases[1].kernels[0].latency.samples");
  EXPECT_NE(std::string(e.what()).find("$.cases[1].kernels[0].latency.samples"), std::string::npos);
  EXPECT_NE(e.expected().find("integer"), std::string::npos) << e.what();

  ReportError fraction = read_error(write_edited("frac.json", [](json& j) { j["cases"][0]["dims"]["heads"] = 1.5; }));
  EXPECT_EQ(fraction.json_path(), "$.cases[0].dims.heads");

  ReportError status = read_error(write_edited("enum.json", [](json& j) {
    j["cases"][0]["kernels"][1]["status"] = "fine";
  }));
  EXPECT_EQ(status.json_path(), "$.cases[0].kernels[1].status");
  EXPECT_NE(status.expected().find("\"skipped\""), std::string::npos) << status.what();

  ReportError missing = read_error(write_edited("req.json", [](json& j) { j["cases"][0]["dims"].erase("seq_kv"); }));
  EXPECT_EQ(missing.json_path(), "$.cases[0].dims.seq_kv");

  ReportError null_optional = read_error(write_edited("null.json", [](json& j) { j["cases"][0]["kernels"][0]["tops"] = nullptr; }));
  EXPECT_EQ(null_optional.json_path(), "$.cases[0].kernels[0].tops");
}

// What the schema promises of the numbers: an edited report is refused, not judged (a negative
// error read as an improvement, a NaN time compared as equal, a case twice compared once).
TEST_F(ReportJsonTest, ImpossibleValuesAndRepeatsAreRefusedWithTheirPath) {
  const std::vector<std::pair<std::string, std::function<void(json&)>>> edits = {
      {"$.cases[0].kernels[1].accuracy.rel_l2", [](json& j) { j["cases"][0]["kernels"][1]["accuracy"]["rel_l2"] = -1; }},
      {"$.cases[0].kernels[1].accuracy.mse", [](json& j) { j["cases"][0]["kernels"][1]["accuracy"]["mse"] = "-inf"; }},
      {"$.cases[0].kernels[1].accuracy.nonfinite", [](json& j) { j["cases"][0]["kernels"][1]["accuracy"]["nonfinite"] = -3; }},
      {"$.cases[0].kernels[1].accuracy.cosine", [](json& j) { j["cases"][0]["kernels"][1]["accuracy"]["cosine"] = 2; }},
      {"$.cases[0].kernels[1].latency.median_ms", [](json& j) { j["cases"][0]["kernels"][1]["latency"]["median_ms"] = "inf"; }},
      {"$.cases[0].kernels[1].latency.stddev_ms", [](json& j) { j["cases"][0]["kernels"][1]["latency"]["stddev_ms"] = "nan"; }},
      {"$.cases[0].kernels[1].latency.min_ms", [](json& j) { j["cases"][0]["kernels"][1]["latency"]["min_ms"] = -1; }},
      {"$.cases[0].kernels[1].latency.median_ms", [](json& j) { j["cases"][0]["kernels"][1]["latency"]["median_ms"] = 0; }},
      {"$.cases[0].kernels[1].memory.peak_bytes", [](json& j) { j["cases"][0]["kernels"][1]["memory"]["peak_bytes"] = -1; }},
      {"$.cases[0].kernels[1].latency.sm_clock.median_mhz", [](json& j) {
         j["cases"][0]["kernels"][1]["latency"]["sm_clock"] = {{"median_mhz", 0}, {"min_mhz", 0}, {"samples", 1}};
       }},
      {"$.cases[0].kernels[1].latency.sm_clock.min_mhz", [](json& j) {  // above the median
         j["cases"][0]["kernels"][1]["latency"]["sm_clock"] = {{"median_mhz", 1500}, {"min_mhz", 1600}, {"samples", 1}};
       }},
      {"$.cases[0].kernels[1].latency.sm_clock.samples", [](json& j) {  // more readings than samples
         json& l = j["cases"][0]["kernels"][1]["latency"];
         l["sm_clock"] = {{"median_mhz", 1500}, {"min_mhz", 1400}, {"samples", l["samples"].get<int64_t>() + 1}};
       }},
      {"$.cases[0].kernels[1].speedup", [](json& j) { j["cases"][0]["kernels"][1]["speedup"] = -2; }},
      {"$.cases[0].kernels[1].speedup", [](json& j) { j["cases"][0]["kernels"][1]["speedup"] = "nan"; }},
      {"$.cases[0].kernels[1].accuracy.max_abs_at[2]", [](json& j) { j["cases"][0]["kernels"][1]["accuracy"]["max_abs_at"][2] = -1; }},
      {"$.cases[0].wall_seconds", [](json& j) { j["cases"][0]["wall_seconds"] = -1; }},
      {"$.environment.sm_count", [](json& j) { j["environment"]["sm_count"] = -1; }},
      {"$.cases[0].dims.seq_q", [](json& j) { j["cases"][0]["dims"]["seq_q"] = -5; }},
      {"$.cases[0].dims.heads", [](json& j) { j["cases"][0]["dims"]["heads"] = 0; }},
      {"$.cases[0].dims.kv_heads", [](json& j) {  // GQA needs kv_heads to divide heads
         j["cases"][0]["dims"]["heads"] = 4;
         j["cases"][0]["dims"]["kv_heads"] = 3;
       }},
      {"$.cases[1].id", [](json& j) { j["cases"][1]["id"] = j["cases"][0]["id"]; }},
      {"$.cases[1].id", [](json& j) { j["cases"][1]["id"] = ""; }},
      {"$.cases[0].kernels[1].kernel", [](json& j) { j["cases"][0]["kernels"][1]["kernel"] = ""; }},
      {"$.cases[0].kernels[2].kernel", [](json& j) { j["cases"][0]["kernels"][2]["kernel"] = j["cases"][0]["kernels"][1]["kernel"]; }},
      {"$.shard", [](json& j) { j["shard"] = {{"index", 1}, {"count", int64_t{1} << 62}}; }},
  };
  int n = 0;
  for (const auto& [path, edit] : edits) {
    ReportError e = read_error(write_edited("edit" + std::to_string(n++) + ".json", edit));
    EXPECT_EQ(e.json_path(), path) << e.what();
  }
  // A kernel that wrote NaN keeps its NaN metrics: those are results, not damage.
  const Report nan = read_report(write_edited("nan.json", [](json& j) {
    j["cases"][0]["kernels"][1]["accuracy"]["rel_l2"] = "nan";
    j["cases"][0]["kernels"][1]["accuracy"]["max_abs_error"] = "inf";
  }));
  EXPECT_TRUE(std::isnan(nan.cases[0].kernels[1].accuracy->rel_l2));
}

TEST_F(ReportJsonTest, UnknownFieldsAreIgnored) {
  const Report r = read_report(write_edited("future.json", [](json& j) {
    j["energy"] = {{"joules", 3}};
    j["cases"][0]["kernels"][0]["power_w"] = 700;
    j["cases"][0]["dims"]["window"] = 4096;
  }));
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].dims.seq_kv, 8192);
}

// The example in the documentation is a real, readable, valid report.
TEST_F(ReportJsonTest, DocumentedExampleIsAValidReport) {
  std::ifstream doc(std::string(INT8ATTN_SOURCE_DIR) + "/docs/report-schema.md");
  std::stringstream ss;
  ss << doc.rdbuf();
  const std::string text = ss.str();
  const size_t begin = text.find("```json\n");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = text.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  const std::string example = text.substr(begin + 8, end - begin - 8);
  const Report r = report_from_json(json::parse(example), "docs/report-schema.md");
  ASSERT_EQ(r.cases.size(), 1u);
  Report resummarized = r;
  summarize(resummarized);  // the example's summary must be what summarize() says
  EXPECT_EQ(resummarized.summary.kernel_runs, r.summary.kernel_runs);
  EXPECT_EQ(resummarized.summary.int8_share, r.summary.int8_share);
  EXPECT_EQ(resummarized.summary.worst_rel_l2, r.summary.worst_rel_l2);
  EXPECT_EQ(resummarized.summary.worst_max_abs_error_case, r.summary.worst_max_abs_error_case);
  EXPECT_EQ(resummarized.summary.geomean_speedup.has_value(), r.summary.geomean_speedup.has_value());
  if (have_jsonschema()) {
    EXPECT_EQ(validate(write_text("example.json", example)), 0);
  }
}

// --- summarize ---------------------------------------------------------------------------

KernelResult timed(const std::string& kernel, KernelStatus status, std::optional<double> median_ms,
                   std::optional<Decision> decision, std::optional<double> rel_l2 = {},
                   double max_abs = 0) {
  KernelResult k;
  k.kernel = kernel;
  k.status = status;
  if (median_ms) {
    k.latency = LatencyStats{};
    k.latency->median_ms = *median_ms;
  }
  if (decision) k.fallback = FallbackDecision{*decision, {}};
  if (rel_l2) {
    k.accuracy = Accuracy{};
    k.accuracy->rel_l2 = *rel_l2;
    k.accuracy->max_abs_error = max_abs;
  }
  return k;
}

TEST(Summarize, CountsSharesSpeedupAndWorstAccuracy) {
  Report r;
  CaseResult a;
  a.id = "a";
  a.kernels = {timed("fp16-ref-cublaslt", KernelStatus::Ok, 10.0, {}),
               timed("fp16-fa", KernelStatus::Ok, 2.0, {}, 0.9, 9.0),  // not INT8: never "worst"
               timed("int8-fa", KernelStatus::Ok, 1.0, Decision::Int8, 0.01, 0.02),
               timed("int8-qk", KernelStatus::Ok, 0.5, Decision::Fp16Fallback, 0.03, 0.01)};
  CaseResult b;
  b.id = "b";
  b.kernels = {timed("fp16-fa", KernelStatus::Error, {}, {}),  // no baseline: no speedup
               timed("int8-fa", KernelStatus::Ok, 1.0, Decision::Int8, 0.02, 0.04),
               timed("int8-qk", KernelStatus::Skipped, {}, Decision::Fp16Fallback)};
  r.cases = {a, b};
  summarize(r);

  const Summary& s = r.summary;
  EXPECT_EQ(s.cases, 2);
  EXPECT_EQ(s.kernel_runs, 7);
  EXPECT_EQ(s.ok, 5);
  EXPECT_EQ(s.errors, 1);
  EXPECT_EQ(s.skipped, 1);
  EXPECT_DOUBLE_EQ(s.int8_share, 2.0 / 4.0);
  ASSERT_TRUE(s.geomean_speedup.has_value());
  EXPECT_DOUBLE_EQ(*s.geomean_speedup, std::sqrt(2.0 * 4.0));
  ASSERT_TRUE(s.worst_rel_l2.has_value());
  EXPECT_DOUBLE_EQ(*s.worst_rel_l2, 0.03);
  EXPECT_EQ(s.worst_rel_l2_case, "a");
  ASSERT_TRUE(s.worst_max_abs_error.has_value());
  EXPECT_DOUBLE_EQ(*s.worst_max_abs_error, 0.04);
  EXPECT_EQ(s.worst_max_abs_error_case, "b");
}

TEST(Summarize, NoBaselineMeansNoSpeedupAndNaNIsWorst) {
  Report r;
  CaseResult c;
  c.id = "nan-case";
  c.kernels = {timed("int8-fa", KernelStatus::Ok, 1.0, Decision::Fp16Fallback, std::nan(""), 1.0)};
  CaseResult d;
  d.id = "fine";
  d.kernels = {timed("int8-fa", KernelStatus::Ok, 1.0, Decision::Int8, 0.5, 2.0)};
  r.cases = {c, d};
  summarize(r);
  EXPECT_FALSE(r.summary.geomean_speedup.has_value());
  EXPECT_DOUBLE_EQ(r.summary.int8_share, 0.5);
  EXPECT_TRUE(std::isnan(*r.summary.worst_rel_l2));
  EXPECT_EQ(r.summary.worst_rel_l2_case, "nan-case");
  EXPECT_EQ(r.summary.worst_max_abs_error_case, "fine");
}

TEST(Summarize, EmptyReport) {
  Report r;
  summarize(r);
  EXPECT_EQ(r.summary.cases, 0);
  EXPECT_EQ(r.summary.int8_share, 0.0);
  EXPECT_FALSE(r.summary.worst_rel_l2.has_value());
}

TEST(ReportEnums, Strings) {
  EXPECT_STREQ(to_string(KernelStatus::Ok), "ok");
  EXPECT_STREQ(to_string(KernelStatus::Skipped), "skipped");
  EXPECT_STREQ(to_string(KernelStatus::Error), "error");
  EXPECT_STREQ(to_string(Decision::Int8), "int8");
  EXPECT_STREQ(to_string(Decision::Fp16Fallback), "fp16-fallback");
}

}  // namespace
}  // namespace int8attn
