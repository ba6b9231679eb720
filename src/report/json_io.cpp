#include "src/report/json_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "src/io/json_text.h"
#include "src/io/output_file.h"

namespace int8attn {

using nlohmann::json;

ReportError::ReportError(std::string file, std::string json_path, std::string expected)
    : std::runtime_error(file + ": at " + json_path + ": " + expected),
      file_(std::move(file)),
      json_path_(std::move(json_path)),
      expected_(std::move(expected)) {}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------
namespace {

constexpr const char* kReportSchemaPrefix = "int8attn-bench/report/";

// JSON has no NaN/Inf; a NaN metric is real information (the kernel produced NaN), so it
// travels as a string instead of being dropped.
json real(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

template <class T>
void put_optional(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = to_json(*v);
}

void put_optional(json& j, const char* key, const std::optional<double>& v) {
  if (v) j[key] = real(*v);
}

// Environment and similar fields: empty string / zero means "not known" and is omitted.
void put_known(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
void put_known(json& j, const char* key, int64_t v) {
  if (v != 0) j[key] = v;
}

template <class T>
json array_of(const std::vector<T>& items) {
  json a = json::array();
  for (const T& item : items) a.push_back(to_json(item));
  return a;
}

json reals(const std::vector<double>& values) {
  json a = json::array();
  for (double v : values) a.push_back(real(v));
  return a;
}

}  // namespace

json to_json(const ToolInfo& tool) {
  return {{"name", tool.name}, {"version", tool.version}, {"git_commit", tool.git_commit}};
}

json to_json(const Environment& env) {
  json j = {{"backend", env.backend}};
  put_known(j, "hostname", env.hostname);
  put_known(j, "gpu_name", env.gpu_name);
  put_known(j, "compute_capability", env.compute_capability);
  put_known(j, "sm_count", env.sm_count);
  put_known(j, "memory_bytes", env.memory_bytes);
  put_known(j, "sm_clock_mhz", env.sm_clock_mhz);
  put_known(j, "memory_clock_mhz", env.memory_clock_mhz);
  put_known(j, "driver_version", env.driver_version);
  put_known(j, "cuda_runtime_version", env.cuda_runtime_version);
  put_known(j, "cublaslt_version", env.cublaslt_version);
  put_known(j, "cudnn_version", env.cudnn_version);
  put_known(j, "cpu_model", env.cpu_model);
  put_known(j, "cpu_threads", env.cpu_threads);
  if (env.device) j["device"] = *env.device;
  return j;
}

json to_json(const ConfigInfo& config) {
  json j = {{"path", config.path},
            {"sha256", config.sha256},
            {"settings", config.settings.is_null() ? json::object() : config.settings}};
  if (!config.options.is_null()) j["options"] = config.options;
  return j;
}

json to_json(const ShardSpec& shard) { return {{"index", shard.index}, {"count", shard.count}}; }

json to_json(const ReportPart& part) {
  json j = {{"source", part.source},     {"tool", to_json(part.tool)},         {"config_sha256", part.config_sha256},
            {"complete", part.complete}, {"cases", part.cases},                {"started_at", part.started_at},
            {"finished_at", part.finished_at}};
  put_optional(j, "shard", part.shard);
  return j;
}

json to_json(const Summary& s) {
  json j = {{"cases", s.cases},     {"kernel_runs", s.kernel_runs},   {"ok", s.ok},
            {"skipped", s.skipped}, {"errors", s.errors},             {"int8_share", real(s.int8_share)}};
  put_optional(j, "geomean_speedup", s.geomean_speedup);
  put_known(j, "baseline", s.baseline_rule);
  put_known(j, "int8_hadamard", s.int8_hadamard);
  if (s.fp8_verdicts > 0) {
    j["fp8_verdicts"] = s.fp8_verdicts;
    j["fp8_chosen"] = s.fp8_chosen;
  }
  put_optional(j, "fp8_geomean_speedup", s.fp8_geomean_speedup);
  put_optional(j, "worst_rel_l2", s.worst_rel_l2);
  put_known(j, "worst_rel_l2_case", s.worst_rel_l2_case);
  put_optional(j, "worst_max_abs_error", s.worst_max_abs_error);
  put_known(j, "worst_max_abs_error_case", s.worst_max_abs_error_case);
  return j;
}

json to_json(const LatencyStats& l) {
  json j = {{"median_ms", real(l.median_ms)}, {"mean_ms", real(l.mean_ms)},
            {"min_ms", real(l.min_ms)},       {"max_ms", real(l.max_ms)},
            {"p10_ms", real(l.p10_ms)},       {"p90_ms", real(l.p90_ms)},
            {"stddev_ms", real(l.stddev_ms)}, {"samples", l.samples},
            {"rel_noise", real(l.rel_noise)}};
  if (!l.stop_reason.empty()) j["stop_reason"] = l.stop_reason;
  if (!l.raw_ms.empty()) j["raw_ms"] = reals(l.raw_ms);
  return j;
}

json to_json(const Accuracy& a) {
  return {{"mse", real(a.mse)},
          {"max_abs_error", real(a.max_abs_error)},
          {"max_abs_index", a.max_abs_index},
          {"max_abs_at", a.max_abs_at},
          {"mean_abs_error", real(a.mean_abs_error)},
          {"rel_l2", real(a.rel_l2)},
          {"cosine", real(a.cosine)},
          {"nonfinite", a.nonfinite}};
}

json to_json(const MemoryUse& m) {
  return {{"tensor_bytes", m.tensor_bytes},
          {"fp16_tensor_bytes", m.fp16_tensor_bytes},
          {"workspace_bytes", m.workspace_bytes},
          {"peak_bytes", m.peak_bytes}};
}

json to_json(const RotatedAttempt& r) {
  json j = {{"rotation", to_string(r.rotation)}, {"status", to_string(r.status)}, {"reasons", r.reasons}};
  put_known(j, "reason", r.reason);
  put_optional(j, "accuracy", r.accuracy);
  put_optional(j, "latency", r.latency);
  put_optional(j, "speedup", r.speedup);
  return j;
}

json to_json(const FallbackDecision& f) {
  json j = {{"decision", to_string(f.decision)}, {"reasons", f.reasons}};
  put_optional(j, "rotated", f.rotated);
  return j;
}

json to_json(const Fp8Verdict& v) {
  return {{"decision", to_string(v.decision)}, {"reasons", v.reasons}};
}

json to_json(const Baseline& b) {
  json j = {{"rule", b.rule}};
  put_known(j, "kernel", b.kernel);
  put_optional(j, "median_ms", b.median_ms);
  put_known(j, "note", b.note);
  return j;
}

json to_json(const ReferenceCheck& r) {
  return {{"rows_checked", r.rows_checked},
          {"max_abs_error", real(r.max_abs_error)},
          {"rel_l2", real(r.rel_l2)}};
}

json to_json(const AttnDims& d) {
  return {{"batch", d.batch},       {"heads", d.heads},       {"kv_heads", d.kv_heads},
          {"seq_q", d.seq_q},       {"seq_kv", d.seq_kv},     {"head_dim", d.head_dim},
          {"causal", d.causal},     {"sm_scale", static_cast<double>(d.sm_scale)}};
}

json to_json(const InputSpec& in) {
  json j = {{"distribution", to_string(in.distribution)}, {"seed", in.seed}, {"scale", real(in.scale)}};
  if (in.distribution == Distribution::OutlierChannels || in.distribution == Distribution::OutlierScale) {
    j["magnitude"] = real(in.outlier_magnitude);
    j["channels"] = in.outlier_channels;
  }
  if (in.distribution == Distribution::OutlierScale) j["q_magnitude"] = real(in.q_outlier_magnitude);
  if (in.distribution == Distribution::AttentionSink) {
    j["sink_tokens"] = in.sink_tokens;
    j["sink_magnitude"] = real(in.sink_magnitude);
  }
  put_known(j, "npy_dir", in.npy_dir);
  return j;
}

json to_json(const KernelResult& k) {
  json j = {{"kernel", k.kernel}, {"status", to_string(k.status)}};
  put_known(j, "reason", k.reason);
  put_optional(j, "latency", k.latency);
  put_optional(j, "quantize_latency", k.quantize_latency);
  put_optional(j, "tops", k.tops);
  put_optional(j, "accuracy", k.accuracy);
  put_optional(j, "memory", k.memory);
  put_optional(j, "fallback", k.fallback);
  put_optional(j, "speedup", k.speedup);
  put_optional(j, "fp8_verdict", k.fp8_verdict);
  return j;
}

json to_json(const CaseResult& c) {
  json j = {{"id", c.id},
            {"dims", to_json(c.dims)},
            {"input", to_json(c.input)},
            {"quantization", {{"rotation", to_string(c.rotation)}}},
            {"kernels", array_of(c.kernels)}};
  put_optional(j, "reference_check", c.reference_check);
  put_optional(j, "baseline", c.baseline);
  j["wall_seconds"] = real(c.wall_seconds);
  put_optional(j, "environment", c.environment);  // whole here (checkpoint lines); a report indexes
  return j;
}

namespace {

// The report's environments: its own list, then any case environment not in it yet.
std::vector<Environment> environment_table(const Report& r) {
  std::vector<Environment> table = r.environments;
  for (const CaseResult& c : r.cases) {
    if (c.environment && std::find(table.begin(), table.end(), *c.environment) == table.end()) {
      table.push_back(*c.environment);
    }
  }
  return table;
}

// Cases, each naming its environment by position in `table`.
json cases_with_environment_index(const Report& r, const std::vector<Environment>& table) {
  json cases = json::array();
  for (const CaseResult& c : r.cases) {
    json j = to_json(c);
    if (c.environment) j["environment"] = std::find(table.begin(), table.end(), *c.environment) - table.begin();
    cases.push_back(std::move(j));
  }
  return cases;
}

}  // namespace

json to_json(const Report& r) {
  const std::vector<Environment> table = environment_table(r);
  json j = {{"schema", r.schema},
            {"tool", to_json(r.tool)},
            {"environment", to_json(r.environment)},
            {"config", to_json(r.config)},
            {"started_at", r.started_at},
            {"finished_at", r.finished_at},
            {"complete", r.complete},
            {"cases", cases_with_environment_index(r, table)},
            {"summary", to_json(r.summary)}};
  put_optional(j, "shard", r.shard);
  if (!table.empty()) j["environments"] = array_of(table);
  if (!r.parts.empty()) j["parts"] = array_of(r.parts);
  return j;
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------
namespace {

// A value inside a document plus where it sits, so every error can name its path.
struct Node {
  const json& value;
  std::string path;
  const std::string& source;

  Node child(const char* key) const { return {value.at(key), path + "." + key, source}; }
  Node element(size_t i) const { return {value.at(i), path + "[" + std::to_string(i) + "]", source}; }
};

std::string describe(const json& v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(v.type_name()) + " " + text;
}

[[noreturn]] void fail(const Node& n, const std::string& expected) {
  throw ReportError(n.source, n.path, "expected " + expected + ", found " + describe(n.value));
}

void expect_object(const Node& n) {
  if (!n.value.is_object()) fail(n, "an object");
}

std::string fmt_index_range(size_t size) {
  return size == 0 ? std::string("no environment index (the report has no \"environments\")")
                   : "an index into $.environments (0 to " + std::to_string(size - 1) + ")";
}

void read(const Node& n, std::string& out) {
  if (!n.value.is_string()) fail(n, "a string");
  out = n.value.get<std::string>();
}

void read(const Node& n, bool& out) {
  if (!n.value.is_boolean()) fail(n, "true or false");
  out = n.value.get<bool>();
}

void read(const Node& n, int64_t& out) {
  if (n.value.is_number_unsigned()) {
    auto u = n.value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(n, "a 64-bit signed integer");
    out = static_cast<int64_t>(u);
  } else if (n.value.is_number_integer()) {
    out = n.value.get<int64_t>();
  } else {
    fail(n, "an integer");
  }
}

void read(const Node& n, uint64_t& out) {
  if (n.value.is_number_unsigned()) {
    out = n.value.get<uint64_t>();
  } else if (n.value.is_number_integer() && n.value.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(n.value.get<int64_t>());
  } else {
    fail(n, "a non-negative integer");
  }
}

void read(const Node& n, double& out) {
  if (n.value.is_number()) {
    out = n.value.get<double>();
    return;
  }
  if (n.value.is_string()) {
    const auto& s = n.value.get_ref<const std::string&>();
    if (s == "nan") { out = std::numeric_limits<double>::quiet_NaN(); return; }
    if (s == "inf") { out = std::numeric_limits<double>::infinity(); return; }
    if (s == "-inf") { out = -std::numeric_limits<double>::infinity(); return; }
  }
  fail(n, "a number (or \"nan\", \"inf\", \"-inf\")");
}

void read(const Node& n, float& out) {
  if (!n.value.is_number()) fail(n, "a number");
  out = static_cast<float>(n.value.get<double>());
}

void read(const Node& n, json& out) { out = n.value; }

template <class E, size_t N>
void read_enum(const Node& n, E& out, const E (&all)[N]) {
  std::string s;
  read(n, s);
  std::string choices;
  for (E e : all) {
    if (s == to_string(e)) {
      out = e;
      return;
    }
    choices += (choices.empty() ? "\"" : ", \"") + std::string(to_string(e)) + "\"";
  }
  fail(n, "one of " + choices);
}

void read(const Node& n, KernelStatus& out) {
  read_enum(n, out, {KernelStatus::Ok, KernelStatus::Skipped, KernelStatus::Error});
}
void read(const Node& n, Decision& out) {
  read_enum(n, out, {Decision::Int8, Decision::Int8Hadamard, Decision::Fp16Fallback});
}
void read(const Node& n, Fp8Decision& out) { read_enum(n, out, {Fp8Decision::Fp8, Fp8Decision::Fp16}); }
void read(const Node& n, Distribution& out) {
  read_enum(n, out, kAllDistributions);
}
void read(const Node& n, QkRotation& out) { read_enum(n, out, {QkRotation::None, QkRotation::Hadamard}); }

// Struct readers, defined below; declared first so the templates can reach each other.
void read(const Node& n, ToolInfo& out);
void read(const Node& n, Environment& out);
void read(const Node& n, ConfigInfo& out);
void read(const Node& n, Summary& out);
void read(const Node& n, LatencyStats& out);
void read(const Node& n, Accuracy& out);
void read(const Node& n, MemoryUse& out);
void read(const Node& n, RotatedAttempt& out);
void read(const Node& n, FallbackDecision& out);
void read(const Node& n, Fp8Verdict& out);
void read(const Node& n, Baseline& out);
void read(const Node& n, ReferenceCheck& out);
void read(const Node& n, AttnDims& out);
void read(const Node& n, InputSpec& out);
void read(const Node& n, KernelResult& out);
void read(const Node& n, CaseResult& out);
void read(const Node& n, ShardSpec& out);
void read(const Node& n, ReportPart& out);
void read(const Node& n, Report& out);

template <class T>
void read(const Node& n, std::vector<T>& out) {
  if (!n.value.is_array()) fail(n, "an array");
  out.clear();
  out.resize(n.value.size());
  for (size_t i = 0; i < out.size(); ++i) read(n.element(i), out[i]);
}

template <class T>
void read(const Node& n, std::optional<T>& out) {
  T v{};
  read(n, v);
  out = std::move(v);
}

// `obj` must already be known to be an object.
template <class T>
void required(const Node& obj, const char* key, T& out) {
  if (!obj.value.contains(key)) {
    throw ReportError(obj.source, obj.path + "." + key, "expected a required field, found none");
  }
  read(obj.child(key), out);
}

template <class T>
void optional(const Node& obj, const char* key, T& out) {
  if (obj.value.contains(key)) read(obj.child(key), out);
}

void read(const Node& n, ToolInfo& out) {
  expect_object(n);
  required(n, "name", out.name);
  required(n, "version", out.version);
  required(n, "git_commit", out.git_commit);
}

void read(const Node& n, Environment& out) {
  expect_object(n);
  required(n, "backend", out.backend);
  optional(n, "hostname", out.hostname);
  optional(n, "gpu_name", out.gpu_name);
  optional(n, "compute_capability", out.compute_capability);
  optional(n, "sm_count", out.sm_count);
  optional(n, "memory_bytes", out.memory_bytes);
  optional(n, "sm_clock_mhz", out.sm_clock_mhz);
  optional(n, "memory_clock_mhz", out.memory_clock_mhz);
  optional(n, "driver_version", out.driver_version);
  optional(n, "cuda_runtime_version", out.cuda_runtime_version);
  optional(n, "cublaslt_version", out.cublaslt_version);
  optional(n, "cudnn_version", out.cudnn_version);
  optional(n, "cpu_model", out.cpu_model);
  optional(n, "cpu_threads", out.cpu_threads);
  optional(n, "device", out.device);
}

void read(const Node& n, ConfigInfo& out) {
  expect_object(n);
  required(n, "path", out.path);
  required(n, "sha256", out.sha256);
  required(n, "settings", out.settings);
  if (!out.settings.is_object()) fail(n.child("settings"), "an object");
  optional(n, "options", out.options);
  if (n.value.contains("options") && !out.options.is_object()) fail(n.child("options"), "an object");
}

void read(const Node& n, ShardSpec& out) {
  expect_object(n);
  required(n, "index", out.index);
  required(n, "count", out.count);
  if (out.count < 1 || out.index < 1 || out.index > out.count) {
    fail(n, "a shard with 1 <= index <= count");
  }
}

void read(const Node& n, ReportPart& out) {
  expect_object(n);
  required(n, "source", out.source);
  required(n, "tool", out.tool);
  required(n, "config_sha256", out.config_sha256);
  optional(n, "shard", out.shard);
  required(n, "complete", out.complete);
  required(n, "cases", out.cases);
  required(n, "started_at", out.started_at);
  required(n, "finished_at", out.finished_at);
}

void read(const Node& n, Summary& out) {
  expect_object(n);
  required(n, "cases", out.cases);
  required(n, "kernel_runs", out.kernel_runs);
  required(n, "ok", out.ok);
  required(n, "skipped", out.skipped);
  required(n, "errors", out.errors);
  required(n, "int8_share", out.int8_share);
  optional(n, "int8_hadamard", out.int8_hadamard);
  optional(n, "geomean_speedup", out.geomean_speedup);
  optional(n, "baseline", out.baseline_rule);
  optional(n, "fp8_verdicts", out.fp8_verdicts);
  optional(n, "fp8_chosen", out.fp8_chosen);
  optional(n, "fp8_geomean_speedup", out.fp8_geomean_speedup);
  optional(n, "worst_rel_l2", out.worst_rel_l2);
  optional(n, "worst_rel_l2_case", out.worst_rel_l2_case);
  optional(n, "worst_max_abs_error", out.worst_max_abs_error);
  optional(n, "worst_max_abs_error_case", out.worst_max_abs_error_case);
}

void read(const Node& n, LatencyStats& out) {
  expect_object(n);
  required(n, "median_ms", out.median_ms);
  required(n, "mean_ms", out.mean_ms);
  required(n, "min_ms", out.min_ms);
  required(n, "max_ms", out.max_ms);
  required(n, "p10_ms", out.p10_ms);
  required(n, "p90_ms", out.p90_ms);
  required(n, "stddev_ms", out.stddev_ms);
  required(n, "samples", out.samples);
  required(n, "rel_noise", out.rel_noise);
  optional(n, "stop_reason", out.stop_reason);
  optional(n, "raw_ms", out.raw_ms);
}

void read(const Node& n, Accuracy& out) {
  expect_object(n);
  required(n, "mse", out.mse);
  required(n, "max_abs_error", out.max_abs_error);
  required(n, "max_abs_index", out.max_abs_index);
  required(n, "max_abs_at", out.max_abs_at);
  required(n, "mean_abs_error", out.mean_abs_error);
  required(n, "rel_l2", out.rel_l2);
  required(n, "cosine", out.cosine);
  required(n, "nonfinite", out.nonfinite);
}

void read(const Node& n, MemoryUse& out) {
  expect_object(n);
  required(n, "tensor_bytes", out.tensor_bytes);
  required(n, "fp16_tensor_bytes", out.fp16_tensor_bytes);
  required(n, "workspace_bytes", out.workspace_bytes);
  required(n, "peak_bytes", out.peak_bytes);
}

void read(const Node& n, RotatedAttempt& out) {
  expect_object(n);
  required(n, "rotation", out.rotation);
  required(n, "status", out.status);
  required(n, "reasons", out.reasons);
  optional(n, "reason", out.reason);
  optional(n, "accuracy", out.accuracy);
  optional(n, "latency", out.latency);
  optional(n, "speedup", out.speedup);
}

void read(const Node& n, FallbackDecision& out) {
  expect_object(n);
  required(n, "decision", out.decision);
  required(n, "reasons", out.reasons);
  optional(n, "rotated", out.rotated);  // absent in reports older than the rotated try
}

void read(const Node& n, Fp8Verdict& out) {
  expect_object(n);
  required(n, "decision", out.decision);
  required(n, "reasons", out.reasons);
}

void read(const Node& n, Baseline& out) {
  expect_object(n);
  required(n, "rule", out.rule);
  optional(n, "kernel", out.kernel);
  optional(n, "median_ms", out.median_ms);
  optional(n, "note", out.note);
}

void read(const Node& n, ReferenceCheck& out) {
  expect_object(n);
  required(n, "rows_checked", out.rows_checked);
  required(n, "max_abs_error", out.max_abs_error);
  required(n, "rel_l2", out.rel_l2);
}

void read(const Node& n, AttnDims& out) {
  expect_object(n);
  required(n, "batch", out.batch);
  required(n, "heads", out.heads);
  required(n, "kv_heads", out.kv_heads);
  required(n, "seq_q", out.seq_q);
  required(n, "seq_kv", out.seq_kv);
  required(n, "head_dim", out.head_dim);
  required(n, "causal", out.causal);
  required(n, "sm_scale", out.sm_scale);
}

void read(const Node& n, InputSpec& out) {
  expect_object(n);
  required(n, "distribution", out.distribution);
  required(n, "seed", out.seed);
  required(n, "scale", out.scale);
  if (out.distribution == Distribution::OutlierChannels || out.distribution == Distribution::OutlierScale) {
    required(n, "magnitude", out.outlier_magnitude);
    required(n, "channels", out.outlier_channels);
  }
  if (out.distribution == Distribution::OutlierScale) required(n, "q_magnitude", out.q_outlier_magnitude);
  if (out.distribution == Distribution::AttentionSink) {
    required(n, "sink_tokens", out.sink_tokens);
    required(n, "sink_magnitude", out.sink_magnitude);
  }
  optional(n, "npy_dir", out.npy_dir);
}

void read(const Node& n, KernelResult& out) {
  expect_object(n);
  required(n, "kernel", out.kernel);
  required(n, "status", out.status);
  optional(n, "reason", out.reason);
  optional(n, "latency", out.latency);
  optional(n, "quantize_latency", out.quantize_latency);
  optional(n, "tops", out.tops);
  optional(n, "accuracy", out.accuracy);
  optional(n, "memory", out.memory);
  optional(n, "fallback", out.fallback);
  optional(n, "speedup", out.speedup);
  optional(n, "fp8_verdict", out.fp8_verdict);
}

void read(const Node& n, CaseResult& out) {
  expect_object(n);
  required(n, "id", out.id);
  required(n, "dims", out.dims);
  required(n, "input", out.input);
  if (n.value.contains("quantization")) {  // absent in reports older than the rotation: none
    const Node quant = n.child("quantization");
    expect_object(quant);
    optional(quant, "rotation", out.rotation);
  }
  required(n, "kernels", out.kernels);
  optional(n, "reference_check", out.reference_check);
  optional(n, "baseline", out.baseline);
  required(n, "wall_seconds", out.wall_seconds);
  // An object in checkpoint lines; in a report an index into "environments", which the
  // report reader resolves.
  if (n.value.contains("environment") && !n.value.at("environment").is_number_integer()) {
    optional(n, "environment", out.environment);
  }
}

// Each case's environment index, resolved against the report's "environments".
void resolve_case_environments(const Node& root, Report& out) {
  const Node cases = root.child("cases");
  for (size_t i = 0; i < out.cases.size(); ++i) {
    const Node c = cases.element(i);
    if (!c.value.contains("environment") || !c.value.at("environment").is_number_integer()) continue;
    int64_t index = 0;
    read(c.child("environment"), index);
    if (index < 0 || static_cast<size_t>(index) >= out.environments.size()) {
      fail(c.child("environment"), fmt_index_range(out.environments.size()));
    }
    out.cases[i].environment = out.environments[static_cast<size_t>(index)];
  }
}

void check_schema(const Node& root) {
  if (!root.value.is_object()) fail(root, "an object (an int8attn-bench report)");
  const std::string path = root.path + ".schema";
  if (!root.value.contains("schema")) {
    throw ReportError(root.source, path,
                      std::string("expected \"") + kReportSchema +
                          "\", found no schema field (not an int8attn-bench report?)");
  }
  std::string schema;
  read(root.child("schema"), schema);
  if (schema == kReportSchema) return;
  if (schema.rfind(kReportSchemaPrefix, 0) == 0) {
    throw ReportError(root.source, path,
                      "unsupported schema version \"" + schema.substr(std::strlen(kReportSchemaPrefix)) +
                          "\": this build reads " + kReportSchema + " only (a newer int8attn-bench wrote it?)");
  }
  throw ReportError(root.source, path,
                    std::string("expected \"") + kReportSchema + "\", found \"" + schema + "\"");
}

void read(const Node& n, Report& out) {
  check_schema(n);
  required(n, "schema", out.schema);
  required(n, "tool", out.tool);
  required(n, "environment", out.environment);
  required(n, "config", out.config);
  required(n, "started_at", out.started_at);
  required(n, "finished_at", out.finished_at);
  required(n, "complete", out.complete);
  required(n, "cases", out.cases);
  required(n, "summary", out.summary);
  optional(n, "shard", out.shard);
  optional(n, "environments", out.environments);
  optional(n, "parts", out.parts);
  resolve_case_environments(n, out);
}

}  // namespace

template <class T>
T from_json_as(const json& j, const std::string& source, const std::string& path) {
  T out{};
  read(Node{j, path, source}, out);
  return out;
}

#define INT8ATTN_INSTANTIATE_FROM_JSON(T) \
  template T from_json_as<T>(const json&, const std::string&, const std::string&);
INT8ATTN_INSTANTIATE_FROM_JSON(ToolInfo)
INT8ATTN_INSTANTIATE_FROM_JSON(Environment)
INT8ATTN_INSTANTIATE_FROM_JSON(ConfigInfo)
INT8ATTN_INSTANTIATE_FROM_JSON(Summary)
INT8ATTN_INSTANTIATE_FROM_JSON(LatencyStats)
INT8ATTN_INSTANTIATE_FROM_JSON(Accuracy)
INT8ATTN_INSTANTIATE_FROM_JSON(MemoryUse)
INT8ATTN_INSTANTIATE_FROM_JSON(FallbackDecision)
INT8ATTN_INSTANTIATE_FROM_JSON(Fp8Verdict)
INT8ATTN_INSTANTIATE_FROM_JSON(Baseline)
INT8ATTN_INSTANTIATE_FROM_JSON(ReferenceCheck)
INT8ATTN_INSTANTIATE_FROM_JSON(AttnDims)
INT8ATTN_INSTANTIATE_FROM_JSON(InputSpec)
INT8ATTN_INSTANTIATE_FROM_JSON(KernelResult)
INT8ATTN_INSTANTIATE_FROM_JSON(CaseResult)
INT8ATTN_INSTANTIATE_FROM_JSON(Report)
#undef INT8ATTN_INSTANTIATE_FROM_JSON

Report report_from_json(const json& j, const std::string& source) {
  return from_json_as<Report>(j, source, "$");
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

std::string read_text_file(const std::string& path) {
  try {
    return read_file_bounded(path, kMaxReportBytes);
  } catch (const FileReadError& e) {
    throw ReportError(path, "$", std::string("expected a readable file, found ") + e.what());
  }
}

void write_text_file_atomic(const std::string& text, const std::string& path) { write_output_file(path, text); }

std::string report_json_text(const Report& report) {
  return to_json(report).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

void write_report_atomic(const Report& report, const std::string& path) {
  write_text_file_atomic(report_json_text(report), path);
}

nlohmann::json parse_report_text(const std::string& text, const std::string& source) {
  try {
    return parse_json_text(text);
  } catch (const JsonTextError& e) {
    if (e.syntax()) {
      throw ReportError(source, "$", std::string("expected valid JSON (file truncated or not a report?), found ") + e.what());
    }
    throw ReportError(source, report_style_path(e.path()), e.what());
  }
}

Report read_report(const std::string& path) {
  // One statement each: the text is freed before the structs are built from the document.
  const json document = parse_report_text(read_text_file(path), path);
  return report_from_json(document, path);
}

}  // namespace int8attn
