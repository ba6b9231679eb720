#include "src/config/sweep_config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/input_families.h"
#include "common/k_groups.h"
#include "src/config/json_node.h"
#include "src/config/sha256.h"
#include "src/config/sweep_expand.h"
#include "src/io/diagnostics.h"
#include "src/io/json_text.h"
#include "src/io/schema_names.h"
#include "src/model/kernel.h"

namespace int8attn {
namespace {

using nlohmann::json;

// Sanity limits; docs/config.md lists them.
constexpr int64_t kMaxBatchOrHeads = 65536;
constexpr int64_t kMaxSeqLen = int64_t{1} << 20;
constexpr int64_t kMaxHeadDim = 1024;
constexpr int64_t kHeadDimMultiple = 8;     // 16-byte rows for the INT8/FP16 loads
constexpr int64_t kQuantBlockMultiple = 16;  // MMA tile height
constexpr int64_t kMaxQuantBlock = 1024;
constexpr int64_t kMaxVBlock = 1 << 20;  // the longest seq_len a config may ask for

// Enum <-> config string tables (one place per enum, read both ways).
template <class E>
struct EnumName {
  E value;
  const char* name;
};
constexpr std::array<EnumName<QkGranularity>, 2> kQkGranularityNames = {
    {{QkGranularity::PerToken, "per-token"}, {QkGranularity::PerBlock, "per-block"}}};
constexpr std::array<EnumName<KGranularity>, 3> kKGranularityNames = {
    {{KGranularity::AsQ, "as-q"}, {KGranularity::PerThread, "per-thread"}, {KGranularity::Grouped, "grouped"}}};
constexpr std::array<EnumName<PQuant>, 2> kPQuantNames = {
    {{PQuant::U8x255, "u8x255"}, {PQuant::S8x127, "s8x127"}}};
constexpr std::array<EnumName<ReferencePrecision>, 2> kReferenceNames = {
    {{ReferencePrecision::Fp32, "fp32"}, {ReferencePrecision::Fp16, "fp16"}}};

template <class E, size_t N>
std::string enum_name(const std::array<EnumName<E>, N>& table, E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <class E, size_t N>
E parse_enum(const JsonNode& node, const std::array<EnumName<E>, N>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.name);
  std::string chosen = node.as_choice(names);
  for (const auto& entry : table) {
    if (chosen == entry.name) return entry.value;
  }
  node.fail("unreachable");
}

std::vector<std::string> distribution_names() {
  std::vector<std::string> names;
  for (Distribution d : kAllDistributions) names.push_back(to_string(d));
  return names;
}

Distribution read_distribution(const JsonNode& node) {
  return *parse_distribution(node.as_choice(distribution_names()));
}

double read_positive(const JsonNode& node) {
  if (!node.value().is_number() || !(node.value().get<double>() > 0.0) || !std::isfinite(node.value().get<double>())) {
    node.fail_expected("a number > 0");
  }
  return node.value().get<double>();
}

int64_t read_size(const JsonNode& node) { return node.as_int(1, kMaxBatchOrHeads); }
int64_t read_seq(const JsonNode& node) { return node.as_int(1, kMaxSeqLen); }
int64_t read_multiple_of(const JsonNode& node, int64_t multiple, int64_t max) {
  const std::string expected = fmt::format("a multiple of {} in [{}, {}]", multiple, multiple, max);
  if (!node.value().is_number_integer()) node.fail_expected(expected);
  const bool fits = !node.value().is_number_unsigned() || node.value().get<uint64_t>() <= uint64_t(max);
  const int64_t v = fits ? node.value().get<int64_t>() : 0;
  if (v < multiple || v > max || v % multiple != 0) node.fail_expected(expected);
  return v;
}
int64_t read_head_dim(const JsonNode& node) { return read_multiple_of(node, kHeadDimMultiple, kMaxHeadDim); }
int64_t read_quant_block(const JsonNode& node) {
  return read_multiple_of(node, kQuantBlockMultiple, kMaxQuantBlock);
}

// Reads `key` into `target` when present (target keeps its default otherwise).
template <class T, class Reader>
void read_optional(const JsonNode& object, std::string_view key, T& target, Reader read) {
  if (auto node = object.find(key)) target = read(*node);
}

// Reads a list whose elements each go through `read`.
template <class Reader>
auto read_list(const JsonNode& node, Reader read, bool non_empty) {
  std::vector<decltype(read(node))> values;
  for (const JsonNode& element : node.elements(non_empty)) values.push_back(read(element));
  return values;
}

// An axis: a non-empty list.
template <class Reader>
auto read_axis(const JsonNode& node, Reader read) {
  return read_list(node, read, /*non_empty=*/true);
}

// Generated inputs are FP16: a normal value reaches ~6 standard deviations, and anything past
// 65504 becomes infinity, after which every metric is meaningless.
constexpr double kMaxInputScale = 10000;
constexpr double kMaxOutlierMagnitude = 60000;

double read_input_scale(const JsonNode& node) {
  if (!node.value().is_number() || !(node.value().get<double>() > 0.0) ||
      node.value().get<double>() > kMaxInputScale) {
    node.fail_expected(fmt::format("a number in (0, {}] (larger values overflow FP16's 65504)", kMaxInputScale));
  }
  return node.value().get<double>();
}

const std::vector<std::string> kInputKeys = {"distribution", "seed",        "scale",          "magnitude", "channels",
                                             "q_magnitude",  "sink_tokens", "sink_magnitude", "npy_dir"};

// The family parameters and the distributions that read them: any other use is an error
// (the value would be silently ignored).
struct FamilyKey {
  const char* key;
  std::vector<Distribution> used_by;
};
const std::vector<FamilyKey> kFamilyKeys = {
    {"magnitude", {Distribution::OutlierChannels, Distribution::OutlierScale}},
    {"channels", {Distribution::OutlierChannels, Distribution::OutlierScale}},
    {"q_magnitude", {Distribution::OutlierScale}},
    {"sink_tokens", {Distribution::AttentionSink}},
    {"sink_magnitude", {Distribution::AttentionSink}},
};

void check_family_keys(const JsonNode& node, Distribution distribution) {
  for (const FamilyKey& family_key : kFamilyKeys) {
    auto child = node.find(family_key.key);
    const auto& users = family_key.used_by;
    if (!child || std::find(users.begin(), users.end(), distribution) != users.end()) continue;
    std::vector<std::string> names;
    for (Distribution d : users) names.push_back(fmt::format("\"{}\"", to_string(d)));
    child->fail(fmt::format("\"{}\" applies only to distribution {}, found distribution \"{}\"", family_key.key,
                            fmt::join(names, " or "), to_string(distribution)));
  }
}

void read_family_parameters(const JsonNode& node, InputSpec& in) {
  check_family_keys(node, in.distribution);
  auto non_negative = [](const JsonNode& n) { return n.as_number(0.0, kMaxOutlierMagnitude); };
  read_optional(node, "magnitude", in.outlier_magnitude, non_negative);
  read_optional(node, "channels", in.outlier_channels, [](const JsonNode& n) { return n.as_int(1, kMaxHeadDim); });
  read_optional(node, "q_magnitude", in.q_outlier_magnitude, non_negative);
  read_optional(node, "sink_tokens", in.sink_tokens, read_seq);
  read_optional(node, "sink_magnitude", in.sink_magnitude, non_negative);
}

// The largest value an input family generates (common/input_families.h has the formulas):
// a normal draw reaches at most sqrt(-2·ln 2⁻²⁴) = 5.768 (common/rng.h's u1 is at least 2⁻²⁴),
// and the draws of a sum reach theirs together somewhere in a large tensor.
constexpr double kNormalReach = 5.77;
constexpr double kFp16Max = 65504;

double largest_generated_value(const InputSpec& in) {
  const double normal = kNormalReach * in.scale;
  switch (in.distribution) {
    case Distribution::OutlierChannels: return normal + in.outlier_magnitude;
    case Distribution::OutlierScale: return normal * std::max({1.0, in.outlier_magnitude, in.q_outlier_magnitude});
    case Distribution::AttentionSink:  // n + m·u: u is one draw per channel, n one per token
      return normal * (1.0 + std::max(in.sink_magnitude, double{kSinkQueryAlignment}));
    default: return normal;
  }
}

// Each parameter has its range, and together they must stay inside FP16 too: scale 10000
// with magnitude 60000 passed `validate` and then failed every kernel of every case.
void check_generated_range(const JsonNode& node, const InputSpec& in) {
  const double largest = largest_generated_value(in);
  if (largest > kFp16Max) {
    node.fail(fmt::format("distribution \"{}\" with scale {} and these parameters generates values up to about {:.0f}, "
                          "past FP16's largest finite value 65504: expected a smaller scale or magnitude",
                          to_string(in.distribution), in.scale, largest));
  }
}

InputSpec read_input(const JsonNode& node, const std::string& file) {
  node.expect_object(kInputKeys);
  // Files are not generated: a generator's key beside npy_dir would only relabel the case.
  if (node.find("npy_dir")) {
    for (const std::string& key : kInputKeys) {
      if (key == "npy_dir") continue;
      if (auto generator = node.find(key)) {
        generator->fail(fmt::format("\"{}\" sets how inputs are generated, and npy_dir's files are not: give "
                                    "npy_dir alone", key));
      }
    }
  }
  InputSpec in;
  read_optional(node, "distribution", in.distribution, read_distribution);
  read_optional(node, "seed", in.seed, [](const JsonNode& n) { return n.as_uint64(); });
  read_optional(node, "scale", in.scale, read_input_scale);
  read_family_parameters(node, in);
  check_generated_range(node, in);
  read_optional(node, "npy_dir", in.npy_dir, [&](const JsonNode& n) {
    std::filesystem::path dir = n.as_string();
    if (dir.empty()) n.fail_expected("a non-empty directory path");
    // Relative to the config file, so a config and its inputs travel together.
    if (dir.is_relative()) dir = std::filesystem::path(file).parent_path() / dir;
    return dir.lexically_normal().string();
  });
  return in;
}

const std::vector<std::string> kAxesKeys = {"batch",  "heads",    "kv_heads", "seq_len", "seq_q",
                                            "seq_kv", "head_dim", "causal",   "input"};

// Fills the seq axis from "seq_len" or from the product of "seq_q" and "seq_kv".
void read_seqs(const JsonNode& axes_node, SweepAxes& axes) {
  auto seq_len = axes_node.find("seq_len");
  auto seq_q = axes_node.find("seq_q");
  auto seq_kv = axes_node.find("seq_kv");
  if (seq_len && (seq_q || seq_kv)) {
    (seq_q ? *seq_q : *seq_kv).fail("give either \"seq_len\" or both \"seq_q\" and \"seq_kv\", not both forms");
  }
  axes.seq_from_seq_len = !seq_q && !seq_kv;
  if (axes.seq_from_seq_len) {
    axes.seq_q_axis = axes.seq_kv_axis = read_axis(axes_node.at("seq_len"), read_seq);
    for (int64_t s : axes.seq_q_axis) axes.seqs.push_back({s, s});
    return;
  }
  if (!seq_q || !seq_kv) axes_node.at(seq_q ? "seq_kv" : "seq_q");  // throws: the other is missing
  axes.seq_q_axis = read_axis(*seq_q, read_seq);
  axes.seq_kv_axis = read_axis(*seq_kv, read_seq);
  // Checked before the pairs are made: 10^5 lengths of each would be 10^10 pairs in memory.
  if (!axes.seq_kv_axis.empty() && axes.seq_q_axis.size() > kMaxProductCases / axes.seq_kv_axis.size()) {
    axes_node.fail(fmt::format("expected at most {} cases in the product of the axes, found more", kMaxProductCases));
  }
  for (int64_t q : axes.seq_q_axis) {
    for (int64_t kv : axes.seq_kv_axis) axes.seqs.push_back({q, kv});
  }
}

SweepAxes read_axes(const JsonNode& node, const std::string& file) {
  node.expect_object(kAxesKeys);
  SweepAxes axes;
  axes.batch = {1};
  read_optional(node, "batch", axes.batch, [](const JsonNode& n) { return read_axis(n, read_size); });
  axes.heads = read_axis(node.at("heads"), read_size);
  if (auto kv = node.find("kv_heads"); kv && !kv->is_null()) axes.kv_heads = read_axis(*kv, read_size);
  read_seqs(node, axes);
  axes.head_dim = read_axis(node.at("head_dim"), read_head_dim);
  axes.causal = {false};
  read_optional(node, "causal", axes.causal,
                [](const JsonNode& n) { return read_axis(n, [](const JsonNode& e) { return e.as_bool(); }); });
  axes.inputs = {InputSpec{}};
  read_optional(node, "input", axes.inputs, [&](const JsonNode& n) {
    return read_axis(n, [&](const JsonNode& e) { return read_input(e, file); });
  });
  return axes;
}

const std::vector<std::string> kExcludeKeys = {"batch",  "heads",    "kv_heads", "seq_len",     "seq_q",
                                               "seq_kv", "head_dim", "causal",   "distribution"};

ExcludeRule read_exclude_rule(const JsonNode& node) {
  node.expect_object(kExcludeKeys);
  if (node.value().empty()) node.fail_expected("at least one key (an empty rule excludes every case)");
  ExcludeRule rule;
  read_optional(node, "batch", rule.batch, read_size);
  read_optional(node, "heads", rule.heads, read_size);
  read_optional(node, "kv_heads", rule.kv_heads, read_size);
  read_optional(node, "seq_q", rule.seq_q, read_seq);
  read_optional(node, "seq_kv", rule.seq_kv, read_seq);
  if (auto seq_len = node.find("seq_len")) {
    if (rule.seq_q || rule.seq_kv) seq_len->fail("give either \"seq_len\" or \"seq_q\"/\"seq_kv\", not both");
    rule.seq_q = rule.seq_kv = read_seq(*seq_len);
  }
  read_optional(node, "head_dim", rule.head_dim, read_head_dim);
  read_optional(node, "causal", rule.causal, [](const JsonNode& n) { return n.as_bool(); });
  read_optional(node, "distribution", rule.distribution, read_distribution);
  return rule;
}

std::vector<std::string> read_kernels(const std::optional<JsonNode>& node) {
  std::vector<std::string> valid;
  for (const KernelIdentity& k : kernel_identities()) valid.push_back(k.name);
  if (!node) return valid;
  std::vector<std::string> listed;
  for (const JsonNode& element : node->elements(/*non_empty=*/true)) listed.push_back(element.as_choice(valid));
  return kernels_in_run_order(listed);
}

QkRotation read_rotation(const JsonNode& node) {
  std::vector<std::string> names;
  for (QkRotation r : {QkRotation::None, QkRotation::Hadamard}) names.push_back(to_string(r));
  return *parse_rotation(node.as_choice(names));
}

// "rotation": one name, or a list of them that the sweep runs each case with (innermost).
std::vector<QkRotation> read_rotations(const JsonNode& node) {
  if (!node.value().is_array()) return {read_rotation(node)};
  std::vector<QkRotation> rotations;
  for (const JsonNode& element : node.elements(/*non_empty=*/true)) {
    const QkRotation r = read_rotation(element);
    if (std::find(rotations.begin(), rotations.end(), r) == rotations.end()) rotations.push_back(r);
  }
  return rotations;
}

std::vector<QkRotation> read_config_rotations(const JsonNode& root) {
  auto quant = root.find("quantization");
  auto rotation = quant && quant->value().is_object() ? quant->find("rotation") : std::nullopt;
  return rotation ? read_rotations(*rotation) : std::vector<QkRotation>{QuantConfig{}.rotation};
}

// "baseline": the kernel every speedup and speed decision is measured against: "fastest-fp16"
// (the default: the fastest FP16 kernel of each case) or any FP16/FP8 kernel the sweep runs.
std::string read_baseline(const JsonNode& node, const std::vector<std::string>& kernels) {
  std::vector<std::string> valid = {"fastest-fp16"};
  for (const KernelIdentity& k : kernel_identities()) {
    if (k.family == KernelFamily::Fp16 || k.family == KernelFamily::Fp8) valid.push_back(k.name);
  }
  std::string name = node.as_choice(valid);
  if (name == "fastest-fp16") return {};
  if (std::find(kernels.begin(), kernels.end(), name) == kernels.end()) {
    node.fail(fmt::format("expected a kernel this sweep runs (\"kernels\": {}), found \"{}\"", fmt::join(kernels, ", "),
                          name));
  }
  return name;
}

// "auto" for kv_block / v_block: the kernels' own fastest pair (RunSettings::auto_kv_blocks).
bool is_auto(const JsonNode& node) { return node.value().is_string() && node.as_choice({"auto"}) == "auto"; }

// Reads the kernels' QuantConfig; kv_block and v_block are "auto" unless one is a number (then
// an absent one takes its default: kv_block 64, v_block 0). k_granularity "auto" (the default)
// leaves QuantConfig's "as-q" and sets auto_k_granularity (RunSettings).
QuantConfig read_quantization(const JsonNode& node, bool& auto_kv_blocks, bool& auto_k_granularity) {
  node.expect_object(
      {"qk_granularity", "qk_block", "k_granularity", "smooth_k", "p_quant", "l_from_quantized_p", "kv_block",
       "rotation", "fallback_rotation", "v_block"});
  QuantConfig q;
  read_optional(node, "rotation", q.rotation, [](const JsonNode& n) { return read_rotations(n).front(); });
  auto as_bool = [](const JsonNode& n) { return n.as_bool(); };
  read_optional(node, "qk_granularity", q.qk_granularity,
                [](const JsonNode& n) { return parse_enum(n, kQkGranularityNames); });
  read_optional(node, "qk_block", q.qk_block, [](const JsonNode& n) { return int32_t(read_quant_block(n)); });
  const std::optional<JsonNode> kg = node.find("k_granularity");
  auto_k_granularity = !kg || kg->as_choice({"as-q", "per-thread", "grouped", "auto"}) == "auto";
  if (kg && !auto_k_granularity) {
    q.k_granularity = parse_enum(*kg, kKGranularityNames);
    if (q.k_granularity != KGranularity::AsQ && q.qk_granularity != QkGranularity::PerToken) {
      kg->fail(fmt::format("\"{}\" K scales go with per-token Q scales (qk_granularity \"per-token\"), found "
                           "qk_granularity \"per-block\"",
                           enum_name(kKGranularityNames, q.k_granularity)));
    }
  }
  read_optional(node, "smooth_k", q.smooth_k, as_bool);
  read_optional(node, "p_quant", q.p_quant, [](const JsonNode& n) { return parse_enum(n, kPQuantNames); });
  read_optional(node, "l_from_quantized_p", q.l_from_quantized_p, as_bool);
  const std::optional<JsonNode> kv = node.find("kv_block"), vb = node.find("v_block");
  const bool kv_auto = !kv || is_auto(*kv), vb_auto = !vb || is_auto(*vb);
  auto_kv_blocks = kv_auto && vb_auto;
  if (auto_kv_blocks) return q;  // grouped K then runs kv_block 128 (kernel_quant)
  if (kv && kv_auto) kv->fail_expected("a number, as v_block is one (\"auto\" chooses both or neither)");
  if (vb && vb_auto) vb->fail_expected("a number, as kv_block is one (\"auto\" chooses both or neither)");
  if (kv) q.kv_block = int32_t(read_quant_block(*kv));
  // int8-fa's V scale blocks: 0 (one scale a channel), or a multiple of kv_block, so that a KV
  // block's INT32 P·V shares one scale a channel.
  if (vb) {
    const int64_t v = vb->as_int(0, kMaxVBlock);
    if (v % q.kv_block != 0) {
      vb->fail_expected(fmt::format("0 or a multiple of kv_block ({}) up to {}", q.kv_block, kMaxVBlock));
    }
    q.v_block = int32_t(v);
  }
  // Grouped K's groups are the columns of 128-key blocks, which are then its P blocks too.
  if (q.k_granularity == KGranularity::Grouped && q.kv_block != kKGroupSpan) {
    const std::string why = fmt::format("{} (k_granularity \"grouped\" groups the keys of {}-key blocks)",
                                        kKGroupSpan, kKGroupSpan);
    if (kv) kv->fail_expected(why);
    node.find("k_granularity")->fail(fmt::format("\"grouped\" K scales go with kv_block {} or \"auto\", found "
                                                 "kv_block {} (the default beside a v_block)",
                                                 kKGroupSpan, q.kv_block));
  }
  return q;
}

MeasureOptions read_measurement(const JsonNode& node) {
  node.expect_object({"warmup_runs", "min_samples", "max_samples", "max_seconds", "min_seconds",
                      "target_noise", "flush_l2", "hold_launches", "keep_samples"});
  MeasureOptions m;
  auto count_from = [](int64_t min) {
    return [min](const JsonNode& n) { return int(n.as_int(min, kMaxMeasurementCount)); };
  };
  auto non_negative = [](const JsonNode& n) { return n.as_number(0.0); };
  auto as_bool = [](const JsonNode& n) { return n.as_bool(); };
  read_optional(node, "warmup_runs", m.warmup_runs, count_from(0));
  read_optional(node, "min_samples", m.min_samples, count_from(1));
  read_optional(node, "max_samples", m.max_samples, count_from(1));
  read_optional(node, "max_seconds", m.max_seconds, read_positive);
  read_optional(node, "min_seconds", m.min_seconds, non_negative);
  read_optional(node, "target_noise", m.target_noise, non_negative);
  read_optional(node, "flush_l2", m.flush_l2, as_bool);
  read_optional(node, "hold_launches", m.hold_launches, as_bool);
  read_optional(node, "keep_samples", m.keep_samples, as_bool);
  if (m.min_samples > m.max_samples) {
    (node.has("min_samples") ? node.at("min_samples") : node.at("max_samples"))
        .fail(fmt::format("expected min_samples <= max_samples, found {} > {}", m.min_samples, m.max_samples));
  }
  // A time limit under the default floor lowers the floor with it (--max-seconds 0.05 is a
  // quick run, not an error about a key the user never wrote); a floor written is kept.
  if (!node.has("min_seconds")) m.min_seconds = std::min(m.min_seconds, m.max_seconds);
  if (m.min_seconds > m.max_seconds) {
    (node.has("min_seconds") ? node.at("min_seconds") : node.at("max_seconds"))
        .fail(fmt::format("expected min_seconds <= max_seconds, found {} > {}", m.min_seconds, m.max_seconds));
  }
  return m;
}

// A threshold that may be null (disabled).
std::optional<double> read_optional_threshold(const JsonNode& n, double min, double max) {
  if (n.is_null()) return std::nullopt;
  return n.as_number(min, max);
}

Thresholds read_thresholds(const JsonNode& node) {
  node.expect_object({"max_mse", "max_abs_error", "max_rel_l2", "min_cosine"});
  Thresholds t;
  auto non_negative = [](const JsonNode& n) { return n.as_number(0.0); };
  read_optional(node, "max_mse", t.max_mse, non_negative);
  read_optional(node, "max_abs_error", t.max_abs_error, non_negative);
  read_optional(node, "max_rel_l2", t.max_rel_l2, [](const JsonNode& n) {
    return read_optional_threshold(n, 0.0, std::numeric_limits<double>::infinity());
  });
  read_optional(node, "min_cosine", t.min_cosine,
                [](const JsonNode& n) { return read_optional_threshold(n, -1.0, 1.0); });
  return t;
}

CpuOptions read_cpu(const JsonNode& node) {
  node.expect_object({"max_case_gflop", "max_case_bytes", "threads"});
  CpuOptions c;
  read_optional(node, "max_case_gflop", c.max_case_gflop, read_positive);
  read_optional(node, "max_case_bytes", c.max_case_bytes, [](const JsonNode& n) { return n.as_int(1); });
  read_optional(node, "threads", c.threads, [](const JsonNode& n) { return int(n.as_int(0, 4096)); });
  return c;
}

ReferencePrecision read_reference(const JsonNode& node) {
  node.expect_object({"precision"});
  ReferencePrecision p = RunSettings{}.reference_precision;
  read_optional(node, "precision", p, [](const JsonNode& n) { return parse_enum(n, kReferenceNames); });
  return p;
}

const std::vector<std::string> kTopLevelKeys = {"name",         "description", "axes",      "exclude",
                                                "kernels",      "quantization", "reference", "measurement",
                                                "thresholds",   "cpu",          "baseline"};

// --- the expanded config: every setting with its default filled in ---------------------

json input_to_json(const InputSpec& in) {
  json j = {{"distribution", to_string(in.distribution)}, {"seed", in.seed}, {"scale", in.scale}};
  if (in.distribution == Distribution::OutlierChannels || in.distribution == Distribution::OutlierScale) {
    j["magnitude"] = in.outlier_magnitude;
    j["channels"] = in.outlier_channels;
  }
  if (in.distribution == Distribution::OutlierScale) j["q_magnitude"] = in.q_outlier_magnitude;
  if (in.distribution == Distribution::AttentionSink) {
    j["sink_tokens"] = in.sink_tokens;
    j["sink_magnitude"] = in.sink_magnitude;
  }
  if (!in.npy_dir.empty()) j["npy_dir"] = in.npy_dir;
  return j;
}

json axes_to_json(const SweepAxes& axes) {
  json j = {{"batch", axes.batch}, {"heads", axes.heads}, {"head_dim", axes.head_dim}, {"causal", axes.causal}};
  j["kv_heads"] = axes.kv_heads ? json(*axes.kv_heads) : json(nullptr);
  if (axes.seq_from_seq_len) {
    j["seq_len"] = axes.seq_q_axis;
  } else {
    j["seq_q"] = axes.seq_q_axis;
    j["seq_kv"] = axes.seq_kv_axis;
  }
  for (const InputSpec& in : axes.inputs) j["input"].push_back(input_to_json(in));
  return j;
}

json exclude_to_json(const ExcludeRule& r) {
  json j = json::object();
  auto put = [&j](const char* key, const auto& value) {
    if (value) j[key] = *value;
  };
  put("batch", r.batch);
  put("heads", r.heads);
  put("kv_heads", r.kv_heads);
  put("seq_q", r.seq_q);
  put("seq_kv", r.seq_kv);
  put("head_dim", r.head_dim);
  put("causal", r.causal);
  if (r.distribution) j["distribution"] = to_string(*r.distribution);
  return j;
}

json optional_to_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

json measure_to_json(const MeasureOptions& m) {
  return {{"warmup_runs", m.warmup_runs},   {"min_samples", m.min_samples},
          {"max_samples", m.max_samples},   {"max_seconds", m.max_seconds},
          {"min_seconds", m.min_seconds},   {"target_noise", m.target_noise},
          {"flush_l2", m.flush_l2},         {"hold_launches", m.hold_launches},
          {"keep_samples", m.keep_samples}};
}

namespace {

json settings_to_json(const RunSettings& s) {
  const QuantConfig& q = s.quant;
  json settings = {
      {"kernels", s.kernels},
      {"quantization",
       {{"qk_granularity", enum_name(kQkGranularityNames, q.qk_granularity)},
        {"qk_block", q.qk_block},
        {"k_granularity", s.auto_k_granularity ? "auto" : enum_name(kKGranularityNames, q.k_granularity)},
        {"smooth_k", q.smooth_k},
        {"p_quant", enum_name(kPQuantNames, q.p_quant)},
        {"l_from_quantized_p", q.l_from_quantized_p},
        {"kv_block", s.auto_kv_blocks ? json("auto") : json(q.kv_block)},
        {"rotation", to_string(q.rotation)},
        {"fallback_rotation", to_string(s.fallback_rotation)}}},
      {"reference", {{"precision", enum_name(kReferenceNames, s.reference_precision)}}},
      {"measurement", measure_to_json(s.measure)},
      {"thresholds",
       {{"max_mse", s.thresholds.max_mse},
        {"max_abs_error", s.thresholds.max_abs_error},
        {"max_rel_l2", optional_to_json(s.thresholds.max_rel_l2)},
        {"min_cosine", optional_to_json(s.thresholds.min_cosine)}}},
      {"cpu", {{"max_case_gflop", s.cpu.max_case_gflop}, {"max_case_bytes", s.cpu.max_case_bytes}, {"threads", s.cpu.threads}}},
      {"baseline", s.baseline.empty() ? json("fastest-fp16") : json(s.baseline)},
  };
  // Written only when set, so that reports and baselines from before the option stay comparable.
  if (s.auto_kv_blocks) {
    settings["quantization"]["v_block"] = "auto";
  } else if (q.v_block != 0) {
    settings["quantization"]["v_block"] = q.v_block;
  }
  return settings;
}

// --- top level ---------------------------------------------------------------------------

constexpr const char* kCheckpointAsConfig =
    "expected a sweep config, found a sweep's checkpoint (the finished cases of an interrupted sweep, for "
    "--resume; the config is the one that sweep was given)";

json parse_config_text_impl(const std::string& text, const std::string& file) {
  try {
    return parse_json_text(text, /*ignore_comments=*/true);
  } catch (const JsonTextError& e) {
    if (e.syntax() && starts_as_checkpoint(text)) throw ConfigError(file, "", kCheckpointAsConfig);
    if (e.syntax()) throw ConfigError(file, "", fmt::format("expected valid JSON, found {}", e.what()));
    throw ConfigError(file, e.path(), e.what());
  }
}

// A report or checkpoint given as -c: said so, where the key check said 'unknown key "cases"
// (did you mean "axes"?)'.
void refuse_a_tool_output(const nlohmann::json& document, const std::string& path) {
  if (!document.is_object() || !document.contains("schema") || !document["schema"].is_string()) return;
  const std::string schema = document["schema"].get<std::string>();
  if (schema.rfind(kCheckpointSchemaPrefix, 0) == 0) throw ConfigError(path, "", kCheckpointAsConfig);
  if (schema.rfind(kReportSchemaPrefix, 0) == 0) {
    throw ConfigError(path, "", "expected a sweep config, found an int8attn-bench report (\"" + schema +
                                    "\"); the config it ran is its \"config\": \"settings\"");
  }
}

RunSettings read_settings(const JsonNode& root) {
  RunSettings s;
  s.kernels = read_kernels(root.find("kernels"));
  if (auto quant = root.find("quantization")) {
    s.quant = read_quantization(*quant, s.auto_kv_blocks, s.auto_k_granularity);
    // a policy setting, not one of the kernels' QuantConfig
    read_optional(*quant, "fallback_rotation", s.fallback_rotation, read_rotation);
  }
  read_optional(root, "reference", s.reference_precision, read_reference);
  read_optional(root, "measurement", s.measure, read_measurement);
  read_optional(root, "thresholds", s.thresholds, read_thresholds);
  read_optional(root, "cpu", s.cpu, read_cpu);
  if (auto node = root.find("baseline")) s.baseline = read_baseline(*node, s.kernels);
  return s;
}

}  // namespace

std::vector<std::string> kernels_in_run_order(const std::vector<std::string>& kernels) {
  std::vector<std::string> names;
  for (const KernelIdentity& k : kernel_identities()) {
    // The reference runs first whatever the list says: every other kernel is compared to it.
    if (k.family == KernelFamily::Reference) names.push_back(k.name);
  }
  for (const std::string& name : kernels) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

ConfigError::ConfigError(std::string file, std::string json_path, std::string message)
    // Keys, values and names in the message are the user's text: shown escaped and bounded.
    : std::runtime_error(fmt::format("{}: {}: {}", printable(file, 1000),
                                     json_path.empty() ? "(top level)" : printable(json_path, 200),
                                     printable(message, 2000))),
      file_(std::move(file)),
      json_path_(std::move(json_path)),
      message_(std::move(message)) {}

nlohmann::json parse_config_json(const std::string& text, const std::string& path) {
  return parse_config_text_impl(text, path);
}

SweepConfig parse_sweep_config(const std::string& text, const std::string& path) {
  return parse_sweep_document(parse_config_json(text, path), path, sha256_hex(text));
}

SweepConfig parse_sweep_document(const nlohmann::json& document, const std::string& path,
                                 const std::string& sha256) {
  refuse_a_tool_output(document, path);
  const JsonNode root(document, "", path);
  root.expect_object(kTopLevelKeys);

  SweepConfig config;
  config.path = path;
  config.sha256 = sha256;
  read_optional(root, "name", config.name, [](const JsonNode& n) { return n.as_string(); });
  read_optional(root, "description", config.description, [](const JsonNode& n) { return n.as_string(); });
  SweepAxes axes = read_axes(root.at("axes"), path);
  std::vector<ExcludeRule> excludes;
  read_optional(root, "exclude", excludes,
                [](const JsonNode& n) { return read_list(n, read_exclude_rule, /*non_empty=*/false); });
  config.settings = read_settings(root);
  axes.rotations = read_config_rotations(root);
  config.cases = expand_cases(axes, excludes, path);

  json exclude_json = json::array();
  for (const ExcludeRule& r : excludes) exclude_json.push_back(exclude_to_json(r));
  config.expanded = settings_to_json(config.settings);
  if (axes.rotations.size() > 1) {  // a list sweeps them: write the list back
    json& rotations = config.expanded["quantization"]["rotation"] = json::array();
    for (QkRotation r : axes.rotations) rotations.push_back(to_string(r));
  }
  config.expanded["name"] = config.name;
  config.expanded["description"] = config.description;
  config.expanded["axes"] = axes_to_json(axes);
  config.expanded["exclude"] = std::move(exclude_json);
  return config;
}

std::vector<std::string> expanded_case_ids(const nlohmann::json& expanded, const std::string& path) {
  std::vector<std::string> ids;
  try {
    const SweepConfig config = parse_sweep_config(expanded.dump(), path);
    for (const BenchCase& c : config.cases) ids.push_back(c.id);
  } catch (const std::exception&) {
    // A config this build cannot expand (another version's): no order.
  }
  return ids;
}

nlohmann::json settings_to_json_expanded(const RunSettings& settings) { return settings_to_json(settings); }

std::string read_config_text(const std::string& path) {
  try {
    return read_file_bounded(path, kMaxConfigBytes);
  } catch (const FileReadError& e) {
    throw ConfigError(path, "", fmt::format("expected a readable config file, found {}", e.what()));
  }
}

SweepConfig load_sweep_config(const std::string& path) { return parse_sweep_config(read_config_text(path), path); }

}  // namespace int8attn
