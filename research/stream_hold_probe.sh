#!/usr/bin/env bash
# The stream hold's probe (kernels/harness/stream_hold.cuh, landed in s48; docs/perf-log.md s46, s48):
# one device call that checks the hold and says what host time the samples held.
#
#   on the device (carry [".deps"]): GIT_COMMIT=<hash here> OUT=$OUT research/stream_hold_probe.sh
#
# Runs, in order:
#   1. scripts/device-check.sh's build, gpu-tests and sanitize stages (every sweep of the GPU
#      tests now holds its samples, HeldLaunchesKeepHostTimeOutOfTheSample checks the hold
#      itself, and memcheck runs the CUDA backend's sweeps: where the sanitizer serializes
#      launches the first hold waits out its second and the rest run unheld);
#   2. `profile` of small and large shapes, int8-fa and cuDNN's FP16, with
#      measurement.hold_launches true and false: kernel-only and end-to-end ms side by side.
#      Held times below unheld ones are host time the events held; at 16K they should agree.
# GIT_COMMIT: compute it here, not on the device, whose copy's .git is stale.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
if [[ ! -f kernels/harness/stream_hold.cuh ]]; then
  echo "stream_hold_probe: no kernels/harness/stream_hold.cuh in this tree" >&2
  exit 2
fi
OUT=${OUT:-/tmp/hold-probe}
mkdir -p "$OUT"
t0=$SECONDS
GIT_COMMIT=${GIT_COMMIT:-} STAGES="build gpu-tests sanitize" CUDA_ARCHS=90a BUILD_DIR=/tmp/hp OUT=/tmp/hp-out \
  scripts/device-check.sh > "$OUT/check.txt" 2>&1
echo "device-check: exit $? ($((SECONDS - t0)) s)"
grep -E "^\[(ok|FAIL)|tests passed|tests failed|ERROR SUMMARY|Failed|stream hold" "$OUT/check.txt" | head -20
bench=/tmp/hp/int8attn-bench
[[ -x $bench ]] || exit 1
source scripts/cudnn-env.sh > /dev/null 2>&1 || true

for held in true false; do
  cat > "/tmp/hold-$held.json" <<JSON
{"name": "hold-$held", "axes": {"heads": [16], "seq_len": [1024], "head_dim": [128]},
 "measurement": {"hold_launches": $held}}
JSON
done
shapes=("--batch 1 --heads 16 --seq-len 1024" "--batch 1 --heads 16 --seq-len 2048" "--batch 1 --heads 16 --seq-len 4096"
        "--batch 1 --heads 32 --kv-heads 8 --seq-len 1024" "--batch 1 --heads 16 --seq-len 16384")
for shape in "${shapes[@]}"; do
  for held in true false; do
    timeout 60 "$bench" profile -c "/tmp/hold-$held.json" $shape --head-dim 128 -k int8-fa,fp16-cudnn --max-seconds 0.2 2>&1 |
      awk -v h="$held" -v s="$shape" '$1 == "int8-fa" || $1 == "fp16-cudnn" {
        print "held " h ", " s ": " $1 " kernel " $2 " quantize " $4 " end-to-end " $5 }'
  done
done | tee "$OUT/profile.txt"
echo "profile $((SECONDS - t0)) s"
