#!/usr/bin/env bash
# src/git_commit.cmake (the build-time commit of a report): the checkout's HEAD, "-dirty" for
# uncommitted tracked changes (not for untracked files), a given -DINT8ATTN_GIT_COMMIT over
# either (the GPU machine's copy is a checkout of another commit), "unknown" for a tree that is
# not its own checkout, and the header rewritten only when its text changes. Usage: provenance_test.sh <cmake> <source dir>; exit 77 without git.
set -euo pipefail
cmake=$1
script=$2/src/git_commit.cmake
command -v git > /dev/null || { echo "git not found"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
commit_of() {  # <source dir> <given commit> -> the generated INT8ATTN_GIT_COMMIT
  "$cmake" -DSOURCE_DIR="$1" -DOUTPUT="$work/out.h" -DGIVEN="$2" -P "$script"
  sed -n 's/^#define INT8ATTN_GIT_COMMIT "\(.*\)"$/\1/p' "$work/out.h"
}
expect() {  # <what> <want> <got>
  if [[ $2 == "$3" ]]; then echo "ok: $1 ($3)"; else echo "FAIL: $1: want '$2', got '$3'"; fail=1; fi
}

mkdir "$work/plain"
expect "no checkout, commit given" abc123 "$(commit_of "$work/plain" abc123)"
expect "no checkout, none given" unknown "$(commit_of "$work/plain" "")"

repo=$work/repo
git init -q "$repo"
echo one > "$repo/tracked.txt"
git -C "$repo" add tracked.txt
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -m one
head=$(git -C "$repo" rev-parse --short=12 HEAD)
expect "clean checkout" "$head" "$(commit_of "$repo" "")"
before=$(stat -c %y "$work/out.h")
sleep 1
commit_of "$repo" "" > /dev/null
expect "unchanged header is not rewritten" "$before" "$(stat -c %y "$work/out.h")"
echo untracked > "$repo/new.txt"
expect "untracked file: still clean" "$head" "$(commit_of "$repo" "")"
echo two > "$repo/tracked.txt"
expect "edited tracked file" "$head-dirty" "$(commit_of "$repo" "")"
expect "a given commit wins over the checkout's" given123 "$(commit_of "$repo" given123)"
git -C "$repo" add tracked.txt
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -m two
expect "after committing" "$(git -C "$repo" rev-parse --short=12 HEAD)" "$(commit_of "$repo" "")"
mkdir "$repo/copy"
expect "a copy inside another checkout uses the given commit" fromflag "$(commit_of "$repo/copy" fromflag)"
exit $fail
