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
# stop_slow_sweep SIGNAL OUTPUT: the slow sweep into OUTPUT, sent SIGNAL once two cases are in
# its checkpoint; its exit code in $code.
stop_slow_sweep() {
  "$bench" sweep --backend cpu -c "$work/slow.json" -o "$2" --no-progress --format none >"$work/out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    [[ -s "$2.ckpt.jsonl" ]] && [[ $(wc -l <"$2.ckpt.jsonl") -ge 2 ]] && break
    sleep 0.1
  done
  kill -"$1" $pid; wait $pid; code=$?
}
stop_slow_sweep INT "$work/slow.json.out"
[[ $code == 130 ]] || fail "interrupted sweep exit $code, expected 130"
grep -q '"complete": *false' "$work/slow.json.out" || fail "interrupted report not marked incomplete"
expect 2 "resume with other kernels" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/slow.json.out" -k int8-fa --no-progress --resume --format none
contains "kernels: " "resume with other kernels"
expect 0 "resume" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/slow.json.out" --no-progress --resume --format none
grep -q '"complete": *true' "$work/slow.json.out" || fail "resumed report not complete"
[[ $(grep -o '"id": *"b1-h8' "$work/slow.json.out" | wc -l) == 8 ]] || fail "resumed report does not hold all 8 cases"
# A reader of the progress that goes away (2>&1 | head) costs the progress lines, not the
# report: SIGPIPE killed the sweep at its next line (exit 141, no report).
"$bench" sweep --backend cpu -c "$work/slow.json" -a seq_len=512,513 -o "$work/piped.json" --format none 2>&1 |
  head -c 1 >/dev/null
code=${PIPESTATUS[0]}
[[ $code == 0 ]] || fail "sweep 2>&1 | head -c 1: exit $code, expected 0"
grep -q '"complete": *true' "$work/piped.json" || fail "sweep 2>&1 | head -c 1: no complete report"
# SIGTERM (timeout, a batch system's time limit, a cancelled CI job) as Ctrl-C: the finished
# cases written, marked incomplete, exit 130, and --resume completes the same report.
stop_slow_sweep TERM "$work/term.json"
[[ $code == 130 ]] || fail "sweep stopped by SIGTERM: exit $code, expected 130"
grep -q '"complete": *false' "$work/term.json" || fail "report of a SIGTERM'd sweep missing or not marked incomplete"
expect 0 "resume after SIGTERM" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/term.json" --no-progress --resume --format none
grep -q '"complete": *true' "$work/term.json" || fail "report resumed after SIGTERM not complete"
# A closed terminal (SIGHUP) as Ctrl-C: the finished cases written, exit 130. Not where this
# script runs with SIGHUP ignored (nohup): its sweeps inherit that, as they should.
if (( (16#$(awk '/^SigIgn/ {print $2}' /proc/$$/status) & 1) == 0 )); then
  stop_slow_sweep HUP "$work/hup.json"
  [[ $code == 130 ]] || fail "sweep stopped by SIGHUP: exit $code, expected 130"
  grep -q '"complete": *false' "$work/hup.json" || fail "report of a SIGHUP'd sweep missing or not marked incomplete"
fi
# The same command again without --resume would start over and throw the finished cases away:
# refused, the checkpoint as it was; --resume still completes it.
stop_slow_sweep INT "$work/again.json"
cp "$work/again.json.ckpt.jsonl" "$work/again.ckpt.before"
expect 2 "a stopped sweep run again without --resume" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/again.json" --no-progress --format none
contains "finished case" "a stopped sweep run again without --resume"; contains "--resume" "a stopped sweep run again without --resume"
cmp -s "$work/again.ckpt.before" "$work/again.json.ckpt.jsonl" || fail "a sweep run again without --resume changed the checkpoint"
expect 0 "resume after the refused restart" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/again.json" --no-progress --resume --format none

# An output replaces only what the tool wrote: an earlier report in any format, a compare
# summary. A config typed as -o, the user's notes, a sweep's checkpoint stay as they were.
cp "$work/tiny.json" "$work/typo-config.json"
expect 2 "-o a config" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/typo-config.json" --no-progress
contains "not one int8attn-bench wrote" "-o a config"
cmp -s "$work/tiny.json" "$work/typo-config.json" || fail "a config given as -o was replaced"
echo "int8attn-bench notes: what I measured" >"$work/notes.txt"
expect 2 "report -o the user's notes" -- "$bench" report "$work/tiny-report.json" -f csv -o "$work/notes.txt"
[[ $(cat "$work/notes.txt") == "int8attn-bench notes: what I measured" ]] || fail "report -o replaced the user's notes"
for format in json csv markdown html table; do
  for round in 1 2; do
    expect 0 "report -f $format -o, round $round" -- "$bench" report "$work/tiny-report.json" -f $format -o "$work/again.$format"
  done
done
expect 0 "compare a report with itself" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json"
contains "the same file" "compare a report with itself"
for round in 1 2; do
  expect 0 "compare --junit --markdown-out, round $round" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" \
    --junit "$work/again.xml" --markdown-out "$work/again.md"
done
# compare's JSON and CSV summaries, saved from stdout, are its own outputs too: replaceable.
for format in json csv; do
  "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" -f $format >"$work/summary.$format" 2>/dev/null
  expect 0 "compare --junit over a compare -f $format summary" -- "$bench" compare "$work/tiny-report.json" \
    "$work/tiny-report.json" --junit "$work/summary.$format"
done
expect 0 "sweep -o an earlier report" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/again.json" --no-progress
: >"$work/empty.json"
expect 0 "sweep -o an empty file" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/empty.json" --no-progress
printf '{"schema": "int8attn-bench/checkpoint/v1"}\n{"id": "a finished case"}\n' >"$work/live.ckpt.jsonl"
cp "$work/live.ckpt.jsonl" "$work/live.before"
expect 2 "report -o a checkpoint" -- "$bench" report "$work/tiny-report.json" -o "$work/live.ckpt.jsonl"
contains "checkpoint" "report -o a checkpoint"
expect 2 "sweep -o a checkpoint" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/live.ckpt.jsonl" --no-progress
cmp -s "$work/live.before" "$work/live.ckpt.jsonl" || fail "an output replaced a checkpoint"
# A note that merely names the checkpoint schema is the user's file, not a checkpoint (the readers'
# test, the schema as a quoted JSON value): refused as foreign, and left as it was.
echo "about int8attn-bench/checkpoint/v1 files" >"$work/ckpt-notes.txt"
expect 2 "report -o notes naming the checkpoint schema" -- "$bench" report "$work/tiny-report.json" -o "$work/ckpt-notes.txt"
contains "not one int8attn-bench wrote" "report -o notes naming the checkpoint schema"
[[ $(cat "$work/ckpt-notes.txt") == "about int8attn-bench/checkpoint/v1 files" ]] || fail "report -o replaced the notes"

# A name that fits the file system but not with the atomic write's temporary suffix is refused
# before the sweep runs (before, every case ran and then the write failed); one byte less works.
long_name=$(printf 'n%.0s' $(seq 227)).json
expect 2 "-o of 232 bytes" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/$long_name" --no-progress
contains "too long" "-o of 232 bytes"
[[ ! -e "$work/$long_name.ckpt.jsonl" ]] || fail "a sweep with a too long -o started its checkpoint"
expect 0 "-o of 231 bytes" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/${long_name:1}" --no-progress

# What a file holds or a path is named reaches the terminal escaped, never as raw control bytes.
printf '\x1b]0;title\x07\x1b[2J\n' >"$work/esc.json.ckpt.jsonl"
expect 2 "resume a checkpoint of escape sequences" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/esc.json" --resume --no-progress
contains 'found \\x1b' "resume a checkpoint of escape sequences"
esc_config=$work/$'esc\e[31m.json'
cp "$work/tiny.json" "$esc_config"
expect 0 "a config named with an escape sequence" -- "$bench" sweep --backend cpu -c "$esc_config" -o "$work/r"$'\e'"[31m.json" --no-progress --format none
if grep -q $'\e' "$work/out"; then fail "a raw escape byte reached the terminal"; fi

# Issue 11: hostile inputs end in a clear message, the documented exit code, nothing lost.
mode() { stat -c %F "$1"; }
# Device nodes of our own when we may make them (root): a regression then replaces these,
# not the machine's /dev/null. Otherwise the real ones, which a non-root run cannot replace.
null=/dev/null; full=/dev/full
if mknod "$work/null" c 1 3 2>/dev/null && mknod "$work/full" c 1 7 2>/dev/null; then null=$work/null; full=$work/full; fi
expect 2 "-o ''" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o '' --no-progress; contains "empty string" "-o ''"
# A multiple's range says the multiple, whatever side it misses on.
expect 2 "head_dim 0" -- "$bench" sweep -a heads=2 -a head_dim=0 -a seq_len=16 --dry-run
contains "expected a multiple of 8 in \[8, 1024\], found integer 0" "head_dim 0"
# -k may not drop the kernel the config measures every speedup against.
printf '{"baseline": "fp16-fa", "kernels": ["int8-fa", "fp16-fa"], "axes": {"heads": [2], "head_dim": [64], "seq_len": [16]}}' \
  >"$work/baseline.json"
expect 2 "-k without the baseline" -- "$bench" sweep --backend cpu -c "$work/baseline.json" -k int8-fa --dry-run
contains 'baseline" fp16-fa would not run' "-k without the baseline"
expect 0 "-k with the baseline" -- "$bench" sweep --backend cpu -c "$work/baseline.json" -k int8-fa,fp16-fa --dry-run
# An empty value is never "not given" (a script's unset variable would run every case, or
# generated inputs instead of the user's files).
for option in -c --inputs --shard --filter --dump; do
  expect 2 "$option ''" -- "$bench" sweep --backend cpu -c "$work/tiny.json" "$option" '' --dry-run
  contains "found an empty string" "$option ''"
done
expect 2 "-o a directory" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work" --no-progress; contains "a directory" "-o dir"
cp "$work/tiny.json" "$work/keep.json"
expect 2 "-o the config itself" -- "$bench" sweep --backend cpu -c "$work/keep.json" -o "$work/./keep.json" --no-progress
contains "same file as the config" "-o config"; cmp -s "$work/tiny.json" "$work/keep.json" || fail "the config was overwritten"
cp "$work/tiny-report.json" "$work/keep-report.json"
expect 2 "report -o its input" -- "$bench" report "$work/keep-report.json" -f html -o "$work/keep-report.json"
cmp -s "$work/tiny-report.json" "$work/keep-report.json" || fail "report -o overwrote its input"
# An input behind a descriptor (3<>file, stdout >>file) is still an input, and a descriptor
# opened to append (3>>log) is appended to, not reopened and written from its first byte.
"$bench" report "$work/keep-report.json" -o /dev/fd/3 3<>"$work/keep-report.json" 2>/dev/null
[[ $? == 2 ]] || fail "report -o /dev/fd/3 on its input: not exit 2"
"$bench" compare "$work/tiny-report.json" "$work/keep-report.json" >>"$work/keep-report.json" 2>/dev/null
[[ $? == 2 ]] || fail "compare >> its candidate: not exit 2"
cmp -s "$work/tiny-report.json" "$work/keep-report.json" || fail "an output through a descriptor overwrote its input"
echo kept >"$work/log.txt"
"$bench" report "$work/tiny-report.json" -o /dev/fd/3 3>>"$work/log.txt" 2>/dev/null || fail "report -o /dev/fd/3 3>>log"
[[ $(head -1 "$work/log.txt") == kept && $(grep -c b1-h2-kv2 "$work/log.txt") -gt 0 ]] || fail "3>>log was not appended to"
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
touch "$work/r.json.int8attn-tmp.999999999"
expect 0 "sweep cleans stale temp files" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/r.json" --no-progress --format none
[[ ! -e "$work/r.json.int8attn-tmp.999999999" ]] || fail "a stale temp file of a dead process survived"

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
contains ": --inputs $work/in" "--inputs names the option, not the config's npy_dir"
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
contains "do not apply to input files" "--inputs with two seeds"
[[ $(grep -o '"id": *"b1-h2' "$work/in-report.json" | wc -l) == 1 ]] || fail "--inputs with two seeds: duplicate case ids"
printf '{"axes": {"batch": [1], "heads": [2], "seq_len": [33], "head_dim": [64], "input": [{"npy_dir": "nowhere"}]}}' >"$work/npycfg.json"
expect 2 "validate checks npy_dir" -- "$bench" validate "$work/npycfg.json"; contains "nowhere" "validate npy_dir"
expect 2 "sweep checks npy_dir" -- "$bench" sweep --backend cpu -c "$work/npycfg.json" -o "$work/npy-report.json" --no-progress
contains "npycfg.json: case b1-h2-kv2-q33-k33-d64-full-normal-npy: input npy_dir .*nowhere: expected a folder" "sweep npy_dir names its config and case"

# Issue 12: the habits of benchmark users.
# --filter: compare's glob; no match is exit 2 and nothing is written; the header counts the selection.
expect 2 "--filter matching nothing" -- "$bench" sweep --backend cpu -c "$src/configs/ci-cpu.json" --filter 'b9-*' -o "$work/f.json" --no-progress
contains "--filter 'b9-\*'" "--filter matching nothing"; [[ ! -e "$work/f.json" ]] || fail "--filter matching nothing wrote a report"
expect 0 "--filter glob" -- "$bench" sweep --backend cpu -c "$src/configs/ci-cpu.json" --filter 'b2-*-q257-k77-*' -o "$work/f.json" --no-progress --format none
contains ": 1 cases on the cpu backend" "--filter header"
[[ $(grep -o '"id": *"b2-' "$work/f.json" | wc -l) == 1 ]] || fail "--filter glob: not exactly one case in the report"
# -a: axes without a config file; errors name the option; measurement knobs.
expect 0 "-a without -c" -- "$bench" sweep --backend cpu -a seq_len=33,48 -a heads=2 -a head_dim=64 -a causal=true,false -o "$work/axes.json" --no-progress --format none
[[ $(grep -o '"id": *"b1-h2-kv2-q' "$work/axes.json" | wc -l) == 4 ]] || fail "-a: not the 4 cases of the axes"
expect 2 "-a unknown axis" -- "$bench" sweep --backend cpu -a seqlen=64 -a heads=2 -a head_dim=64 -o "$work/axes2.json"
contains 'unknown axis "seqlen"' "-a unknown axis"; [[ ! -e "$work/axes2.json" ]] || fail "-a unknown axis wrote a report"
expect 2 "-a bad value" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -a head_dim=60 -o "$work/axes2.json"
contains "-a head_dim=60: axes.head_dim\[0\]" "-a bad value"
expect 2 "--min-samples above max_samples" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --min-samples 5000 -o "$work/axes2.json"
contains "--min-samples 5000: measurement.min_samples" "--min-samples"
# Beyond int64_t: the message shows the number typed, not the INT64_MAX CLI11 would clamp it to.
expect 2 "--min-samples beyond int64" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --min-samples 99999999999999999999 -o "$work/axes2.json"
contains "found '99999999999999999999'" "--min-samples beyond int64"
# Integer options are decimal only: CLI11 read 0x10 as 16 and 010 as 8.
expect 2 "--min-samples 0x10" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --min-samples 0x10 -o "$work/axes2.json"
contains "--min-samples: expected an integer in \[1, 1000000\], written in decimal, found '0x10'" "--min-samples 0x10"
expect 2 "--device 0x0" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --device 0x0 -o "$work/axes2.json"
contains "--device: expected a CUDA device index, written in decimal, found '0x0'" "--device 0x0"
expect 2 "--device beyond int" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --device 99999999999 -o "$work/axes2.json"
contains "--device: expected a CUDA device index, found '99999999999'" "--device beyond int"
expect 2 "--max-seconds 0x10" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --max-seconds 0x10 -o "$work/axes2.json"
contains "--max-seconds: expected a finite decimal number > 0, found '0x10'" "--max-seconds 0x10"
[[ ! -e "$work/axes2.json" ]] || fail "an integer option not in decimal: a report was written"
expect 0 "--min-samples 010" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --min-samples 010 -o "$work/decimal.json" --no-progress --format none
grep -q '"min_samples": *10,' "$work/decimal.json" || fail "--min-samples 010 was not read as ten"
expect 0 "--max-noise" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --max-noise 0.02 --max-seconds 1 -o "$work/knobs.json" --no-progress --format none
grep -q '"target_noise": *0.02' "$work/knobs.json" || fail "--max-noise did not reach the report's settings"
expect 0 "--k-granularity per-thread" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --k-granularity per-thread -o "$work/kgran.json" --no-progress --format none
grep -q '"k_granularity": *"per-thread"' "$work/kgran.json" || fail "--k-granularity did not reach the report's settings"
grep -q '"k_per_thread": *true' "$work/kgran.json" || fail "--k-granularity per-thread: no INT8 result ran K per thread"
expect 2 "--k-granularity bogus" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --k-granularity bogus -o "$work/kgran2.json"
contains "--k-granularity bogus: quantization.k_granularity: expected one of" "--k-granularity bogus"
[[ ! -e "$work/kgran2.json" ]] || fail "--k-granularity bogus: a report was written"
# -o -: the JSON report on stdout, the table on stderr.
"$bench" sweep --backend cpu -c "$work/tiny.json" -o - --no-progress >"$work/stdout.json" 2>"$work/stderr.txt" || fail "sweep -o - failed"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r['cases']) == 2" "$work/stdout.json" || fail "sweep -o -: stdout is not the report"
grep -q "int8-fa" "$work/stderr.txt" || fail "sweep -o -: no table on stderr"
[[ ! -e ./- && ! -e "$work/-" ]] || fail "sweep -o - wrote a file named -"
# --dry-run / --list: what runs where and why, nothing written; validate agrees with the sweep.
expect 0 "--dry-run on the CPU" -- "$bench" sweep --backend cpu -c "$src/configs/default.json" --dry-run -o "$work/dry.json"
contains "all kernels: CPU backend: case needs" "--dry-run"; contains "nothing was run or written" "--dry-run"
[[ ! -e "$work/dry.json" ]] || fail "--dry-run wrote a report"
expect 0 "--list json" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --list -f json
python3 -c "import json,sys; p=json.load(open(sys.argv[1])); assert p['kernel_runs'] == 8, p['kernel_runs']" "$work/out" || fail "--list -f json"
expect 0 "validate default on the CPU" -- "$bench" validate "$src/configs/default.json"; contains " 0/24 " "validate default"
if grep -q "24/24" "$work/out"; then fail "validate claims CPU support the sweep does not have"; fi
"$bench" validate "$src/configs/ci-cpu.json" --json >"$work/v.json" || fail "validate --json"
python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert v['ok'] and v['cases'] == 39" "$work/v.json" || fail "validate --json content"
expect 2 "validate --json of a bad config" -- "$bench" validate "$work/neg.json" -f json; contains '"ok": false' "validate --json error"
# One vocabulary of formats; stdout that cannot be written is exit 2 with the reason.
expect 0 "report -f json" -- "$bench" report "$work/tiny-report.json" -f json; contains '"schema": "int8attn-bench/report/v1"' "report -f json"
expect 0 "compare -f csv" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" -f csv; contains "case,kernel,verdict" "compare -f csv"
expect 2 "compare -f html" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" -f html
expect 0 "list-kernels -f json" -- "$bench" list-kernels -f json; contains '"name": "int8-fa"' "list-kernels -f json"
expect 2 "report to a full stdout" -- bash -c "\"$bench\" report \"$work/tiny-report.json\" >\"$full\""
contains "cannot write stdout: No space left on device" "report to a full stdout"
# Progress: plain lines for TERM=dumb and for anything that is not a terminal.
TERM=dumb "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/p.json" --format none 2>"$work/progress.txt"
grep -q '^\[1/2\] ' "$work/progress.txt" || fail "progress lines missing"
if grep -q $'\r' "$work/progress.txt"; then fail "progress redrew (carriage return) on a non-terminal"; fi

# compare in CI: table, JUnit and markdown from one run; other configs said first; missing and
# new runs one line each; --fail-on-missing. Frozen copies of two H200 reports (results/ of
# 2d1f432), so that a new measurement in results/ cannot change what this expects.
base=$src/tests/data/compare-h200-default.json; other=$src/tests/data/compare-h200-int8-targets.json
expect 0 "compare different configs" -- "$bench" compare "$base" "$other" --junit "$work/j.xml" --markdown-out "$work/c.md"
[[ $(sed -n 2p "$work/out") == "note: the reports come from different configs: 'default'"* ]] || fail "compare: the config difference is not the second line"
[[ $(grep -c "^missing: 120 (case, kernel) run(s)" "$work/out") == 1 ]] || fail "compare: missing runs not summarised in one line"
[[ $(grep -c "b1-h16-kv16-q1024-k1024-d64-full-normal-s0" "$work/out") == 1 ]] || fail "compare: a missing case listed more than once"
grep -q "^new: 60 " "$work/out" || fail "compare: new runs not summarised"
grep -q "^### ✅" "$work/c.md" && grep -q "different configs" "$work/c.md" || fail "--markdown-out: not the markdown view"
grep -q "<testsuites" "$work/j.xml" || fail "--junit beside --markdown-out"
expect 1 "--fail-on-missing" -- "$bench" compare "$base" "$other" --fail-on-missing; contains "\[FAIL\]" "--fail-on-missing"
expect 2 "--markdown-out into no directory" -- "$bench" compare "$base" "$base" --markdown-out "$work/no/such/c.md"
if grep -q PASS "$work/out"; then fail "compare printed a verdict before failing on --markdown-out"; fi
expect 2 "--markdown-out a report" -- "$bench" compare "$base" "$work/tiny-report.json" --allow-different-device --markdown-out "$work/tiny-report.json"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$work/tiny-report.json" || fail "--markdown-out overwrote an input"

# A stderr that cannot be written (closed, full) is no crash, and the report is still written.
expect 2 "bad config, stderr full" -- bash -c "\"$bench\" validate \"$work/neg.json\" 2>\"$full\""
expect 2 "bad config, stderr closed" -- bash -c "\"$bench\" validate \"$work/neg.json\" 2>&-"
rm -f "$work/quiet-err.json"
expect 0 "sweep, stderr closed" -- bash -c "\"$bench\" sweep --backend cpu -c \"$work/tiny.json\" -o \"$work/quiet-err.json\" -f none 2>&-"
[[ -s "$work/quiet-err.json" ]] || fail "sweep with stderr closed wrote no report"

# The checkpoint beside -o is an output too: never an input, never a file that is not one.
cp "$work/tiny.json" "$work/ck.json.ckpt.jsonl"
expect 2 "checkpoint path is the config" -- "$bench" sweep --backend cpu -c "$work/ck.json.ckpt.jsonl" -o "$work/ck.json" --no-progress
cmp -s "$work/tiny.json" "$work/ck.json.ckpt.jsonl" || fail "the config at the checkpoint path was changed"
echo "my notes" >"$work/n.json.ckpt.jsonl"
expect 2 "checkpoint path holds a user file" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/n.json" --no-progress
contains "is not a checkpoint" "checkpoint path holds a user file"
[[ $(cat "$work/n.json.ckpt.jsonl") == "my notes" ]] || fail "a user file at the checkpoint path was replaced"

# Option values: non-finite numbers, --dump onto a file, a repeated -k kernel.
expect 2 "--max-noise nan" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/nan.json" --max-noise nan
contains "--max-noise" "--max-noise nan"
expect 2 "compare --latency-tolerance nan" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --latency-tolerance nan
expect 2 "compare --noise-sigmas -1" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --noise-sigmas -1
expect 2 "--dump onto a file" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/dump.json" --dump "$work/tiny.json" --no-progress
contains "--dump" "--dump onto a file"; [[ ! -e "$work/dump.json" ]] || fail "--dump onto a file: a report was written"
expect 0 "-k twice" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/kk.json" -k int8-fa,int8-fa,fp16-ref-cublaslt --no-progress -f none
python3 - "$work/kk.json" <<'PY' || fail "-k twice: not the reference first and each kernel once"
import json, sys
names = [k["kernel"] for k in json.load(open(sys.argv[1]))["cases"][0]["kernels"]]
sys.exit(names != ["fp16-ref-cublaslt", "int8-fa"])
PY

# --inputs with a rotation axis: one case per rotation (the files replace only the seeds).
"$bench" sweep --backend cpu -c "$work/tiny.json" -o "$work/dumped.json" --dump "$work/dumped" --no-progress -f none
one_case=$(ls -d "$work"/dumped/*-full-* | head -1)
expect 0 "--inputs with two rotations" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -a causal=false --inputs "$one_case" -a rotation=none,hadamard --dry-run -f json
python3 -c "import json,sys; sys.exit(len(json.load(open(sys.argv[1]))['cases']) != 2)" "$work/out" ||
  fail "--inputs with two rotations: not two cases"

# --dump never writes a user's files: not the inputs a case reads (its folder under --dump),
# not through a link left in a case's folder; a file where a case's folder goes is refused first.
mkdir -p "$work/dump-in"; cp "$one_case"/{q,k,v}.npy "$work/dump-in/"
md5_before=$(md5sum "$work/dump-in/q.npy")
in_case=$("$bench" sweep --backend cpu -c "$work/tiny.json" -a causal=false --inputs "$work/dump-in" --dry-run -f json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['cases'][0]['id'])")
mkdir -p "$work/dump-parent"; ln -sfn "$work/dump-in" "$work/dump-parent/$in_case"
expect 2 "--dump onto the inputs" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -a causal=false \
  --inputs "$work/dump-in" --dump "$work/dump-parent" -o "$work/dump-in.json" --no-progress
contains "symbolic link" "--dump onto the inputs"
rm "$work/dump-parent/$in_case"; mv "$work/dump-in" "$work/dump-parent/$in_case"
expect 2 "--dump onto the inputs' folder" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -a causal=false \
  --inputs "$work/dump-parent/$in_case" --dump "$work/dump-parent" -o "$work/dump-in.json" --no-progress
contains "reads its inputs from" "--dump onto the inputs' folder"
[[ ${md5_before%% *} == $(md5sum <"$work/dump-parent/$in_case/q.npy" | cut -d' ' -f1) ]] || fail "--dump rewrote the inputs"
first_case=$(basename "$one_case")
mkdir -p "$work/dump-file"; touch "$work/dump-file/$first_case"
expect 2 "--dump: a file as a case's folder" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --dump "$work/dump-file" \
  -o "$work/dump-file.json" --no-progress
contains "not a folder" "--dump: a file as a case's folder"
echo precious >"$work/precious.npy"; mkdir -p "$work/dump-link/$first_case"
ln -s "$work/precious.npy" "$work/dump-link/$first_case/q.npy"
expect 0 "--dump over a link" -- "$bench" sweep --backend cpu -c "$work/tiny.json" --dump "$work/dump-link" \
  -o "$work/dump-link.json" --no-progress -f none
[[ $(cat "$work/precious.npy") == precious ]] || fail "--dump wrote through a link"
[[ -f "$work/dump-link/$first_case/q.npy" && ! -L "$work/dump-link/$first_case/q.npy" ]] || fail "--dump: no q.npy"

# --inputs: cases that differed only in how inputs are generated are one case of the files.
expect 0 "--inputs with four distributions" -- "$bench" sweep --backend cpu -c "$work/tiny.json" -a causal=false \
  -a distribution=normal,uniform,outlier-channels,attention-sink --inputs "$one_case" --dry-run -f json -q
python3 -c "import json,sys; sys.exit(len(json.load(open(sys.argv[1]))['cases']) != 1)" "$work/out" ||
  fail "--inputs with four distributions: not one case"
printf '{"axes": {"heads": [2], "seq_len": [33], "head_dim": [64], "input": [{"npy_dir": "x", "scale": 2}]}}' >"$work/npyscale.json"
expect 2 "npy_dir with a scale" -- "$bench" validate "$work/npyscale.json"; contains "give npy_dir alone" "npy_dir with a scale"

# seq_q x seq_kv past the case limit is refused before the pairs are made (10^9 here).
python3 -c "import json; r=list(range(1,31623)); print(json.dumps({'axes':{'heads':[1],'seq_q':r,'seq_kv':r,'head_dim':[64]}}))" >"$work/pairs.json"
expect 2 "seq_q x seq_kv too many" -- bash -c "ulimit -v 4000000; \"$bench\" validate \"$work/pairs.json\""
contains "at most 100000 cases" "seq_q x seq_kv too many"

# Names that are not UTF-8, and terminal control characters in a config's keys.
bad_name=$work/$'bad\xff.json'
cp "$work/tiny.json" "$bad_name"
expect 0 "validate --json of a file named in Latin-1" -- "$bench" validate "$bad_name" --json
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$work/out" || fail "validate --json: not JSON"
printf '%s' '{"axes": {"heads": [1], "seq_len": [16], "head_dim": [64], "\u001b[2Jx\nOK": 1}}' >"$work/esc.json"
expect 2 "control characters in a key" -- "$bench" validate "$work/esc.json"
if grep -q $'\033' "$work/out"; then fail "an escape character of the config reached the terminal"; fi
contains '\\x1b\[2Jx\\nOK' "control characters in a key"

# report shows the summary of the cases, not a stale one a report carries.
python3 - "$work/tiny-report.json" "$work/stale.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["summary"]["kernel_runs"] = 999; json.dump(r, open(sys.argv[2], "w"))
PY
expect 0 "report of a stale summary" -- "$bench" report "$work/stale.json" -f json
python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['summary']['kernel_runs'] == 999)" "$work/out" ||
  fail "report printed the stale summary"
expect 2 "report -o ''" -- "$bench" report "$work/tiny-report.json" -o ''
expect 2 "compare --junit ''" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --junit ''
expect 2 "--junit and --markdown-out one file" -- "$bench" compare "$work/tiny-report.json" "$work/tiny-report.json" --junit "$work/same.out" --markdown-out "$work/./same.out"
contains "the same file" "--junit and --markdown-out one file"
ln -s "$work/link-target.html" "$work/dangling.html"
expect 0 "report -o a dangling link" -- "$bench" report "$work/tiny-report.json" -f html -o "$work/dangling.html"
[[ -L "$work/dangling.html" && -s "$work/link-target.html" ]] || fail "report -o a dangling link: the link was replaced, not its target made"

expect 2 "list-kernels --json -f table" -- "$bench" list-kernels --json -f table
expect 2 "--help to a full stdout" -- bash -c "\"$bench\" --help >\"$full\""

if ((failures)); then echo "$failures CLI check(s) failed"; exit 1; fi
echo "all CLI checks passed"
