#!/usr/bin/env bash
# Builds tools/kernel_bench with nvcc alone and runs the given modes (default: check quick).
#   bash scripts/kernel-bench.sh [check] [quick] [perf] [profile] [sanitize] [sass] [gtest]
# Logs go to $OUT (or ./kernel-bench-out); the last thing printed is the summary table.
# gtest: builds tests/gpu/test_int8_kernels.cpp with src/cpu and the kernels directly
# (g++/nvcc, no CMake) against the carried .deps (gtest, fmt) and runs it; carry [".deps"].
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-kernel-bench-out}"
mkdir -p "$out"
arch="${KB_ARCH:--gencode=arch=compute_90a,code=sm_90a}"
modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(check quick)
nvcc -std=c++20 -O3 -I. --expt-relaxed-constexpr -lineinfo $arch -Xptxas -v \
  tools/kernel_bench.cu kernels/fused_attention.cu kernels/quantize.cu -o "$out/kernel_bench" \
  > "$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
grep -E "spill|Used" "$out/build.log" | paste - - | sed -E 's/ +/ /g' | sort | uniq -c | head -40 > "$out/resources.txt" || true
status=0
for m in "${modes[@]}"; do
  case "$m" in
    sass)  # SASS of every fused kernel: an opcode histogram each, full text of the int8-fa d128 u8 one
      cuobjdump -sass "$out/kernel_bench" > /tmp/kb_sass.txt 2>&1 || true
      awk '/Function : /{name=$3} /^ +\/\*[0-9a-f]+\*\/ /{split($2,a,"."); n[name" "a[1]]++} END{for(k in n) print n[k], k}' \
        /tmp/kb_sass.txt | grep flash_attention | sort -k2,2 -k1,1nr > "$out/sass_hist.txt"
      awk '/Function : /{f=($3 ~ /VariantE0ELi128ELi8ELb1ELb0ELb0E/)} f' /tmp/kb_sass.txt > "$out/sass_int8fa_d128.txt" ;;
    sanitize)
      for tool in memcheck racecheck synccheck; do
        timeout "${KB_SAN_TIMEOUT:-120}" compute-sanitizer --tool $tool --error-exitcode 9 "$out/kernel_bench" sancheck \
          > "$out/$tool.log" 2>&1 || status=1
        echo "$tool: $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$out/$tool.log" | tail -1) (exit ${PIPESTATUS[0]})"
      done ;;
    profile)  # hardware counters of one int8-fa and one fp16-fa launch (d128, seq 4K)
      ncu --clock-control none --kernel-name regex:flash_attention --launch-count 2 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
        --section SchedulerStats --section InstructionStats --section MemoryWorkloadAnalysis --section Occupancy \
        "$out/kernel_bench" profile > "$out/ncu.txt" 2>&1 || status=1
      grep -E "flash_attention|Duration|Throughput|Issue Slots|Issued Warp|Eligible|Active Warps|Stall|No Eligible|Pipe|Bank|Occupancy" "$out/ncu.txt" | head -60 ;;
    gtest)
      prefix=$(.deps/unpack.sh)
      obj="$out/gtest-obj"; mkdir -p "$obj"
      inc=(-I. -I/usr/local/cuda/include -I"$prefix/include")
      pids=()
      for f in src/cpu/*.cpp src/bench/case.cpp tests/gpu/test_int8_kernels.cpp; do
        g++ -std=c++20 -O2 "${inc[@]}" -c "$f" -o "$obj/$(basename "$f").o" & pids+=($!)
      done
      for f in kernels/fused_attention.cu kernels/quantize.cu; do
        nvcc -std=c++20 -O3 -I. --expt-relaxed-constexpr $arch -c "$f" -o "$obj/$(basename "$f").o" & pids+=($!)
      done
      for p in "${pids[@]}"; do wait "$p" || status=1; done
      g++ -o "$out/gpu_tests" "$obj"/*.o -L/usr/local/cuda/lib64 -L"$prefix/lib/x86_64-linux-gnu" \
        -lcudart -lgtest -lgtest_main -lfmt -lpthread > "$out/gtest-build.log" 2>&1 || { cat "$out/gtest-build.log"; status=1; }
      rm -rf "$obj"
      LD_LIBRARY_PATH="$prefix/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}" "$out/gpu_tests" > "$out/gtest.log" 2>&1 || status=1
      grep -E "^\[  (PASSED|FAILED|SKIPPED) |OK \]|FAILED  \]|Failure|error:" "$out/gtest.log" | head -40 ;;
    *) "$out/kernel_bench" "$m" > "$out/$m.log" 2>&1 || status=1
       sed -n '/==== summary/,$p' "$out/$m.log" ;;
  esac
done
exit $status
