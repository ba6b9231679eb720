#!/usr/bin/env bash
# End-to-end checks of the command line as a user meets it: help, version, exit codes,
# error messages that name file and field, nothing written on bad input.
# Usage: cli_test.sh BENCH_EXE SOURCE_DIR
set -uo pipefail
bench=$1; src=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect CODE DESCRIPTION -- command...   (stdout+stderr captured in $work/out)
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$work/out" 2>&1; local got=$?
  [[ $got == "$want" ]] || { fail "$what: exit $got, expected $want"; sed 's/^/    /' "$work/out" | head -20; }
}
contains() { grep -q -- "$1" "$work/out" || { fail "$2: output lacks '$1'"; sed 's/^/    /' "$work/out" | head -20; }; }

expect 0 "--help" -- "$bench" --help;               contains "sweep" "--help"; contains "compare" "--help"
expect 0 "sweep --help" -- "$bench" sweep --help;   contains "--backend" "sweep --help"; contains "--resume" "sweep --help"
expect 0 "--version" -- "$bench" --version;         contains "commit" "--version"
expect 2 "no subcommand" -- "$bench"
expect 2 "unknown option" -- "$bench" sweep --no-such-flag
expect 0 "list-kernels" -- "$bench" list-kernels;   contains "int8-fa" "list-kernels"; contains "head_dim" "list-kernels"
expect 0 "devices without a GPU" -- "$bench" devices
expect 0 "validate ci-cpu" -- "$bench" validate "$src/configs/ci-cpu.json"; contains "cases" "validate"

# Bad configs: exit 2, message names the file and the JSON path, no report written.
printf '{"axes": {"batch": [1], "heads": [4], "seq_len": [16, -3], "head_dim": [64]}}' >"$work/neg.json"
expect 2 "negative seq_len" -- "$bench" sweep --backend cpu -c "$work/neg.json" -o "$work/r.json"
contains "neg.json" "negative seq_len"; contains "axes.seq_len\[1\]" "negative seq_len"
[[ ! -e "$work/r.json" ]] || fail "a report was written for a bad config"
printf '{"axes": {"batch": [1]}, "colour": 1' >"$work/trunc.json"
expect 2 "truncated config" -- "$bench" validate "$work/trunc.json"; contains "trunc.json" "truncated config"
expect 2 "missing config" -- "$bench" validate "$work/nope.json"; contains "nope.json" "missing config"

# A small CPU sweep: exit 0, a report, a table; then report views and compare with itself.
cat >"$work/tiny.json" <<'JSON'
{"axes": {"batch": [1], "heads": [2], "seq_len": [33], "head_dim": [64], "causal": [false, true]}}
JSON
expect 0 "tiny cpu sweep" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/tiny-report.json" --no-progress
contains "int8-fa" "tiny cpu sweep table"
[[ -s "$work/tiny-report.json" ]] || fail "sweep wrote no report"
[[ ! -e "$work/tiny-report.json.ckpt.jsonl" ]] || fail "checkpoint left behind after a complete sweep"
for f in table markdown csv html; do
  expect 0 "report --format $f" -- "$bench" report "$work/tiny-report.json" --format "$f"
done
expect 0 "compare with itself" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json"
head -c 200 "$work/tiny-report.json" >"$work/cut.json"
expect 2 "report on a truncated file" -- "$bench" report "$work/cut.json"; contains "cut.json" "truncated report"
expect 2 "compare with a truncated file" -- "$bench" compare "$work/tiny-report.json" "$work/cut.json"
expect 2 "--backend cuda without a GPU" -- "$bench" sweep --backend cuda -c "$work/tiny.json" -o "$work/x.json"
expect 2 "--resume without a checkpoint" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/y.json" --resume

# A GPU-sized config on the CPU: everything skipped with the reason, and a hint what to run.
expect 0 "GPU config on the CPU backend" -- "$bench" sweep --backend cpu -c "$src/configs/default.json" -o "$work/gpu-on-cpu.json" --format table
contains "cpu.max_case_gflop" "GPU config on the CPU backend"; contains "configs/ci-cpu.json" "GPU config on the CPU backend"

# Ctrl-C: the finished cases are written, marked incomplete, exit 130; --resume completes.
cat >"$work/slow.json" <<'JSON'
{"axes": {"batch": [1], "heads": [8], "seq_len": [512, 513, 514, 515, 516, 517, 518, 519], "head_dim": [128]},
 "cpu": {"threads": 1}}
JSON
"$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/slow.json.out" --no-progress --format none >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [[ -s "$work/slow.json.out.ckpt.jsonl" ]] && [[ $(wc -l <"$work/slow.json.out.ckpt.jsonl") -ge 2 ]] && break
  sleep 0.1
done
kill -INT $pid; wait $pid; code=$?
[[ $code == 130 ]] || fail "interrupted sweep exit $code, expected 130"
grep -q '"complete": *false' "$work/slow.json.out" || fail "interrupted report not marked incomplete"
expect 0 "resume" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/slow.json.out" --no-progress --resume --format none
grep -q '"complete": *true' "$work/slow.json.out" || fail "resumed report not complete"
[[ $(grep -o '"id": *"b1-h8' "$work/slow.json.out" | wc -l) == 8 ]] || fail "resumed report does not hold all 8 cases"

if ((failures)); then echo "$failures CLI check(s) failed"; exit 1; fi
echo "all CLI checks passed"
