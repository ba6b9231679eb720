#!/usr/bin/env bash
# End to end A/B of two revisions in one device call: the product's `sweep` (quantization
# included, the fallback decision against the fastest FP16 of the same run) of another revision
# and of the working tree, rounds alternating so that clock and temperature drift hit both alike.
# scripts/kernel-land.sh measures kernels alone; this measures what a user's report says. Two
# halves:
#
#   scripts/e2e-ab.sh prepare REV [DIR]
#       here, before the call: DIR (default build-run/e2e-base) gets REV's source tree (git
#       archive, a few MB). DIR is replaced only if an earlier prepare made it.
#   scripts/e2e-ab.sh run [DIR] CONFIG [CONFIG ...]
#       the device call (carry [".deps", "build-run"]): builds int8attn-bench from DIR and from the
#       tree (sm_90a, both at once, half the cores each), then E2E_ROUNDS rounds of every CONFIG,
#       base and tree in turn, and the table (scripts/e2e_ab_table.py) last. Both binaries read
#       the same CONFIG files: name configs that REV's binary understands too.
#
#   scripts/e2e-ab.sh tuning CONFIG NAME=TUNING NAME=TUNING [...]
#       one binary, several settings of the kernels' development knobs: builds int8attn-bench
#       from the tree once, then E2E_ROUNDS rounds of CONFIG, each variant in turn with
#       INT8ATTN_FUSED_TUNING=TUNING (an empty TUNING: the product's defaults), so that a host
#       rule that a knob can force (e.g. dynamic_tiles=1) is weighed without a second build; the
#       table last, against the first variant. E2E_BENCH=PATH skips the build and runs that binary
#       (device-check.sh's build/int8attn-bench after its GPU tests, say).
#
#   E2E_ROUNDS=2   OUT=./e2e-ab-out (one folder a config, e2e-{base,tree}-rROUND.json in each: only
#                  the reports, since a device call brings back few files; build and sweep logs stay
#                  in /tmp/e2e-ab-logs and their last lines are printed when one fails)
#   E2E_ARGS="--backend cuda"   more sweep options for both (e.g. "--backend cuda --kernels int8-fa,fp16-cudnn")
#   GIT_COMMIT=tree   the tree's commit in its reports (the copy on the device has no .git)
# Exit status: 0 measured, 1 a build or a sweep failed, 2 bad usage.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
marker=.e2e-ab-base
usage() {
  echo "usage: scripts/e2e-ab.sh prepare REV [DIR] | scripts/e2e-ab.sh run [DIR] CONFIG [CONFIG ...]" \
    "| scripts/e2e-ab.sh tuning CONFIG NAME=TUNING NAME=TUNING [...]" >&2
  exit 2
}

prepare() {
  local rev=${1:-} dir=${2:-build-run/e2e-base}
  [[ -n $rev ]] || usage
  if ! git rev-parse --verify -q "$rev^{commit}" > /dev/null; then
    echo "e2e-ab: $rev is not a commit of this repository" >&2
    exit 2
  fi
  if [[ -e $dir && ! -f $dir/$marker ]]; then
    echo "e2e-ab: $dir exists and is not a tree that prepare made; name another folder (nothing was changed)" >&2
    exit 2
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  git archive "$rev" | tar -x -C "$dir" || exit 1
  git rev-parse --short=12 "$rev" > "$dir/$marker"
  echo "e2e-ab: $dir holds $(cat "$dir/$marker")'s source tree"
  echo "next: the device call 'scripts/e2e-ab.sh run $dir CONFIG ...', carry [\".deps\", \"build-run\"]"
}

build() {  # VARIANT SOURCE_DIR COMMIT: /tmp/e2e-VARIANT/int8attn-bench
  DEPS_PREFIX=$prefix SOURCE_DIR=$2 GIT_COMMIT=$3 CUDA_ARCHS=90a STAGES=build BUILD_TARGET=int8attn-bench \
    BUILD_DIR=/tmp/e2e-$1 JOBS=$jobs OUT=$logs/build-$1 scripts/device-check.sh > /dev/null 2>&1
}

# require_built VARIANT: build()'s binary exists, else the last lines of its log and exit 1.
require_built() {
  [[ -x /tmp/e2e-$1/int8attn-bench ]] && return
  echo "e2e-ab: the $1 build failed; the last lines of its log:"
  tail -20 "$logs/build-$1/build.log"
  exit 1
}

run() {
  local dir=build-run/e2e-base
  if [[ $# -gt 0 && -d $1 ]]; then dir=$1; shift; fi
  [[ $# -gt 0 ]] || usage
  if [[ ! -f $dir/$marker ]]; then
    echo "e2e-ab: $dir is not a tree that 'scripts/e2e-ab.sh prepare REV $dir' made" >&2
    exit 2
  fi
  local c
  for c in "$@"; do
    [[ -f $c ]] || { echo "e2e-ab: $c: no such config" >&2; exit 2; }
  done
  out=${OUT:-e2e-ab-out}
  logs=/tmp/e2e-ab-logs
  mkdir -p "$out" "$logs"
  # shellcheck source=scripts/cudnn-env.sh
  source scripts/cudnn-env.sh
  prefix=$(.deps/unpack.sh) || exit 1  # once: the two builds must not unpack into it together
  jobs=$(($(nproc) / 2))
  [[ $jobs -ge 1 ]] || jobs=1
  local t0=$SECONDS v r status=0
  build base "$dir" "$(cat "$dir/$marker")" &
  build tree . "${GIT_COMMIT:-tree}" &
  wait
  for v in base tree; do require_built "$v"; done
  echo "e2e-ab: built base ($(cat "$dir/$marker")) and tree in $((SECONDS - t0)) s"
  for r in $(seq 1 "${E2E_ROUNDS:-2}"); do
    for c in "$@"; do
      sweep_round "$out/$(basename "$c" .json)" "$c" "$r" base:/tmp/e2e-base/int8attn-bench \
        tree:/tmp/e2e-tree/int8attn-bench || status=1
    done
  done
  for c in "$@"; do
    echo "== $c"
    python3 scripts/e2e_ab_table.py "$out/$(basename "$c" .json)" || status=1
  done
  echo "e2e-ab: total $((SECONDS - t0)) s"
  return $status
}

# sweep_round OUT_DIR CONFIG ROUND VARIANT...: one round, each VARIANT in turn, its report
# OUT_DIR/e2e-NAME-rROUND.json. A VARIANT is NAME:BINARY (the environment as it is) or
# NAME:BINARY:TUNING (INT8ATTN_FUSED_TUNING=TUNING, empty for the defaults). Status 1 if a sweep failed.
sweep_round() {
  local dir=$1 config=$2 r=$3 v name bin tuning status=0
  shift 3
  mkdir -p "$dir"
  for v in "$@"; do
    IFS=: read -r name bin tuning <<< "$v"
    local env=()
    [[ $v == *:*:* ]] && env=("INT8ATTN_FUSED_TUNING=$tuning")
    # shellcheck disable=SC2086  # E2E_ARGS holds several options
    if ! env "${env[@]}" "$bin" sweep ${E2E_ARGS:---backend cuda} -c "$config" \
      -o "$dir/e2e-$name-r$r.json" --quiet --format none > "$logs/sweep-$name.log" 2>&1; then
      echo "e2e-ab: $name's sweep of $config (round $r) failed:"
      tail -5 "$logs/sweep-$name.log"
      status=1
    fi
  done
  return $status
}

tuning() {
  local config=${1:-} v name names=" " variants=() status=0
  [[ -n $config ]] || usage
  shift
  [[ -f $config ]] || { echo "e2e-ab: $config: no such config" >&2; exit 2; }
  [[ $# -ge 2 ]] || { echo "e2e-ab: tuning needs two variants or more (NAME=TUNING; an empty TUNING for the defaults)" >&2; exit 2; }
  for v in "$@"; do
    name=${v%%=*}
    if [[ $v != *=* || ! $name =~ ^[A-Za-z0-9_.]+$ ]]; then
      echo "e2e-ab: $v: expected NAME=TUNING with a NAME of letters, digits, '_' and '.'" >&2
      exit 2
    fi
    [[ $names == *" $name "* ]] && { echo "e2e-ab: $name: two variants of that name" >&2; exit 2; }
    names+="$name "
  done
  local bench=${E2E_BENCH:-} t0=$SECONDS dir
  if [[ -n $bench && ( ! -x $bench || $bench == *:* ) ]]; then
    echo "e2e-ab: E2E_BENCH=$bench: expected an executable int8attn-bench (a path without ':')" >&2
    exit 2
  fi
  out=${OUT:-e2e-ab-out}
  dir=$out/$(basename "$config" .json)
  if compgen -G "$dir/e2e-*.json" > /dev/null; then
    echo "e2e-ab: $dir already holds reports (e2e-*.json), which would join this run's table or be" \
      "replaced: name another OUT or move them (nothing was changed)" >&2
    exit 2
  fi
  logs=/tmp/e2e-ab-logs
  mkdir -p "$out" "$logs"
  # shellcheck source=scripts/cudnn-env.sh
  source scripts/cudnn-env.sh  # cuDNN's sub-libraries load at run time, E2E_BENCH's too
  if [[ -z $bench ]]; then
    prefix=$(.deps/unpack.sh) || exit 1
    jobs=$(nproc)
    build tree . "${GIT_COMMIT:-tree}"
    require_built tree
    bench=/tmp/e2e-tree/int8attn-bench
    echo "e2e-ab: built the tree in $((SECONDS - t0)) s"
  fi
  for v in "$@"; do variants+=("${v%%=*}:$bench:${v#*=}"); done
  local r
  for r in $(seq 1 "${E2E_ROUNDS:-2}"); do
    sweep_round "$dir" "$config" "$r" "${variants[@]}" || status=1
  done
  echo "== $config"
  python3 scripts/e2e_ab_table.py "$dir" --base "${1%%=*}" --kernels all || status=1
  echo "e2e-ab: total $((SECONDS - t0)) s"
  return $status
}

case ${1:-} in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@"; exit $? ;;
  tuning) shift; tuning "$@"; exit $? ;;
  *) usage ;;
esac
