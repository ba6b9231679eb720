// int8attn-bench command line: CLI11 wiring only, one function per subcommand.
// Exit codes: 0 success, 1 a kernel error in a sweep or a regression in compare,
// 2 bad input or usage or an output that cannot be written, 3 the tool itself failed (out of
// memory, a bug: never a verdict), 130 interrupted sweep (Ctrl-C, SIGTERM or SIGHUP: report of the
// finished cases written).
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/bench/backend.h"
#include "src/bench/devices.h"
#include "src/bench/partition.h"
#include "src/bench/plan.h"
#include "src/bench/profile.h"
#include "src/bench/registry.h"
#include "src/bench/runner.h"
#include "src/bench/worker_pool.h"
#include "src/config/config_overrides.h"
#include "src/config/sweep_config.h"
#include "src/host/inputs.h"
#include "src/host/npy.h"
#include "src/io/diagnostics.h"
#include "src/io/json_text.h"
#include "src/io/output_file.h"
#include "src/io/output_format.h"
#include "src/io/schema_names.h"
#include "src/model/case_filter.h"
#include "src/report/checkpoint.h"
#include "src/report/compare.h"
#include "src/report/json_io.h"
#include "src/report/merge.h"
#include "src/report/plan_render.h"
#include "src/report/profile_render.h"
#include "src/report/render.h"
#include "git_commit.h"  // generated at build time
#include "version.h"

namespace fs = std::filesystem;
using namespace int8attn;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;
constexpr int kExitInterrupted = 130;

ToolInfo tool_info() { return {std::string(kToolName), INT8ATTN_VERSION, INT8ATTN_GIT_COMMIT}; }

// configs/default.json from the working directory, else from the source tree the binary
// was built from, so `int8attn-bench sweep` works from anywhere in a checkout.
std::string default_config_path() {
  const fs::path candidates[] = {"configs/default.json",
                                 fs::path(INT8ATTN_SOURCE_DIR) / "configs/default.json"};
  for (const fs::path& p : candidates) {
    if (fs::exists(p)) return p.string();
  }
  return candidates[0].string();
}

void print_config_error(const ConfigError& e) { diag("error: {}\n", e.what()); }

// -f/--format with the formats this command writes, under the names every command shares.
CLI::Option* add_format_option(CLI::App* cmd, std::string& format, const FormatList& formats, const std::string& what) {
  return cmd->add_option("-f,--format", format, fmt::format("{}: {}", what, describe_formats(formats)))
      ->check(CLI::IsMember(format_spellings(formats)))
      ->capture_default_str();
}

// A finite decimal number above (or from) `min`. CLI11 reads "nan" and "inf" as numbers, and a
// NaN limit or tolerance compares false with everything: a gate that never fails, a sampling
// rule that never stops. It also reads hex floats (0x10 is 16, by strtold); from_chars's
// general format does not, as the integer options read decimal only.
CLI::Validator finite_number(double min, bool min_allowed) {
  const std::string rule = fmt::format("{} {}", min_allowed ? ">=" : ">", min);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double v = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, v, std::chars_format::general);
        if (stop == end && error == std::errc() && std::isfinite(v) && (min_allowed ? v >= min : v > min)) return {};
        return fmt::format("expected a finite decimal number {}, found '{}'", rule, text);
      },
      "NUMBER " + rule);
}

// An integer option is read in decimal only, as --shard and --devices are: CLI11 2.1 reads it
// with strtoll in base 0 (0x10 is 16, 010 is 8) and saturates 99999999999999999999 to
// INT64_MAX, which the config's range check would then show. A transform: the text becomes the
// number's decimal spelling (010: 10) before CLI11 reads it; ranges stay the checks' (0, 5000).
// [lo, hi]: the option's C++ type's range, past which CLI11 would only say "Could not convert".
CLI::Validator decimal_integer(const std::string& expected, int64_t lo = std::numeric_limits<int64_t>::min(),
                               int64_t hi = std::numeric_limits<int64_t>::max()) {
  return CLI::Validator(
      [expected, lo, hi](std::string& text) -> std::string {
        int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);  // base 10: no 0x, no '+'
        if (stop != end || (error != std::errc() && error != std::errc::result_out_of_range)) {
          return fmt::format("expected {}, written in decimal, found '{}'", expected, text);
        }
        if (error == std::errc::result_out_of_range) {
          return fmt::format("expected {}, found '{}' (beyond a 64-bit integer)", expected, text);
        }
        if (value < lo || value > hi) return fmt::format("expected {}, found '{}'", expected, text);
        text = std::to_string(value);
        return {};
      },
      "");
}
const CLI::Validator kSampleCount = decimal_integer(fmt::format("an integer in [1, {}]", kMaxMeasurementCount));
const CLI::Validator kDeviceIndex = decimal_integer("a CUDA device index", 0, std::numeric_limits<int>::max());

// An option given an empty string is refused (exit 2), as -o '' is, instead of read as "not
// given": a script's unset variable would run every case of every shard, or generated inputs.
CLI::Validator non_empty(const std::string& expected) {
  return CLI::Validator(
      [expected](std::string& text) -> std::string {
        return text.empty() ? fmt::format("expected {}, found an empty string", expected) : "";
      },
      "");
}
const CLI::Validator kNonEmptyPath = non_empty("a file path");

// sweep's and profile's --k-granularity: the config's quantization.k_granularity, checked by the
// config reader (its error names the option).
void add_k_granularity_option(CLI::App* cmd, std::optional<std::string>& value) {
  cmd->add_option("--k-granularity", value,
                  "K's scales (quantization.k_granularity): auto (the default: grouped K where int8-fa's Hopper "
                  "kernel runs it and it pays, on keys long enough and causal rows whose first row sees a whole "
                  "128-key block; K's scales as Q's elsewhere), as-q (K's scales as Q's: per token by default), "
                  "per-thread or grouped (docs/config.md)")
      ->type_name("NAME")
      ->check(non_empty("auto, as-q, per-thread or grouped"));
}

// --- sweep -----------------------------------------------------------------------------
struct SweepArgs {
  std::string config;
  ConfigOverrides overrides;  // -a, --min-samples, --max-seconds, --max-noise
  std::string output = "int8attn-report.json";
  std::string backend = "auto";
  int device = 0;
  std::vector<std::string> kernels;
  std::string filter;
  std::string inputs_dir, dump_dir;
  std::string format = "table";
  bool quiet = false, resume = false, keep_samples = false, no_progress = false, dry_run = false;
  std::string shard;    // "I/N"
  std::string devices;  // "all" or "0,1,3"
  double case_timeout_s = 0;  // --case-timeout; 0: none
};

std::unique_ptr<Backend> select_backend(const SweepArgs& a, const RunSettings& settings) {
  if (a.backend == "cpu") return make_cpu_backend(settings.cpu);
  std::string why;
  std::unique_ptr<Backend> cuda = make_cuda_backend(a.device, why);
  if (cuda) return cuda;
  if (a.backend == "cuda") throw std::invalid_argument("--backend cuda: " + why);
  if (!a.quiet) diag("note: no usable GPU ({}); using the CPU backend\n", why);
  return make_cpu_backend(settings.cpu);
}

// Command-line overrides of the config's settings and cases (after the config is read).
void apply_run_options(const SweepArgs& a, SweepConfig& config) {
  if (!a.kernels.empty()) {
    for (const std::string& k : a.kernels) {
      if (!find_kernel(k)) throw std::invalid_argument(fmt::format("--kernels: unknown kernel '{}' (see list-kernels)", k));
    }
    config.settings.kernels = kernels_in_run_order(a.kernels);  // as the config's list reads
    config.expanded["kernels"] = config.settings.kernels;  // the report says what ran
    const std::vector<std::string>& run = config.settings.kernels;
    const std::string& baseline = config.settings.baseline;
    if (!baseline.empty() && std::find(run.begin(), run.end(), baseline) == run.end()) {
      throw std::invalid_argument(fmt::format("--kernels: the config's \"baseline\" {} would not run, and every "
                                              "speedup is measured against it; add it to -k ({},{})",
                                              baseline, fmt::join(a.kernels, ","), baseline));
    }
  }
  if (a.keep_samples) config.settings.measure.keep_samples = true;
  if (!a.dump_dir.empty()) config.settings.dump_dir = a.dump_dir;
  if (!a.inputs_dir.empty()) {
    // Files replace generated inputs, so cases that differed only in how their inputs were
    // generated (seed, distribution, scale, a family's parameters) become one case.
    std::set<std::string> seen;
    std::vector<BenchCase> unique;
    for (BenchCase& c : config.cases) {
      c.input = InputSpec{};
      c.input.npy_dir = a.inputs_dir;
      c.id = make_case_id(c.dims, c.input, c.rotation);
      if (seen.insert(c.id).second) unique.push_back(std::move(c));
    }
    if (unique.size() < config.cases.size() && !a.quiet) {
      diag("note: --inputs: the config's input settings (seeds, distributions, scales) do not apply to input files; "
           "{} case(s) that differed only in them run once\n", config.cases.size() - unique.size());
    }
    config.cases = std::move(unique);
  }
}

// What a sweep reads, so that -o can never name one of them.
std::vector<NamedInput> sweep_inputs(const SweepConfig& config) {
  std::vector<NamedInput> inputs = {{"config", config.path}};
  std::set<std::string> dirs;
  for (const BenchCase& c : config.cases) {
    if (!c.input.npy_dir.empty() && dirs.insert(c.input.npy_dir).second) {
      for (const char* name : {"q.npy", "k.npy", "v.npy"}) inputs.push_back({"input", c.input.npy_dir + "/" + name});
    }
  }
  return inputs;
}

// How messages name a sweep's config: its path, or "(command-line axes)" for -a alone.
std::string config_label(const SweepConfig& config) {
  return config.path.empty() ? std::string("(command-line axes)") : printable(config.path);
}

// Every .npy a selected case will load, checked before anything runs: a bad file is bad
// input (exit 2, nothing written), not a kernel error in every case. from_inputs_option: the
// folder is --inputs's (every case's), which the message names instead of the config's field.
void check_npy_inputs(const SweepConfig& config, bool from_inputs_option = false) {
  std::set<std::string> checked;
  for (const BenchCase& c : config.cases) {
    if (c.input.npy_dir.empty()) continue;
    const AttnDims& d = c.dims;
    const std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}", c.input.npy_dir, d.batch, d.heads, d.kv_heads,
                                        d.seq_q, d.seq_kv, d.head_dim);
    if (!checked.insert(key).second) continue;
    try {
      host::check_input_files(d, c.input.npy_dir);
    } catch (const host::NpyError& e) {  // which config and case asked for the folder
      throw host::NpyError(fmt::format("{}: case {}: {} {}", config_label(config), c.id,
                                       from_inputs_option ? "--inputs" : "input npy_dir", e.what()));
    }
  }
}

// -c, else the axes of -a alone, else configs/default.json; then --filter and --shard.
SweepConfig load_sweep(const SweepArgs& a) {
  const std::optional<ShardSpec> shard = a.shard.empty() ? std::nullopt : std::optional(parse_shard(a.shard));
  const std::string path = !a.config.empty() || !a.overrides.axes.empty() ? a.config : default_config_path();
  SweepConfig config = load_sweep_config(path, a.overrides);
  apply_run_options(a, config);
  config.cases = select_cases(std::move(config.cases), a.filter, "--filter");
  if (shard) config.cases = select_shard(std::move(config.cases), *shard);
  return config;
}

// The cases, and for each which kernels run on the chosen backend or are skipped and why.
int run_dry_run(const SweepArgs& a, const SweepConfig& config) {
  const std::optional<OutputFormat> format = parse_output_format(a.format, kListingFormats);
  if (!format) {
    throw std::invalid_argument(fmt::format("--dry-run --format {}: expected {}", a.format,
                                            describe_formats(kListingFormats)));
  }
  check_npy_inputs(config, !a.inputs_dir.empty());
  const std::unique_ptr<Backend> backend = select_backend(a, config.settings);
  write_stdout(render_dry_run(plan_sweep(config, *backend), *format));
  return kExitOk;
}

// The view the user asked for: on stdout, or on stderr when stdout carries the report.
void print_report_view(const SweepArgs& a, const Report& report, bool report_on_stdout) {
  if (a.format == "none") return;
  const std::string text = render_report(report, *parse_report_format(a.format));
  if (report_on_stdout) {
    diag("{}", text);
  } else {
    write_stdout(text);
  }
}

SweepOutcome run_on_one_device(const SweepArgs& a, const SweepConfig& config, const SweepOptions& options) {
  std::unique_ptr<Backend> backend = select_backend(a, config.settings);
  if (!a.quiet) {
    diag("sweep {}: {} cases on the {} backend ({})\n", config_label(config), config.cases.size(),
         to_string(backend->kind()), backend->caps().name);
  }
  return run_sweep(config, *backend, options, tool_info());
}

// --devices: one worker process per device (src/bench/worker_pool.h).
SweepOutcome run_on_devices(const SweepArgs& a, const SweepConfig& config, const SweepOptions& options) {
  WorkerPoolOptions pool = plan_device_workers(parse_device_list(a.devices), a.backend, config.settings.cpu);
  pool.case_timeout_s = a.case_timeout_s;
  if (!a.quiet) {
    std::string labels;
    for (const WorkerSlot& slot : pool.slots) labels += (labels.empty() ? "" : ", ") + slot.label;
    diag("sweep {}: {} cases on {} workers ({})\n", config_label(config), config.cases.size(),
         pool.slots.size(), labels);
  }
  return run_sweep_on_workers(config, pool, options, tool_info());
}

// --dump: a folder that exists or can be made, and written, checked before the first case (a
// file there would fail every kernel of every case).
void prepare_dump_folder(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  std::string why;
  if (error) {
    why = error.message();
  } else if (!fs::is_directory(dir)) {
    why = "it is not a folder";
  } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    why = std::strerror(errno);
  }
  if (!why.empty()) {
    throw OutputError(fmt::format("--dump {}: expected a folder that exists or can be made and written ({})", dir, why));
  }
}

// Each case's folder under --dump: a folder or nothing yet (a file or link there failed every
// kernel of the case), and never the folder a case reads its .npy inputs from (its q/k/v.npy
// would be rewritten as the FP16 dump).
void check_case_dump_folders(const std::string& dir, const std::vector<BenchCase>& cases) {
  for (const BenchCase& c : cases) {
    const fs::path folder = fs::path(dir) / c.id;
    std::error_code error;
    const fs::file_status status = fs::symlink_status(folder, error);
    if (!error && fs::exists(status) && !fs::is_directory(status)) {
      throw OutputError(fmt::format("--dump {}: {} is {}; expected a folder for the case's tensors (move it away or "
                                    "choose another --dump)", dir, folder.string(),
                                    fs::is_symlink(status) ? "a symbolic link" : "not a folder"));
    }
    if (!c.input.npy_dir.empty() && fs::equivalent(folder, c.input.npy_dir, error)) {
      throw OutputError(fmt::format("--dump {}: {} is the folder case {} reads its inputs from; its q/k/v.npy "
                                    "would be rewritten (choose another --dump)", dir, folder.string(), c.id));
    }
  }
}

// The checkpoint beside the report is written (and removed once the sweep is complete) too:
// the same checks as -o, and a file or link there that is not a checkpoint is the user's.
void check_checkpoint_path(const std::string& path, const SweepConfig& config, bool resume) {
  const std::string option = "-o's checkpoint";
  check_output_path(path, sweep_inputs(config), option, ReplacePolicy::Any,  // its content: below
                    /*atomic=*/false);                                        // appended in place
  std::error_code error;
  const auto status = std::filesystem::symlink_status(path, error);
  if (error || !std::filesystem::exists(status)) return;
  if (std::filesystem::is_symlink(status) || !std::filesystem::is_regular_file(status)) {
    throw OutputError(fmt::format("{} {}: is {}; refusing to write a checkpoint there (move it away or choose "
                                  "another -o)", option, path,
                                  std::filesystem::is_symlink(status) ? "a symbolic link" : "not a regular file"));
  }
  if (!resume && !replaceable_by_checkpoint(path)) {
    throw OutputError(fmt::format("{} {}: the file exists and is not a checkpoint; refusing to replace it (move it "
                                  "away or choose another -o)", option, path));
  }
  // Starting over would throw away the finished cases of a sweep that stopped (Ctrl-C, a time
  // limit, a crash): hours of GPU work, for a command repeated without --resume.
  const size_t finished = resume ? 0 : checkpoint_case_lines(path);
  if (finished > 0) {
    throw OutputError(fmt::format("{} {}: holds {} finished case{} of a sweep that did not complete; continue it "
                                  "with --resume, or remove the file to start over", option, path, finished,
                                  finished == 1 ? "" : "s"));
  }
}

// The kernels' development knobs (INT8ATTN_FUSED_TUNING), refused before anything runs: the
// kernels would end the process at their first launch, mid-sweep.
void check_tuning_environment() {
  const std::string why = gpu::fused_tuning_environment_error();
  if (!why.empty()) throw std::invalid_argument(why);
}

int run_sweep_command(const SweepArgs& a) {
  const SweepConfig config = load_sweep(a);
  if (a.dry_run) return run_dry_run(a, config);
  // Everything that can be checked is checked before the first case runs.
  const OutputTarget output = check_output_path(a.output, sweep_inputs(config), "-o");
  if (output.write_through && a.resume) {
    throw std::invalid_argument(fmt::format("--resume: -o {} is not a regular file, so no checkpoint is kept for it",
                                            output.to_stdout ? "- (stdout)" : a.output));
  }
  check_npy_inputs(config, !a.inputs_dir.empty());
  check_tuning_environment();
  if (!config.settings.dump_dir.empty()) {
    prepare_dump_folder(config.settings.dump_dir);
    check_case_dump_folders(config.settings.dump_dir, config.cases);
  }
  SweepOptions options;
  options.output_path = a.output;
  options.checkpoint_path = checkpoint_path_for(output.file);
  options.write_checkpoint = !output.write_through;  // no <device>.ckpt.jsonl beside /dev/null
  if (options.write_checkpoint) check_checkpoint_path(options.checkpoint_path, config, a.resume);
  options.resume = a.resume;
  if (!a.shard.empty()) options.shard = parse_shard(a.shard);
  options.filter = a.filter;
  options.notes = !a.quiet;
  options.progress = (a.quiet || a.no_progress) ? ProgressMode::None : ProgressMode::Auto;
  const SweepOutcome outcome =
      a.devices.empty() ? run_on_one_device(a, config, options) : run_on_devices(a, config, options);
  print_report_view(a, outcome.report, output.to_stdout);
  if (!outcome.report_written) {
    diag("{} left as it was: the sweep stopped before any case finished, so there was nothing to replace it "
         "with{}\n", a.output, outcome.interrupted ? "" : " (no worker left)");
  } else if (!a.quiet) {
    diag("{} written ({} cases{}{})\n", output.to_stdout ? "report (stdout)" : printable(a.output),
         outcome.report.cases.size(),
         outcome.resumed_cases ? fmt::format(", {} resumed", outcome.resumed_cases) : "",
         outcome.interrupted    ? ", INCOMPLETE: interrupted; continue with --resume"
         : outcome.workers_lost ? ", INCOMPLETE: no worker left; continue with --resume"
                                : "");
  }
  const Summary& summary = outcome.report.summary;
  if (!a.quiet && summary.kernel_runs > 0 && summary.skipped == summary.kernel_runs &&
      outcome.report.environment.backend == "cpu") {
    diag("note: every case was too large for the CPU backend (cpu.max_case_gflop, cpu.max_case_bytes); for an "
         "accuracy sweep that fits a CPU, try: sweep --backend cpu -c configs/ci-cpu.json\n");
  }
  if (outcome.interrupted) return kExitInterrupted;
  return outcome.kernel_errors > 0 || outcome.workers_lost ? kExitFailure : kExitOk;
}

void add_sweep(CLI::App& app, SweepArgs& a, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Run every case of a sweep config: the reference and each kernel, with accuracy, "
               "latency, memory and the fallback decision; write a JSON report and print a table.");
  cmd->add_option("-c,--config", a.config,
                  "Sweep config (JSON). Default: configs/default.json, or with -a and no -c the axes alone")
      ->check(kNonEmptyPath);
  cmd->add_option("-a,--axis", a.overrides.axes,
                  fmt::format("NAME=V1[,V2...]: set an axis of the config, or build the sweep from -a alone "
                              "(then heads, head_dim and seq_len or seq_q+seq_kv are required); NAME is one of {}; "
                              "e.g. -a seq_len=1024,4096 -a causal=true,false; distribution and seed set the "
                              "input list, rotation quantization.rotation. Repeatable",
                              fmt::join(axis_option_names(), ", ")))
      ->type_name("NAME=VALUES");
  cmd->add_option("--min-samples", a.overrides.min_samples, "GPU timing: at least this many samples (measurement.min_samples)")
      ->transform(kSampleCount);
  cmd->add_option("--max-seconds", a.overrides.max_seconds,
                  "GPU timing: stop sampling a kernel after this many seconds (measurement.max_seconds)")
      ->check(finite_number(0, false));
  cmd->add_option("--max-noise", a.overrides.max_noise,
                  "GPU timing: stop once the relative standard deviation is below this, e.g. 0.01 "
                  "(measurement.target_noise)")
      ->check(finite_number(0, true));
  add_k_granularity_option(cmd, a.overrides.k_granularity);
  cmd->add_option("-o,--output", a.output,
                  "Report path (written atomically); '-': the JSON report on stdout, and the --format view on "
                  "stderr")->capture_default_str();
  cmd->add_option("-b,--backend", a.backend,
                  "auto: the GPU when one is usable, else the CPU; cpu: FP64 reference + bit-faithful "
                  "CPU emulation (accuracy only, timings meaningless); cuda: GPU only")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))->capture_default_str();
  CLI::Option* device =
      cmd->add_option("--device", a.device, "CUDA device index")->transform(kDeviceIndex)->capture_default_str();
  CLI::Option* devices_option = cmd->add_option("--devices", a.devices,
                  "Run on several GPUs of this machine: 'all' or indices such as 0,1,3. One worker process per GPU "
                  "(each sees only its own), cases handed out longest-estimated-first; one report, each case saying "
                  "which device ran it. A worker that dies fails only the case it was running. With --backend cpu "
                  "the numbers are CPU worker processes")
      ->check(non_empty("'all' or indices such as 0,1,3"))
      ->excludes(device);
  cmd->add_option("--case-timeout", a.case_timeout_s,
                  "With --devices: a case that has no result after SECONDS (a hung GPU, a kernel that never ends) "
                  "has its worker killed; the case is recorded as an error of every kernel and the worker starts "
                  "again for the next ones. A case stops only in a worker process: with one GPU, --devices 0")
      ->type_name("SECONDS")
      ->check(finite_number(0, false))
      ->needs(devices_option);
  cmd->add_option("-k,--kernels", a.kernels, "Run these kernels instead of the config's (the reference always runs)")
      ->delimiter(',');
  cmd->add_option("--filter", a.filter,
                  "Run only the cases whose id matches this glob (*, ?, [...]) or contains this text, as "
                  "compare --filter; matching no case is an error (exit 2)")
      ->check(non_empty("a glob or part of a case id"));
  cmd->add_option("--inputs", a.inputs_dir, "Load q.npy/k.npy/v.npy ([batch,heads,seq,head_dim], float16/float32, finite in FP16) from this folder instead of generating inputs; checked before the sweep starts; the config's input settings (seeds, distributions, scales) do not apply")
      ->check(non_empty("a folder"));
  cmd->add_option("--dump", a.dump_dir, "Write each case's inputs and every kernel's output as .npy under this folder")
      ->check(non_empty("a folder"));
  std::vector<std::string> formats = format_spellings(kReportFormats);
  formats.push_back("none");
  cmd->add_option("-f,--format", a.format,
                  fmt::format("What to print on stdout when done (none: nothing): {} (with --dry-run: {})",
                              describe_formats(kReportFormats), describe_formats(kListingFormats)))
      ->check(CLI::IsMember(formats))->capture_default_str();
  cmd->add_flag("--dry-run,--list", a.dry_run,
                "Run nothing and write nothing: list the cases (after -a and --filter) and, for each, which kernels "
                "run on the chosen backend and which are skipped and why");
  cmd->add_flag("--resume", a.resume, "Continue an interrupted sweep from OUTPUT.ckpt.jsonl (same config, options, device and build of the tool)");
  cmd->add_option("--shard", a.shard,
                  "Run shard I of N (I/N, 1 <= I <= N) of the cases (after -a and --filter): a partition balanced by "
                  "estimated cost that depends only on the config and options, so each shard can run on any "
                  "machine at any time; `merge` joins the shards' reports")
      ->check(non_empty("I/N, e.g. 1/4"));
  cmd->add_flag("--keep-samples", a.keep_samples,
                "Keep every latency sample in the report (compare's Mann-Whitney test, the HTML report's sample plot)");
  cmd->add_flag("--no-progress", a.no_progress, "No progress output on stderr");
  cmd->add_flag("-q,--quiet", a.quiet, "No progress or notes on stderr");
  cmd->callback([&] { exit_code = run_sweep_command(a); });
}

// --- profile ---------------------------------------------------------------------------
struct ProfileArgs {
  ProfileRequest request;
  std::map<std::string, std::string> shape;  // shape flag -> value as given
  bool causal = false;
  CLI::Option* causal_option = nullptr;
  std::vector<CLI::Option*> shape_options;
  int device = 0;
  std::string json;
  bool force = false;
};

// --json: never an input, and an existing regular file only with --force.
OutputTarget check_profile_json(const ProfileArgs& a) {
  std::vector<NamedInput> inputs;
  if (!a.request.config.empty()) inputs.push_back({"config", a.request.config});
  const OutputTarget target = check_output_path(a.json, inputs, "--json", ReplacePolicy::Any);  // --force: below
  std::error_code ec;
  if (!target.write_through && !a.force && fs::is_regular_file(target.file, ec)) {
    throw OutputError(fmt::format("--json {}: the file exists; expected a new path, or --force to replace it", a.json));
  }
  return target;
}

int run_profile_command(ProfileArgs& a) {
  for (CLI::Option* option : a.shape_options) {
    if (option->count() > 0) a.request.shape.push_back({option->get_name(), a.shape[option->get_name()]});
  }
  if (a.causal_option->count() > 0) a.request.shape.push_back({"--causal", a.causal ? "true" : "false"});
  if (!a.request.case_pattern.empty() && a.request.config.empty()) a.request.config = default_config_path();
  const ProfilePlan plan = plan_profile(a.request);
  check_tuning_environment();
  const OutputTarget json = a.json.empty() ? OutputTarget{} : check_profile_json(a);
  const ProfileResult result = run_profile(plan, a.device);
  const std::string table = render_profile_table(result);
  if (json.to_stdout) {
    diag("{}", table);
  } else {
    write_stdout(table);
  }
  if (!a.json.empty()) {
    write_output_file(a.json, dump_json(profile_to_json(result, tool_info(), measure_to_json(result.measure)), 2) + "\n");
    if (!json.to_stdout) diag("{} written\n", printable(a.json));
  }
  for (const ProfiledKernel& k : result.kernels) {
    if (k.status == KernelStatus::Error) return kExitFailure;
  }
  return kExitOk;
}

void add_profile(CLI::App& app, ProfileArgs& a, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "profile",
      "Time kernels on one case, the attention kernel alone (kernel-only: the quantization excluded and timed apart) "
      "and end to end, with the sweep's sampling rule and FLOP count; print kernel ms, TOPS, quantize ms and "
      "end-to-end TOPS. --once: one launch per kernel for ncu/nsys. Needs a GPU. Exit 0: measured (a kernel the GPU "
      "does not support is skipped, with the reason); 1: no usable GPU, or a kernel failed; 2: bad input.");
  cmd->add_option("-c,--config", a.request.config,
                  "Sweep config: its settings (quantization, measurement, kernels) and, with --case, the case; with "
                  "shape flags, they replace its axes and must leave one case; alone, it must have one case")
      ->type_name("FILE")
      ->check(kNonEmptyPath);
  cmd->add_option("--case", a.request.case_pattern,
                  "The config's case to run (-c; default configs/default.json): its id, or a glob or part of it that "
                  "matches one case (see sweep --dry-run for the ids)")
      ->type_name("ID")
      ->check(non_empty("a case id, or a glob or part of one"));
  const std::map<std::string, std::string> shape_help = {
      {"--batch", "Batch size (default 1)"},
      {"--heads", "Query heads"},
      {"--kv-heads", "K/V heads (GQA; divides --heads; default --heads)"},
      {"--seq-len", "Query and key length"},
      {"--seq-q", "Query length (with --seq-kv, instead of --seq-len)"},
      {"--seq-kv", "Key length (with --seq-q, instead of --seq-len)"},
      {"--head-dim", "Head dimension"},
      {"--distribution", "Input family: normal, uniform, outlier-channels, outlier-scale, attention-sink (default normal)"},
      {"--seed", "Input seed (default 0)"},
      {"--rotation", "Quantization rotation of Q and K: none or hadamard (the config's quantization.rotation)"},
  };
  for (const ProfileShapeFlag& f : profile_shape_flags()) {
    if (std::string(f.flag) == "--causal") {
      a.causal_option = cmd->add_flag("--causal", a.causal, "Causal mask, bottom-right aligned (--causal=false: "
                                                           "not causal, over a config that lists both)");
      continue;
    }
    a.shape_options.push_back(
        cmd->add_option(f.flag, a.shape[f.flag], fmt::format("{} (config axis {})", shape_help.at(f.flag), f.axis))
            ->type_name(std::string(f.axis) == "distribution" || std::string(f.axis) == "rotation" ? "NAME" : "N"));
  }
  cmd->add_option("-k,--kernels", a.request.kernels,
                  "Kernels to time, by registry name (list-kernels); default: the config's, without the reference")
      ->delimiter(',')->type_name("NAME,...");
  cmd->add_flag("--once", a.request.once,
                "Launch each kernel's attention kernel exactly once after the warm-up, inside a cudaProfilerStart/"
                "Stop window, and time that launch only (no quantize or end-to-end time): for ncu and nsys");
  cmd->add_option("--device", a.device, "CUDA device index")
      ->transform(kDeviceIndex)
      ->check(CLI::Range(0, 1023))
      ->capture_default_str();
  cmd->add_option("--min-samples", a.request.min_samples, "At least this many samples (measurement.min_samples)")
      ->transform(kSampleCount);
  cmd->add_option("--max-seconds", a.request.max_seconds,
                  "Stop sampling a latency after this many seconds (measurement.max_seconds)")
      ->check(finite_number(0, false));
  cmd->add_option("--max-noise", a.request.max_noise,
                  "Stop once the relative standard deviation is below this (measurement.target_noise)")
      ->check(finite_number(0, true));
  add_k_granularity_option(cmd, a.request.k_granularity);
  cmd->add_option("--json", a.json, "Also write every measurement as JSON here ('-': stdout, the table then on stderr)")
      ->type_name("FILE")
      ->check(kNonEmptyPath);
  cmd->add_flag("--force", a.force, "Let --json replace an existing file");
  cmd->footer(
      "Examples:\n"
      "  int8attn-bench profile --heads 32 --kv-heads 8 --seq-len 4096 --head-dim 128 --causal -k int8-fa,fp16-fa\n"
      "  int8attn-bench profile -c configs/default.json --case b1-h32-kv8-q4096-k4096-d128-causal-normal-s0\n"
      "Nsight Compute, the one launch of each kernel (docs/profile.md):\n"
      "  ncu --profile-from-start off --set full -o int8-fa int8attn-bench profile --heads 32 --seq-len 4096 "
      "--head-dim 128 -k int8-fa --once\n"
      "Nsight Systems:\n"
      "  nsys profile --capture-range=cudaProfilerApi -o int8-fa int8attn-bench profile ... --once");
  cmd->callback([&] { exit_code = run_profile_command(a); });
}

// --- validate --------------------------------------------------------------------------
// What a sweep of the config would run on the CPU backend and on this machine's GPU: the
// same plan `sweep --dry-run` shows, tallied per kernel.
int run_validate(const std::string& path, const std::string& format_name) {
  const OutputFormat format = *parse_output_format(format_name, kListingFormats);
  SweepConfig config;
  // Machines get the verdict on stdout too.
  auto json_verdict = [&](const nlohmann::json& error) {
    if (format == OutputFormat::Json) {
      write_stdout(dump_json(nlohmann::json{{"config", path}, {"ok", false}, {"error", error}}, 2) + "\n");
    }
  };
  try {
    config = load_sweep_config(path);
  } catch (const ConfigError& e) {
    json_verdict({{"file", e.file()}, {"path", e.json_path()}, {"message", e.message()}});
    throw;
  }
  try {
    check_npy_inputs(config);
  } catch (const host::NpyError& e) {
    json_verdict({{"file", path}, {"path", "axes.input"}, {"message", e.what()}});
    throw;
  }
  std::vector<SweepPlan> plans;
  const std::unique_ptr<Backend> cpu = make_cpu_backend(config.settings.cpu);
  plans.push_back(plan_sweep(config, *cpu));
  std::string why;
  const std::unique_ptr<Backend> gpu = make_cuda_backend(0, why);
  if (gpu) plans.push_back(plan_sweep(config, *gpu));
  write_stdout(render_validation(config.path, config.cases.size(), plans, gpu ? "" : why, format));
  return kExitOk;
}

// --- list-kernels ----------------------------------------------------------------------
int run_list_kernels(const std::string& format) {
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const KernelSpec& k : kernel_registry()) {
      out.push_back({{"name", k.name}, {"description", k.description}, {"rules", k.support_rules()}});
    }
    write_stdout(dump_json(out, 2) + "\n");
    return kExitOk;
  }
  std::string text;
  for (const KernelSpec& k : kernel_registry()) {
    text += fmt::format("{:<18} {}\n{:<18} {}\n", k.name, k.description, "", k.support_rules());
  }
  write_stdout(text);
  return kExitOk;
}

// --- report ----------------------------------------------------------------------------
int run_report(const std::string& path, const std::string& format, const std::string& output) {
  const std::string destination = output.empty() ? std::string(kStdoutPath) : output;
  const OutputTarget target = check_output_path(destination, {{"report", path}}, "-o");
  Report report = read_report(path);
  summarize(report);  // from the cases, as every write does: a stale or edited summary is not shown
  const std::string text = render_report(report, *parse_report_format(format));
  write_output_file(destination, text);
  if (!output.empty() && !target.to_stdout) diag("{} written\n", printable(output));
  return kExitOk;
}

// --- devices ---------------------------------------------------------------------------
int run_devices(const std::string& format) {
  std::string why;
  const std::vector<GpuDeviceSummary> devices = query_gpu_devices(why);
  if (format != "json") {
    write_stdout(describe_devices(devices, why));
    return kExitOk;
  }
  nlohmann::json out = {{"devices", nlohmann::json::array()}};
  if (devices.empty()) out["why_none"] = why;
  for (const GpuDeviceSummary& device : devices) {
    nlohmann::json kernels = nlohmann::json::array();
    for (const KernelSupport& k : device.kernels) {
      kernels.push_back({{"kernel", k.kernel}, {"supported", k.supported}, {"reason", k.reason}});
    }
    const gpu::DeviceInfo& d = device.info;
    out["devices"].push_back(
        {{"index", d.index}, {"name", d.name},
         {"compute_capability", fmt::format("{}.{}", d.cc_major, d.cc_minor)},
         {"sm_count", d.sm_count}, {"memory_bytes", d.total_memory_bytes}, {"l2_cache_bytes", d.l2_cache_bytes},
         {"sm_clock_mhz", d.sm_clock_mhz}, {"memory_clock_mhz", d.memory_clock_mhz},
         {"driver_version", d.driver_version}, {"cuda_runtime_version", d.runtime_version},
         {"cublaslt_version", d.cublaslt_version}, {"kernels", kernels}});
  }
  write_stdout(dump_json(out, 2) + "\n");
  return kExitOk;
}

// --- merge -----------------------------------------------------------------------------
struct MergeArgs {
  std::vector<std::string> reports;
  std::string output;
  bool allow_mixed = false;
};

int run_merge(const MergeArgs& a) {
  std::vector<NamedInput> named;
  for (const std::string& path : a.reports) named.push_back({"report", path});
  const OutputTarget output = check_output_path(a.output, named, "-o");
  std::vector<MergeInput> inputs;
  for (const std::string& path : a.reports) inputs.push_back({path, read_report(path)});
  // The merged cases in the config's order, when the first report's config still expands.
  std::vector<std::string> order;
  if (!inputs.empty()) order = expanded_case_ids(inputs[0].report.config.settings, inputs[0].report.config.path);
  const MergeResult merged = merge_reports(inputs, a.allow_mixed, order);
  write_report_atomic(merged.report, a.output);
  for (const std::string& note : merged.notes) diag("note: {}\n", note);
  diag("{} written ({} cases from {} reports, {} environment(s){})\n",
       output.to_stdout ? "merged report (stdout)" : printable(a.output), merged.report.cases.size(), a.reports.size(),
       merged.report.environments.size(), merged.report.complete ? "" : ", INCOMPLETE");
  return kExitOk;
}

void add_merge(CLI::App& app, MergeArgs& a, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "merge", "Join the reports of one sweep's shards (sweep --shard) or runs into one report that compare and "
               "report read like any other. Refused (exit 2, saying what differs): reports of different configs, "
               "options, tool versions or schemas (unless --allow-mixed) and a case id in two reports. Every "
               "environment is kept; the result is incomplete when a part is or a shard is missing.");
  cmd->add_option("reports", a.reports, "Report JSON files")->required();
  cmd->add_option("-o,--output", a.output,
                  "Merged report path (written atomically; never one of the inputs); '-': stdout")->required();
  cmd->add_flag("--allow-mixed", a.allow_mixed,
                "Merge reports of different configs, options, tool versions or backends anyway (said on stderr); "
                "duplicate case ids are still refused");
  cmd->callback([&] { exit_code = run_merge(a); });
}

// --- compare ---------------------------------------------------------------------------
struct CompareArgs {
  std::string baseline, candidate, format = "table", junit, markdown_out;
  std::string missing = "warn";
  bool fail_on_missing = false;
  CompareOptions options;
};

int run_compare(CompareArgs& a) {
  const bool fail_on_missing = a.fail_on_missing || a.missing == "fail";
  a.options.missing_policy = fail_on_missing ? MissingPolicy::Fail : MissingPolicy::Warn;
  const std::vector<NamedInput> inputs = {{"baseline report", a.baseline}, {"candidate report", a.candidate}};
  if (!a.junit.empty()) check_output_path(a.junit, inputs, "--junit");
  if (!a.markdown_out.empty()) check_output_path(a.markdown_out, inputs, "--markdown-out");
  check_distinct_outputs({{"--junit", a.junit}, {"--markdown-out", a.markdown_out}});
  check_output_path(std::string(kStdoutPath), inputs, "stdout");  // compare ... >> candidate.json
  const Report baseline = read_report(a.baseline);
  const Report candidate = read_report(a.candidate);
  std::error_code same_error;
  if (std::filesystem::equivalent(a.baseline, a.candidate, same_error)) {  // a gate that can never fail
    diag("note: baseline and candidate are the same file ({}): every case compares equal\n", printable(a.candidate));
  }
  CompareResult result = compare_reports(baseline, candidate, a.options);
  result.baseline_label = a.baseline;
  result.candidate_label = a.candidate;
  // The files first: a failed write prints no verdict.
  if (!a.junit.empty()) write_junit(result, a.junit);
  if (!a.markdown_out.empty()) write_output_file(a.markdown_out, render_compare(result, OutputFormat::Markdown));
  write_stdout(render_compare(result, *parse_compare_format(a.format)));
  return compare_exit_code(result);
}

void add_compare(CLI::App& app, CompareArgs& a, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare a candidate report with a baseline, case by case and kernel by kernel. "
                 "Exit 0: no regression; 1: a regression (slower beyond tolerance AND noise, an "
                 "error metric grown beyond tolerance, an int8 -> fp16-fallback flip, ok -> error; "
                 "with --fail-on-change also any accuracy change the other way); "
                 "2: unreadable/incompatible input.");
  cmd->add_option("baseline", a.baseline, "Baseline report JSON")->required();
  cmd->add_option("candidate", a.candidate, "Candidate report JSON")->required();
  add_format_option(cmd, a.format, kCompareFormats, "What to print on stdout");
  cmd->add_option("--junit", a.junit, "Also write JUnit XML (one test per case and kernel) here")->check(kNonEmptyPath);
  cmd->add_option("--markdown-out", a.markdown_out,
                  "Also write the markdown view here (for a PR comment or $GITHUB_STEP_SUMMARY), whatever --format "
                  "prints")
      ->check(kNonEmptyPath);
  cmd->add_option("--latency-tolerance", a.options.latency_tolerance,
                  "Relative slowdown of the median allowed before it can count as a regression")
      ->check(finite_number(0, true))->capture_default_str();
  cmd->add_option("--noise-sigmas", a.options.noise_sigmas,
                  "A slowdown must also exceed this many combined standard errors")
      ->check(finite_number(0, true))->capture_default_str();
  cmd->add_option("--mse-tolerance", a.options.mse_tolerance, "Relative MSE growth allowed (0: none)")
      ->check(finite_number(0, true))->capture_default_str();
  cmd->add_option("--max-abs-tolerance", a.options.max_abs_tolerance,
                  "Relative max-abs-error growth allowed (0: none)")
      ->check(finite_number(0, true))->capture_default_str();
  cmd->add_option("--rel-l2-tolerance", a.options.rel_l2_tolerance,
                  "Relative rel-L2 growth allowed (0: none)")
      ->check(finite_number(0, true))->capture_default_str();
  cmd->add_option("--missing", a.missing, "A baseline case/kernel the candidate lacks or skipped: warn or fail (candidate-only ones are listed as new and never fail)")
      ->check(CLI::IsMember({"warn", "fail"}))->capture_default_str();
  cmd->add_flag("--fail-on-missing", a.fail_on_missing, "The same as --missing fail");
  cmd->add_option("--filter", a.options.case_filter,
                  "Only case ids matching this glob (*, ?, [...]) or containing this text, as sweep --filter; "
                  "matching no case of either report is an input error (exit 2)")
      ->check(non_empty("a glob or part of a case id"));
  cmd->add_flag("--allow-different-device", a.options.allow_different_device,
                "Compare reports from different GPUs/backends (said in the output)");
  cmd->add_flag("--fail-on-change", a.options.fail_on_change,
                "For deterministic backends (the CPU gate): an accuracy metric, fallback decision or "
                "status that moved the good way beyond its tolerance fails too, as CHANGED (with "
                "tolerances 0: any change either way), mean_abs_error, cosine and max_abs_index must "
                "be equal, and a case/kernel only in the candidate fails; latency is judged as usual");
  cmd->callback([&] { exit_code = run_compare(a); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"int8attn-bench: is INT8 flash attention fast and accurate enough for your shapes "
               "and GPU? Runs INT8 attention kernels beside an FP16 reference and reports latency, "
               "memory, error and the INT8-or-FP16 decision per case."};
  app.set_version_flag("--version", fmt::format("int8attn-bench {} (commit {})", INT8ATTN_VERSION,
                                                INT8ATTN_GIT_COMMIT));
  app.require_subcommand(1);
  int exit_code = kExitOk;

  SweepArgs sweep_args;
  add_sweep(app, sweep_args, exit_code);

  std::string validate_path, validate_format = "table";
  CLI::App* validate = app.add_subcommand(
      "validate", "Check a sweep config; print its case count and, per kernel, in how many cases it runs on the "
                  "CPU backend and on this machine's GPU and why it is skipped elsewhere (what sweep does)");
  validate->add_option("config", validate_path, "Sweep config (JSON)")->required();
  CLI::Option* validate_format_option = add_format_option(validate, validate_format, kListingFormats, "Output format");
  validate->add_flag_callback("--json", [&] { validate_format = "json"; }, "The same as --format json")
      ->excludes(validate_format_option);
  validate->callback([&] { exit_code = run_validate(validate_path, validate_format); });

  const FormatList info_formats = {OutputFormat::Table, OutputFormat::Json};
  std::string kernels_format = "table";
  CLI::App* list = app.add_subcommand("list-kernels", "Print the kernel registry and each kernel's support rules");
  CLI::Option* kernels_format_option = add_format_option(list, kernels_format, info_formats, "Output format");
  list->add_flag_callback("--json", [&] { kernels_format = "json"; }, "The same as --format json")
      ->excludes(kernels_format_option);
  list->callback([&] { exit_code = run_list_kernels(kernels_format); });

  std::string devices_format = "table";
  CLI::App* devices = app.add_subcommand("devices", "List GPUs and which registry kernels each supports (and why not)");
  CLI::Option* devices_format_option = add_format_option(devices, devices_format, info_formats, "Output format");
  devices->add_flag_callback("--json", [&] { devices_format = "json"; }, "The same as --format json")
      ->excludes(devices_format_option);
  devices->callback([&] { exit_code = run_devices(devices_format); });

  std::string report_path, report_format = "table", report_output;
  CLI::App* report = app.add_subcommand(
      "report", "Render a saved report as a table, markdown, CSV, JSON or a self-contained HTML page");
  report->add_option("report", report_path, "Report JSON")->required();
  add_format_option(report, report_format, kReportFormats, "Output format");
  report->add_option("-o,--output", report_output, "Write to this file instead of stdout ('-': stdout)")
      ->check(kNonEmptyPath);
  report->callback([&] { exit_code = run_report(report_path, report_format, report_output); });

  CompareArgs compare_args;
  add_compare(app, compare_args, exit_code);

  ProfileArgs profile_args;
  add_profile(app, profile_args, exit_code);

  MergeArgs merge_args;
  add_merge(app, merge_args, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    std::cout.flush();
    if (code == 0 && !std::cout) {  // --help or --version that did not reach its reader
      diag("error: cannot write stdout\n");
      return kExitUsage;
    }
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const ConfigError& e) {
    print_config_error(e);
    return kExitUsage;
  } catch (const ReportError& e) {
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const CompareInputError& e) {
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const host::NpyError& e) {  // --inputs / npy_dir files, checked before running
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const OutputError& e) {
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const MergeError& e) {
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const ProfileUnavailable& e) {  // no GPU: nothing measured, but no bad input either
    diag("error: {}\n", e.what());
    return kExitFailure;
  } catch (const ResumeError& e) {
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    diag("error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {  // neither the input nor a kernel: not 1, which compare's CI reads as a regression
    diag("error: {}\n", e.what());
    return kExitInternal;
  }
  return exit_code;
}
