// The fused kernels' development knobs (FusedTuning) and their text form, the environment
// variable INT8ATTN_FUSED_TUNING ("key=value,key=value"). Plain C++, no CUDA: the CPU tests
// check the parser, and kernels/api.h's fused_tuning_environment_error lets the CLI refuse a
// mistyped knob before a sweep starts (a knob ignored in silence made an A/B read "no difference").
#pragma once
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>

namespace int8attn::kernels {

// Development knobs of the fused kernels (tools/kernel_bench A/B runs; INT8ATTN_FUSED_TUNING
// sets them for any program, docs/testing.md); the defaults are the measured best. Not
// thread-safe: set before launching.
struct FusedTuning {
  int warps_per_cta = 0;  // mma.sync kernels; 0: measured best per variant; 8: 128 query rows
                          // per CTA (one CTA per SM); 4: 64 rows, two CTAs per SM
  int schedule = -1;      // register schedule (fa::kSchedules in int8_flash_attn.cuh); -1: best
  int wgmma = -1;         // int8-fa on Hopper: -1 the wgmma kernel where it runs (head_dim 128,
                          // sm_90a build, cc 9.0 device), 0 always the mma.sync kernel, 1 wgmma
                          // or cudaErrorNotSupported
  int ws = -1;            // int8-fa, int8-qk and fp16-fa on Hopper, the warp-specialized kernels
                          // (kernels/sm90): -1 where they are the measured best, 0 never, 1
                          // wherever they run (else cudaErrorNotSupported)
  int ws_schedule = -1;   // the warp-specialized kernels' schedule, int8-fa: 2 deferred O merge
                          // (64-key P blocks), 3 serial (128-key, its only ones); int8-qk and
                          // fp16-fa: 0 overlap, 1 ping-pong, 3 serial (int8-qk at head_dim 64,
                          // three consumers); the product builds one a head_dim
                          // (fa::ws_default_schedule); -1 the measured best
  int fused_q = -1;       // int8-fa's warp-specialized kernel given FP16 Q (attention_quantizes_q):
                          // -1 it quantizes Q where that measured faster (128-key P blocks, and
                          // at head_dim 256), 0 never, 1 wherever it can (the 64-key kernel at
                          // head_dim 128 too)
  int tile_order = -1;    // the warp-specialized kernels' tile walk: 0 head-major, 1
                          // query-block-major, 2 short-last (where built, else head-major), -1
                          // the rule (kernels/sm90/ws_tile_order.h)
  int split_parts = -1;   // int8-fa's 128-key kernels, the last round's tiles split by keys: -1
                          // the rule, 0 or 1 never, k >= 2 into k parts wherever they fit
                          // (kernels/sm90/ws_split.h; QuantizedQKV's workspace permitting)
  int retile_groups = -1; // int8-fa's 128-key kernel at head_dim 128, the last heads' rows in items
                          // of 1 or 2 consumers' 64 rows instead of 192-row tiles (full rows,
                          // small grids): -1 the rule, 0 never, 1 or 2 those wherever a head
                          // can be (kernels/sm90/ws_retile.h)
  int dynamic_tiles = -1; // Hopper's kernels (int8-fa's 128-key one and int8-qk's at head_dim
                          // 128, fp16-fa's at 128 and 64), tiles claimed one at a time instead
                          // of round robin: -1 on causal rows, 0 never, 1 wherever no tile
                          // is split
                          // (kernels/sm90/ws_tile_order.h ws_dynamic_tiles)
  int dependent_launch = -1;  // int8-fa's warp-specialized kernels launched as programmatic
                              // dependents of the quantizer's last launch (WsWorkspace::dependent):
                              // -1 and 1 yes, 0 no
  int two_slot_ring = -1;  // the mma.sync kernels whose three-slot ring passes 99 KB of shared
                           // memory (fp16-fa at head_dim 128; fa::has_two_slot_form) in their
                           // two-slot form: -1 where the device cannot hold three slots (sm_86,
                           // sm_89), 0 never, 1 always (an instance without that form and
                           // with three slots: cudaErrorNotSupported)
};

// One knob's text form: its key, the field it sets and the values it takes (min, min + step, ...
// up to max).
struct FusedTuningKnob {
  std::string_view key;
  int FusedTuning::*field;
  int min, max, step = 1;
};
inline constexpr std::array<FusedTuningKnob, 12> kFusedTuningKnobs = {{
    {"schedule", &FusedTuning::schedule, -1, 1},
    {"warps", &FusedTuning::warps_per_cta, 0, 8, 4},
    {"wgmma", &FusedTuning::wgmma, -1, 1},
    {"ws", &FusedTuning::ws, -1, 1},
    {"ws_schedule", &FusedTuning::ws_schedule, -1, 3},
    {"fused_q", &FusedTuning::fused_q, -1, 1},
    {"tile_order", &FusedTuning::tile_order, -1, 2},
    {"split_parts", &FusedTuning::split_parts, -1, 4096},
    {"retile_groups", &FusedTuning::retile_groups, -1, 2},
    {"dynamic_tiles", &FusedTuning::dynamic_tiles, -1, 1},
    {"dependent_launch", &FusedTuning::dependent_launch, -1, 1},
    {"two_slot_ring", &FusedTuning::two_slot_ring, -1, 1},
}};

// "-1 to 2", or the values one by one where a step leaves few ("0, 4 or 8").
inline std::string fused_tuning_values(const FusedTuningKnob& knob) {
  if (knob.step == 1) return std::to_string(knob.min) + " to " + std::to_string(knob.max);
  std::string values;
  for (int v = knob.min; v <= knob.max; v += knob.step)
    values += (v == knob.min ? "" : v + knob.step > knob.max ? " or " : ", ") + std::to_string(v);
  return values;
}

inline std::string fused_tuning_keys() {
  std::string keys;
  for (const FusedTuningKnob& knob : kFusedTuningKnobs)
    keys += (keys.empty() ? "" : ", ") + std::string(knob.key) + " (" + fused_tuning_values(knob) + ")";
  return keys;
}

// Reads "key=value,..." over `tuning` (an empty text, or empty items between commas, change
// nothing). Returns "" or what is wrong with the first bad item: an unknown key (with the known
// ones), a missing '=', a value that is not an integer in the knob's range. On an error `tuning`
// is left as it was.
inline std::string parse_fused_tuning(std::string_view text, FusedTuning& tuning) {
  FusedTuning parsed = tuning;
  for (std::string_view rest = text; !rest.empty();) {
    const std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string quoted = "'" + std::string(item) + "'";
    if (eq == std::string_view::npos) return quoted + ": expected key=value";
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    const FusedTuningKnob* knob = nullptr;
    for (const FusedTuningKnob& k : kFusedTuningKnobs)
      if (k.key == key) knob = &k;
    if (knob == nullptr) return quoted + ": unknown key '" + std::string(key) + "'; the keys: " + fused_tuning_keys();
    int number = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size() || number < knob->min || number > knob->max ||
        (number - knob->min) % knob->step != 0)
      return quoted + ": expected " + (knob->step == 1 ? "an integer from " : "") + fused_tuning_values(*knob);
    parsed.*(knob->field) = number;
  }
  tuning = parsed;
  return "";
}

// The environment variable INT8ATTN_FUSED_TUNING over `tuning`: "" or what is wrong with it,
// naming the variable (the kernels' first read and the CLI's check before a sweep both use it).
inline std::string fused_tuning_from_environment(FusedTuning& tuning) {
  const char* env = std::getenv("INT8ATTN_FUSED_TUNING");
  const std::string why = parse_fused_tuning(env != nullptr ? env : "", tuning);
  return why.empty() ? why : "INT8ATTN_FUSED_TUNING (environment): " + why;
}

}  // namespace int8attn::kernels
