// Issue 11, "Hostile inputs: no crash, no clobbered file, no silent wrong verdict": each
// test here is one of its findings, at the level of the function that must hold the line.
// The command-line side (exit codes, nothing written) is in tests/cli_test.sh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "src/bench/backend.h"
#include "tests/cpu/test_dir.h"
#include "src/bench/fallback.h"
#include "src/bench/runner.h"
#include "src/config/sweep_config.h"
#include "src/host/inputs.h"
#include "src/host/npy.h"
#include "src/io/json_text.h"
#include "src/io/output_file.h"
#include "src/report/checkpoint.h"
#include "src/report/json_io.h"
#include "tests/cpu/report_fixture.h"

namespace int8attn {
namespace {

namespace fs = std::filesystem;

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_test_dir("int8attn-hostile");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  // --resume of a two-case sweep whose checkpoint holds `checkpoint`: it starts over and finishes.
  void expect_resume_starts_over(const std::string& checkpoint) const;
  std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

bool is_char_device(const char* p) {
  struct stat st {};
  return ::lstat(p, &st) == 0 && S_ISCHR(st.st_mode);
}

// --- item 1: outputs that are not regular files are written through ------------------------

// A device node of our own (null or full) when we may make one (root): a regression then
// replaces it, not the machine's. Otherwise the real one, which a non-root run cannot replace.
std::string device_node(const fs::path& dir, const char* name, unsigned minor) {
  const std::string own = (dir / name).string();
  if (::mknod(own.c_str(), S_IFCHR | 0666, makedev(1, minor)) == 0) return own;
  return std::string("/dev/") + name;
}

TEST_F(HostileTest, DeviceOutputsAreWrittenThroughNotReplaced) {
  const std::string null = device_node(dir_, "null", 3), full = device_node(dir_, "full", 7);
  ASSERT_TRUE(is_char_device(null.c_str()));
  write_output_file(null, "report");
  EXPECT_TRUE(is_char_device(null.c_str()));  // as root, rename() would have replaced it
  try {
    write_output_file(full, "report");
    ADD_FAILURE() << "no error writing " << full;
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(is_char_device(full.c_str()));
  EXPECT_TRUE(check_output_path(null, {}, "-o").write_through);
}

TEST_F(HostileTest, FifoOutputIsWrittenThrough) {
  const std::string fifo = path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    received = ss.str();
  });
  write_output_file(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(HostileTest, SymlinkOutputReplacesItsTargetAndKeepsTheLink) {
  write("target.json", "old");
  fs::create_symlink(path("target.json"), path("link.json"));
  write_output_file(path("link.json"), "new");
  EXPECT_TRUE(fs::is_symlink(path("link.json")));
  EXPECT_EQ(read("target.json"), "new");
}

// --- item 6: an output that is one of the inputs is refused --------------------------------

TEST_F(HostileTest, OutputThatIsAnInputIsRefusedWhateverItsSpelling) {
  write("config.json", "{}");
  fs::create_hard_link(path("config.json"), path("hard.json"));
  fs::create_symlink(path("config.json"), path("soft.json"));
  const std::vector<NamedInput> inputs = {{"config", path("config.json")}};
  for (const char* name : {"config.json", "hard.json", "soft.json"}) {
    EXPECT_THROW(check_output_path(path(name), inputs, "-o"), OutputError) << name;
  }
  EXPECT_THROW(check_output_path((dir_ / "." / "config.json").string(), inputs, "-o"), OutputError);
  EXPECT_NO_THROW(check_output_path(path("report.json"), inputs, "-o"));
  EXPECT_EQ(read("config.json"), "{}");
}

// /dev/fd/N names an open descriptor: the file behind it may be an input (3<>report.json), and
// one opened to append (3>>log) must be appended to, not reopened and written from byte 0.
class DescriptorOutputTest : public HostileTest {
 protected:
  int open_descriptor(const std::string& name, int flags) {
    fd_ = ::open(path(name).c_str(), flags | O_CLOEXEC);
    return fd_;
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    HostileTest::TearDown();
  }
  int fd_ = -1;
};

TEST_F(DescriptorOutputTest, AnInputBehindADescriptorIsRefused) {
  write("report.json", "{}");
  const int fd = open_descriptor("report.json", O_RDWR);
  ASSERT_GE(fd, 0);
  const std::vector<NamedInput> inputs = {{"report", path("report.json")}};
  for (const std::string prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    EXPECT_THROW(check_output_path(prefix + std::to_string(fd), inputs, "-o"), OutputError) << prefix;
  }
  EXPECT_EQ(read("report.json"), "{}");
}

TEST_F(DescriptorOutputTest, ADescriptorOpenedToAppendIsAppendedTo) {
  write("log.txt", "kept\n");
  const int fd = open_descriptor("log.txt", O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  const std::string out = "/dev/fd/" + std::to_string(fd);
  EXPECT_NO_THROW(check_output_path(out, {}, "-o"));
  write_output_file(out, "new\n");
  EXPECT_EQ(read("log.txt"), "kept\nnew\n");
}

TEST_F(DescriptorOutputTest, AClosedOrReadOnlyDescriptorIsRefusedBeforeAnyWork) {
  write("in.txt", "x");
  const int fd = open_descriptor("in.txt", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_THROW(check_output_path("/dev/fd/" + std::to_string(fd), {}, "-o"), OutputError);
  EXPECT_THROW(check_output_path("/dev/fd/1000000", {}, "-o"), OutputError);
  EXPECT_EQ(read("in.txt"), "x");
}

// --- item 11: outputs checked before running; stale temp files cleaned ---------------------

TEST_F(HostileTest, AnOutputPathPastPathMaxSaysSoNotNoDirectory) {
  std::string deep = dir_.string();
  while (deep.size() <= PATH_MAX) deep += "/" + std::string(250, 'd');
  try {
    check_output_path(deep + "/r.json", {}, "-o");
    FAIL() << "a path past PATH_MAX was accepted";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENAMETOOLONG)), std::string::npos) << e.what();
  }
}

TEST_F(HostileTest, OutputsThatCanNeverBeWrittenFailBeforeAnyWork) {
  EXPECT_THROW(check_output_path("", {}, "-o"), OutputError);
  EXPECT_THROW(check_output_path(dir_.string(), {}, "-o"), OutputError);
  EXPECT_THROW(check_output_path(path("no-such-dir/r.json"), {}, "-o"), OutputError);
}

TEST_F(HostileTest, TempFilesOfDeadProcessesAreRemovedOnTheNextWrite) {
  const std::string report = path("r.json");
  write("r.json.int8attn-tmp.999999999", "left by a SIGKILL");               // no such process
  write("r.json.int8attn-tmp." + std::to_string(::getppid()), "a live one");  // may still be writing
  write("other.json.int8attn-tmp.999999999", "another output's");
  write("r.json.tmp.999999999", "a user's file of a name like the old temp files'");
  write_output_file(report, "report");
  EXPECT_FALSE(fs::exists(path("r.json.int8attn-tmp.999999999")));
  EXPECT_TRUE(fs::exists(path("r.json.int8attn-tmp." + std::to_string(::getppid()))));
  EXPECT_TRUE(fs::exists(path("other.json.int8attn-tmp.999999999")));
  EXPECT_TRUE(fs::exists(path("r.json.tmp.999999999")));
  EXPECT_EQ(read("r.json"), "report");
}

// The temp file of this process's pid is made new: a link planted there is not written
// through (its target is someone's file), a FIFO there does not hang the write.
TEST_F(HostileTest, ATempNameOfThisPidIsNeverOpenedThroughWhatIsThere) {
  const std::string tmp = "r.json.int8attn-tmp." + std::to_string(::getpid());
  write("victim.txt", "precious");
  fs::create_symlink(path("victim.txt"), path(tmp));
  write_output_file(path("r.json"), "report");
  EXPECT_EQ(read("victim.txt"), "precious");
  EXPECT_EQ(read("r.json"), "report");
  EXPECT_FALSE(fs::is_symlink(path("r.json")));
  ASSERT_EQ(::mkfifo(path(tmp).c_str(), 0600), 0);
  write_output_file(path("r.json"), "again");  // would block in open() on the FIFO
  EXPECT_EQ(read("r.json"), "again");
}

// --- item 2 and 11: JSON text: depth, duplicate keys, NUL, directories, size -------------

TEST_F(HostileTest, DeeplyNestedJsonIsAnErrorInEveryReader) {
  const std::string deep(100000, '[');
  try {
    parse_json_text(deep);
    ADD_FAILURE() << "no error";
  } catch (const JsonTextError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_sweep_config(deep, "deep.json"), ConfigError);
  write("deep.json", deep);
  EXPECT_THROW(read_report(path("deep.json")), ReportError);
  write("deep.ckpt.jsonl", std::string("{\"schema\": \"") + kCheckpointSchema + "\"}\n" + deep + "\n{}\n");
  EXPECT_THROW(read_checkpoint(path("deep.ckpt.jsonl")), ReportError);
  // Deep inside an otherwise valid document too, and 64 levels still parse.
  EXPECT_THROW(parse_json_text("{\"a\": " + deep + "}"), JsonTextError);
  EXPECT_NO_THROW(parse_json_text(std::string(63, '[') + std::string(63, ']')));
}

TEST_F(HostileTest, DuplicateKeysAreRejectedWithTheirPath) {
  try {
    parse_sweep_config(R"({"axes": {"heads": [1], "heads": [2], "seq_len": [4], "head_dim": [8]}})", "dup.json");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "axes.heads");
    EXPECT_NE(std::string(e.what()).find("duplicate key"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_json_text(R"([{"a": 1}, {"b": 1, "b": 2}])"), JsonTextError);
  EXPECT_NO_THROW(parse_json_text(R"([{"a": 1}, {"a": 2}])"));  // the same key in two objects
}

// Reports and checkpoints share the reader: a number a double cannot hold is refused at its
// path, as written, not read as 0 (1e-400) or called a syntax error of the whole file (1e400).
TEST_F(HostileTest, ANumberADoubleCannotHoldIsRefusedAtItsPath) {
  for (const std::string literal : {"1e-400", "1e400"}) {
    try {
      parse_report_text(R"({"cases": [{"x": 1}, {"x": )" + literal + "}]}", "r.json");
      ADD_FAILURE() << literal << ": no error";
    } catch (const ReportError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("$.cases[1].x"), std::string::npos) << what;
      EXPECT_NE(what.find("found " + literal), std::string::npos) << what;
    }
  }
  try {
    parse_json_text("[0, 0.5, 1e-400]");
    ADD_FAILURE() << "no error";
  } catch (const JsonTextError& e) {
    EXPECT_EQ(e.path(), "[2]");
    EXPECT_FALSE(e.syntax());
  }
}

TEST_F(HostileTest, BytesAfterANulAreNotIgnored) {
  const std::string text = std::string(R"({"axes": {"heads": [1], "seq_len": [4], "head_dim": [8]}})") + '\0' + "junk";
  EXPECT_THROW(parse_sweep_config(text, "nul.json"), ConfigError);
}

TEST_F(HostileTest, ADirectoryAsConfigSaysSo) {
  try {
    load_sweep_config(dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("a directory"), std::string::npos) << e.what();
  }
}

TEST_F(HostileTest, InputSizeIsCapped) {
  try {
    read_file_bounded("/dev/zero", size_t{1} << 20);
    ADD_FAILURE() << "no error";
  } catch (const FileReadError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 1 MiB"), std::string::npos) << e.what();
  }
}

// --- items 3, 4, 9, 11: .npy files ------------------------------------------------------

// A .npy file with any header text; version 2 (4-byte length) when asked.
std::string npy_bytes(const std::string& header, size_t payload, int version = 1, int64_t declared_len = -1) {
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  const uint32_t len = declared_len >= 0 ? static_cast<uint32_t>(declared_len) : static_cast<uint32_t>(header.size());
  for (int i = 0; i < (version == 1 ? 2 : 4); ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  return out + header + std::string(payload, '\0');
}

std::string header_with(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

void expect_npy_error(const std::string& file, const std::string& fragment,
                      const std::array<int64_t, 4>* expected = nullptr) {
  try {
    host::read_npy(file, expected);
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const host::NpyError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_LT(std::strlen(e.what()), 400u) << "messages stay short";
  }
}

TEST_F(HostileTest, NpyHeaderFieldsOfAnyLengthNeverCrash) {
  const std::string long_descr = header_with(std::string(60000, 'x'), "(1, 1, 1, 2)");
  write("descr.npy", npy_bytes(long_descr, 8, 2));
  expect_npy_error(path("descr.npy"), "not supported");
  write("spaces.npy", npy_bytes("{'descr': '<f2'," + std::string(60000, ' ') + "'fortran_order': False, 'shape': (1, 1, 1, 2), }", 4, 2));
  EXPECT_EQ(host::read_npy(path("spaces.npy")).data.size(), 2u);
  std::string many_dims = "(";
  for (int i = 0; i < 20000; ++i) many_dims += "1, ";
  write("dims.npy", npy_bytes(header_with("<f2", many_dims + ")"), 2, 2));
  expect_npy_error(path("dims.npy"), "20000 dimension");
  write("huge.npy", npy_bytes(header_with(std::string(300000, 'x'), "(1, 1, 1, 2)"), 8, 2));
  expect_npy_error(path("huge.npy"), "expected at most 65536");
}

TEST_F(HostileTest, NpySizesAreCheckedBeforeAllocating) {
  write("hlen.npy", npy_bytes("{", 0, 2, 0xFFFFFFF0));
  expect_npy_error(path("hlen.npy"), "declares 4294967280 bytes");
  write("big.npy", npy_bytes(header_with("<f2", "(1, 1, 1, 1100000000)"), 0));
  const std::array<int64_t, 4> small = {1, 1, 1, 2};
  expect_npy_error(path("big.npy"), "does not match the case", &small);
  expect_npy_error(path("big.npy"), "truncated data");  // no case: the file size says it
  write("extra.npy", npy_bytes(header_with("<f2", "(1, 1, 1, 2)"), 6));
  expect_npy_error(path("extra.npy"), "extra bytes");
  write("overflow.npy", npy_bytes(header_with("<f2", "(3037000500, 3037000500, 1, 1)"), 0));
  expect_npy_error(path("overflow.npy"), "too many elements");
  write("digits.npy", npy_bytes(header_with("<f2", "(99999999999999999999, 1, 1, 1)"), 0));
  expect_npy_error(path("digits.npy"), "too large");
  write("negative.npy", npy_bytes(header_with("<f2", "(-1, 1, 1, 2)"), 0));
  expect_npy_error(path("negative.npy"), "non-negative");
  write("zero.npy", npy_bytes(header_with("<f2", "(0, 1, 1, 2)"), 0));
  expect_npy_error(path("zero.npy"), "no elements");
}

TEST_F(HostileTest, NpyThatIsNotARegularFileIsRefusedWithoutBlocking) {
  fs::create_directories(path("q.npy"));
  expect_npy_error(path("q.npy"), "not a file");
  ASSERT_EQ(::mkfifo(path("fifo.npy").c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  expect_npy_error(path("fifo.npy"), "not a regular file");  // no writer: open() would block
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// --- item 7: non-finite data never gives a verdict ---------------------------------------

AttnDims tiny_dims() {
  AttnDims d;
  d.batch = 1, d.heads = 1, d.kv_heads = 1, d.seq_q = 1, d.seq_kv = 1, d.head_dim = 2;
  return d;
}

TEST_F(HostileTest, Float32ValuesBeyondFp16AreRejectedWithTheirPosition) {
  const std::array<int64_t, 4> shape = {1, 1, 1, 2};
  host::write_npy(path("q.npy"), shape, {1.f, 1e5f}, host::NpyDtype::Float32);
  host::write_npy(path("k.npy"), shape, {1.f, 2.f}, host::NpyDtype::Float32);
  host::write_npy(path("v.npy"), shape, {1.f, 2.f}, host::NpyDtype::Float32);
  try {
    host::check_input_files(tiny_dims(), dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const host::NpyError& e) {
    EXPECT_NE(std::string(e.what()).find("q.npy: element (0, 0, 0, 1) is 100000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(host::load_inputs(tiny_dims(), dir_.string()), host::NpyError);
}

TEST_F(HostileTest, InputScaleThatOverflowsFp16IsAConfigError) {
  const std::string config = R"({"axes": {"heads": [1], "seq_len": [4], "head_dim": [8],
                                 "input": [{"scale": 1e308}]}})";
  try {
    parse_sweep_config(config, "scale.json");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.json_path(), "axes.input[0].scale");
  }
}

TEST_F(HostileTest, NanOrZeroReferenceNeverKeepsInt8) {
  KernelResult r;
  r.kernel = "int8-fa";
  r.accuracy = Accuracy{};  // mse 0, max 0: "perfect" but for the reference
  r.accuracy->rel_l2 = std::nan("");
  r.accuracy->cosine = std::nan("");
  FallbackDecision d = decide_fallback(r, Thresholds{}, nullptr);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  ASSERT_FALSE(d.reasons.empty());
  EXPECT_NE(d.reasons[0].find("all zeros"), std::string::npos) << d.reasons[0];

  r.accuracy->mse = r.accuracy->max_abs_error = std::nan("");
  d = decide_fallback(r, Thresholds{}, nullptr);
  EXPECT_EQ(d.decision, Decision::Fp16Fallback);
  EXPECT_NE(d.reasons[0].find("not measurable"), std::string::npos) << d.reasons[0];
  for (const std::string& reason : d.reasons) EXPECT_EQ(reason.find("nan >"), std::string::npos) << reason;
}

// --- item 5: the CPU backend bounds memory, not only FLOPs -------------------------------

TEST_F(HostileTest, CpuBackendSkipsCasesOverTheMemoryLimit) {
  auto backend = make_cpu_backend(CpuOptions{});
  BenchCase c;
  c.dims.batch = 65536, c.dims.heads = 28, c.dims.kv_heads = 28, c.dims.seq_q = c.dims.seq_kv = 1;
  c.dims.head_dim = 128;  // 0.94 GFLOP (under the FLOP limit), ~7 GB of host memory
  RunSettings settings;
  const std::string why = backend->skip_reason(c, settings);
  EXPECT_NE(why.find("cpu.max_case_bytes"), std::string::npos) << why;
  settings.cpu.max_case_bytes = int64_t{16} << 30;
  EXPECT_EQ(backend->skip_reason(c, settings), "");
  EXPECT_EQ(parse_sweep_config(R"({"axes": {"heads": [1], "seq_len": [4], "head_dim": [8]},
                                   "cpu": {"max_case_bytes": 1000}})", "c.json").settings.cpu.max_case_bytes, 1000);
  EXPECT_THROW(parse_sweep_config(R"({"axes": {"heads": [1], "seq_len": [4], "head_dim": [8]},
                                      "cpu": {"max_case_bytes": 0}})", "c.json"), ConfigError);
}

// --- item 8: a resume must continue the same sweep ---------------------------------------

// Answers every kernel "ok" with a fixed accuracy; can stop the sweep after a case.
class QuickBackend : public Backend {
 public:
  bool interrupt_after_first = false;
  BackendKind kind() const override { return BackendKind::Cpu; }
  DeviceCaps caps() const override { return {BackendKind::Cpu, "quick"}; }
  Environment environment() const override { Environment e; e.backend = "cpu"; return e; }
  std::string skip_reason(const BenchCase&, const RunSettings&) const override { return ""; }
  CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                      const RunSettings&, const CaseDump&) override {
    if (interrupt_after_first) sweep_interrupt_flag().store(true);
    CaseResult r = case_result_for(c);
    for (const KernelSpec* k : kernels) r.kernels.push_back(status_result(k->name, KernelStatus::Ok, ""));
    return r;
  }
};

void HostileTest::expect_resume_starts_over(const std::string& checkpoint) const {
  SweepConfig config = parse_sweep_config(R"({"axes": {"heads": [1], "seq_len": [4, 8], "head_dim": [8]}})", "c.json");
  QuickBackend backend;
  SweepOptions options;
  options.output_path = path("r.json");
  options.progress = ProgressMode::None;
  options.resume = true;
  write("r.json.ckpt.jsonl", checkpoint);
  const SweepOutcome out = run_sweep(config, backend, options, ToolInfo{});
  EXPECT_EQ(out.resumed_cases, 0);
  EXPECT_EQ(out.report.cases.size(), 2u);
  EXPECT_TRUE(out.report.complete);
}

// Runs `config` into `output` and interrupts it after its first case (a checkpoint of
// one case stays); returns the options, ready for a resume.
SweepOptions run_interrupted(const SweepConfig& config, QuickBackend& backend, const std::string& output) {
  SweepOptions options;
  options.output_path = output;
  options.progress = ProgressMode::None;
  backend.interrupt_after_first = true;
  run_sweep(config, backend, options, ToolInfo{});
  backend.interrupt_after_first = false;
  options.resume = true;
  return options;
}

TEST_F(HostileTest, ResumeRefusesOtherOptionsAndSaysWhichDiffer) {
  SweepConfig config = parse_sweep_config(R"({"axes": {"heads": [1], "seq_len": [4, 8, 16], "head_dim": [8]},
                                               "kernels": ["int8-fa", "int8-qk"]})", "c.json");
  QuickBackend backend;
  const SweepOptions options = run_interrupted(config, backend, path("r.json"));
  ASSERT_TRUE(fs::exists(checkpoint_path_for(options.output_path)));

  SweepConfig other_kernels = config;
  other_kernels.settings.kernels = {"fp16-ref-cublaslt", "int8-fa"};  // as -k int8-fa would
  try {
    run_sweep(other_kernels, backend, options, ToolInfo{});
    ADD_FAILURE() << "no error";
  } catch (const ResumeError& e) {
    EXPECT_NE(std::string(e.what()).find("kernels"), std::string::npos) << e.what();
  }
  const SweepOutcome same = run_sweep(config, backend, options, ToolInfo{});
  EXPECT_EQ(same.resumed_cases, 1);
  EXPECT_EQ(same.report.cases.size(), 3u);
}

// A checkpoint line of the first case, made to describe a case of seq_len `seq` (and named so).
std::string checkpoint_line_of_seq(const std::string& case_line, int64_t seq) {
  nlohmann::json line = nlohmann::json::parse(case_line);
  line["dims"]["seq_q"] = line["dims"]["seq_kv"] = seq;
  AttnDims dims{1, 1, 1, seq, seq, 8, false};
  line["id"] = make_case_id(dims, InputSpec{});
  return line.dump() + "\n";
}

// A sweep of seq_len 4 and 8 interrupted after its first case, to be resumed with `options`.
struct InterruptedSweep {
  SweepConfig config;
  SweepOptions options;
  std::string checkpoint;
  std::string first_case_line;  // the checkpoint's line of the finished case
};

InterruptedSweep interrupted_two_case_sweep(QuickBackend& backend, const std::string& output) {
  InterruptedSweep s;
  s.config = parse_sweep_config(R"({"axes": {"heads": [1], "seq_len": [4, 8], "head_dim": [8]}})", "c.json");
  s.options = run_interrupted(s.config, backend, output);
  s.checkpoint = checkpoint_path_for(s.options.output_path);
  std::ifstream in(s.checkpoint);
  std::string header;
  std::getline(in, header);
  std::getline(in, s.first_case_line);
  s.first_case_line += "\n";
  return s;
}

TEST_F(HostileTest, ResumeDropsForeignAndRepeatedCheckpointLines) {
  QuickBackend backend;
  const auto [config, options, ckpt, first_case] = interrupted_two_case_sweep(backend, path("r.json"));
  // Another selection of the config (-a seq_len=4,8,16 before, say): not this sweep's.
  const std::string foreign = checkpoint_line_of_seq(first_case, 16);
  std::ofstream(ckpt, std::ios::app) << first_case << foreign;

  const SweepOutcome out = run_sweep(config, backend, options, ToolInfo{});
  ASSERT_EQ(out.report.cases.size(), 2u);
  EXPECT_TRUE(out.report.complete);
  EXPECT_EQ(out.report.cases[0].id, config.cases[0].id);
  EXPECT_EQ(out.report.cases[1].id, config.cases[1].id);
  EXPECT_EQ(out.resumed_cases, 1);
  // Its finished case of the other selection is not thrown away with a complete report.
  ASSERT_TRUE(fs::exists(ckpt));
  EXPECT_NE(read("r.json.ckpt.jsonl").find("q16-k16"), std::string::npos);
}

TEST_F(HostileTest, ResumeRefusesALineWhoseFieldsAreNotItsCase) {
  QuickBackend backend;
  const auto [config, options, ckpt, first_case] = interrupted_two_case_sweep(backend, path("r.json"));
  std::string edited = checkpoint_line_of_seq(first_case, 16);
  edited.replace(edited.find("q16-k16"), 7, "q8-k8");  // case 2's id over seq 16's results
  std::ofstream(ckpt, std::ios::app) << edited;
  try {
    run_sweep(config, backend, options, ToolInfo{});
    ADD_FAILURE() << "no error";
  } catch (const ResumeError& e) {
    EXPECT_NE(std::string(e.what()).find("b1-h1-kv1-q8-k8-d8-full-normal-s0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("describes case b1-h1-kv1-q16-k16"), std::string::npos) << e.what();
  }
}

// --- the checkpoint under a second sweep, a torn header, a full disk, a late Ctrl-C (s47 hunt) ---

TEST_F(HostileTest, ASecondWriterOfACheckpointIsRefusedBeforeItCutsIt) {
  const std::string ckpt = path("r.json.ckpt.jsonl");
  CheckpointWriter first;
  first.open(ckpt, nlohmann::json::object(), false);
  first.append(CaseResult{});
  const std::string before = read("r.json.ckpt.jsonl");
  CheckpointWriter second;
  EXPECT_THROW(second.open(ckpt, nlohmann::json::object(), false), OutputError);
  EXPECT_EQ(read("r.json.ckpt.jsonl"), before);  // not cut
  first.close();
  EXPECT_NO_THROW(second.open(ckpt, nlohmann::json::object(), false));
}

TEST_F(HostileTest, ACheckpointThatCannotBeWrittenIsAnOutputError) {
  CheckpointWriter writer;
  EXPECT_THROW(writer.open("/dev/full", nlohmann::json::object(), false), OutputError);  // exit 2, not 1
}

TEST_F(HostileTest, ATornHeaderIsACheckpointWithNoCaseYet) {
  write("torn.ckpt.jsonl", R"({"backend":"cpu","config_path":"../s20.json","config_sha)");
  EXPECT_TRUE(torn_checkpoint_header(read("torn.ckpt.jsonl")));
  EXPECT_TRUE(replaceable_by_checkpoint(path("torn.ckpt.jsonl")));
  EXPECT_FALSE(torn_checkpoint_header(R"({"backend": "mine, with a newline"})" "\n"));
  EXPECT_FALSE(replaceable_by_checkpoint(path("no-such-file")));
  write("notes.txt", "my notes, no newline");
  EXPECT_FALSE(replaceable_by_checkpoint(path("notes.txt")));

  expect_resume_starts_over(read("torn.ckpt.jsonl"));
}

// A full disk refuses the header's one write and leaves an empty checkpoint, while the error
// says --resume continues: that resume starts over instead of refusing an "empty file".
TEST_F(HostileTest, AnEmptyCheckpointIsAHeaderTornAtItsFirstByte) {
  EXPECT_TRUE(torn_checkpoint_header(""));
  expect_resume_starts_over("");
}

TEST_F(HostileTest, ACtrlCAfterTheLastCaseLeavesACompleteReport) {
  SweepConfig config = parse_sweep_config(R"({"axes": {"heads": [1], "seq_len": [4], "head_dim": [8]}})", "c.json");
  QuickBackend backend;
  backend.interrupt_after_first = true;  // the flag is raised while the only case runs
  SweepOptions options;
  options.output_path = path("r.json");
  options.progress = ProgressMode::None;
  const SweepOutcome out = run_sweep(config, backend, options, ToolInfo{});
  EXPECT_FALSE(out.interrupted);
  EXPECT_TRUE(out.report.complete);
  EXPECT_FALSE(fs::exists(path("r.json.ckpt.jsonl")));
}

TEST_F(HostileTest, AWriteProtectedFileIsRefusedEvenForRoot) {
  write("keep.json", "mine");
  ::chmod(path("keep.json").c_str(), 0444);
  EXPECT_THROW(check_output_path(path("keep.json"), {}, "-o"), OutputError);
  EXPECT_EQ(read("keep.json"), "mine");
}

// --- item 11: exclude rules are validated in bounded time ---------------------------------

TEST_F(HostileTest, ManyExcludeRulesOverManyCasesStayFast) {
  // 100 000 cases x 50 000 rules: a rule-by-rule match was 5e9 comparisons (minutes).
  std::string config = R"({"axes": {"batch": [)";
  for (int b = 1; b <= 1000; ++b) config += (b > 1 ? "," : "") + std::to_string(b);
  config += R"(], "heads": [1,2,4,8,16,32,64,128,256,512], "seq_len": [1,2,3,4,5,6,7,8,9,10], "head_dim": [8]},
               "exclude": [)";
  for (int i = 0; i < 50000; ++i) {
    config += (i ? "," : "") + std::string(R"({"batch": )") + std::to_string(i % 1000 + 1) +
              R"(, "heads": )" + std::to_string(1000 + i / 1000) + "}";
  }
  config += "]}";
  const auto start = std::chrono::steady_clock::now();
  const SweepConfig parsed = parse_sweep_config(config, "many.json");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(parsed.cases.size(), 100000u);
  EXPECT_LT(seconds, 8.0) << "expanding 100 000 cases against 50 000 rules";
}

}  // namespace
}  // namespace int8attn
