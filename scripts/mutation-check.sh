#!/usr/bin/env bash
# Do the CPU tests catch a wrong kernel? Applies each mutation of a list (default
# scripts/mutations.txt) to a copy of the working tree, one at a time, rebuilds the CPU tests
# and the tool there, runs the CPU tests (and the CPU gate), and prints which were caught.
# Exit 0 when every mutation made a CPU test fail; 1 when one survived, did not apply or did
# not build. See docs/testing.md.
#
#   scripts/mutation-check.sh                     # every mutation, tests + gate
#   scripts/mutation-check.sh --only l-from-exact-p --only causal-mask-top-left
#   scripts/mutation-check.sh --list my-mutations.txt --no-gate --all-failures
#
# The copy and its build live in build-mutation/ (kept between runs, so only what a mutation
# touches is rebuilt). JOBS sets the build parallelism (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
list=$root/scripts/mutations.txt
work=$root/build-mutation
run_gate=1
fail_fast=--gtest_fail_fast
only=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --list) list=$(realpath "$2"); shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --work) work=$(realpath -m "$2"); shift 2 ;;
    --no-gate) run_gate=0; shift ;;
    --all-failures) fail_fast=; shift ;;  # run every test, list every failing one
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "mutation-check: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
tree=$work/tree
build=$work/build
log=$work/logs
mkdir -p "$tree" "$build" "$log"

# Mirror the working tree (tracked and untracked-but-not-ignored files) into $tree, copying
# only files whose bytes differ, with a fresh mtime, so ninja rebuilds exactly those.
sync_tree() {
  local wanted=$work/files.txt f
  (cd "$root" && git ls-files -c -o --exclude-standard | while IFS= read -r f; do [[ -f $f ]] && echo "$f"; done) \
    > "$wanted"
  while IFS= read -r f; do
    if ! cmp -s "$root/$f" "$tree/$f"; then
      mkdir -p "$(dirname "$tree/$f")"
      cp "$root/$f" "$tree/$f"
    fi
  done < "$wanted"
  (cd "$tree" && find . -type f | sed 's|^\./||' | sort) | comm -23 - <(sort "$wanted") |
    while IFS= read -r f; do rm -f "$tree/$f"; done
}

build_cpu() {
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$tree" -B "$build" -G Ninja -DINT8ATTN_CUDA=OFF -DINT8ATTN_GIT_COMMIT=mutation > "$log/cmake.log" 2>&1
  fi
  cmake --build "$build" -j"${JOBS:-2}" --target int8attn_tests int8attn-bench > "$1" 2>&1
}

# The failing tests: their count and the first three names (empty when all pass).
run_tests() {
  local out=$1 names
  (cd "$build/tests" && ./int8attn_tests --gtest_brief=1 $fail_fast > "$out" 2>&1) || true
  names=$(grep -o '^\[  FAILED  \] [A-Za-z0-9_/.]*' "$out" | sed 's/^\[  FAILED  \] //' | sort -u || true)
  [[ -z $names ]] && return 0
  echo "$(echo "$names" | wc -l) failed: $(echo "$names" | head -3 | paste -sd, -)"
}

run_gate_check() {
  (cd "$tree" && BENCH=$build/int8attn-bench BUILD_DIR=$build scripts/ci-gate.sh > "$1" 2>&1) && echo passes || echo caught
}

sync_tree
echo "mutation-check: building the unmutated copy in $work"
build_cpu "$log/build-original.log" || { echo "the unmutated tree does not build: $log/build-original.log" >&2; exit 1; }
baseline_failures=$(run_tests "$log/tests-original.log")
if [[ -n $baseline_failures ]]; then
  echo "the unmutated tree already fails CPU tests ($baseline_failures); fix that first" >&2
  exit 1
fi

status=0
printf '%-28s %-10s %-6s %s\n' mutation tests gate "failing tests"
while IFS='|' read -r name file code; do
  name=$(echo "$name" | sed 's/^ *//; s/ *$//')  # not xargs: a quote in a comment line stops it
  [[ -z $name || $name == \#* ]] && continue
  file=$(echo "$file" | sed 's/^ *//; s/ *$//')
  code=$(echo "$code" | sed 's/^ *//; s/ *$//')
  if [[ ${#only[@]} -gt 0 && ! " ${only[*]} " == *" $name "* ]]; then continue; fi
  target=$tree/$file
  cp "$target" "$work/original"
  perl -0pi -e "$code" "$target"
  if cmp -s "$target" "$work/original"; then
    printf '%-28s %s\n' "$name" "NOT APPLIED: '$code' matches nothing in $file"
    status=1
    continue
  fi
  if ! build_cpu "$log/build-$name.log"; then
    printf '%-28s %s\n' "$name" "DOES NOT BUILD ($log/build-$name.log)"
    status=1
  else
    failures=$(run_tests "$log/tests-$name.log")
    gate=-
    [[ $run_gate == 1 ]] && gate=$(run_gate_check "$log/gate-$name.log")
    if [[ -n $failures ]]; then
      printf '%-28s %-10s %-6s %s\n' "$name" caught "$gate" "$failures"
    else
      printf '%-28s %-10s %-6s\n' "$name" SURVIVED "$gate"
      status=1
    fi
  fi
  cat "$work/original" > "$target"  # restore with a fresh mtime: the next build redoes it
done < "$list"
exit $status
