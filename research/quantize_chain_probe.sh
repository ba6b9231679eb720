#!/usr/bin/env bash
# Where int8-fa's quantize step goes at small shapes (docs/perf-log.md s46: end to end minus
# kernel-only is 10 us at 1K x b1 x 16 heads and 22 us at 4K x b1, the quantize step alone 12.6
# and 26.9): Nsight Compute's duration of each launch of one end-to-end run (the statistics
# launch with K's mean, the codes launch, the attention kernel), each replayed alone, so their
# sum against `profile`'s end to end says how much the programmatic dependent launches overlap.
#
#   on the device (carry [".deps"]): GIT_COMMIT=<hash here> OUT=$OUT research/quantize_chain_probe.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=${OUT:-/tmp/quantize-chain}
mkdir -p "$OUT"
GIT_COMMIT=${GIT_COMMIT:-} STAGES=build BUILD_TARGET=int8attn-bench CUDA_ARCHS=90a BUILD_DIR=/tmp/qc OUT=/tmp/qc-out \
  scripts/device-check.sh > "$OUT/build.txt" 2>&1 || { tail -30 "$OUT/build.txt"; exit 1; }
bench=/tmp/qc/int8attn-bench
# Under ncu, which serializes launches, a held sample (kernels/harness/stream_hold.cuh)
# would wait out its hold: the ncu runs take a config that turns holding off.
unheld=()
if [[ -f kernels/harness/stream_hold.cuh ]]; then
  echo '{"axes": {"heads": [16], "seq_len": [1024], "head_dim": [128]}, "measurement": {"hold_launches": false}}' \
    > /tmp/qc-unheld.json
  unheld=(-c /tmp/qc-unheld.json)
fi
for seq in 1024 4096; do
  shape="--batch 1 --heads 16 --seq-len $seq --head-dim 128"
  "$bench" profile $shape -k int8-fa --max-seconds 0.2 2>&1 |
    awk -v s="$seq" '$1 == "int8-fa" {print "profile " s ": kernel " $2 " quantize " $4 " end-to-end " $5}'
  # The first run (prepare) launches every kernel of the op once: stats, codes, attention.
  timeout 120 ncu --clock-control none --kernel-name "regex:stats_kernel|codes_kernel|int8_ws_kernel" --launch-count 3 \
    --section SpeedOfLight --section LaunchStats \
    "$bench" profile "${unheld[@]}" $shape -k int8-fa --min-samples 1 --max-seconds 0.001 > "$OUT/ncu-$seq.txt" 2>&1
  echo "ncu $seq: exit $?"
  grep -E "^  [a-z_:<>0-9A-Z]+.*\(|Duration|Grid Size|Memory Throughput|Registers Per" "$OUT/ncu-$seq.txt" |
    sed 's/^ *//' | cut -c1-110 | head -20
done
