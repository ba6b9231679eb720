#!/usr/bin/env bash
# results/ measured again in one device call: the GPU tests, then one `sweep` per config named
# (every kernel of the config), each into $OUT/<gpu>-<config>.json (<gpu>: h100, h200... from
# nvidia-smi). With AB_TUNING set (e.g. retile_groups=0), each config also runs with
# INT8ATTN_FUSED_TUNING=$AB_TUNING into <gpu>-<config>-ab.json (not for results/), and `compare`
# prints that run against the plain one: the end-to-end A/B of a tuning rule.
# (s48 ran it as renew_results_retile.sh: int8-full-grid with AB_TUNING=retile_groups=0, llama3-8b.)
#
#   on the device (carry [".deps"]):
#     GIT_COMMIT=<hash here> OUT=$OUT research/renew_results.sh int8-causal-grid int8-targets
#   then here: copy $OUT/<gpu>-*.json (not the -ab ones) into results/, and
#     python3 scripts/results_index.py > results/README.md
# GIT_COMMIT: compute it here, not on the device, whose copy's .git is stale.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
(($# > 0)) || { echo "usage: renew_results.sh CONFIG_NAME... (configs/CONFIG_NAME.json)" >&2; exit 2; }
for name in "$@"; do
  [[ -f configs/$name.json ]] || { echo "renew_results: no configs/$name.json" >&2; exit 2; }
done
OUT=${OUT:-/tmp/renew-results}
mkdir -p "$OUT"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | grep -oiE 'h100|h200|a100|l40s?' |
  tr 'A-Z' 'a-z')
gpu=${gpu:-gpu}
GIT_COMMIT=${GIT_COMMIT:-} STAGES="build gpu-tests" CUDA_ARCHS=90a BUILD_DIR=/tmp/rr OUT=/tmp/rr-out \
  scripts/device-check.sh > /tmp/rr-check.log 2>&1
echo "device-check: exit $? at $SECONDS s"
grep -E "^\[(ok|FAIL)|tests passed|tests failed|Failed" /tmp/rr-check.log | tail -8
bench=/tmp/rr/int8attn-bench
[[ -x $bench ]] || exit 1
source scripts/cudnn-env.sh > /dev/null 2>&1 || true
for name in "$@"; do
  report=$OUT/$gpu-$name.json
  "$bench" sweep -c "configs/$name.json" -o "$report" -f none > "/tmp/rr-$name.log" 2>&1 || tail -5 "/tmp/rr-$name.log"
  echo "$name: $SECONDS s"
  [[ -n ${AB_TUNING:-} ]] || continue
  INT8ATTN_FUSED_TUNING=$AB_TUNING "$bench" sweep -c "configs/$name.json" -o "$OUT/$gpu-$name-ab.json" -f none \
    > "/tmp/rr-$name-ab.log" 2>&1 || tail -5 "/tmp/rr-$name-ab.log"
  echo "$name with $AB_TUNING: $SECONDS s"
  "$bench" compare "$OUT/$gpu-$name-ab.json" "$report" 2>&1 | tail -40
done
