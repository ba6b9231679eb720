#!/usr/bin/env bash
# Compiles the warp-specialized Hopper kernels (kernels/int8_fa_ws.cu, sm_90a) with ptxas -v and
# fails when ptxas serialized the wgmma (C7513) of any kernel, naming it; prints
# every kernel's registers and spills either way. CTest runs it (tests/kernel_static.cmake).
# Usage: check-wgmma-pipeline.sh WORK_DIR   (NVCC and PYTHON from the environment, else PATH)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: check-wgmma-pipeline.sh WORK_DIR}
mkdir -p "$work"
log=$work/int8_fa_ws.ptxas.log
"${NVCC:-nvcc}" -std=c++17 -O3 -I"$root" -DINT8ATTN_HAS_SM90A=1 --expt-relaxed-constexpr \
  -gencode=arch=compute_90a,code=sm_90a -Xptxas -v -c "$root/kernels/int8_fa_ws.cu" -o "$work/int8_fa_ws.o" \
  > "$log" 2>&1 || { cat "$log"; echo "check-wgmma-pipeline: nvcc failed" >&2; exit 1; }
# No kernel is serialized since the 128-key int8-fa kernels run the serial schedule (s20; in
# their overlapped schedule ptxas serialized them, and pipelined by a real copy of P they spilled
# more: docs/perf-log.md, "wgmma serialization"). Any serialized kernel fails the check.
"${PYTHON:-python3}" "$root/scripts/sass_tools.py" resources "$log" | tee "$work/resources.txt" || true
unexpected=$(grep '^wgmma serialized' "$work/resources.txt" || true)
if [[ -n $unexpected ]]; then
  echo "check-wgmma-pipeline: ptxas serialized the wgmma of these kernels (full log: $log):" >&2
  echo "$unexpected" >&2
  exit 1
fi
