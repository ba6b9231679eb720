#!/usr/bin/env bash
# The CPU regression gate CI runs: for every gate config configs/ci-cpu*.json (the defaults
# in ci-cpu.json, every other quantization option in ci-cpu-options-*.json), a CPU-backend
# sweep compared with its committed baseline results/<config name>-baseline.json, exactly:
# zero accuracy tolerance and --fail-on-change, so an error that moves either way, a fallback
# or status change, a missing or a new case fails. The CPU emulation is deterministic, so any
# change in the numerics fails here until the baselines are regenerated in the same commit:
#   scripts/ci-gate.sh --update     # rewrites the baselines; commit them with a reason
#   BENCH, BUILD_DIR: the tool and the folder for the candidates (default build/...); relative
#   paths are relative to where the script is run from.
set -euo pipefail
[[ $# -eq 0 || ( $# -eq 1 && $1 == --update ) ]] || { echo "usage: scripts/ci-gate.sh [--update]" >&2; exit 2; }
bench=${BENCH:+$(realpath -m "$BENCH")}
build=${BUILD_DIR:+$(realpath -m "$BUILD_DIR")}
cd "$(dirname "$0")/.."
bench=${bench:-build/int8attn-bench}
build=${build:-build}
update=0
[[ "${1:-}" == --update ]] && update=1

status=0
for config in configs/ci-cpu*.json; do
  name=$(basename "$config" .json)
  baseline=results/$name-baseline.json
  out=$build/$name-candidate.json
  "$bench" sweep --backend cpu -c "$config" -o "$out" --quiet --format none
  if [[ $update == 1 ]]; then
    cp "$out" "$baseline"
    echo "baseline updated: $baseline (commit it, saying why the numbers moved)"
    continue
  fi
  if [[ ! -f $baseline ]]; then
    echo "ci-gate: $config has no baseline $baseline; create it with scripts/ci-gate.sh --update" >&2
    status=1
    continue
  fi
  echo "== $config vs $baseline"
  "$bench" compare "$baseline" "$out" --mse-tolerance 0 --max-abs-tolerance 0 --rel-l2-tolerance 0 \
    --fail-on-change --missing fail --junit "$build/ci-gate-$name-junit.xml" || status=1
done
exit $status
