#!/usr/bin/env bash
# Builds tools/kernel_bench through CMake and runs the given modes (default: check quick).
#   bash scripts/kernel-bench.sh [check] [quick] [perf] [schedules] [profile] [wsprofile] [wsprofile-qk] [wsprofile-qkov] [wsprofile-wide16k] [wsprofile-kt16k] [wsprofile-kg16k] [wsprofile-kg4k] [wsprofile-256] [wsprofile-fp16-4k] [wsprofile-l2] [wspipes] [sanitize] [sass] [gtest] [ab]
#     or any other kernel_bench mode (ws, wsqk, wsfa, wsfp16, ws256, ws-threshold, wssan: tools/kernel_bench.cu)
# Logs go to $OUT (or ./kernel-bench-out); the last thing printed is the summary table.
# Build: CMake configures $OUT/build with -DINT8ATTN_KERNEL_TUNING=ON (the tuning copy of the
# kernels with every A/B variant, tools/CMakeLists.txt) and builds the kernel_bench target
# (copied to $OUT/kernel_bench; the build output, ptxas -v included, in $OUT/build.log, the
# registers and spills per kernel in $OUT/resources.txt). KB_ARCH: the CUDA architectures
# (INT8ATTN_CUDA_ARCHS, e.g. 90a or "80;90a"; nvcc -gencode flags are read for their sm_
# targets; default 90a). KB_DEFS: extra definitions of the tuning kernels (INT8ATTN_KERNEL_DEFS,
# e.g. "-DFOO=1 -DBAR"; INT8ATTN_HAS_SM90A follows the architectures unless KB_DEFS sets it).
# The packages CMake needs (CLI11, fmt, nlohmann-json, gtest) come from the carried .deps
# (.deps/unpack.sh; KB_PREFIX: a prefix already unpacked) when present; carry [".deps"].
# gtest: builds the int8attn_gpu_tests_tuning target (tests/gpu/test_int8_kernels.cpp against
# the tuning kernels; $OUT/gpu_tests) and runs it once per schedule in KB_SCHEDULES (default:
# the library default).
# ab: the register-schedule A/B in one device call (check + gtest for every schedule, the
# schedules timing, then, if a schedule beats schedule 0, the CLI sweeps with it forced into
# $KB_REPORTS); ends with a table. KB_ARGS: extra kernel_bench arguments (e.g. --schedule 2).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-kernel-bench-out}"
mkdir -p "$out"
arch="${KB_ARCH:-90a}"
case "$arch" in  # -gencode=arch=compute_90a,code=sm_90a (the old form) -> 90a
  *sm_*) archs=$(grep -o 'sm_[0-9a-z]*' <<< "$arch" | sed 's/^sm_//' | awk '!seen[$0]++' | paste -sd';') ;;
  *) archs="$arch" ;;
esac
modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(check quick)
prefix="${KB_PREFIX:-}"
if [ -z "$prefix" ] && [ -x .deps/unpack.sh ]; then prefix=$(.deps/unpack.sh); fi
# One build folder: the tuning kernels are compiled once and shared by kernel_bench and gtest.
build="$out/build"
cmake -S . -B "$build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DINT8ATTN_CUDA=ON -DINT8ATTN_CUDA_ARCHS="$archs" \
  -DINT8ATTN_KERNEL_TUNING=ON -DINT8ATTN_KERNEL_DEFS="${KB_DEFS:-}" -DINT8ATTN_CUDNN=OFF \
  > "$out/cmake-configure.log" 2>&1 || { cat "$out/cmake-configure.log"; exit 1; }
cmake --build "$build" --target kernel_bench > "$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
cp "$build/tools/kernel_bench" "$out/kernel_bench"
grep -E "spill|Used" "$out/build.log" | paste - - | sed -E 's/ +/ /g' | sort | uniq -c | head -40 > "$out/resources.txt" || true

# Builds tests/gpu/test_int8_kernels.cpp against the tuning kernels (CMake target
# int8attn_gpu_tests_tuning) and runs it once per schedule of KB_SCHEDULES
# (INT8ATTN_FUSED_TUNING); writes $out/gtest.log.
gtest_built=0
run_gtest() {
  local rc=0 s
  if [ "$gtest_built" = 0 ]; then
    cmake --build "$build" --target int8attn_gpu_tests_tuning > "$out/gtest-build.log" 2>&1 \
      || { cat "$out/gtest-build.log"; return 1; }
    cp "$build/tests/int8attn_gpu_tests_tuning" "$out/gpu_tests"
    gtest_built=1
  fi
  : > "$out/gtest.log"
  for s in ${KB_SCHEDULES:--1}; do
    echo "==== schedule $s" >> "$out/gtest.log"
    # A pass needs every test run: a skipped test (no GPU) counts as a failure here.
    if INT8ATTN_FUSED_TUNING="schedule=$s" LD_LIBRARY_PATH="${prefix:+$prefix/lib/x86_64-linux-gnu:}${LD_LIBRARY_PATH:-}" \
        "$out/gpu_tests" > "$out/gtest-one.log" 2>&1 && ! grep -q "SKIPPED \]" "$out/gtest-one.log"; then
      echo "gtest schedule $s: PASS"
    else
      echo "gtest schedule $s: FAIL"; rc=1
    fi
    cat "$out/gtest-one.log" >> "$out/gtest.log"
  done
  grep -E "FAILED  \]|Failure" "$out/gtest.log" | head -20
  return $rc
}

# Mean int8-fa TOPS of schedule $1 over the schedules-mode shapes.
mean_tops() {
  awk -v s="int8-fa(u8) s$1" 'index($0, s " ") && /TOPS/ {for (i = 1; i < NF; ++i) if ($(i + 1) == "TOPS") {t += $i; n++}}
    END {printf "%.1f", n ? t / n : 0}' "$out/schedules.log"
}

run_ab() {
  local scheds rc=0 s best=0 base_tops t cmake_rc reports="${KB_REPORTS:-$out}"
  scheds=$(seq 0 $(( $("$out/kernel_bench" count-schedules) - 1 )))
  # The product build (not the tuning one) for the sweeps, in ./build, from the same prefix.
  (cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DINT8ATTN_CUDA_ARCHS=90a \
     -DINT8ATTN_GIT_COMMIT="${KB_COMMIT:-}" && cmake --build build -j12) > "$out/cmake.log" 2>&1 &
  local cmake_pid=$!
  "$out/kernel_bench" check > "$out/check.log" 2>&1
  wait "$cmake_pid"; cmake_rc=$?
  "$out/kernel_bench" schedules > "$out/schedules.log" 2>&1  # timed with the CPUs idle
  base_tops=$(mean_tops 0)
  # Candidates: correct in check and schedules, > 2% over schedule 0, fastest first; the first
  # that also passes gtest wins. gtest always runs schedule 0 too (the default otherwise).
  local ranked
  ranked=$(for s in $scheds; do
    grep -q " s$s .*FAIL" "$out/check.log" "$out/schedules.log" && continue
    t=$(mean_tops "$s")
    awk -v t="$t" -v z="$base_tops" 'BEGIN {exit !(t > 1.02 * z)}' && echo "$t $s"
  done | sort -rn | awk '{print $2}')
  KB_SCHEDULES="0" run_gtest > "$out/gtest-summary.txt" 2>&1
  cp "$out/gtest.log" "$out/gtest-all.log"
  for s in $ranked; do
    KB_SCHEDULES="$s" run_gtest >> "$out/gtest-summary.txt" 2>&1
    cat "$out/gtest.log" >> "$out/gtest-all.log"
    grep -q "gtest schedule $s: PASS" "$out/gtest-summary.txt" && { best=$s; break; }
  done
  if [ "$best" != 0 ] && [ "$cmake_rc" = 0 ]; then
    for c in int8-targets default; do
      INT8ATTN_FUSED_TUNING="schedule=$best" build/int8attn-bench sweep --backend cuda -c configs/$c.json \
        -o "$reports/h200-$c.json" --quiet --format none >> "$out/sweep.log" 2>&1 || rc=1
    done
  fi
  echo "==== ab: cmake rc $cmake_rc; check FAIL lines: $(grep -c FAIL "$out/check.log"), per schedule:" \
    $(for s in $scheds; do echo "s$s=$(grep -c " s$s .*FAIL" "$out/check.log")"; done)
  grep "gtest schedule" "$out/gtest-summary.txt"
  sed -n "/==== summary/,\$p" "$out/schedules.log" | grep " TOPS " | \
    awk '{printf "%-8s %-5s %-7s %-12s %-3s %7s TOPS %5s MHz relL2 %s %s\n", $3, $5, $6, $7, $8, $11, $14, $17, $NF}'
  for s in $scheds; do echo "schedule $s: mean int8-fa TOPS $(mean_tops "$s")"; done
  echo "candidates (fastest first): ${ranked:-none}; winner: schedule $best (schedule 0: $base_tops);" \
    "sweeps: $([ "$best" != 0 ] && echo "run with schedule=$best, rc $rc" || echo "not run")"
  return $rc
}

# ncu of kernel_bench MODE's warp-specialized launch after SKIP others, exported as NAME: the
# full set's details (ncu-NAME.txt, a few lines printed) and stall samples per SASS line
# (ncu-NAME-sass.csv, for sass_tools.py loop-stalls).
ncu_export() {
  local name=$1 mode=$2 skip=$3 rc=0
  ncu --clock-control none --kernel-name regex:"int8_ws_kernel" --launch-skip "$skip" --launch-count 1 --set full \
    --import-source yes -f -o "$out/$name" "$out/kernel_bench" "$mode" > "$out/ncu-$name.log" 2>&1 || rc=1
  ncu -i "$out/$name.ncu-rep" --page details > "$out/ncu-$name.txt" 2>&1 || rc=1
  ncu -i "$out/$name.ncu-rep" --page source --csv --print-source sass > "$out/ncu-$name-sass.csv" 2>&1 || rc=1
  echo "== $name"
  grep -E "Duration|Issue Slots|Issued Warp|Eligible|Active Warps|No Eligible|Executed Ipc|Warp Cycles" "$out/ncu-$name.txt" | head -20
  return $rc
}

status=0
for m in "${modes[@]}"; do
  case "$m" in
    sass)  # SASS of every fused kernel: an opcode histogram each, full text of the default wgmma int8-fa d128 u8 one
      cuobjdump -sass "$out/kernel_bench" > /tmp/kb_sass.txt 2>&1 || true
      awk '/Function : /{name=$3} /^ +\/\*[0-9a-f]+\*\/ /{split($2,a,"."); n[name" "a[1]]++} END{for(k in n) print n[k], k}' \
        /tmp/kb_sass.txt | grep -E "flash_attention|wgmma" | sort -k2,2 -k1,1nr > "$out/sass_hist.txt"
      awk '/Function : /{f=($3 ~ /int8fa_wgmma_kernelILi128ELb1ELb0E/)} f' /tmp/kb_sass.txt > "$out/sass_int8fa_d128.txt" ;;
    sanitize)
      for tool in memcheck racecheck synccheck; do
        timeout "${KB_SAN_TIMEOUT:-120}" compute-sanitizer --tool $tool --error-exitcode 9 "$out/kernel_bench" sancheck \
          > "$out/$tool.log" 2>&1 || status=1
        echo "$tool: $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$out/$tool.log" | tail -1) (exit ${PIPESTATUS[0]})"
      done ;;
    profile)  # hardware counters of one int8-fa and one fp16-fa launch (d128, seq 4K)
      ncu --clock-control none --kernel-name regex:"flash_attention|wgmma" --launch-count 2 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
        --section SchedulerStats --section InstructionStats --section MemoryWorkloadAnalysis --section Occupancy \
        "$out/kernel_bench" profile > "$out/ncu.txt" 2>&1 || status=1
      grep -E "flash_attention|Duration|Throughput|Issue Slots|Issued Warp|Eligible|Active Warps|Stall|No Eligible|Pipe|Bank|Occupancy" "$out/ncu.txt" | head -60 ;;
    wspipes)  # ncu's pipe utilizations (% of peak, active cycles) of the 4K int8-fa product kernel and the 16K int8-qk one
      for pm in wsprofile-wide wsprofile-qk; do
        ncu --clock-control none --kernel-name regex:"int8_ws_kernel" --launch-count 1 \
          --metrics 'regex:sm__inst_executed_pipe_[a-z0-9_]+\.avg\.pct_of_peak_sustained_active$,regex:sm__pipe_[a-z0-9_]+_cycles_active\.avg\.pct_of_peak_sustained_active$,sm__inst_executed.sum,gpu__time_duration.sum' \
          "$out/kernel_bench" "$pm" > "$out/ncu-pipes-$pm.txt" 2>&1 || status=1
        echo "== $pm"
        grep -E "gpu__time|inst_executed.sum|pipe_(xu|alu|fma|fmaheavy|fmalite|fma_type_fp16|lsu|uniform)\.avg|pipe_tensor_cycles" "$out/ncu-pipes-$pm.txt" \
          | grep -v realtime | sed 's/  */ /g' || true
      done ;;
    wsprofile|wsprofile-qk|wsprofile-qkov|wsprofile-wide16k|wsprofile-kt16k|wsprofile-kg16k|wsprofile-256)  # ncu of the warp-specialized int8-fa (int8-qk; qkov: in the overlap schedule) kernel, d128 16K (256: d256 16K): sections, then stall samples per SASS line
      ncu_export "$m" "$m" 0 || status=1 ;;
    wsprofile-kg4k)  # the same of grouped K's int8-fa kernel at 4K x b4 d128, its full launch and its causal one, then their samples by region and steady loops
      ncu_export "$m-full" "$m" 0 || status=1
      ncu_export "$m-causal" "$m" 1 || status=1
      for r in full causal; do python3 scripts/sass_tools.py regions "$out/ncu-$m-$r-sass.csv" 8 | head -40; done
      python3 scripts/sass_tools.py loop-stalls "$out/ncu-$m-full-sass.csv" "$out/ncu-$m-causal-sass.csv" | head -40 ;;
    wsprofile-fp16-4k)  # the same of fp16-fa's ping-pong kernel at 4K d128, its causal launch and its full one, then their steady loops side by side
      ncu_export "$m-causal" "$m" 0 || status=1
      ncu_export "$m-full" "$m" 1 || status=1
      python3 scripts/sass_tools.py loop-stalls "$out/ncu-$m-causal-sass.csv" "$out/ncu-$m-full-sass.csv" | head -60 ;;
    wsprofile-l2)  # L2 and DRAM traffic of the six launches of kernel_bench's wsprofile-l2 (fp16-fa, int8-qk, int8-fa at 16K then 32K)
      ncu --clock-control none --kernel-name regex:"int8_ws_kernel" --launch-count 6 --section SpeedOfLight \
        --section MemoryWorkloadAnalysis --metrics dram__bytes_read.sum,lts__t_sectors_op_read.sum \
        "$out/kernel_bench" "$m" > "$out/ncu-$m.txt" 2>&1 || status=1
      grep -E "int8_ws_kernel|Duration|DRAM Throughput|L2 Cache Throughput|L2 Hit Rate|Mem Busy|dram__bytes_read|lts__t_sectors_op_read" \
        "$out/ncu-$m.txt" | sed -E 's/void int8attn::kernels::fa::int8_ws_kernel<([^>]*)>.*/== \1/; s/  +/ /g' ;;
    gtest)
      run_gtest || status=1 ;;
    ab)
      run_ab || status=1 ;;
    *) "$out/kernel_bench" "$m" ${KB_ARGS:-} > "$out/$m.log" 2>&1 || status=1
       sed -n '/==== summary/,$p' "$out/$m.log" ;;
  esac
done
exit $status
