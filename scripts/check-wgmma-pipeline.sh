#!/usr/bin/env bash
# Compiles the warp-specialized Hopper kernels (kernels/int8_fa_ws.cu, sm_90a) with ptxas -v and
# fails when ptxas serialized the wgmma (C7513) of a kernel not allowed below, naming it; prints
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
# Serialized on purpose: int8-fa's 128-key / V-per-block kernels. Pipelined (their early-packed P
# moved by a real copy) they spill more and measured slower: d128 551 against 627 TOPS at 16K
# (docs/perf-log.md, "wgmma serialization"). Any other kernel serialized fails the check.
allowed='int8_ws_kernel<\(int8attn::KernelId\)1, (64|128), (true|false), (true|false), 2, 128>'
"${PYTHON:-python3}" "$root/scripts/sass_tools.py" resources "$log" | tee "$work/resources.txt" || true
unexpected=$(grep '^wgmma serialized' "$work/resources.txt" | grep -Ev "$allowed" || true)
if [[ -n $unexpected ]]; then
  echo "check-wgmma-pipeline: ptxas serialized the wgmma of these kernels (full log: $log):" >&2
  echo "$unexpected" >&2
  exit 1
fi
