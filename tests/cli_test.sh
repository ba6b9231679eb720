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
expect 2 "resume with other kernels" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/slow.json.out" -k int8-fa --no-progress --resume --format none
contains "kernels: " "resume with other kernels"
expect 0 "resume" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/slow.json.out" --no-progress --resume --format none
grep -q '"complete": *true' "$work/slow.json.out" || fail "resumed report not complete"
[[ $(grep -o '"id": *"b1-h8' "$work/slow.json.out" | wc -l) == 8 ]] || fail "resumed report does not hold all 8 cases"

# Issue 11: hostile inputs end in a clear message, the documented exit code, nothing lost.
mode() { stat -c %F "$1"; }
# Device nodes of our own when we may make them (root): a regression then replaces these,
# not the machine's /dev/null. Otherwise the real ones, which a non-root run cannot replace.
null=/dev/null; full=/dev/full
if mknod "$work/null" c 1 3 2>/dev/null && mknod "$work/full" c 1 7 2>/dev/null; then null=$work/null; full=$work/full; fi
expect 2 "-o ''" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o '' --no-progress; contains "empty string" "-o ''"
expect 2 "-o a directory" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work" --no-progress; contains "a directory" "-o dir"
cp "$work/tiny.json" "$work/keep.json"
expect 2 "-o the config itself" -- "$bench" sweep --backend cpu -c "$work/keep.json" -o "$work/./keep.json" --no-progress
contains "same file as the config" "-o config"; cmp -s "$work/tiny.json" "$work/keep.json" || fail "the config was overwritten"
cp "$work/tiny-report.json" "$work/keep-report.json"
expect 2 "report -o its input" -- "$bench" report "$work/keep-report.json" -f html -o "$work/keep-report.json"
cmp -s "$work/tiny-report.json" "$work/keep-report.json" || fail "report -o overwrote its input"
expect 0 "sweep -o /dev/null" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$null" --no-progress --format none
[[ $(mode "$null") == "character special file" ]] || fail "-o /dev/null replaced the device"
[[ ! -e "$null.ckpt.jsonl" ]] || fail "a checkpoint was written beside /dev/null"
expect 2 "sweep -o /dev/full" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$full" --no-progress --format none
contains "No space left on device" "-o /dev/full"; [[ $(mode "$full") == "character special file" ]] || fail "-o /dev/full replaced the device"
expect 0 "compare --junit /dev/null" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --junit "$null"
[[ $(mode "$null") == "character special file" ]] || fail "--junit /dev/null replaced the device"
ln -s /proc/self/fd/1 "$work/stdout"  # like /dev/stdout, without risking the machine's link
"$bench" report "$work/tiny-report.json" -o "$work/stdout" 2>/dev/null | grep -q "b1-h2-kv2" || fail "report -o /dev/stdout into a pipe"
[[ -L "$work/stdout" ]] || fail "report -o /dev/stdout replaced the link"
expect 2 "compare --junit unwritable" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --junit "$work/no/such/j.xml"
if grep -q PASS "$work/out"; then fail "compare printed a verdict before failing on --junit"; fi
expect 2 "compare --junit /dev/full" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --junit "$full"
python3 -c "print('[' * 100000)" >"$work/deep.json"
expect 2 "deeply nested config" -- "$bench" validate "$work/deep.json"; contains "nested deeper than" "deep config"
expect 2 "deeply nested report" -- "$bench" report "$work/deep.json" --format html; contains "nested deeper than" "deep report"
expect 2 "deeply nested compare" -- "$bench" compare "$work/tiny-report.json" "$work/deep.json"
expect 2 "a directory as config" -- "$bench" validate "$work"; contains "a directory" "directory as config"
expect 2 "compare with /dev/zero" -- timeout 60 "$bench" compare "$work/tiny-report.json" /dev/zero; contains "more than" "/dev/zero"
touch "$work/r.json.tmp.999999999"
expect 0 "sweep cleans stale temp files" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/r.json" --no-progress --format none
[[ ! -e "$work/r.json.tmp.999999999" ]] || fail "a stale temp file of a dead process survived"

# --inputs: bad files are bad input (exit 2, nothing written, one message naming the file).
cat >"$work/one.json" <<'JSON'
{"axes": {"batch": [1], "heads": [2], "seq_len": [33], "head_dim": [64], "input": [{"seed": 0}, {"seed": 1}]}}
JSON
"$bench" sweep --backend cpu -c "$work/one.json" -o "$work/dumped.json" --dump "$work/dump" -q --format none
good=$(dirname "$(ls "$work"/dump/*/q.npy | head -1)")
variant() { rm -rf "$work/in"; mkdir "$work/in"; cp "$good"/{q,k,v}.npy "$work/in/"; }
bad_inputs() {  # DESCRIPTION FRAGMENT: the sweep must refuse $work/in
  rm -f "$work/in-report.json"
  expect 2 "--inputs $1" -- "$bench" sweep --backend cpu -c "$work/one.json" --inputs "$work/in" -o "$work/in-report.json" --no-progress
  contains "$2" "--inputs $1"; [[ ! -e "$work/in-report.json" ]] || fail "--inputs $1: a report was written"
  [[ $(grep -c '^error' "$work/out") == 1 ]] || fail "--inputs $1: not exactly one error message"
}
variant; rm "$work/in/k.npy"; bad_inputs "missing k.npy" "k.npy"
variant; sed -i 's/<f2/<f8/' "$work/in/q.npy"; bad_inputs "<f8" "'<f8' is not supported"
variant; sed -i 's/<f2/>f2/' "$work/in/q.npy"; bad_inputs ">f2" "'>f2' is not supported"
variant; truncate -s -10 "$work/in/v.npy"; bad_inputs "truncated" "truncated data"
variant; sed -i 's/(1, 2, 33, 64)/(1, 2, 33, 32)/' "$work/in/q.npy"; bad_inputs "wrong shape" "does not match the case"
variant; rm "$work/in/q.npy"; mkdir "$work/in/q.npy"; bad_inputs "folder q.npy" "not a file"
variant; rm "$work/in/q.npy"; mkfifo "$work/in/q.npy"; bad_inputs "FIFO q.npy" "not a regular file"
variant; printf 'not an npy file' >"$work/in/q.npy"; bad_inputs "bad magic" "bad magic"
rm -rf "$work/in"; bad_inputs "missing folder" "expected a folder"
variant
expect 0 "--inputs good, two seeds" -- "$bench" sweep --backend cpu -c "$work/one.json" --inputs "$work/in" -o "$work/in-report.json" --no-progress --format none
contains "seeds do not apply" "--inputs with two seeds"
[[ $(grep -o '"id": *"b1-h2' "$work/in-report.json" | wc -l) == 1 ]] || fail "--inputs with two seeds: duplicate case ids"
printf '{"axes": {"batch": [1], "heads": [2], "seq_len": [33], "head_dim": [64], "input": [{"npy_dir": "nowhere"}]}}' >"$work/npycfg.json"
expect 2 "validate checks npy_dir" -- "$bench" validate "$work/npycfg.json"; contains "nowhere" "validate npy_dir"

if ((failures)); then echo "$failures CLI check(s) failed"; exit 1; fi
echo "all CLI checks passed"
