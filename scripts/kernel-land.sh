#!/usr/bin/env bash
# A kernel change lands only after the GPU tests passed on it, and it is kept only if the same
# run's A/B says it is faster. This does both in one device call (each call costs a machine
# start, and starts can be refused), from two halves:
#
#   scripts/kernel-land.sh prepare [DIR [REV]]
#       here, before the call: DIR (default build-run/land-base) gets REV's (default HEAD's)
#       version of every file of the A/B's build (kernels/, common/, tools/kernel_bench.cu: what
#       kernel_bench's tuning build takes from a stand-in) in which the working tree differs from
#       REV: the A/B's base (a kernel-ab.sh stand-in). A REV before the session's first landed
#       commit measures the session's kernels against where it started. DIR is replaced only if
#       an earlier prepare made it.
#   scripts/kernel-land.sh run [DIR] [MODE ...]
#       the device call (carry [".deps", "build-run"]): device-check.sh's build, smoke, gpu-tests
#       and sanitize stages on the tree, the A/B's two kernel_bench builds beside them, then
#       kernel-ab.sh -v base=DIR -v tree=. MODE ... (default: wsfq wswide, two rounds), then
#       compute-sanitizer memcheck, racecheck and synccheck on the tree's kernel_bench wssan
#       (every warp-specialized kernel on small shapes; the GPU tests' memcheck covers fewer). A short
#       summary comes last; the logs go to $OUT (eight files). The change lands only if the
#       checks and the three sanitizers pass; a sanitizer's first reports go into the summary
#       (land.txt), since a device call may bring back fewer files than it wrote. Exit 0: the
#       checks passed; 1: they failed; 3: a sanitizer was skipped for time ("NOT CHECKED").
#
#   LAND_EXTRA="NAME=DIR ..."  more A/B variants beside base and tree (kernel-ab.sh stand-ins:
#                       research variants measured in the same call; they are not checked)
#   LAND_PREBUILT=1     run: prebuild's binaries (build-run/bins.tar.xz, build-run/land-kb.tar.xz)
#                       instead of building them on the GPU machine
#   LAND_BUDGET_S=560   seconds for the whole run: each stage's timeout is what is left, and the
#                       A/B or a sanitizer is skipped when too little is (on an H200 the checks
#                       take about 230 s, the A/B 100-150 s)
#   OUT=/tmp/out        where the logs go
#
#   scripts/kernel-land.sh prebuild [DIR] [MODE]
#       here, after prepare (and standin), where this machine has nvcc: builds what the call would
#       build, so that the call spends no minutes compiling: the product's tool and GPU test binary
#       (scripts/pack-device-bins.sh: build-run/bins.tar.xz; the tree must be committed) and the
#       A/B's kernel_bench variants, base=DIR, tree=. and LAND_EXTRA's, stripped and compressed
#       into build-run/land-kb.tar.xz (about 3 MB a variant). Then run the call with
#       LAND_PREBUILT=1 (same DIR and LAND_EXTRA). MODE: one of the call's modes (default wsfq),
#       which kernel-ab.sh takes to check its arguments.
#
#   scripts/kernel-land.sh standin DIR PATCH [PATCH ...]
#       here, before the call: DIR gets HEAD's version of every file of the A/B's build that the
#       patches touch, with the patches applied in order (research/patches/ holds patches against
#       main), and HEAD's version of every such file the working tree changed (a change being
#       landed would otherwise mix into it: s55 lost a variant's build so): a LAND_EXTRA variant, so that stacked patches are measured side by side in one call
#       (the tree the first of them, DIR the first two, ...). DIR lies inside the repository (e.g.
#       build-run/NAME) and is replaced only if an earlier standin made it. A patch's files under
#       tests/ are left out (kernel_bench does not build them); one that touches any other file
#       outside the A/B's build is refused.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
usage() {
  echo "usage: scripts/kernel-land.sh prepare [DIR [REV]] | scripts/kernel-land.sh run [DIR] [MODE ...]" \
    "| scripts/kernel-land.sh prebuild [DIR] [MODE] | scripts/kernel-land.sh standin DIR PATCH [PATCH ...]" >&2
  exit 2
}
marker=.kernel-land-base
standin_marker=.kernel-land-standin
# What kernel_bench's tuning build takes from a stand-in folder (tools/CMakeLists.txt: headers
# first on the include path, kernels/*.cu and tools/kernel_bench.cu instead of the tree's).
ab_paths=(kernels/ common/ tools/kernel_bench.cu)
in_ab_build() {
  local path
  for path in "${ab_paths[@]}"; do [[ $1 == "$path"* ]] && return 0; done
  return 1
}

# Refuses DIR (exit 2) where it exists and COMMAND did not make it (no MARKER file in it).
claim_dir() {
  local dir=$1 dir_marker=$2 command=$3
  if [[ -e $dir && ! -f $dir/$dir_marker ]]; then
    echo "kernel-land: $dir exists and is not a stand-in that $command made; name another folder (nothing was changed)" >&2
    exit 2
  fi
}

# REV's version of each FILE into DIR (a file new since REV is skipped); prints how many were copied.
copy_from_rev() {
  local dir=$1 rev=$2 f n=0
  shift 2
  for f in "$@"; do
    git cat-file -e "$rev:$f" 2> /dev/null || continue
    mkdir -p "$dir/$(dirname "$f")"
    git show "$rev:$f" > "$dir/$f"
    n=$((n + 1))
  done
  echo "$n"
}

standin() {
  local dir=$1 p f
  shift
  claim_dir "$dir" "$standin_marker" standin
  local rel  # DIR from the repository's root, as git apply takes it
  rel=$(realpath -m --relative-to="$(pwd -P)" "$dir")
  if [[ $rel == . || $rel == .. || $rel == ../* ]]; then
    echo "kernel-land: $dir is not inside the repository (git apply writes there only): name one such as build-run/NAME (nothing was changed)" >&2
    exit 2
  fi
  for p in "$@"; do
    [[ -f $p ]] || { echo "kernel-land: no patch at $p (nothing was changed)" >&2; exit 2; }
  done
  mapfile -t touched < <(for p in "$@"; do git apply --numstat "$p" | cut -f3; done | sort -u)
  local files=() left_out=()
  for f in "${touched[@]}"; do
    if in_ab_build "$f"; then
      files+=("$f")
    elif [[ $f == tests/* ]]; then
      left_out+=("$f")
    else
      echo "kernel-land: a patch touches $f, outside the A/B's build (${ab_paths[*]}): a stand-in replaces those files only (nothing was changed)" >&2
      exit 2
    fi
  done
  # The working tree's own changes to the A/B's files (a change being landed) must not mix into
  # the stand-in, which measures HEAD with the patches: it holds HEAD's version of those too.
  local tree_changed=() from_head=()
  mapfile -t tree_changed < <(git diff --name-only HEAD -- "${ab_paths[@]}")
  for f in "${tree_changed[@]}"; do
    [[ " ${files[*]} " == *" $f "* ]] || from_head+=("$f")
  done
  rm -rf "$dir"
  mkdir -p "$dir"
  copy_from_rev "$dir" HEAD "${files[@]}" "${from_head[@]}" > /dev/null  # a file new in a patch: git apply makes it
  local excludes=()
  for f in "${left_out[@]}"; do excludes+=(--exclude="$rel/$f"); done  # matched after --directory
  for p in "$@"; do
    if ! git apply --directory="$rel" "${excludes[@]}" "$p"; then
      echo "kernel-land: $p does not apply to HEAD's files (after the patches before it); $dir removed" >&2
      rm -rf "$dir"
      exit 2
    fi
  done
  printf '%s\n' "$@" > "$dir/$standin_marker"
  echo "kernel-land: $dir holds HEAD's ${files[*]} with $# patch(es) applied"
  [[ ${#from_head[@]} -gt 0 ]] && echo "kernel-land: and HEAD's ${from_head[*]} (changed in the working tree, kept out of the stand-in)"
  [[ ${#left_out[@]} -gt 0 ]] && echo "kernel-land: left out (not in kernel_bench's build): ${left_out[*]}"
  echo "next: LAND_EXTRA=\"name=$dir\" on the device call's 'scripts/kernel-land.sh run'"
}

prepare() {
  local dir=${1:-build-run/land-base} rev=${2:-HEAD} n
  claim_dir "$dir" "$marker" prepare
  if ! git rev-parse -q --verify "$rev^{commit}" > /dev/null; then
    echo "kernel-land: $rev is not a revision of this repository (nothing was changed)" >&2
    exit 2
  fi
  mapfile -t changed < <(git diff --name-only "$rev" -- "${ab_paths[@]}")
  if [[ ${#changed[@]} -eq 0 ]]; then
    echo "kernel-land: no file of the A/B's build (${ab_paths[*]}) differs from $rev: nothing to land" >&2
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$rev $(git rev-parse --short=12 "$rev")" > "$dir/$marker"
  n=$(copy_from_rev "$dir" "$rev" "${changed[@]}")  # a file new since REV: the base never includes it
  echo "kernel-land: $dir holds $rev's version of $n changed file(s): ${changed[*]}"
  echo "next: the device call 'scripts/kernel-land.sh run $dir', carry [\".deps\", \"build-run\"]"
}

# Stops (exit 2) unless DIR is a base stand-in that prepare made; WHEN ends the message.
need_base() {
  if [[ ! -f $1/$marker ]]; then
    echo "kernel-land: no stand-in at $1: run 'scripts/kernel-land.sh prepare $1' $2" >&2
    exit 2
  fi
}

# The A/B's variants as kernel-ab.sh -v arguments: base=DIR, tree=. and LAND_EXTRA's.
ab_variants() {
  local v
  printf '%s\n' -v "base=$1" -v tree=.
  for v in ${LAND_EXTRA:-}; do printf '%s\n' -v "$v"; done
}

prebuilt_bins=build-run/bins.tar.xz
prebuilt_kb=build-run/land-kb.tar.xz
prebuild() {
  local dir=${1:-build-run/land-base} mode=${2:-wsfq} kb=/tmp/kernel-land-prebuild variants=()
  need_base "$dir" first
  scripts/pack-device-bins.sh || exit $?
  mapfile -t variants < <(ab_variants "$dir")
  rm -rf "$kb"
  if ! KB_BUILD_ONLY=1 OUT=$kb scripts/kernel-ab.sh "${variants[@]}" "$mode" > "$kb.log" 2>&1; then
    tail -25 "$kb.log"
    echo "kernel-land: a variant did not build (log: $kb.log); $prebuilt_kb not written" >&2
    exit 1
  fi
  strip "$kb"/kb-*
  (cd "$kb" && tar -cJf - kb-*) > "$prebuilt_kb.tmp" && mv "$prebuilt_kb.tmp" "$prebuilt_kb" || exit 1
  echo "kernel-land: $prebuilt_kb ($(du -h "$prebuilt_kb" | cut -f1)): $(cd "$kb" && echo kb-*)"
  echo "next: the device call 'LAND_PREBUILT=1 scripts/kernel-land.sh run $dir ...', carry [\".deps\", \"build-run\"]"
}

run() {
  local dir=${1:-build-run/land-base}
  [[ $# -gt 0 ]] && shift
  local modes=("$@")
  [[ ${#modes[@]} -eq 0 ]] && modes=(wsfq wswide)
  need_base "$dir" "before the device call"
  export PATH=/usr/local/cuda/bin:$PATH
  local out=${OUT:-/tmp/out} budget=${LAND_BUDGET_S:-560} t0=$SECONDS ab=/tmp/kernel-land-ab
  mkdir -p "$out"
  local summary=$out/land.txt
  : > "$summary"
  left() { echo $((budget - (SECONDS - t0))); }
  local variants=() prebuilt=() bins=()
  mapfile -t variants < <(ab_variants "$dir")
  if [[ ${LAND_PREBUILT:-0} == 1 ]]; then  # prebuild's binaries: no compiler work here
    if [[ ! -f $prebuilt_bins || ! -f $prebuilt_kb ]]; then
      echo "kernel-land: LAND_PREBUILT=1 needs $prebuilt_bins and $prebuilt_kb ('scripts/kernel-land.sh prebuild')" >&2
      exit 2
    fi
    rm -rf "$ab" && mkdir -p "$ab" && tar -xJf "$prebuilt_kb" -C "$ab" || exit 2
    echo "A/B: prebuilt $(cd "$ab" && echo kb-*)" >> "$summary"
    prebuilt=(KB_RUN_ONLY=1)
    bins=(BINS="$prebuilt_bins")
  else
    (KB_BUILD_ONLY=1 OUT=$ab nice -n 19 timeout 300 scripts/kernel-ab.sh "${variants[@]}" "${modes[0]}" \
      > "$out/ab-build.txt" 2>&1; echo "A/B builds: exit $? at $((SECONDS - t0)) s" >> "$summary") &
  fi
  env "${bins[@]}" CUDA_ARCHS=90a STAGES="build smoke gpu-tests sanitize" BUILD_DIR=/tmp/kernel-land-build \
    OUT=/tmp/kernel-land-dc timeout $(($(left) - 30)) scripts/device-check.sh > "$out/device-check.txt" 2>&1
  local checks=$?
  echo "device-check (build, smoke, GPU tests, memcheck): exit $checks at $((SECONDS - t0)) s" >> "$summary"
  # gtest's failure lines (not test names such as *ExpectedError*)
  grep -E "Failure$|Which is:|\[  FAILED|Expected( equality|:)|Actual:" /tmp/kernel-land-dc/gpu-tests.log 2> /dev/null | head -40 \
    > "$out/gpu-fail.txt"
  wait
  if [[ $(left) -gt 90 ]]; then
    env "${prebuilt[@]}" KB_REPEATS=2 OUT=$ab timeout $(($(left) - 60)) scripts/kernel-ab.sh "${variants[@]}" "${modes[@]}" \
      > "$out/ab.txt" 2>&1
    echo "A/B ${modes[*]}: exit $? at $((SECONDS - t0)) s" >> "$summary"
  else
    echo "A/B skipped: $(left) s left of LAND_BUDGET_S" >> "$summary"
  fi
  local tool sanitized=0 unchecked=() rc
  for tool in memcheck racecheck synccheck; do
    if [[ ! -x $ab/kb-tree || $(left) -lt 30 ]]; then
      echo "$tool skipped (no kernel_bench build, or $(left) s left)" >> "$summary"
      unchecked+=("$tool")
      continue
    fi
    timeout $(($(left) - 10)) compute-sanitizer --tool $tool --error-exitcode 9 "$ab/kb-tree" wssan > "$out/$tool.log" 2>&1
    rc=$?
    echo "$tool: exit $rc $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/$tool.log" | tail -1)" >> "$summary"
    if [[ $rc -ne 0 ]]; then
      sanitized=1
      # The first reports in the summary itself: a call brings back only a few files.
      grep -E "Race reported|Error|Barrier error|Invalid|   at |by thread|and .* access at" "$out/$tool.log" \
        | head -24 | sed "s/^/  $tool| /" >> "$summary"
    fi
  done
  grep -E "^\[|tests passed|tests failed|ERROR SUMMARY" "$out/device-check.txt" | tail -8
  head -20 "$out/gpu-fail.txt"
  grep "base: " "$out/ab.txt" 2> /dev/null
  grep -E "bad [1-9]" "$out/ab.txt" 2> /dev/null | head -5
  cat "$summary"
  if [[ $checks -ne 0 ]]; then
    echo "LAND: NO, the GPU checks failed"
    return 1
  elif [[ $sanitized -ne 0 ]]; then
    echo "LAND: NO, a sanitizer (memcheck, racecheck or synccheck) reported errors (their first lines are in the summary above)"
    return 1
  elif [[ ${#unchecked[@]} -gt 0 ]]; then
    # A skipped sanitizer proves nothing: the change waits for a call that runs it.
    echo "LAND: NOT CHECKED, ${unchecked[*]} did not run (raise LAND_BUDGET_S or run it in another call)"
    return 3
  fi
  echo "LAND: the GPU checks passed; the A/B above decides"
}

case "${1:-}" in
  prepare) shift; [[ $# -le 2 ]] || usage; prepare "$@" ;;
  run) shift; run "$@" ;;
  standin) shift; [[ $# -ge 2 ]] || usage; standin "$@" ;;
  prebuild) shift; [[ $# -le 2 ]] || usage; prebuild "$@" ;;
  *) usage ;;
esac
