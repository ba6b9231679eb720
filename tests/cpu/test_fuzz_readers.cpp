// Fuzzing the readers: valid config and report texts, mutated by byte flips, truncations,
// type swaps and key deletions, must either parse or throw the documented error —
// ConfigError from parse_sweep_config, ReportError from report_from_json / read_report —
// never crash and never leak another exception type. What parses is then rendered in every
// format and compared against the original (CompareInputError is the only error allowed).
// Deterministic: a fixed seed and a fixed number of mutations per loop (never a time budget,
// so every run, fast machine or slow, tries exactly the same inputs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "src/config/sweep_config.h"
#include "src/report/compare.h"
#include "src/report/json_io.h"
#include "src/report/render.h"
#include "tests/cpu/views_fixture.h"

namespace int8attn {
namespace {

constexpr uint64_t kSeed = 0x5eed1234;
constexpr int kConfigMutations = 1500;  // per config: ~1 s each on a CI core
constexpr int kReportMutations = 300;   // a report is larger: ~1 s

// Every value in a JSON document, as JSON pointers.
void collect_pointers(const nlohmann::json& j, const nlohmann::json::json_pointer& at,
                      std::vector<nlohmann::json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) collect_pointers(value, at / key, out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) collect_pointers(j[i], at / i, out);
  }
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(const std::string& text, const nlohmann::json& doc) {
    switch (pick(4)) {
      case 0: return flip_bytes(text);
      case 1: return text.substr(0, pick(text.size()));
      case 2: return swap_type(doc).dump();
      default: return delete_value(doc).dump();
    }
  }

 private:
  size_t pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string flip_bytes(std::string text) {
    static const char kStructural[] = "{}[],:\"0-9.eE \\nulltruefalse\x00\xff";
    const size_t flips = 1 + pick(4);
    for (size_t i = 0; i < flips && !text.empty(); ++i) {
      char& c = text[pick(text.size())];
      c = pick(2) ? kStructural[pick(sizeof kStructural - 1)] : static_cast<char>(pick(256));
    }
    return text;
  }

  nlohmann::json::json_pointer random_pointer(const nlohmann::json& doc) {
    std::vector<nlohmann::json::json_pointer> pointers;
    collect_pointers(doc, nlohmann::json::json_pointer(), pointers);
    return pointers[pick(pointers.size())];
  }

  nlohmann::json swap_type(nlohmann::json doc) {
    static const nlohmann::json kReplacements[] = {
        nullptr, true, -1, 0, 1e308, -1e308, 9223372036854775807LL, 1.5, "x", "", "nan", "inf",
        nlohmann::json::array(), nlohmann::json::object(), nlohmann::json::array({1, "a", nullptr}),
        18446744073709551615ULL, -2147483649LL};
    doc[random_pointer(doc)] = kReplacements[pick(std::size(kReplacements))];
    return doc;
  }

  nlohmann::json delete_value(nlohmann::json doc) {
    const auto at = random_pointer(doc);
    if (at.empty()) return nlohmann::json::object();
    auto& parent = doc[at.parent_pointer()];
    if (parent.is_object()) parent.erase(at.back());
    if (parent.is_array() && !parent.empty()) parent.erase(parent.size() - 1);
    return doc;
  }

  std::mt19937_64 rng_;
};

// Runs `attempt` on `count` mutations of `text`; returns (iterations, how many parsed).
// `attempt` returns true when it parsed.
template <class Attempt>
std::pair<int, int> fuzz(const std::string& text, uint64_t seed, int count, Attempt attempt) {
  const nlohmann::json doc = nlohmann::json::parse(text);
  Mutator mutator(seed);
  int iterations = 0, parsed = 0;
  for (; iterations < count; ++iterations) {
    const std::string mutated = mutator.mutate(text, doc);
    try {
      parsed += attempt(mutated) ? 1 : 0;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "undocumented exception: " << e.what() << "\ninput: " << mutated.substr(0, 400);
      break;
    }
  }
  return {iterations, parsed};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(FuzzReaders, SweepConfigThrowsOnlyConfigError) {
  for (const char* name : {"configs/ci-cpu.json", "configs/default.json"}) {
    const std::string path = std::string(INT8ATTN_SOURCE_DIR) + "/" + name;
    const std::string text = read_file(path);
    ASSERT_FALSE(text.empty()) << path;
    ASSERT_NO_THROW(parse_sweep_config(text, path));  // the seed input is valid
    const auto [iterations, parsed] = fuzz(text, kSeed, kConfigMutations, [&](const std::string& mutated) {
      try {
        parse_sweep_config(mutated, "fuzz.json");
        return true;
      } catch (const ConfigError&) {
        return false;
      }
    });
    std::cout << name << ": " << iterations << " mutations, " << parsed << " parsed\n";
    EXPECT_EQ(iterations, kConfigMutations) << name;
    EXPECT_LT(parsed, iterations) << name << ": no mutation was rejected";
  }
}

// nlohmann's parser throws out_of_range (not parse_error) for a number beyond double's
// range; the readers must turn that into their own error type too.
TEST(FuzzReaders, NumberOverflowIsADocumentedError) {
  const std::string path = std::string(INT8ATTN_SOURCE_DIR) + "/configs/ci-cpu.json";
  std::string config = read_file(path);
  config.replace(config.find("\"batch\": [1, 2]"), 16, "\"batch\": [1E400]");
  EXPECT_THROW(parse_sweep_config(config, path), ConfigError);

  const auto file = std::filesystem::temp_directory_path() /
                    ("views-overflow-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".json");
  std::ofstream(file) << R"({"schema": "int8attn-bench/report/v1", "cases": [], "x": 1E400})";
  EXPECT_THROW(read_report(file.string()), ReportError);
  std::filesystem::remove(file);
}

// Views and compare must cope with whatever a reader accepted.
void exercise_views(const Report& original, const Report& parsed) {
  for (auto f : {ReportFormat::Table, ReportFormat::Markdown, ReportFormat::Csv, ReportFormat::Html}) {
    EXPECT_FALSE(render_report(parsed, f).empty());
  }
  try {
    const CompareResult r = compare_reports(original, parsed, CompareOptions{});
    for (auto f : {CompareFormat::Table, CompareFormat::Markdown, CompareFormat::Json}) {
      EXPECT_FALSE(render_compare(r, f).empty());
    }
    EXPECT_FALSE(junit_xml(r).empty());
  } catch (const CompareInputError&) {
  }
}

TEST(FuzzReaders, ReportReaderThrowsOnlyReportError) {
  testing::SweepShape shape;
  shape.seqs = {1024, 4096};
  shape.samples = 5;
  Report original = testing::make_report(shape, 3);
  testing::kernel_of(original, 1, "int8-fa").fallback->decision = Decision::Fp16Fallback;
  testing::kernel_of(original, 1, "int8-fa").fallback->reasons = {"accuracy"};
  const std::string text = to_json(original).dump(1);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("views-fuzz-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "report.json").string();
  int via_file = 0;
  const auto [iterations, parsed] = fuzz(text, kSeed + 1, kReportMutations, [&](const std::string& mutated) {
    try {
      Report r;
      if (++via_file % 8 == 0) {  // also through the file reader
        std::ofstream(file, std::ios::binary | std::ios::trunc) << mutated;
        r = read_report(file);
      } else {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(mutated);
        } catch (const nlohmann::json::exception&) {
          return false;  // not JSON (or a number out of range): report_from_json is never reached
        }
        r = report_from_json(j, "fuzz.json");
      }
      exercise_views(original, r);
      return true;
    } catch (const ReportError&) {
      return false;
    }
  });
  std::filesystem::remove_all(dir);
  std::cout << "report: " << iterations << " mutations, " << parsed << " parsed\n";
  EXPECT_EQ(iterations, kReportMutations);
  EXPECT_GT(parsed, 0);
  EXPECT_LT(parsed, iterations);
}

}  // namespace
}  // namespace int8attn
