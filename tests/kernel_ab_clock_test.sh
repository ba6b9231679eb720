#!/usr/bin/env bash
# scripts/kernel-ab.sh samples the SM clock while each variant runs and closes with
# scripts/clock_summary.py's lines: here with a stand-in nvidia-smi (one power-capped sample at
# 1700 MHz) and a stand-in kernel_bench that prints a summary row. Usage: kernel_ab_clock_test.sh
# SOURCE_DIR WORK_DIR
set -euo pipefail
src=${1:?usage: kernel_ab_clock_test.sh SOURCE_DIR WORK_DIR} work=${2:?usage: kernel_ab_clock_test.sh SOURCE_DIR WORK_DIR}
rm -rf "$work"
mkdir -p "$work/bin" "$work/out/clock-base"
printf '#!/bin/sh\nprintf "1700, 0x0000000000000004\\n"\nexec sleep 5\n' > "$work/bin/nvidia-smi"
printf '#!/bin/sh\nsleep 0.5\nprintf "==== summary\\nb1 h1 int8-fa(x) 1.0 ms 9.0 TOPS\\n"\n' > "$work/out/kb-base"
chmod +x "$work/bin/nvidia-smi" "$work/out/kb-base"
printf '1000, 0x0000000000000000\n' > "$work/out/clock-base/stale-9.csv"  # an earlier run's: not counted
cd "$src"
PATH="$work/bin:$PATH" KB_RUN_ONLY=1 KB_REPEATS=1 OUT="$work/out" bash scripts/kernel-ab.sh -v base=. wsfq
