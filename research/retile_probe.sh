#!/usr/bin/env bash
# The retiled walk's probe (kernels/sm90/ws_retile.h, docs/perf-log.md s45-s46): one device
# call that runs the walks' GPU tests, times small grids with each retiling and reads one
# launch of each in ncu. s45 measured a retiled item after another item 1.3-4x slower; s46
# found that was the launch's host-side planning, not the kernel (ncu timed the forced walk
# faster), and landed the retiling with the planning done once per shape (319a96f).
#
#   on the device (carry [".deps"]): GIT_COMMIT=<hash here> OUT=$OUT research/retile_probe.sh
#
# Runs, in order, each step bounded so that a short device budget still brings back the first:
#   1. the CLI and the GPU tests built for sm_90a (scripts/device-check.sh's build stage);
#   2. the GPU tests of the walks (the retiled one, the split, the causal lead);
#   3. `profile` kernel-only and end to end of small grids with INT8ATTN_FUSED_TUNING
#      retile_groups 0 (plain walk), -1 (the rule) and 1 / 2 (forced);
#   4. ncu of one launch at 2K x b1 x 16 heads with retile_groups 1 and 0: duration, issue,
#      memory and the warp-state breakdown, into $OUT/ncu-retile-G.txt. A kernel-only time in
#      step 3 well above ncu's duration is host time between the events (docs/methodology.md).
# GIT_COMMIT: compute it here, not on the device, whose copy's .git is stale.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=${OUT:-/tmp/retile-probe}
mkdir -p "$OUT"
t0=$SECONDS
GIT_COMMIT=${GIT_COMMIT:-} STAGES=build BUILD_TARGET=int8attn-bench CUDA_ARCHS=90a BUILD_DIR=/tmp/rp OUT=/tmp/rp-out \
  scripts/device-check.sh > "$OUT/build.txt" 2>&1 || { tail -30 "$OUT/build.txt"; exit 1; }
cmake --build /tmp/rp -j "$(nproc)" --target int8attn_gpu_tests >> "$OUT/build.txt" 2>&1 || { tail -30 "$OUT/build.txt"; exit 1; }
echo "built $((SECONDS - t0)) s"
bench=/tmp/rp/int8attn-bench

timeout 120 /tmp/rp/tests/int8attn_gpu_tests --gtest_filter='*Retiled*:*SplitLastRound*:*CausalLead*' > "$OUT/gpu-tests.txt" 2>&1
echo "gpu tests: exit $? ($((SECONDS - t0)) s)"
grep -E "^\[  (PASSED|FAILED) |Failure" "$OUT/gpu-tests.txt" | head -12

shapes=("--batch 1 --heads 16 --seq-len 1024" "--batch 1 --heads 8 --seq-len 1024" "--batch 1 --heads 16 --seq-len 2048"
        "--batch 1 --heads 16 --seq-len 4096" "--batch 1 --heads 16 --seq-len 8192"
        "--batch 1 --heads 32 --kv-heads 8 --seq-len 1024")
for shape in "${shapes[@]}"; do
  for groups in 0 -1 1 2; do
    line=$(INT8ATTN_FUSED_TUNING=retile_groups=$groups timeout 30 "$bench" profile $shape --head-dim 128 -k int8-fa \
             --max-seconds 0.2 2>&1 | awk '$1 == "int8-fa" {print "kernel", $2, "quantize", $4, "end-to-end", $5}')
    echo "retile_groups $groups, $shape: $line"
  done
done | tee "$OUT/profile.txt"
echo "profile $((SECONDS - t0)) s"

for groups in 1 0; do
  INT8ATTN_FUSED_TUNING=retile_groups=$groups timeout 120 ncu --clock-control none --kernel-name regex:int8_ws_kernel \
    --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
    --section LaunchStats --section Occupancy "$bench" profile --batch 1 --heads 16 --seq-len 2048 --head-dim 128 \
    -k int8-fa --once > "$OUT/ncu-retile-$groups.txt" 2>&1
  echo "ncu retile_groups $groups: exit $? ($((SECONDS - t0)) s)"
  grep -E "Duration|Grid Size|Compute \(SM\) Throughput|Memory Throughput|L2 Hit Rate|Stall|Warp Cycles Per Issued" \
    "$OUT/ncu-retile-$groups.txt" | sed 's/^ *//' | head -16
done
