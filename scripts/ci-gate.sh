#!/usr/bin/env bash
# The CPU regression gate CI runs: a CPU-backend sweep of configs/ci-cpu.json compared with
# the committed baseline at zero accuracy tolerance. The CPU emulation is deterministic, so
# any change in the numerics that moves an error fails here until the baseline is
# regenerated on purpose:
#   scripts/ci-gate.sh --update     # rewrites results/ci-cpu-baseline.json; commit it with a reason
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BENCH:-build/int8attn-bench}
baseline=results/ci-cpu-baseline.json
out=${BUILD_DIR:-build}/ci-cpu-candidate.json
"$bench" sweep --backend cpu -c configs/ci-cpu.json -o "$out" --quiet --format none
if [[ "${1:-}" == --update ]]; then
  cp "$out" "$baseline"
  echo "baseline updated: $baseline (commit it, saying why the numbers moved)"
  exit 0
fi
"$bench" compare "$baseline" "$out" --mse-tolerance 0 --max-abs-tolerance 0 --rel-l2-tolerance 0 \
  --missing fail --junit "${BUILD_DIR:-build}/ci-gate-junit.xml"
