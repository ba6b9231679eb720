// What a sweep will run (src/bench/plan.h): the plan `sweep --dry-run` and `validate` show
// must be what run_one_case does, and its views must say why a kernel is skipped.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "src/bench/plan.h"
#include "src/bench/registry.h"
#include "src/bench/runner.h"
#include "src/report/plan_render.h"

namespace int8attn {
namespace {

// Two small cases and one over the CPU limit; every kernel, cuDNN's included.
SweepConfig mixed_config() {
  return parse_sweep_config(R"({"axes": {"heads": [2], "seq_len": [16, 48, 2048], "head_dim": [64]},
                                "cpu": {"max_case_gflop": 0.01}})",
                            "mixed.json");
}

TEST(Plan, IsWhatTheSweepRuns) {
  const SweepConfig config = mixed_config();
  const auto backend = make_cpu_backend(config.settings.cpu);
  const SweepPlan plan = plan_sweep(config, *backend);
  ASSERT_EQ(plan.cases.size(), config.cases.size());
  int64_t ran = 0;
  for (const CasePlan& case_plan : plan.cases) {
    const CaseResult result = run_one_case(*case_plan.bench_case, *backend, config.settings);
    ASSERT_EQ(result.kernels.size(), case_plan.kernels.size());
    for (size_t i = 0; i < result.kernels.size(); ++i) {
      const KernelPlan& k = case_plan.kernels[i];
      EXPECT_EQ(result.kernels[i].kernel, k.kernel);
      EXPECT_EQ(result.kernels[i].status == KernelStatus::Skipped, !k.runs()) << case_plan.bench_case->id << " " << k.kernel;
      if (!k.runs()) EXPECT_EQ(result.kernels[i].reason, k.skip_reason);
      ran += result.kernels[i].status == KernelStatus::Ok;
    }
  }
  EXPECT_EQ(ran, plan.kernel_runs);
  EXPECT_GT(plan.kernel_runs, 0);
  EXPECT_GT(plan.skipped, 0);
}

// The registry adds support rules to the model's kernel table (src/model/kernel.h): one spec
// per kernel, in the table's order, the same identity.
TEST(Plan, RegistryHasOneSpecPerKernelOfTheModel) {
  const std::vector<KernelIdentity>& kernels = kernel_identities();
  const std::vector<KernelSpec>& specs = kernel_registry();
  ASSERT_EQ(specs.size(), kernels.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_EQ(specs[i].name, kernels[i].name);
    EXPECT_EQ(specs[i].id, kernels[i].id);
    EXPECT_EQ(specs[i].family, kernels[i].family);
    EXPECT_EQ(find_kernel(kernels[i].name), &specs[i]);
    EXPECT_FALSE(specs[i].backends.empty()) << specs[i].name;
  }
  EXPECT_EQ(specs.front().family, KernelFamily::Reference);
  EXPECT_EQ(find_kernel_identity("no-such-kernel"), nullptr);
}

// One KernelId per kernel of the table; its message label is the kernel's name (the
// reference's is "reference"), and only the INT8 and FP8 kernels have a quantization step.
TEST(Plan, EachKernelHasItsOwnKernelId) {
  std::set<KernelId> seen;
  for (const KernelIdentity& k : kernel_identities()) {
    EXPECT_TRUE(seen.insert(k.id).second) << k.name;
    EXPECT_EQ(to_string(k.id), k.id == KernelId::Reference ? std::string("reference") : k.name);
    EXPECT_EQ(has_quantize_step(k.id), k.family == KernelFamily::Int8 || k.family == KernelFamily::Fp8) << k.name;
  }
}

TEST(Plan, TalliesAndReasonsPerKernel) {
  const SweepConfig config = mixed_config();
  const auto backend = make_cpu_backend(config.settings.cpu);
  const SweepPlan plan = plan_sweep(config, *backend);
  EXPECT_EQ(plan.backend, "cpu");
  for (const KernelTally& t : plan.kernels) {
    EXPECT_EQ(t.runs + t.skipped, 3) << t.kernel;
    if (t.kernel == "fp16-cudnn") {
      EXPECT_EQ(t.runs, 0);
      EXPECT_EQ(t.first_skip_reason, "not available on the cpu backend");
    } else if (t.kernel == "int8-fa") {
      EXPECT_EQ(t.runs, 2);
      EXPECT_NE(t.first_skip_reason.find("cpu.max_case_gflop"), std::string::npos);
      EXPECT_EQ(t.first_skipped_case, config.cases[2].id);
    }
  }
}

TEST(Plan, DefaultConfigRunsNothingOnTheCpuAndValidateSaysSo) {
  const SweepConfig config = load_sweep_config(std::string(INT8ATTN_SOURCE_DIR) + "/configs/default.json");
  const auto backend = make_cpu_backend(config.settings.cpu);
  const SweepPlan plan = plan_sweep(config, *backend);
  EXPECT_EQ(plan.kernel_runs, 0);
  const std::string text = render_validation(config.path, config.cases.size(), {plan}, "no GPU", OutputFormat::Table);
  EXPECT_NE(text.find("0/24"), std::string::npos) << text;
  EXPECT_EQ(text.find("24/24"), std::string::npos) << text;
  EXPECT_NE(text.find("cpu.max_case_gflop"), std::string::npos) << text;
  const auto json = nlohmann::json::parse(render_validation(config.path, 24, {plan}, "no GPU", OutputFormat::Json));
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["backends"][0]["kernel_runs"], 0);
  EXPECT_EQ(json["gpu_unavailable"], "no GPU");
}

TEST(Plan, DryRunListsEveryCaseWithWhatRunsAndWhy) {
  const SweepConfig config = mixed_config();
  const auto backend = make_cpu_backend(config.settings.cpu);
  const SweepPlan plan = plan_sweep(config, *backend);
  const std::string text = render_dry_run(plan, OutputFormat::Table);
  for (const BenchCase& c : config.cases) EXPECT_NE(text.find(c.id), std::string::npos) << c.id;
  EXPECT_NE(text.find("fp16-cudnn, fp8-cudnn: not available on the cpu backend"), std::string::npos) << text;
  EXPECT_NE(text.find("all kernels: CPU backend: case needs"), std::string::npos) << text;
  EXPECT_NE(text.find("nothing was run or written"), std::string::npos);
  const auto json = nlohmann::json::parse(render_dry_run(plan, OutputFormat::Json));
  EXPECT_EQ(json["cases"].size(), 3u);
  EXPECT_EQ(json["cases"][2]["kernels"][1]["runs"], false);
  EXPECT_NE(render_dry_run(plan, OutputFormat::Markdown).find("| case |"), std::string::npos);
  EXPECT_THROW(render_dry_run(plan, OutputFormat::Html), std::invalid_argument);
}

// A Hopper GPU as the plan sees one: every kernel's rules pass except what the case asks for.
class HopperCapsBackend : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Cuda; }
  DeviceCaps caps() const override { return {BackendKind::Cuda, "NVIDIA H200", 9, 0, "", true}; }
  Environment environment() const override { return {}; }
  std::string skip_reason(const BenchCase&, const RunSettings&) const override { return ""; }
  CaseResult run_case(const BenchCase&, const std::vector<const KernelSpec*>&, const RunSettings&,
                      const CaseDump&) override {
    ADD_FAILURE() << "the plan runs nothing";
    return {};
  }
};

// An Ampere GPU: no warp-specialized kernels.
struct AmpereCapsBackend : HopperCapsBackend {
  DeviceCaps caps() const override { return {BackendKind::Cuda, "NVIDIA A100", 8, 0, ""}; }
};

// The GPU's INT8 kernels step kGpuKvBlock keys (int8-fa's P-code block): another
// quantization.kv_block is a skip the plan (and so --dry-run, validate and the sweep) predicts
// with the reason, where the kernel would otherwise decline at run time. The CPU emulation and
// the FP16 kernels take any.
// int8-fa's GPU kernels take 64-key P blocks with V per channel, or 128-key blocks with V
// scaled per the same 128 keys on Hopper; any other pair is a CPU-only skip the
// plan predicts with the reason. int8-qk (FP16 V) ignores v_block.
std::string int8fa_block_skip(int kv_block, int v_block, const char* device, int head_dim,
                              const char* scales = "per token") {
  return "quantization: kv_block " + std::to_string(kv_block) + " with v_block " + std::to_string(v_block) +
         " not supported on the GPU here (int8-fa's kernels take kv_block 64 with v_block 0, or 128 with v_block 128 "
         "on Hopper with per-token Q/K scales at head_dim 64 or 128; " + device + ", Q/K scales " + scales +
         ", head_dim " + std::to_string(head_dim) + "; the CPU backend emulates any)";
}

TEST(Plan, GpuInt8FaTakesItsBlockPairsAndThePlanSaysSo) {
  const HopperCapsBackend gpu;
  struct Want {
    int kv_block, v_block, head_dim;
    bool runs;
  };
  for (const Want& w : {Want{64, 128, 128, false}, Want{64, 0, 128, true}, Want{128, 128, 64, true},
                        Want{128, 128, 128, true}, Want{128, 0, 64, false}, Want{256, 256, 64, false}}) {
    const std::string json = R"({"axes": {"heads": [2], "seq_len": [256], "head_dim": [)" + std::to_string(w.head_dim) +
                             R"(]}, "quantization": {"kv_block": )" + std::to_string(w.kv_block) +
                             (w.v_block ? R"(, "v_block": )" + std::to_string(w.v_block) : std::string()) + "}}";
    const SweepConfig config = parse_sweep_config(json, "v.json");
    for (const KernelPlan& k : plan_case(config.cases[0], gpu, config.settings)) {
      if (k.kernel == "int8-fa") {
        EXPECT_EQ(k.runs(), w.runs) << json << ": " << k.skip_reason;
        if (!w.runs)
          EXPECT_EQ(k.skip_reason, int8fa_block_skip(w.kv_block, w.v_block, "NVIDIA H200 is 9.0", w.head_dim)) << json;
      } else if (k.kernel == "int8-qk") {
        EXPECT_EQ(k.runs(), w.kv_block == kGpuKvBlock) << json << ": " << k.skip_reason;
      } else {
        EXPECT_TRUE(k.runs()) << k.kernel << ": " << k.skip_reason;
      }
    }
    const auto cpu = make_cpu_backend(config.settings.cpu);
    for (const KernelPlan& k : plan_case(config.cases[0], *cpu, config.settings)) {
      if (k.kernel == "int8-fa" || k.kernel == "int8-qk") EXPECT_TRUE(k.runs()) << k.kernel << ": " << k.skip_reason;
    }
  }
}

// The 128-key kernel takes per-token Q/K scales only: with per-block ones the plan says so.
TEST(Plan, GpuInt8FaWideBlocksNeedPerTokenScales) {
  const HopperCapsBackend gpu;
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [128]},
          "quantization": {"kv_block": 128, "v_block": 128, "qk_granularity": "per-block"}})",
      "v.json");
  for (const KernelPlan& k : plan_case(config.cases[0], gpu, config.settings)) {
    if (k.kernel == "int8-fa") EXPECT_EQ(k.skip_reason, int8fa_block_skip(128, 128, "NVIDIA H200 is 9.0", 128, "per block"));
  }
}

// Before Hopper, int8-fa's 128-key blocks do not run (no warp-specialized kernel); nor on a
// Hopper GPU with a build that has no sm_90a kernels, where "auto" keeps 64 keys.
TEST(Plan, GpuInt8FaWideBlocksNeedHopperKernels) {
  struct HopperWithoutSm90a : HopperCapsBackend {
    DeviceCaps caps() const override { return {BackendKind::Cuda, "NVIDIA H200", 9, 0, "", false}; }
  };
  const AmpereCapsBackend ampere;
  const HopperWithoutSm90a no_sm90a;
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [256], "head_dim": [64]}, "quantization": {"kv_block": 128, "v_block": 128}})",
      "v.json");
  for (const KernelPlan& k : plan_case(config.cases[0], ampere, config.settings)) {
    if (k.kernel == "int8-fa") EXPECT_EQ(k.skip_reason, int8fa_block_skip(128, 128, "NVIDIA A100 is 8.0", 64));
  }
  for (const KernelPlan& k : plan_case(config.cases[0], no_sm90a, config.settings)) {
    if (k.kernel == "int8-fa")
      EXPECT_EQ(k.skip_reason, int8fa_block_skip(128, 128, "NVIDIA H200 is 9.0 (this build has no sm_90a kernels)", 64));
  }
  const SweepConfig automatic =
      parse_sweep_config(R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [128]}})", "auto.json");
  for (const KernelPlan& k : plan_case(automatic.cases[0], no_sm90a, automatic.settings)) {
    if (k.kernel == "int8-fa") EXPECT_EQ(k.quantization, (KernelQuantization{kGpuKvBlock, 0})) << k.skip_reason;
  }
}

// "auto" blocks (the default): int8-fa runs 128-key P blocks with V per block on Hopper from
// 256 keys (512 on causal rows at head_dim 64), where that kernel measured faster (it is more
// accurate everywhere); every other kernel, device and length keeps 64 keys with V per channel, and
// numbers in the config are used as given. The plan records each INT8 kernel's pair (its
// result does too); FP16 kernels have none.
TEST(Plan, AutoBlocksGiveInt8FaTheWidePairOnHopperWhereItIsFaster) {
  const HopperCapsBackend hopper;
  const AmpereCapsBackend ampere;
  const SweepConfig automatic = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [128, 256, 512, 1024, 2048, 4096], "head_dim": [64, 128], "causal": [false, true]}})",
      "auto.json");
  const SweepConfig pinned = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [128]}, "quantization": {"kv_block": 64}})", "pin.json");
  const auto cpu = make_cpu_backend(automatic.settings.cpu);
  auto blocks = [](const Backend& backend, const SweepConfig& config, size_t case_index, const std::string& kernel) {
    for (const KernelPlan& k : plan_case(config.cases[case_index], backend, config.settings)) {
      if (k.kernel != kernel) continue;
      // (the CPU backend skips the long cases for their size; the plan has their pair anyway)
      EXPECT_TRUE(k.runs() || backend.kind() == BackendKind::Cpu) << kernel << ": " << k.skip_reason;
      return k.quantization ? std::to_string(k.quantization->kv_block) + "/" + std::to_string(k.quantization->v_block)
                            : std::string("none");
    }
    return std::string("absent");
  };
  for (size_t i = 0; i < automatic.cases.size(); ++i) {
    const AttnDims& d = automatic.cases[i].dims;
    const bool wide = d.seq_kv >= (d.causal && d.head_dim == 64 ? 512 : 256);
    EXPECT_EQ(blocks(hopper, automatic, i, "int8-fa"), wide ? "128/128" : "64/0") << automatic.cases[i].id;
    EXPECT_EQ(blocks(hopper, automatic, i, "int8-qk"), "64/0");
    EXPECT_EQ(blocks(hopper, automatic, i, "fp16-fa"), "none");
    EXPECT_EQ(blocks(ampere, automatic, i, "int8-fa"), "64/0");
    EXPECT_EQ(blocks(*cpu, automatic, i, "int8-fa"), "64/0");  // the CPU gate's numerics stay
  }
  EXPECT_EQ(blocks(hopper, pinned, 0, "int8-fa"), "64/0");
  // validate / --dry-run: each INT8 kernel's pairs over the sweep, in the table and the JSON.
  const SweepPlan plan = plan_sweep(automatic, hopper);
  const std::string text = render_dry_run(plan, OutputFormat::Table);
  EXPECT_NE(text.find("kv/v blocks"), std::string::npos) << text;
  // int8-fa's pairs in the order they first appear: 64/0 (128 keys), 128/128 (full rows from 256),
  // and 128/128 with grouped K (k_granularity "auto", the default: head_dim 128 from 1K keys)
  EXPECT_NE(text.find("64/0, 128/128"), std::string::npos) << text;
  const auto json = nlohmann::json::parse(render_dry_run(plan, OutputFormat::Json));
  for (const auto& tally : json["kernels"]) {
    if (tally["kernel"] == "int8-fa") {
      ASSERT_EQ(tally["quantization"].size(), 3u) << tally;
      EXPECT_EQ(tally["quantization"][2], (nlohmann::json{{"kv_block", 128}, {"v_block", 128}, {"k_grouped", true}}));
    }
    if (tally["kernel"] == "fp16-fa") EXPECT_FALSE(tally.contains("quantization")) << tally;
  }
  // Per-block Q/K scales: the wide kernel does not take them, so "auto" keeps 64 keys there.
  const SweepConfig per_block = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [128]}, "quantization": {"qk_granularity": "per-block"}})",
      "pb.json");
  EXPECT_EQ(blocks(hopper, per_block, 0, "int8-fa"), "64/0");
  const KernelSpec& int8fa = *find_kernel("int8-fa");
  const BenchCase& long_d128 = automatic.cases.back();
  ASSERT_EQ(long_d128.dims.seq_kv, 4096);
  ASSERT_EQ(long_d128.dims.head_dim, 128);
  EXPECT_EQ(kernel_quant(int8fa, automatic.settings, long_d128, hopper.caps()).v_block, kGpuWideKvBlock);
  EXPECT_EQ(kernel_quant(int8fa, pinned.settings, pinned.cases[0], hopper.caps()).v_block, 0);
}

// head_dim 256: int8-fa alone of the fused kernels (its mma.sync kernel, every GPU), with 64-key
// P blocks ("auto" keeps them on Hopper: the 128-key pair is the warp-specialized kernel's, up
// to 128) and K per token or per block; K per thread group is the GPU quantizer's up to 128.
// The CPU backend takes the same head dims, so its answers are the GPU's.
TEST(Plan, HeadDim256RunsInt8FaAloneWithSixtyFourKeyBlocks) {
  const HopperCapsBackend hopper;
  const SweepConfig automatic =
      parse_sweep_config(R"({"axes": {"heads": [2], "seq_len": [512], "head_dim": [256]}})", "d256.json");
  const auto cpu = make_cpu_backend(automatic.settings.cpu);
  for (const Backend* backend : {static_cast<const Backend*>(&hopper), static_cast<const Backend*>(cpu.get())})
    for (const KernelPlan& k : plan_case(automatic.cases[0], *backend, automatic.settings)) {
      if (k.kernel == "int8-fa") {
        EXPECT_TRUE(k.runs()) << k.skip_reason;
        EXPECT_EQ(k.quantization, (KernelQuantization{kGpuKvBlock, 0}));
      } else if (k.kernel == "int8-qk" || k.kernel == "fp16-fa") {
        EXPECT_EQ(k.skip_reason, "shape: head_dim 256 not supported (supported: 64, 128)") << k.kernel;
      }
    }
  const SweepConfig wide = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [256]}, "quantization": {"kv_block": 128, "v_block": 128}})",
      "wide.json");
  for (const KernelPlan& k : plan_case(wide.cases[0], hopper, wide.settings)) {
    if (k.kernel == "int8-fa") EXPECT_EQ(k.skip_reason, int8fa_block_skip(128, 128, "NVIDIA H200 is 9.0", 256));
  }
  const SweepConfig k_thread = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [256, 128]}, "quantization": {"k_granularity": "per-thread"}})",
      "kt.json");
  for (const BenchCase& c : k_thread.cases)
    for (const KernelPlan& k : plan_case(c, hopper, k_thread.settings)) {
      if (k.kernel != "int8-fa") continue;
      if (c.dims.head_dim == 128) {
        EXPECT_TRUE(k.runs()) << k.skip_reason;
      } else {
        EXPECT_EQ(k.skip_reason, "quantization: k_granularity \"per-thread\" on the GPU up to head_dim 128 (its "
                                 "quantizer stages a 128-key group span a CTA), head_dim is 256; the CPU backend "
                                 "emulates any");
      }
    }
  EXPECT_NE(find_kernel("int8-fa")->support_rules().find("head_dim: 64, 128, 256"), std::string::npos);
  EXPECT_NE(find_kernel("int8-qk")->support_rules().find("head_dim: 64, 128"), std::string::npos);
}

// Grouped K (k_granularity "grouped"): on Hopper int8-fa's own kernel at head_dim 128 with the
// 128-key blocks "auto" takes for it, int8-qk skipped with the reason (and int8-fa at 64); the
// CPU backend runs both (K grouped said in the quantization each records).
TEST(Plan, GroupedKRunsOnHopperAtHeadDim128AndOnTheCpuBackend) {
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [512], "head_dim": [128, 64]}, "quantization": {"k_granularity": "grouped"}})",
      "grouped.json");
  const HopperCapsBackend hopper;
  const auto cpu = make_cpu_backend(config.settings.cpu);
  int int8_kernels = 0;
  for (const BenchCase& c : config.cases)
    for (const KernelPlan& k : plan_case(c, hopper, config.settings)) {
      if (k.kernel == "int8-qk") {
        ++int8_kernels;
        EXPECT_EQ(k.skip_reason, "quantization: k_granularity \"grouped\" is int8-fa's alone on the GPU (int8-qk's FP16 "
                                 "V would not follow K's order); the CPU backend emulates it");
      } else if (k.kernel == "int8-fa" && c.dims.head_dim == 128) {
        ++int8_kernels;
        EXPECT_TRUE(k.runs()) << k.skip_reason;
        EXPECT_EQ(k.quantization, (KernelQuantization{kGpuWideKvBlock, kGpuWideKvBlock, false, true}));
      } else if (k.kernel == "int8-fa") {
        ++int8_kernels;
        EXPECT_EQ(k.skip_reason, "quantization: k_granularity \"grouped\" on the GPU: int8-fa's Hopper kernel at "
                                 "head_dim 128 with kv_block and v_block 128, u8 P and l from the exact P; the CPU "
                                 "backend emulates any");
      }
    }
  EXPECT_EQ(int8_kernels, 4);
  for (const BenchCase& c : config.cases)
    for (const KernelPlan& k : plan_case(c, *cpu, config.settings)) {
      if (k.kernel != "int8-fa" && k.kernel != "int8-qk") continue;
      EXPECT_TRUE(k.runs()) << k.kernel << ": " << k.skip_reason;
      EXPECT_EQ(k.quantization, (KernelQuantization{kGpuWideKvBlock, kGpuWideKvBlock, false, true})) << k.kernel;
    }
}

// k_granularity "auto" (the default): grouped K for int8-fa where its Hopper kernel runs it
// (head_dim 128, 128-key blocks, the default P options) from 1K keys, on causal rows only where
// the first row sees a whole 128-key block (bottom-right: seq_kv - seq_q + 1 keys); K per token
// everywhere else (shorter keys, square causal, head_dim 64, int8-qk, Ampere, other P options,
// the CPU backend), where "grouped" would skip.
TEST(Plan, AutoKGranularityTakesGroupedKWhereItsKernelRunsAndPays) {
  const HopperCapsBackend hopper;
  const AmpereCapsBackend ampere;
  const SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [512, 1024, 4096, 16384], "head_dim": [128, 64], "causal": [false, true]}})",
      "auto-k.json");
  EXPECT_TRUE(config.settings.auto_k_granularity);
  const auto cpu = make_cpu_backend(config.settings.cpu);
  auto quantization = [&](const Backend& backend, const BenchCase& c, const std::string& kernel) {
    for (const KernelPlan& k : plan_case(c, backend, config.settings))
      if (k.kernel == kernel) {
        EXPECT_TRUE(k.runs() || backend.kind() == BackendKind::Cpu) << kernel << ": " << k.skip_reason;
        return k.quantization.value_or(KernelQuantization{});
      }
    ADD_FAILURE() << kernel;
    return KernelQuantization{};
  };
  int grouped_cases = 0;
  for (const BenchCase& c : config.cases) {
    const bool grouped = c.dims.head_dim == 128 && c.dims.seq_kv >= 1024 && !c.dims.causal;
    grouped_cases += grouped;
    EXPECT_EQ(quantization(hopper, c, "int8-fa").k_grouped, grouped) << c.id;
    EXPECT_EQ(quantization(hopper, c, "int8-fa").kv_block, kGpuWideKvBlock) << c.id;
    EXPECT_FALSE(quantization(hopper, c, "int8-qk").k_grouped) << c.id;
    EXPECT_FALSE(quantization(ampere, c, "int8-fa").k_grouped) << c.id;
    EXPECT_FALSE(quantization(*cpu, c, "int8-fa").k_grouped) << c.id;  // the CPU gate's numerics stay
  }
  EXPECT_EQ(grouped_cases, 3);
  // Causal rows with longer keys than queries: grouped K once the first row sees 128 keys.
  const SweepConfig offset = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_q": [1024], "seq_kv": [1150, 1151, 2048], "head_dim": [128], "causal": [true]}})",
      "auto-k-offset.json");
  for (const BenchCase& c : offset.cases)
    EXPECT_EQ(quantization(hopper, c, "int8-fa").k_grouped, c.dims.seq_kv - c.dims.seq_q + 1 >= 128) << c.id;
  // Options grouped K's kernel does not take leave K per token, never a skip.
  for (const char* options : {R"("p_quant": "s8x127")", R"("l_from_quantized_p": true)", R"("kv_block": 64)"}) {
    const SweepConfig other = parse_sweep_config(
        std::string(R"({"axes": {"heads": [2], "seq_len": [4096], "head_dim": [128]}, "quantization": {"k_granularity": "auto", )") +
            options + "}}",
        "auto-k-options.json");
    for (const KernelPlan& k : plan_case(other.cases[0], hopper, other.settings))
      if (k.kernel == "int8-fa") {
        EXPECT_TRUE(k.runs()) << options << ": " << k.skip_reason;
        EXPECT_FALSE(k.quantization->k_grouped) << options;
      }
  }
}

TEST(Plan, GpuInt8KernelsNeedTheirKvBlockAndThePlanSaysSo) {
  SweepConfig config = parse_sweep_config(
      R"({"axes": {"heads": [2], "seq_len": [256], "head_dim": [128]}, "quantization": {"kv_block": 128}})", "kv.json");
  const HopperCapsBackend gpu;
  for (const KernelPlan& k : plan_case(config.cases[0], gpu, config.settings)) {
    const KernelSpec* spec = find_kernel(k.kernel);
    ASSERT_NE(spec, nullptr) << k.kernel;
    if (spec->id == KernelId::Int8Full) {
      EXPECT_FALSE(k.runs()) << k.kernel;
      EXPECT_EQ(k.skip_reason, int8fa_block_skip(128, 0, "NVIDIA H200 is 9.0", 128));
    } else if (spec->id == KernelId::Int8QK) {
      EXPECT_FALSE(k.runs()) << k.kernel;
      EXPECT_EQ(k.skip_reason, "quantization: kv_block 128 not supported on the GPU (its INT8 kernels step 64 keys; "
                               "the CPU backend emulates any)")
          << k.kernel;
    } else {
      EXPECT_TRUE(k.runs()) << k.kernel << ": " << k.skip_reason;
    }
  }
  const auto cpu = make_cpu_backend(config.settings.cpu);
  for (const KernelPlan& k : plan_case(config.cases[0], *cpu, config.settings)) {
    if (k.kernel == "int8-fa" || k.kernel == "int8-qk") EXPECT_TRUE(k.runs()) << k.kernel << ": " << k.skip_reason;
  }
  config.settings.quant.kv_block = kGpuKvBlock;
  for (const KernelPlan& k : plan_case(config.cases[0], gpu, config.settings)) EXPECT_TRUE(k.runs()) << k.kernel;
  EXPECT_NE(find_kernel("int8-fa")->support_rules().find("GPU: quantization.kv_block 64"), std::string::npos);
}

}  // namespace
}  // namespace int8attn
