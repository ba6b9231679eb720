#!/usr/bin/env bash
# One call on the GPU machine: build, a smoke run of the attention kernels, GPU tests,
# compute-sanitizer on small shapes, the reference's own throughput/memory, and a benchmark
# sweep; prints a short table LAST.
# Full logs go under $OUT (at most 8 files come back from the device machine).
#
#   STAGES="build smoke gpu-tests sanitize refbench bench"   which stages run (default: all)
#   BENCH_CONFIG=configs/default.json                  config of the bench stage
#   BUILD_DIR=build  JOBS=$(nproc)  OUT=./device-out   build folder, parallelism, log folder
#   GTEST_FILTER=...                                   restricts the gpu-tests stage
#   CUDA_ARCHS="90a"                                   architectures to build (default 80;90a)
#   GIT_COMMIT=$(git rev-parse --short=12 HEAD)        commit for the reports: pass it, computed where the tree
#                                                      is committed (the device's copy may carry the session
#                                                      start's .git under a newer tree: its reports then name
#                                                      that commit, "-dirty", and a $(git rev-parse) run on
#                                                      the device returns it too)
#   CUDNN_ROOT=...                                     cuDNN 9 (default: PyTorch's: scripts/cudnn-env.sh)
#   SOURCE_DIR=.                                       the source tree the build stage builds (another
#                                                      revision's: scripts/e2e-ab.sh)
#   DEPS_PREFIX=...                                    the CMake prefix of .deps, already unpacked (two
#                                                      builds at once must not unpack into it together)
#   BUILD_TARGET=int8attn-bench                        build only this target (default: everything)
#   BINS=build-run/bins.tar.xz                         binaries built on the development machine
#                                                      (scripts/pack-device-bins.sh): unpacked into BUILD_DIR
#                                                      instead of the build stage, which is then skipped (a
#                                                      device call's 2-4 minutes of building saved); the
#                                                      gpu-tests stage runs the test binary itself (no CTest:
#                                                      no per-test timeout, the smoke stage still catches a hang)
#
# Device call: carry [".deps"], command: scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."

STAGES=${STAGES:-"build smoke gpu-tests sanitize refbench bench"}
BENCH_CONFIG=${BENCH_CONFIG:-configs/default.json}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
failed=0

note() { echo "$*" | tee -a "$SUMMARY"; }
has_stage() { [[ " $STAGES " == *" $1 "* ]]; }
# run_stage NAME LOG CMD...: runs CMD with its output in LOG, one status line on stdout.
run_stage() {
  local name=$1 log=$2; shift 2
  local t0=$SECONDS
  echo "== $name" >>"$log"
  if "$@" >>"$log" 2>&1; then
    note "[ok]   $name ($((SECONDS - t0)) s)"
  else
    note "[FAIL] $name ($((SECONDS - t0)) s), exit $?; last lines of $(basename "$log"):"
    tail -n 25 "$log" | sed 's/^/       /' | tee -a "$SUMMARY"
    failed=1
  fi
}

# The CMake prefix of the carried .deps: DEPS_PREFIX, or .deps unpacked now.
deps_prefix() {
  if [[ -n ${DEPS_PREFIX:-} ]]; then echo "$DEPS_PREFIX"; else .deps/unpack.sh; fi
}
if [[ -n ${BINS:-} ]]; then  # the development machine's build: no build stage here
  STAGES=${STAGES//build/}
  mkdir -p "$BUILD_DIR" && tar -xJf "$BINS" -C "$BUILD_DIR" || { echo "BINS: cannot unpack $BINS into $BUILD_DIR" >&2; exit 2; }
  prefix=$(deps_prefix) || exit 2  # fmt's shared library travels in .deps
  export LD_LIBRARY_PATH="$prefix/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  INT8ATTN_BENCH_EXE="$(cd "$BUILD_DIR" && pwd)/int8attn-bench" && export INT8ATTN_BENCH_EXE  # the multi-GPU tests run it
fi
note "== device-check $(date -u +%FT%TZ) stages: $STAGES${BINS:+ (binaries: $BINS, built at $(cat "$BUILD_DIR/COMMIT" 2>/dev/null))}"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader 2>&1 | tee -a "$SUMMARY"

# shellcheck source=scripts/cudnn-env.sh
source scripts/cudnn-env.sh  # CUDNN_ROOT, and its lib/ on LD_LIBRARY_PATH
configure_and_build() {
  local prefix
  prefix=$(deps_prefix) || return 1
  cmake -S "${SOURCE_DIR:-.}" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINT8ATTN_CUDA=ON -DCMAKE_PREFIX_PATH="$prefix" \
    -DINT8ATTN_CUDA_ARCHS="${CUDA_ARCHS:-80;90a}" -DINT8ATTN_GIT_COMMIT="${GIT_COMMIT:-}" \
    ${CUDNN_ROOT:+-DCUDNN_ROOT="$CUDNN_ROOT"} &&
    cmake --build "$BUILD_DIR" -j "$JOBS" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
}
has_stage build && [[ -z ${GIT_COMMIT:-} ]] &&
  note "note: GIT_COMMIT is unset: reports name what this copy's git says ($(git rev-parse --short=12 HEAD 2> /dev/null || echo none)), which may not be the tree's commit"
has_stage build && run_stage build "$OUT/build.log" configure_and_build
has_stage build && grep -E "cuDNN" "$OUT/build.log" | head -2 | tee -a "$SUMMARY"

bench="$BUILD_DIR/int8attn-bench"
if [[ -x "$bench" ]]; then "$bench" devices 2>&1 | tee -a "$SUMMARY"; fi

# smoke: each attention kernel once (profile, d128 and causal d64, more tiles than SMs so the
# persistent kernels walk several a CTA), 30 s at most each. A hang (a deadlock in a new
# pipeline) shows here within a minute, and the GPU stages after it are skipped: otherwise
# every test that launches the kernel would wait out its ctest timeout in turn.
hung=0
smoke() {
  local k args rc status=0
  for k in int8-qk int8-fa fp16-fa; do
    for args in "--head-dim 128" "--head-dim 64 --causal"; do
      # shellcheck disable=SC2086  # args holds several options
      timeout 30 "$bench" profile --batch 4 --heads 16 --seq-len 4096 $args -k "$k" --max-seconds 0.3
      rc=$?
      if [[ $rc == 124 ]]; then echo "HUNG: $k $args (killed after 30 s)"; hung=1; return 1; fi
      [[ $rc != 0 ]] && status=1
    done
  done
  return $status
}
has_stage smoke && run_stage smoke "$OUT/gpu-tests.log" smoke
if [[ $hung == 1 ]]; then
  note "a kernel hung in the smoke stage: the GPU stages after it are skipped"
  STAGES="build smoke"
fi

gpu_tests() {
  if [[ -n "${GTEST_FILTER:-}" || -n "${BINS:-}" ]]; then
    "$BUILD_DIR/tests/int8attn_gpu_tests" --gtest_filter="${GTEST_FILTER:-*}"
  else
    # A hung kernel (a deadlock in a new pipeline) fails its test after 120 s (the longest
    # takes ~7 s on an H200) instead of eating the whole device call.
    ctest --test-dir "$BUILD_DIR" -L gpu --output-on-failure -j 1 --timeout 120
  fi
}
has_stage gpu-tests && run_stage gpu-tests "$OUT/gpu-tests.log" gpu_tests
has_stage gpu-tests && grep -E "tests passed|tests failed|Failed|FAILED" "$OUT/gpu-tests.log" | head -20

# Small shapes only: memcheck slows kernels by orders of magnitude (the 2^31-element test stays out).
SANITIZE_FILTER='Shapes/CudnnShapes.*/mha_d64:Cudnn.MemoryIsAccounted:Shapes/ReferenceShapes.*/small:Shapes/ReferenceShapes.*/one:Shapes/ReferenceShapes.*/causal_gqa_77:Shapes/ReferenceShapes.*/causal_q_longer:Reference.RowsWithNoVisibleKeyAreZero:Reference.SameSeedSameBits:Inputs.*:Memory.*:Metrics.*:CudaBackend.*:-Memory.TensorsAbove2To31ElementsAreComputedWhole'
sanitize() {
  compute-sanitizer --tool memcheck --error-exitcode 1 --leak-check full \
    "$BUILD_DIR/tests/int8attn_gpu_tests" --gtest_filter="$SANITIZE_FILTER"
}
# Logged with the GPU tests: at most 8 files come back from the device machine.
has_stage sanitize && run_stage sanitize "$OUT/gpu-tests.log" sanitize
has_stage sanitize && grep -E "ERROR SUMMARY" "$OUT/gpu-tests.log" | tail -1

# The reference alone: throughput at head_dim 128, batch 1 x 32 heads, seq 4K/16K/32K, and
# its peak memory, in both precisions (fp16 = what an unfused FP16 attention computes).
write_refbench_config() {  # NAME PRECISION CAUSAL-LIST
  mkdir -p /tmp/int8attn-configs
  cat >"/tmp/int8attn-configs/$1.json" <<JSON
{
  "name": "$1",
  "description": "cuBLASLt reference alone ($2): batch 1, 32 heads, head_dim 128, seq 4K/16K/32K",
  "axes": {"batch": [1], "heads": [32], "kv_heads": [32], "seq_len": [4096, 16384, 32768],
           "head_dim": [128], "causal": [$3], "input": [{"distribution": "normal", "seed": 0}]},
  "kernels": ["fp16-ref-cublaslt"],
  "reference": {"precision": "$2"},
  "measurement": {"max_seconds": 2.0, "min_seconds": 0.3, "min_samples": 5}
}
JSON
}
refbench() {
  write_refbench_config refbench fp16 "false, true" &&
    write_refbench_config refbench-fp32 fp32 "false" &&
    "$bench" sweep --backend cuda -c /tmp/int8attn-configs/refbench.json -o "$OUT/refbench.json" --quiet --format none &&
    "$bench" sweep --backend cuda -c /tmp/int8attn-configs/refbench-fp32.json -o "$OUT/refbench-fp32.json" --quiet --format none
}
has_stage refbench && run_stage refbench "$OUT/refbench.log" refbench

bench_sweep() {
  "$bench" sweep --backend cuda -c "$BENCH_CONFIG" -o "$OUT/bench.json" --quiet
}
has_stage bench && run_stage "bench ($BENCH_CONFIG)" "$OUT/bench.log" bench_sweep

# Tables last: the device tool returns the end of the output.
for f in refbench refbench-fp32; do
  if has_stage refbench && [[ -f "$OUT/$f.json" ]]; then
    note "== reference alone ($f.json)"
    "$bench" report "$OUT/$f.json" --format table 2>&1 | grep -E "fp16-ref|^b[0-9]" | tee -a "$SUMMARY"
  fi
done
if has_stage bench && [[ -f "$OUT/bench.json" ]]; then
  note "== $BENCH_CONFIG (bench.json)"
  "$bench" report "$OUT/bench.json" --format table 2>&1 | tee -a "$SUMMARY"
fi
note "== device-check $([[ $failed == 0 ]] && echo passed || echo FAILED)"
exit $failed
