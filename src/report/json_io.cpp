#include "src/report/json_io.h"

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "src/io/diagnostics.h"
#include "src/io/json_text.h"
#include "src/io/output_file.h"
#include "src/io/schema_names.h"
#include "src/model/shard.h"

namespace int8attn {

using nlohmann::json;

ReportError::ReportError(std::string file, std::string json_path, std::string expected)
    : std::runtime_error(file + ": at " + json_path + ": " + expected),
      file_(std::move(file)),
      json_path_(std::move(json_path)),
      expected_(std::move(expected)) {}

namespace {

// ---------------------------------------------------------------------------------------
// The format: each struct's JSON fields, listed once
// ---------------------------------------------------------------------------------------
// fields(v, x) lists every field of x; the Writer (x const), the Reader and the Skeleton
// below walk the same list:
//   v.required(key, m)           always written; the reader requires it.
//   v.optional(key, m)           written when known (a present optional, a non-empty string
//                                or list, a non-zero number, a non-null JSON); read when present.
//   v.optional(key, m, written)  written when `written`; read when present.
//   v.required_if(c, key, m)     written and required exactly when c (on fields listed before).
//   v.group(key, list)           an object of its own whose fields list(v) names: always
//                                written, read when present.
// A member's type says how it is written: doubles through real() (NaN and Inf as strings),
// enums by to_string, lists item by item, structs by their own list. The reader reads in
// list order. docs/report.schema.json says the same; the tests check that it does.

template <class T, class Struct>
concept Is = std::same_as<std::remove_const_t<T>, Struct>;

void fields(auto& v, Is<ToolInfo> auto& t) {
  v.required("name", t.name);
  v.required("version", t.version);
  v.required("git_commit", t.git_commit);
}

void fields(auto& v, Is<Environment> auto& e) {
  v.required("backend", e.backend);
  v.optional("hostname", e.hostname);
  v.optional("gpu_name", e.gpu_name);
  v.optional("compute_capability", e.compute_capability);
  v.optional("sm_count", e.sm_count);
  v.optional("memory_bytes", e.memory_bytes);
  v.optional("sm_clock_mhz", e.sm_clock_mhz);
  v.optional("memory_clock_mhz", e.memory_clock_mhz);
  v.optional("driver_version", e.driver_version);
  v.optional("cuda_runtime_version", e.cuda_runtime_version);
  v.optional("cublaslt_version", e.cublaslt_version);
  v.optional("cudnn_version", e.cudnn_version);
  v.optional("cpu_model", e.cpu_model);
  v.optional("cpu_threads", e.cpu_threads);
  v.optional("device", e.device);
}

void fields(auto& v, Is<ConfigInfo> auto& c) {
  v.required("path", c.path);
  v.required("sha256", c.sha256);
  v.required("settings", c.settings);
  v.optional("options", c.options);  // absent in reports older than it
}

void fields(auto& v, Is<ShardSpec> auto& s) {
  v.required("index", s.index);
  v.required("count", s.count);
}

void fields(auto& v, Is<ReportPart> auto& p) {
  v.required("source", p.source);
  v.required("tool", p.tool);
  v.required("config_sha256", p.config_sha256);
  v.optional("shard", p.shard);
  v.required("complete", p.complete);
  v.required("cases", p.cases);
  v.required("started_at", p.started_at);
  v.required("finished_at", p.finished_at);
}

void fields(auto& v, Is<Summary> auto& s) {
  v.required("cases", s.cases);
  v.required("kernel_runs", s.kernel_runs);
  v.required("ok", s.ok);
  v.required("skipped", s.skipped);
  v.required("errors", s.errors);
  v.required("int8_share", s.int8_share);
  v.optional("int8_hadamard", s.int8_hadamard);
  v.optional("geomean_speedup", s.geomean_speedup);
  v.optional("baseline", s.baseline_rule);
  v.optional("fp8_verdicts", s.fp8_verdicts, s.fp8_verdicts > 0);
  v.optional("fp8_chosen", s.fp8_chosen, s.fp8_verdicts > 0);  // zero included, beside the verdicts
  v.optional("fp8_geomean_speedup", s.fp8_geomean_speedup);
  v.optional("worst_rel_l2", s.worst_rel_l2);
  v.optional("worst_rel_l2_case", s.worst_rel_l2_case);
  v.optional("worst_max_abs_error", s.worst_max_abs_error);
  v.optional("worst_max_abs_error_case", s.worst_max_abs_error_case);
}

void fields(auto& v, Is<SmClockStats> auto& c) {
  v.required("median_mhz", c.median_mhz);
  v.required("min_mhz", c.min_mhz);
  v.required("samples", c.samples);
}

void fields(auto& v, Is<LatencyStats> auto& l) {
  v.required("median_ms", l.median_ms);
  v.required("mean_ms", l.mean_ms);
  v.required("min_ms", l.min_ms);
  v.required("max_ms", l.max_ms);
  v.required("p10_ms", l.p10_ms);
  v.required("p90_ms", l.p90_ms);
  v.required("stddev_ms", l.stddev_ms);
  v.required("samples", l.samples);
  v.required("rel_noise", l.rel_noise);
  v.optional("stop_reason", l.stop_reason);
  v.optional("raw_ms", l.raw_ms);
  v.optional("sm_clock", l.sm_clock);
}

void fields(auto& v, Is<Accuracy> auto& a) {
  v.required("mse", a.mse);
  v.required("max_abs_error", a.max_abs_error);
  v.required("max_abs_index", a.max_abs_index);
  v.required("max_abs_at", a.max_abs_at);
  v.required("mean_abs_error", a.mean_abs_error);
  v.required("rel_l2", a.rel_l2);
  v.required("cosine", a.cosine);
  v.required("nonfinite", a.nonfinite);
}

void fields(auto& v, Is<MemoryUse> auto& m) {
  v.required("tensor_bytes", m.tensor_bytes);
  v.required("fp16_tensor_bytes", m.fp16_tensor_bytes);
  v.required("workspace_bytes", m.workspace_bytes);
  v.required("peak_bytes", m.peak_bytes);
}

void fields(auto& v, Is<RotatedAttempt> auto& r) {
  v.required("rotation", r.rotation);
  v.required("status", r.status);
  v.required("reasons", r.reasons);
  v.optional("reason", r.reason);
  v.optional("accuracy", r.accuracy);
  v.optional("latency", r.latency);
  v.optional("speedup", r.speedup);
}

void fields(auto& v, Is<FallbackDecision> auto& f) {
  v.required("decision", f.decision);
  v.required("reasons", f.reasons);
  v.optional("rotated", f.rotated);  // absent in reports older than the rotated try
}

void fields(auto& v, Is<Fp8Verdict> auto& f) {
  v.required("decision", f.decision);
  v.required("reasons", f.reasons);
}

void fields(auto& v, Is<Baseline> auto& b) {
  v.required("rule", b.rule);
  v.optional("kernel", b.kernel);
  v.optional("median_ms", b.median_ms);
  v.optional("note", b.note);
}

void fields(auto& v, Is<ReferenceCheck> auto& r) {
  v.required("rows_checked", r.rows_checked);
  v.required("max_abs_error", r.max_abs_error);
  v.required("rel_l2", r.rel_l2);
}

void fields(auto& v, Is<AttnDims> auto& d) {
  v.required("batch", d.batch);
  v.required("heads", d.heads);
  v.required("kv_heads", d.kv_heads);
  v.required("seq_q", d.seq_q);
  v.required("seq_kv", d.seq_kv);
  v.required("head_dim", d.head_dim);
  v.required("causal", d.causal);
  v.required("sm_scale", d.sm_scale);
}

void fields(auto& v, Is<InputSpec> auto& in) {
  v.required("distribution", in.distribution);
  v.required("seed", in.seed);
  v.required("scale", in.scale);
  // The distribution's own parameters, and no others.
  const bool outliers = in.distribution == Distribution::OutlierChannels || in.distribution == Distribution::OutlierScale;
  v.required_if(outliers, "magnitude", in.outlier_magnitude);
  v.required_if(outliers, "channels", in.outlier_channels);
  v.required_if(in.distribution == Distribution::OutlierScale, "q_magnitude", in.q_outlier_magnitude);
  const bool sink = in.distribution == Distribution::AttentionSink;
  v.required_if(sink, "sink_tokens", in.sink_tokens);
  v.required_if(sink, "sink_magnitude", in.sink_magnitude);
  v.optional("npy_dir", in.npy_dir);
}

void fields(auto& v, Is<KernelQuantization> auto& q) {
  v.required("kv_block", q.kv_block);
  v.required("v_block", q.v_block);
  v.optional("k_per_thread", q.k_per_thread);  // written when true; additive
  v.optional("k_grouped", q.k_grouped);        // written when true; additive (s73)
}

void fields(auto& v, Is<KernelResult> auto& k) {
  v.required("kernel", k.kernel);
  v.required("status", k.status);
  v.optional("reason", k.reason);
  v.optional("latency", k.latency);
  v.optional("quantize_latency", k.quantize_latency);
  v.optional("tops", k.tops);
  v.optional("accuracy", k.accuracy);
  v.optional("memory", k.memory);
  v.optional("fallback", k.fallback);
  v.optional("speedup", k.speedup);
  v.optional("fp8_verdict", k.fp8_verdict);
  v.optional("quantization", k.quantization);  // additive: absent in older reports
}

void fields(auto& v, Is<CaseResult> auto& c) {
  v.required("id", c.id);
  v.required("dims", c.dims);
  v.required("input", c.input);
  // Absent in reports older than the rotation: none.
  v.group("quantization", [&](auto& q) { q.optional("rotation", c.rotation, /*written=*/true); });
  v.required("kernels", c.kernels);
  v.optional("reference_check", c.reference_check);
  v.optional("baseline", c.baseline);
  v.required("wall_seconds", c.wall_seconds);
  // Whole in checkpoint lines; a report writes an index into its "environments" instead
  // (report_to_json, resolve_case_environments).
  v.optional("environment", c.environment);
}

void fields(auto& v, Is<Report> auto& r) {
  v.required("schema", r.schema);  // read_report checks it first (check_schema)
  v.required("tool", r.tool);
  v.required("environment", r.environment);
  v.required("config", r.config);
  v.required("started_at", r.started_at);
  v.required("finished_at", r.finished_at);
  v.required("complete", r.complete);
  v.required("cases", r.cases);
  v.required("summary", r.summary);
  v.optional("shard", r.shard);
  v.optional("environments", r.environments);  // report_to_json adds the cases' own
  v.optional("parts", r.parts);
}

template <class T>
constexpr bool is_optional = false;
template <class T>
constexpr bool is_optional<std::optional<T>> = true;
template <class T>
constexpr bool is_vector = false;
template <class T>
constexpr bool is_vector<std::vector<T>> = true;

struct Writer;
// The structs that have a field list.
template <class T>
concept Described = requires(Writer& w, const T& x) { fields(w, x); };

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

// JSON has no NaN/Inf; a NaN metric is real information (the kernel produced NaN), so it
// travels as a string instead of being dropped.
json real(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

template <class T>
json encode(const T& v);

// Whether v.optional(key, m) writes m.
template <class T>
bool known(const T& m) {
  if constexpr (is_optional<T>) {
    return m.has_value();
  } else if constexpr (std::is_same_v<T, json>) {
    return !m.is_null();
  } else if constexpr (std::is_arithmetic_v<T>) {
    return m != 0;
  } else {
    return !m.empty();  // strings, lists
  }
}

struct Writer {
  json& out;

  void required(const char* key, const auto& m) { out[key] = encode(m); }
  void optional(const char* key, const auto& m) { optional(key, m, known(m)); }
  void optional(const char* key, const auto& m, bool written) {
    if (written) required(key, m);
  }
  void required_if(bool present, const char* key, const auto& m) { optional(key, m, present); }
  void group(const char* key, const auto& list) {
    Writer inner{out[key] = json::object()};
    list(inner);
  }
};

template <class T>
json encode(const T& v) {
  if constexpr (std::is_same_v<T, double>) {
    return real(v);
  } else if constexpr (std::is_same_v<T, float>) {
    return static_cast<double>(v);  // dims.sm_scale
  } else if constexpr (std::is_enum_v<T>) {
    return to_string(v);
  } else if constexpr (std::is_same_v<T, json>) {
    return v.is_null() ? json::object() : v;  // config settings: an object
  } else if constexpr (is_optional<T>) {
    return v ? encode(*v) : json();
  } else if constexpr (is_vector<T>) {
    json items = json::array();
    for (const auto& item : v) items.push_back(encode(item));
    return items;
  } else if constexpr (Described<T>) {
    json j = json::object();
    Writer w{j};
    fields(w, v);
    return j;
  } else {
    return v;  // strings, integers, bool
  }
}

// The report's environments: its own list, then any case environment not in it yet; each
// case names its environment by position in that list.
json report_to_json(const Report& r) {
  json j = encode(r);
  std::vector<Environment> table = r.environments;
  for (size_t i = 0; i < r.cases.size(); ++i) {
    const std::optional<Environment>& e = r.cases[i].environment;
    if (!e) continue;
    auto at = std::find(table.begin(), table.end(), *e);
    if (at == table.end()) at = table.insert(table.end(), *e);
    j["cases"][i]["environment"] = at - table.begin();
  }
  if (!table.empty()) j["environments"] = encode(table);
  return j;
}

// Every field the format can hold, each with its type's default value and each list with one
// item: the field lists themselves as JSON (report_skeleton).
template <class T>
json skeleton_of();

struct Skeleton {
  json& out;

  void required(const char* key, const auto& m) { out[key] = skeleton_of<std::remove_cvref_t<decltype(m)>>(); }
  void optional(const char* key, const auto& m, bool = true) { required(key, m); }
  void required_if(bool, const char* key, const auto& m) { required(key, m); }
  void group(const char* key, const auto& list) {
    Skeleton inner{out[key] = json::object()};
    list(inner);
  }
};

template <class T>
json skeleton_of() {
  if constexpr (is_optional<T>) {
    return skeleton_of<typename T::value_type>();
  } else if constexpr (is_vector<T>) {
    return json::array({skeleton_of<typename T::value_type>()});
  } else if constexpr (Described<T>) {
    const T value{};
    json j = json::object();
    Skeleton s{j};
    fields(s, value);
    return j;
  } else {
    return encode(T{});
  }
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

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
  if (text.size() > 40) text = std::string(utf8_prefix(text, 37)) + "...";  // valid UTF-8 for compare -f json
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

// Config settings and options: free-form objects.
void read(const Node& n, json& out) {
  expect_object(n);
  out = n.value;
}

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

// Reading that does more than the field list; defined below.
void read(const Node& n, ShardSpec& out);
void read(const Node& n, LatencyStats& out);
void read(const Node& n, Accuracy& out);
void read(const Node& n, MemoryUse& out);
void read(const Node& n, AttnDims& out);
void read(const Node& n, CaseResult& out);
void read(const Node& n, std::optional<Environment>& out);
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

template <Described T>
void read_fields(const Node& n, T& out);

template <Described T>
void read(const Node& n, T& out) {
  read_fields(n, out);
}

struct Reader {
  const Node& obj;  // an object

  void required(const char* key, auto& m) const {
    if (!obj.value.contains(key)) {
      throw ReportError(obj.source, obj.path + "." + key, "expected a required field, found none");
    }
    read(obj.child(key), m);
  }
  void optional(const char* key, auto& m, bool /*written*/ = true) const {
    if (obj.value.contains(key)) read(obj.child(key), m);
  }
  void required_if(bool present, const char* key, auto& m) const {
    if (present) required(key, m);
  }
  void group(const char* key, const auto& list) const {
    if (!obj.value.contains(key)) return;
    const Node inner = obj.child(key);
    expect_object(inner);
    Reader r{inner};
    list(r);
  }
};

template <Described T>
void read_fields(const Node& n, T& out) {
  expect_object(n);
  Reader r{n};
  fields(r, out);
}

void read(const Node& n, ShardSpec& out) {
  read_fields(n, out);
  if (out.count < 1 || out.count > kMaxShards || out.index < 1 || out.index > out.count) {
    fail(n, "a shard with 1 <= index <= count <= " + std::to_string(kMaxShards));
  }
}

// What the schema promises of the numbers, so that an edited or damaged report is refused
// instead of judged: a negative error reads as an improvement, a NaN time compares as equal.
void require(const Node& n, const char* key, bool ok, const char* expected) {
  if (!ok) fail(n.child(key), expected);
}

void read(const Node& n, LatencyStats& out) {
  read_fields(n, out);
  const auto time = [](double ms) { return std::isfinite(ms) && ms >= 0; };
  for (auto [key, ms] : {std::pair{"median_ms", out.median_ms}, {"mean_ms", out.mean_ms}, {"min_ms", out.min_ms},
                         {"max_ms", out.max_ms},
                         {"p10_ms", out.p10_ms}, {"p90_ms", out.p90_ms}, {"stddev_ms", out.stddev_ms},
                         {"rel_noise", out.rel_noise}}) {
    require(n, key, time(ms), "a finite number >= 0");
  }
  // No run measures 0 ms; compare would have no ratio to judge a slowdown by.
  require(n, "median_ms", out.median_ms > 0, "a finite number > 0");
  require(n, "samples", out.samples >= 0, "a count >= 0");
  for (size_t i = 0; i < out.raw_ms.size(); ++i) {
    if (!time(out.raw_ms[i])) fail(n.child("raw_ms").element(i), "a finite time >= 0");
  }
  if (out.sm_clock) {
    const Node clock = n.child("sm_clock");
    const SmClockStats& c = *out.sm_clock;
    require(clock, "median_mhz", std::isfinite(c.median_mhz) && c.median_mhz > 0, "a finite number > 0");
    require(clock, "min_mhz", std::isfinite(c.min_mhz) && c.min_mhz > 0 && c.min_mhz <= c.median_mhz,
            "a finite number > 0, at most median_mhz");
    require(clock, "samples", c.samples >= 1 && c.samples <= out.samples, "a count from 1 to the latency's samples");
  }
}

// An error metric may be NaN or infinite (a kernel that wrote NaN), never negative.
void read(const Node& n, Accuracy& out) {
  read_fields(n, out);
  const auto error = [](double e) { return std::isnan(e) || e >= 0; };
  for (auto [key, e] : {std::pair{"mse", out.mse}, {"max_abs_error", out.max_abs_error},
                        {"mean_abs_error", out.mean_abs_error}, {"rel_l2", out.rel_l2}}) {
    require(n, key, error(e), "a number >= 0 (or \"nan\", \"inf\")");
  }
  require(n, "cosine", std::isnan(out.cosine) || std::fabs(out.cosine) <= 1.0 + 1e-6,
          "a number in [-1, 1] (or \"nan\")");
  require(n, "nonfinite", out.nonfinite >= 0, "a count >= 0");
  require(n, "max_abs_index", out.max_abs_index >= 0, "an index >= 0");
  for (size_t i = 0; i < out.max_abs_at.size(); ++i) {
    if (out.max_abs_at[i] < 0) fail(n.child("max_abs_at").element(i), "an index >= 0");
  }
}

void read(const Node& n, ReferenceCheck& out) {
  read_fields(n, out);
  require(n, "rows_checked", out.rows_checked >= 0, "a count >= 0");
  for (auto [key, e] : {std::pair{"max_abs_error", out.max_abs_error}, {"rel_l2", out.rel_l2}}) {
    require(n, key, std::isnan(e) || e >= 0, "a number >= 0 (or \"nan\", \"inf\")");
  }
}

void read(const Node& n, Environment& out) {
  read_fields(n, out);
  for (auto [key, count] : {std::pair{"sm_count", out.sm_count}, {"memory_bytes", out.memory_bytes},
                            {"sm_clock_mhz", out.sm_clock_mhz}, {"memory_clock_mhz", out.memory_clock_mhz},
                            {"cpu_threads", out.cpu_threads}}) {
    require(n, key, count >= 0, "a count >= 0 (0: unknown)");
  }
  if (out.device) require(n, "device", *out.device >= 0, "a device index >= 0");
}

void read(const Node& n, KernelQuantization& out) {
  read_fields(n, out);
  require(n, "kv_block", out.kv_block >= 1, "a block size >= 1");
  require(n, "v_block", out.v_block >= 0, "a block size >= 0 (0: one scale a channel)");
}

void read(const Node& n, Baseline& out) {
  read_fields(n, out);
  if (out.median_ms) require(n, "median_ms", std::isfinite(*out.median_ms) && *out.median_ms > 0, "a time > 0");
}

// A speedup is a ratio of two measured times: finite and above 0.
bool is_speedup(const std::optional<double>& s) { return !s || (std::isfinite(*s) && *s > 0); }

void read(const Node& n, RotatedAttempt& out) {
  read_fields(n, out);
  require(n, "speedup", is_speedup(out.speedup), "a finite ratio > 0");
}

void read(const Node& n, KernelResult& out) {
  read_fields(n, out);
  require(n, "speedup", is_speedup(out.speedup), "a finite ratio > 0");
}

void read(const Node& n, Summary& out) {
  read_fields(n, out);
  for (auto [key, count] : {std::pair{"cases", out.cases}, {"kernel_runs", out.kernel_runs}, {"ok", out.ok},
                            {"skipped", out.skipped}, {"errors", out.errors}, {"int8_hadamard", out.int8_hadamard},
                            {"fp8_verdicts", out.fp8_verdicts}, {"fp8_chosen", out.fp8_chosen}}) {
    require(n, key, count >= 0, "a count >= 0");
  }
}

void read(const Node& n, MemoryUse& out) {
  read_fields(n, out);
  for (auto [key, bytes] : {std::pair{"tensor_bytes", out.tensor_bytes}, {"fp16_tensor_bytes", out.fp16_tensor_bytes},
                            {"workspace_bytes", out.workspace_bytes}, {"peak_bytes", out.peak_bytes}}) {
    require(n, key, bytes >= 0, "a byte count >= 0");
  }
}

void read(const Node& n, AttnDims& out) {
  read_fields(n, out);
  for (auto [key, size] : {std::pair{"batch", out.batch}, {"heads", out.heads}, {"kv_heads", out.kv_heads},
                           {"seq_q", out.seq_q}, {"seq_kv", out.seq_kv}, {"head_dim", out.head_dim}}) {
    require(n, key, size >= 1, "an integer >= 1");
  }
  // As docs/report-schema.md says: query head h reads kv head h / (heads / kv_heads).
  if (out.heads % out.kv_heads != 0) fail(n.child("kv_heads"), "a divisor of heads (" + std::to_string(out.heads) + ")");
  require(n, "sm_scale", std::isfinite(out.sm_scale) && out.sm_scale >= 0,
          "a finite number >= 0 (0: 1/sqrt(head_dim))");
}

// One result per kernel: compare and the views key on (case, kernel).
void read(const Node& n, CaseResult& out) {
  read_fields(n, out);
  require(n, "wall_seconds", std::isfinite(out.wall_seconds) && out.wall_seconds >= 0, "a finite time >= 0");
  require(n, "id", !out.id.empty(), "a case id (not empty)");  // as the JSON Schema's minLength
  std::set<std::string> seen;
  for (size_t i = 0; i < out.kernels.size(); ++i) {
    if (out.kernels[i].kernel.empty()) fail(n.child("kernels").element(i).child("kernel"), "a kernel name (not empty)");
    if (!seen.insert(out.kernels[i].kernel).second) {
      fail(n.child("kernels").element(i).child("kernel"), "each kernel once in a case");
    }
  }
}

// One case per id: compare, merge and the checkpoint key on it.
void check_unique_case_ids(const Node& root, const Report& out) {
  std::set<std::string> seen;
  for (size_t i = 0; i < out.cases.size(); ++i) {
    if (!seen.insert(out.cases[i].id).second) {
      fail(root.child("cases").element(i).child("id"), "each case id once in a report");
    }
  }
}

// A case's environment: an object in checkpoint lines; in a report an index into
// "environments", which resolve_case_environments reads once they are known.
void read(const Node& n, std::optional<Environment>& out) {
  if (n.value.is_number_integer()) return;
  out.emplace();
  read(n, *out);
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

constexpr const char* kCheckpointAsReportHint =
    "a sweep's checkpoint (the finished cases of an interrupted sweep, for --resume): read the report written "
    "beside it (its name without .ckpt.jsonl), or finish the sweep with sweep --resume and the same -o";

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
                      "unsupported schema version \"" + schema.substr(kReportSchemaPrefix.size()) +
                          "\": this build reads " + kReportSchema + " only (a newer int8attn-bench wrote it?)");
  }
  const bool checkpoint = schema.rfind(kCheckpointSchemaPrefix, 0) == 0;
  throw ReportError(root.source, path,
                    std::string("expected \"") + kReportSchema + "\", found \"" + schema + "\"" +
                        (checkpoint ? std::string(": ") + kCheckpointAsReportHint : ""));
}

void read(const Node& n, Report& out) {
  check_schema(n);
  read_fields(n, out);
  check_unique_case_ids(n, out);
  resolve_case_environments(n, out);
}

}  // namespace

template <class T>
json to_json(const T& value) {
  if constexpr (std::is_same_v<T, Report>) {
    return report_to_json(value);
  } else {
    return encode(value);
  }
}

template <class T>
T from_json_as(const json& j, const std::string& source, const std::string& path) {
  T out{};
  read(Node{j, path, source}, out);
  return out;
}

#define INT8ATTN_INSTANTIATE_JSON(T)     \
  template json to_json<T>(const T&); \
  template T from_json_as<T>(const json&, const std::string&, const std::string&);
INT8ATTN_INSTANTIATE_JSON(Report)
INT8ATTN_INSTANTIATE_JSON(ToolInfo)
INT8ATTN_INSTANTIATE_JSON(Environment)
INT8ATTN_INSTANTIATE_JSON(ConfigInfo)
INT8ATTN_INSTANTIATE_JSON(ShardSpec)
INT8ATTN_INSTANTIATE_JSON(ReportPart)
INT8ATTN_INSTANTIATE_JSON(Summary)
INT8ATTN_INSTANTIATE_JSON(CaseResult)
INT8ATTN_INSTANTIATE_JSON(KernelResult)
INT8ATTN_INSTANTIATE_JSON(LatencyStats)
INT8ATTN_INSTANTIATE_JSON(Accuracy)
INT8ATTN_INSTANTIATE_JSON(MemoryUse)
INT8ATTN_INSTANTIATE_JSON(RotatedAttempt)
INT8ATTN_INSTANTIATE_JSON(FallbackDecision)
INT8ATTN_INSTANTIATE_JSON(Fp8Verdict)
INT8ATTN_INSTANTIATE_JSON(KernelQuantization)
INT8ATTN_INSTANTIATE_JSON(Baseline)
INT8ATTN_INSTANTIATE_JSON(ReferenceCheck)
INT8ATTN_INSTANTIATE_JSON(AttnDims)
INT8ATTN_INSTANTIATE_JSON(InputSpec)
#undef INT8ATTN_INSTANTIATE_JSON

json report_skeleton() { return skeleton_of<Report>(); }

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
    if (e.syntax() && starts_as_checkpoint(text)) {
      throw ReportError(source, "$", std::string("expected a report, found ") + kCheckpointAsReportHint);
    }
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
