#!/usr/bin/env bash
# docs/ci.md's CI examples must run as written: every YAML block parses (when PyYAML is
# there), and the CPU gate's tool lines (the sweep and compare the GitHub and GitLab jobs
# run) are run here with the built tool, in a scratch folder that looks like a checkout.
# Usage: ci_docs_test.sh BENCH_EXE SOURCE_DIR
set -uo pipefail
bench=$1; src=$2
doc=$src/docs/ci.md
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The ```yaml blocks, one file each.
awk -v dir="$work" '/^```yaml$/ {n++; out=dir "/block" n ".yml"; next} /^```$/ {out=""} out {print > out}' "$doc"
blocks=$(ls "$work"/block*.yml 2>/dev/null | wc -l)
[[ $blocks -ge 2 ]] || fail "expected the GitHub Actions and GitLab CI examples, found $blocks yaml block(s)"
if python3 -c "import yaml" 2>/dev/null; then
  for f in "$work"/block*.yml; do
    python3 -c "import sys, yaml; yaml.safe_load(open(sys.argv[1]))" "$f" || fail "$(basename "$f") is not valid YAML"
  done
fi

# The CPU gate's lines: those that run the tool on the CPU baseline or config.
grep -h 'build/int8attn-bench' "$work"/block*.yml | grep -E 'ci-cpu' |
  sed -E 's/^[[:space:]]*(- )?//' | awk '!seen[$0]++' >"$work/lines.sh"
[[ $(grep -c 'sweep' "$work/lines.sh") -ge 1 && $(grep -c 'compare' "$work/lines.sh") -ge 1 ]] ||
  fail "no CPU gate sweep and compare lines found"
mkdir -p "$work/job/build"
ln -s "$src/configs" "$work/job/configs"
ln -s "$src/results" "$work/job/results"
ln -s "$bench" "$work/job/build/int8attn-bench"
while IFS= read -r line; do
  echo "+ $line"
  (cd "$work/job" && bash -c "$line") >"$work/out" 2>&1 || { fail "exit $? from: $line"; sed 's/^/    /' "$work/out" | tail -20; }
done <"$work/lines.sh"
for f in ci-cpu.json junit.xml compare.md; do
  [[ -s $work/job/$f ]] || fail "the CPU gate lines wrote no $f"
done
grep -q '^### ✅' "$work/job/compare.md" || fail "compare.md does not say the gate passed"

if ((failures)); then echo "$failures check(s) of docs/ci.md failed"; exit 1; fi
echo "docs/ci.md: the CPU gate lines ran as written"
