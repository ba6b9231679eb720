// `int8attn-bench profile`: one case and one or more kernels, the attention kernel timed alone
// (kernel-only; the quantization timed apart, as a sweep's quantize_latency) and end to end,
// with the sweep's sample collector (latency_stats.h), GPU session (kernels/api.h) and FLOP
// count (attention_tops, common/attn_types.h). --once: each kernel launched exactly once after
// the warm-up, inside a cudaProfilerStart/Stop window, for ncu and nsys.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/bench/registry.h"
#include "src/model/profile_result.h"
#include "src/model/settings.h"

namespace int8attn {

// A shape flag and the config name it sets (`-a NAME=VALUE` of sweep): --batch batch,
// --heads heads, --kv-heads kv_heads, --seq-len seq_len, --seq-q seq_q, --seq-kv seq_kv,
// --head-dim head_dim, --causal causal, --distribution distribution, --seed seed,
// --rotation rotation.
struct ProfileShapeFlag {
  const char* flag;
  const char* axis;
};
const std::vector<ProfileShapeFlag>& profile_shape_flags();

// One shape flag as given on the command line.
struct ShapeValue {
  std::string flag;   // "--heads"
  std::string value;  // "32"
};

// The profile command line as given.
struct ProfileRequest {
  std::string config;              // -c: the settings (quantization, measurement, kernels), and the case --case picks
  std::string case_pattern;        // --case: an id, glob or substring matching one case of the config
  std::vector<ShapeValue> shape;   // the shape flags; with -c they replace the config's axes
  std::vector<std::string> kernels;  // -k; empty: the config's kernels without the reference
  std::optional<int64_t> min_samples;  // --min-samples, --max-seconds, --max-noise: as sweep's
  std::optional<double> max_seconds;
  std::optional<double> max_noise;
  std::optional<std::string> k_granularity;  // --k-granularity: as sweep's
  bool once = false;               // --once
};

// What profile runs: one case, its settings, the kernels in the order given.
struct ProfilePlan {
  BenchCase profiled_case;
  RunSettings settings;
  std::vector<const KernelSpec*> kernels;
  bool once = false;
};

// Checks the request and resolves it into one case, with the config's names and checks (a
// shape flag is applied as sweep's `-a`, so every value passes the same validation). Throws
// std::invalid_argument or ConfigError naming the flag and what was expected: no shape and no
// --case, a shape flag with several values or given with --case, a shape missing heads,
// head_dim or a sequence length, settings that give no case or several, a case reading .npy
// inputs, an unknown or repeated kernel.
ProfilePlan plan_profile(const ProfileRequest& request);

// No usable GPU (none, no driver, a CPU-only build, no such device): the message says why.
class ProfileUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Measures the plan on CUDA device `device`. A kernel the device does not support, that
// declines the problem or runs out of memory is Skipped with the reason; a failing one is an
// Error (after a lost CUDA context, the kernels after it too). Throws ProfileUnavailable.
ProfileResult run_profile(const ProfilePlan& plan, int device);

}  // namespace int8attn
