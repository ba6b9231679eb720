#!/usr/bin/env bash
# results/ renewed after the retiled last heads (319a96f, docs/perf-log.md s46), in one device call:
# the GPU tests, then int8-full-grid with the rule and with INT8ATTN_FUSED_TUNING=retile_groups=0
# (the end-to-end A/B, `compare`d), then llama3-8b. int8-causal-grid and int8-targets (which the
# retiling does not touch: causal rows, grids of more than 8 rounds) go in a second call.
#
#   on the device (carry [".deps"]): GIT_COMMIT=<hash here> OUT=$OUT research/renew_results_retile.sh
#   then here: copy $OUT/h200-*.json (not the -noretile one) into results/, and
#   python3 scripts/results_index.py > results/README.md
# GIT_COMMIT: compute it here, not on the device, whose copy's .git is stale.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=${OUT:-/tmp/renew-results}
mkdir -p "$OUT"
GIT_COMMIT=${GIT_COMMIT:-} STAGES="build gpu-tests" CUDA_ARCHS=90a BUILD_DIR=/tmp/rr OUT=/tmp/rr-out \
  scripts/device-check.sh > /tmp/rr-check.log 2>&1
echo "device-check: exit $? at $SECONDS s"
grep -E "^\[(ok|FAIL)|tests passed|tests failed|Failed" /tmp/rr-check.log | tail -8
bench=/tmp/rr/int8attn-bench
[[ -x $bench ]] || exit 1
source scripts/cudnn-env.sh > /dev/null 2>&1 || true
"$bench" sweep -c configs/int8-full-grid.json -o "$OUT/h200-int8-full-grid.json" -f none > /tmp/rr-g1.log 2>&1 ||
  tail -5 /tmp/rr-g1.log
echo "full grid, the rule: $SECONDS s"
INT8ATTN_FUSED_TUNING=retile_groups=0 "$bench" sweep -c configs/int8-full-grid.json \
  -o "$OUT/h200-int8-full-grid-noretile.json" -f none > /tmp/rr-g0.log 2>&1 || tail -5 /tmp/rr-g0.log
echo "full grid, not retiled: $SECONDS s"
"$bench" compare "$OUT/h200-int8-full-grid-noretile.json" "$OUT/h200-int8-full-grid.json" 2>&1 | tail -40
"$bench" sweep -c configs/llama3-8b.json -o "$OUT/h200-llama3-8b.json" -f none > /tmp/rr-l.log 2>&1 || tail -5 /tmp/rr-l.log
echo "llama3-8b: $SECONDS s"
