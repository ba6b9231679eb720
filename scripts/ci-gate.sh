#!/usr/bin/env bash
# The CPU regression gate CI runs: for every gate config configs/ci-cpu*.json (the defaults
# in ci-cpu.json, every other quantization option in ci-cpu-options-*.json), a CPU-backend
# sweep compared with its committed baseline results/<config name>-baseline.json, exactly:
# zero accuracy tolerance and --fail-on-change, so an error that moves either way, a fallback
# or status change, a missing or a new case fails. The CPU emulation is deterministic, so any
# change in the numerics fails here until the baselines are regenerated in the same commit:
#   scripts/ci-gate.sh --update     # rewrites the baselines whose numbers moved (one the exact
#                                   # compare passes is left as it is: its timings alone would
#                                   # churn); commit them with a reason
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

# The gate's comparison: every accuracy metric exact, any change either way or a missing case fails.
exact_compare() {  # BASELINE CANDIDATE [compare options...]
  "$bench" compare "$1" "$2" --mse-tolerance 0 --max-abs-tolerance 0 --rel-l2-tolerance 0 --fail-on-change \
    --missing fail "${@:3}"
}

# A sweep that fails (exit 1: some kernel failed, the report written) is still compared, where
# the failure shows as ok -> error; one that wrote no report (exit 2 and up) fails the gate.
# --update rewrites no baseline unless every sweep ran clean: a gate half updated would pass
# on stale baselines.
status=0
names=()
for config in configs/ci-cpu*.json; do
  name=$(basename "$config" .json)
  rc=0
  "$bench" sweep --backend cpu -c "$config" -o "$build/$name-candidate.json" --quiet --format none || rc=$?
  if ((rc != 0)); then
    echo "ci-gate: the sweep of $config failed (exit $rc)" >&2
    status=1
    ((rc == 1 && update == 0)) || continue
  fi
  names+=("$name")
done
if [[ $update == 1 ]]; then
  if [[ $status != 0 ]]; then
    echo "ci-gate --update: no baseline changed (a sweep failed; fix it and run again)" >&2
    exit 1
  fi
  for name in "${names[@]}"; do
    baseline=results/$name-baseline.json
    if [[ -f $baseline ]] && exact_compare "$baseline" "$build/$name-candidate.json" >/dev/null 2>&1; then
      echo "baseline unchanged: $baseline (the gate passes on it)"
      continue
    fi
    cp "$build/$name-candidate.json" "$baseline"
    echo "baseline updated: $baseline (commit it, saying why the numbers moved)"
  done
  exit 0
fi
for name in "${names[@]}"; do
  baseline=results/$name-baseline.json
  if [[ ! -f $baseline ]]; then
    echo "ci-gate: configs/$name.json has no baseline $baseline; create it with scripts/ci-gate.sh --update" >&2
    status=1
    continue
  fi
  echo "== configs/$name.json vs $baseline"
  exact_compare "$baseline" "$build/$name-candidate.json" --junit "$build/ci-gate-$name-junit.xml" || status=1
done
exit $status
