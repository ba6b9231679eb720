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
  echo "usage: scripts/e2e-ab.sh prepare REV [DIR] | scripts/e2e-ab.sh run [DIR] CONFIG [CONFIG ...]" >&2
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
  for v in base tree; do
    if [[ ! -x /tmp/e2e-$v/int8attn-bench ]]; then
      echo "e2e-ab: the $v build failed; the last lines of its log:"
      tail -20 "$logs/build-$v/build.log"
      exit 1
    fi
  done
  echo "e2e-ab: built base ($(cat "$dir/$marker")) and tree in $((SECONDS - t0)) s"
  for r in $(seq 1 "${E2E_ROUNDS:-2}"); do
    for c in "$@"; do
      mkdir -p "$out/$(basename "$c" .json)"
      for v in base tree; do
        # shellcheck disable=SC2086  # E2E_ARGS holds several options
        if ! /tmp/e2e-$v/int8attn-bench sweep ${E2E_ARGS:---backend cuda} -c "$c" \
          -o "$out/$(basename "$c" .json)/e2e-$v-r$r.json" --quiet --format none > "$logs/sweep-$v.log" 2>&1; then
          echo "e2e-ab: $v's sweep of $c (round $r) failed:"
          tail -5 "$logs/sweep-$v.log"
          status=1
        fi
      done
    done
  done
  for c in "$@"; do
    echo "== $c"
    python3 scripts/e2e_ab_table.py "$out/$(basename "$c" .json)" || status=1
  done
  echo "e2e-ab: total $((SECONDS - t0)) s"
  return $status
}

case ${1:-} in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@"; exit $? ;;
  *) usage ;;
esac
