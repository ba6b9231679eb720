#!/usr/bin/env bash
# A/B of kernel variants in one device call: configures and builds tools/kernel_bench through
# CMake once per variant (the tuning build, -DINT8ATTN_KERNEL_TUNING=ON, one build folder each,
# all variants in parallel), then runs the given kernel_bench modes for every variant in turn,
# KB_REPEATS times, alternating variants so that clock and temperature drift hit all of them
# alike. Prints each run's summary rows (shape, kernel, ms, TOPS; the quantizer's ms), then the
# variants side by side (scripts/ab_table.py: every round, the best against the first variant),
# and, where nvidia-smi runs, each variant's SM clock under load and how often the power cap held
# it (scripts/clock_summary.py: FP16 tensor work runs into the cap where INT8 work does not).
#
#   scripts/kernel-ab.sh -v NAME=SPEC [-v NAME=SPEC ...] MODE [MODE ...]
#     SPEC: a folder whose files stand in for the tree's (INT8ATTN_KERNEL_STANDIN_DIR: its headers
#           come first on the include path, so a copy of kernels/sm90/int8_fa_ws.cuh under
#           DIR/kernels/sm90/ replaces that header; DIR/kernels/X.cu or DIR/tools/kernel_bench.cu
#           replaces a translation unit), or definitions starting with -D (INT8ATTN_KERNEL_DEFS,
#           e.g. "-DINT8ATTN_AB_STAGES=4"), or "." for the tree as it is. Copy stand-ins from the
#           tree's own revision: a header from before a move (e.g. the PTX wrappers into
#           kernels/ptx.cuh) defines again what the tree now defines elsewhere
#     MODE: a kernel_bench mode (wsqk, wsfa, wsfp16, ws, ws-threshold, check, ...: tools/kernel_bench.cu)
#   KB_ARCH=90a  KB_REPEATS=2  KB_ARGS="--ws 1"  OUT=./kernel-ab-out  KB_PREFIX=(unpacked .deps)
#   KB_BUILD_ONLY=1: build the variants and stop (no GPU needed): run it here before a device call,
#     because kernel_bench's tuning build compiles instances that the product's does not (s26 lost
#     a device call to a stand-in whose static_assert only those instances met)
#   A stand-in folder whose files all equal the tree's gets a WARNING first: it builds what "."
#     builds (its edit left in the working tree makes a "." base the variant itself)
#   A variant that fails to build (or, with KB_RUN_ONLY, has no binary) is dropped and the others
#     run; the exit status is then 1. The first variant is the table's base and must build.
#   KB_RUN_ONLY=1: no builds: run the kb-NAME binaries already in $OUT (KB_BUILD_ONLY's, made
#     here and carried: a device call then spends its time on the runs alone, about 40 s for
#     wsd64's two variants against 110 s with the builds, s41)
# Example (device call, carry [".deps", "build-run"]): the committed header against an edited
# copy in build-run/new: scripts/kernel-ab.sh -v base=. -v new=build-run/new wsqk
# These are burst figures (20 timed runs per shape): compare them with each other, not with
# the tool's sustained ones (docs/methodology.md).
set -uo pipefail
cd "$(dirname "$0")/.."
names=() specs=()
while getopts "v:" opt; do
  case $opt in
    v) names+=("${OPTARG%%=*}"); specs+=("${OPTARG#*=}") ;;
    *) echo "usage: $0 -v NAME=SPEC [-v ...] MODE [MODE ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
modes=("$@")
if [ ${#names[@]} -eq 0 ] || [ ${#modes[@]} -eq 0 ]; then
  echo "usage: $0 -v NAME=SPEC [-v ...] MODE [MODE ...] (see the header of this script)" >&2
  exit 2
fi
out="${OUT:-kernel-ab-out}"
mkdir -p "$out"
# A stand-in whose files all equal the tree's builds what "." builds: the A/B would compare a
# variant with itself (s58 lost two calls so, the variant's edit left in the tree). Say so first.
for i in "${!names[@]}"; do
  spec=${specs[$i]%/}
  [[ $spec == -D* || $spec == . || ! -d $spec ]] && continue
  same=1 any=0
  while IFS= read -r -d '' f; do
    rel=${f#"$spec"/}
    [[ $rel == .kernel-land-standin ]] && continue
    any=1
    cmp -s "$f" "$rel" || { same=0; break; }
  done < <(find "$spec" -type f -print0)
  if [ $any = 1 ] && [ $same = 1 ]; then
    echo "WARNING: variant ${names[$i]} ($spec): every file equals the tree's, so it builds what '.' builds;" \
      "a '.' variant would measure the same code (is its edit still in the tree?)" | tee /dev/stderr
  fi
done
arch="${KB_ARCH:-90a}"
prefix="${KB_PREFIX:-}"
if [ -z "$prefix" ] && [ -x .deps/unpack.sh ]; then prefix=$(.deps/unpack.sh); fi
jobs=$(( $(nproc) / ${#names[@]} )); [ $jobs -lt 1 ] && jobs=1

build_variant() {  # NAME SPEC: $out/build-NAME/tools/kernel_bench -> $out/kb-NAME
  local name=$1 spec=$2 defs="" standin="" build="$out/build-$1"
  if [[ $spec == -D* ]]; then defs=$spec
  elif [[ $spec != . ]]; then standin=$(cd "$spec" && pwd)
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DINT8ATTN_CUDA=ON \
    -DINT8ATTN_CUDA_ARCHS="$arch" -DINT8ATTN_KERNEL_TUNING=ON -DINT8ATTN_CUDNN=OFF \
    -DINT8ATTN_KERNEL_DEFS="$defs" -DINT8ATTN_KERNEL_STANDIN_DIR="$standin" &&
    cmake --build "$build" --target kernel_bench -j "$jobs" &&
    cp "$build/tools/kernel_bench" "$out/kb-$name"
}

t0=$SECONDS
if [ "${KB_RUN_ONLY:-0}" != 1 ]; then
  for i in "${!names[@]}"; do
    build_variant "${names[$i]}" "${specs[$i]}" > "$out/build-${names[$i]}.log" 2>&1 &
  done
  wait
fi
# A variant that did not build is dropped and the others still run (a device call is too dear to
# lose to one stand-in; s55 lost a call's A/B so); the first, which the table compares against,
# must build. The exit status is 1 either way.
status=0
kept=()
for i in "${!names[@]}"; do
  n=${names[$i]}
  if [ -x "$out/kb-$n" ]; then kept+=("$n"); continue; fi
  status=1
  if [ "${KB_RUN_ONLY:-0}" = 1 ]; then echo "variant $n: no $out/kb-$n to run (KB_RUN_ONLY)"
  else echo "variant $n failed to build:"; tail -20 "$out/build-$n.log"
  fi
  if [ "$i" -eq 0 ]; then echo "the first variant ($n) is the A/B's base: nothing to compare against"; exit 1; fi
  echo "variant $n dropped; the others run"
done
names=("${kept[@]}")
[ "${KB_RUN_ONLY:-0}" = 1 ] || echo "built ${#names[@]} variant(s) in $((SECONDS - t0)) s"
[ "${KB_BUILD_ONLY:-0}" = 1 ] && exit $status
# The SM clock while each variant runs (nvidia-smi every 100 ms, where there is one): a long burst
# of FP16 tensor work runs into the power cap where INT8 work does not (docs/perf-log.md s62), so
# the closing lines say whether two variants ran at the same clock.
clock_pid=""
start_clock_watch() {  # FILE
  command -v nvidia-smi > /dev/null || return 0
  nvidia-smi --query-gpu=clocks.sm,clocks_throttle_reasons.active --format=csv,noheader,nounits -lms 100 \
    > "$1" 2> /dev/null &
  clock_pid=$!
}
stop_clock_watch() {
  [ -n "$clock_pid" ] || return 0
  kill "$clock_pid" 2> /dev/null
  wait "$clock_pid" 2> /dev/null
  clock_pid=""
}
trap stop_clock_watch EXIT
for n in "${names[@]}"; do rm -rf "$out/clock-$n"; done  # this run's samples only
for r in $(seq 1 "${KB_REPEATS:-2}"); do
  for m in "${modes[@]}"; do
    for n in "${names[@]}"; do
      log="$out/$m-$n-$r.log"
      mkdir -p "$out/clock-$n"
      start_clock_watch "$out/clock-$n/$m-$r.csv"
      timeout 300 "$out/kb-$n" "$m" ${KB_ARGS:-} > "$log" 2>&1 || status=1
      stop_clock_watch
    done
  done
done
for m in "${modes[@]}"; do
  for n in "${names[@]}"; do
    for r in $(seq 1 "${KB_REPEATS:-2}"); do
      log="$out/$m-$n-$r.log"
      echo "== $m $n run $r"
      if grep -q '==== summary' "$log"; then
        awk '/==== summary/{s=1} s && /TOPS|quantize|copy same bytes|no smoothing|FAIL|fail/' "$log" | sed 's/  */ /g' | cut -c1-240
      else
        tail -3 "$log"  # it stopped before its summary
      fi
    done
  done
done | tee "$out/summary.txt"
# The variants side by side: each kernel and shape, every round, the best against the first variant.
if [ "${KB_REPEATS:-2}" -gt 0 ] && command -v python3 > /dev/null; then
  python3 scripts/ab_table.py "$out/summary.txt" || true
  if command -v nvidia-smi > /dev/null; then
    clock_dirs=()
    for n in "${names[@]}"; do clock_dirs+=("$out/clock-$n"); done
    python3 scripts/clock_summary.py "${clock_dirs[@]}" || true
  fi
fi
echo "total $((SECONDS - t0)) s"
exit $status
