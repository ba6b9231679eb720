// One benchmark case: its shape, its inputs and its id (src/model/settings.h holds the
// sweep-wide settings every backend reads).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/attn_types.h"

namespace int8attn {

// The generated input families (common/input_families.h says what each one models).
enum class Distribution { Normal, Uniform, OutlierChannels, OutlierScale, AttentionSink };
inline constexpr Distribution kAllDistributions[] = {Distribution::Normal, Distribution::Uniform,
                                                     Distribution::OutlierChannels, Distribution::OutlierScale,
                                                     Distribution::AttentionSink};

// How a case's Q/K/V are produced.
struct InputSpec {
  Distribution distribution = Distribution::Normal;
  uint64_t seed = 0;
  double scale = 1.0;               // normal: standard deviation; uniform: half-width
  double outlier_magnitude = 20.0;  // outlier-channels: offset of the outlier K channels;
                                    // outlier-scale: factor of the outlier K channels
  int64_t outlier_channels = 4;     // outlier-channels, outlier-scale: how many channels
  double q_outlier_magnitude = 5.0; // outlier-scale: factor of the outlier Q channels
  int64_t sink_tokens = 1;          // attention-sink: how many leading keys are sinks
  double sink_magnitude = 2.0;      // attention-sink: the sink keys' weight on the direction
  std::string npy_dir;              // non-empty: load q.npy/k.npy/v.npy from here instead
};

struct BenchCase {
  std::string id;  // stable, derived from shape and input (see make_case_id); compare keys on it
  AttnDims dims;
  InputSpec input;
  QkRotation rotation = QkRotation::None;  // the quantization's rotation for this case
};

// "b1-h32-kv8-q4096-k4096-d128-causal-normal-s0"-style id: stable across runs and versions.
// A rotation other than none appends "-hadamard": compare sees a different case.
std::string make_case_id(const AttnDims& dims, const InputSpec& input, QkRotation rotation = QkRotation::None);

const char* to_string(QkRotation r);
std::optional<QkRotation> parse_rotation(const std::string& s);

const char* to_string(Distribution d);
std::optional<Distribution> parse_distribution(const std::string& s);

}  // namespace int8attn
