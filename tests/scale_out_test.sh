#!/usr/bin/env bash
# Scale-out from the command line, CPU backend: sweep --shard, merge, sweep --devices (CPU
# worker processes), as a user meets them: help, exit codes, messages, the merged report
# equal to the unsharded one. Usage: scale_out_test.sh BENCH_EXE SOURCE_DIR
set -uo pipefail
bench=$1; src=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect() {  # expect CODE DESCRIPTION -- command...   (stdout+stderr in $work/out)
  local want=$1 what=$2; shift 3
  "$@" >"$work/out" 2>&1; local got=$?
  [[ $got == "$want" ]] || { fail "$what: exit $got, expected $want"; sed 's/^/    /' "$work/out" | head -20; }
}
contains() { grep -q -- "$1" "$work/out" || { fail "$2: output lacks '$1'"; sed 's/^/    /' "$work/out" | head -20; }; }
# Same cases, same numbers (the CPU backend is deterministic): compare with zero tolerance.
same_results() {  # BASELINE CANDIDATE DESCRIPTION
  expect 0 "$3" -- "$bench" compare "$1" "$2" --fail-on-change --missing fail \
    --mse-tolerance 0 --max-abs-tolerance 0 --rel-l2-tolerance 0
}
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
sweep() { "$bench" sweep --backend cpu -c "$work/study.json" --no-progress --format none "$@"; }

expect 0 "sweep --help" -- "$bench" sweep --help; contains "--shard" "sweep --help"; contains "--devices" "sweep --help"
expect 0 "merge --help" -- "$bench" merge --help; contains "--allow-mixed" "merge --help"
expect 0 "--help" -- "$bench" --help; contains "merge" "--help"

cat >"$work/study.json" <<'JSON'
{"axes": {"batch": [1, 2], "heads": [2], "seq_len": [17, 64, 129, 256], "head_dim": [64], "causal": [false, true]},
 "cpu": {"threads": 1}}
JSON
expect 0 "unsharded sweep" -- sweep -o "$work/full.json"

# --shard: bad values are usage errors; three shards merge into the unsharded report.
for bad in 0/3 4/3 3 x/3 1/0; do
  expect 2 "--shard $bad" -- sweep -o "$work/bad.json" --shard "$bad"; contains "1 <= I <= N" "--shard $bad"
done
[[ ! -e "$work/bad.json" ]] || fail "a report was written for a bad --shard"
for i in 1 2 3; do expect 0 "shard $i/3" -- sweep -o "$work/shard-$i.json" --shard "$i/3"; done
[[ $(json "$work/shard-2.json" "(r['shard']['index'], r['shard']['count'])") == "(2, 3)" ]] || fail "shard report lacks its shard"
total=0; for i in 1 2 3; do total=$((total + $(json "$work/shard-$i.json" "len(r['cases'])"))); done
[[ $total == 16 ]] || fail "the three shards hold $total cases, expected 16"
expect 0 "merge the shards" -- "$bench" merge "$work"/shard-{3,1,2}.json -o "$work/merged.json"
contains "16 cases from 3 reports" "merge the shards"
same_results "$work/full.json" "$work/merged.json" "merged shards vs unsharded"
[[ $(json "$work/merged.json" "[c['id'] for c in r['cases']] == [c['id'] for c in json.load(open('$work/full.json'))['cases']]") == True ]] ||
  fail "merged cases are not in the config's order"
[[ $(json "$work/merged.json" "len(r['parts'])") == 3 ]] || fail "merged report does not list its 3 parts"
for f in table markdown csv html; do expect 0 "report --format $f of a merged report" -- "$bench" report "$work/merged.json" --format "$f"; done
if python3 -c "import jsonschema" 2>/dev/null; then
  expect 0 "merged report matches the schema" -- python3 "$src/scripts/validate_report.py" "$src/docs/report.schema.json" \
    "$work/merged.json" "$work/shard-1.json"
fi

# merge: what it refuses, and what it marks incomplete.
expect 0 "a shard with other kernels" -- sweep -o "$work/other.json" --shard 3/3 -k int8-fa
expect 2 "merge of different options" -- "$bench" merge "$work/shard-1.json" "$work/shard-2.json" "$work/other.json" -o "$work/m.json"
contains "options: kernels" "merge of different options"; contains "other.json" "merge of different options"
[[ ! -e "$work/m.json" ]] || fail "merge wrote a report it refused"
expect 0 "merge --allow-mixed" -- "$bench" merge "$work/shard-1.json" "$work/shard-2.json" "$work/other.json" -o "$work/m.json" --allow-mixed
contains "allow-mixed" "merge --allow-mixed"
expect 2 "merge of a report with itself" -- "$bench" merge "$work/shard-1.json" "$work/shard-1.json" -o "$work/m2.json"
contains "more than one report" "merge of a report with itself"
cp "$work/shard-1.json" "$work/keep.json"
expect 2 "merge -o an input" -- "$bench" merge "$work/shard-2.json" "$work/shard-1.json" -o "$work/shard-1.json"
contains "same file" "merge -o an input"; cmp -s "$work/shard-1.json" "$work/keep.json" || fail "merge overwrote an input"
expect 0 "merge with a shard missing" -- "$bench" merge "$work/shard-1.json" "$work/shard-3.json" -o "$work/gap.json"
contains "2/3" "merge with a shard missing"; contains "INCOMPLETE" "merge with a shard missing"
[[ $(json "$work/gap.json" "r['complete']") == False ]] || fail "a merge with a missing shard is complete"
# A shard partitions the cases --filter selects: shards of another --filter are not one set
# (merged, they were a complete report with cases missing), nor may a shard resume another's.
expect 0 "a shard of a --filter" -- sweep -o "$work/filtered-2.json" --shard 2/3 --filter '*-q17-*'
expect 2 "merge of shards of different --filter" -- "$bench" merge "$work/shard-1.json" "$work/filtered-2.json" "$work/shard-3.json" -o "$work/m4.json"
contains "filter" "merge of shards of different --filter"; [[ ! -e "$work/m4.json" ]] || fail "merge wrote a report it refused"
expect 2 "merge of a config" -- "$bench" merge "$work/study.json" -o "$work/m3.json"; contains "study.json" "merge of a config"
expect 2 "merge without -o" -- "$bench" merge "$work/shard-1.json"

# --devices with the CPU backend: worker processes, one report, each case's device.
expect 0 "--devices 0,1" -- sweep -o "$work/devices.json" --devices 0,1; contains "2 workers" "--devices 0,1"
same_results "$work/full.json" "$work/devices.json" "--devices 0,1 vs one process"
[[ $(json "$work/devices.json" "sorted({r['environments'][c['environment']]['device'] for c in r['cases']})") == "[0, 1]" ]] ||
  fail "--devices 0,1: cases do not say which of both workers ran them"
expect 0 "--shard with --devices" -- sweep -o "$work/shard-dev.json" --shard 2/3 --devices 0,1
same_results "$work/shard-2.json" "$work/shard-dev.json" "--shard 2/3 --devices 0,1 vs --shard 2/3"
for bad in "0,0" "0,x" "all"; do expect 2 "--devices $bad" -- sweep -o "$work/bad.json" --devices "$bad"; contains "devices" "--devices $bad"; done
expect 2 "--devices with --device" -- sweep -o "$work/bad.json" --devices 0,1 --device 1
if ! "$bench" devices --json | grep -q '"index"'; then
  expect 2 "--devices without a GPU" -- "$bench" sweep -c "$work/study.json" -o "$work/bad.json" --devices 0,1
  contains "no usable GPU" "--devices without a GPU"
fi

# A worker killed mid-case fails that case only; Ctrl-C stops all and --resume finishes.
cat >"$work/slow.json" <<'JSON'
{"axes": {"batch": [1], "heads": [8], "seq_len": [512, 513, 514, 515, 516, 517, 518, 519], "head_dim": [128]},
 "cpu": {"threads": 1}}
JSON
wait_for_checkpoint() {  # FILE LINES: until FILE holds LINES lines (the header, then one a finished case)
  for _ in $(seq 100); do
    [[ -s "$1" ]] && [[ $(wc -l <"$1") -ge $2 ]] && return 0
    sleep 0.1
  done
  return 1
}
wait_for_workers() {  # PID: until it has two worker processes that have started a case
  for _ in $(seq 100); do
    [[ $(pgrep -P "$1" | wc -l) == 2 ]] && sleep 0.3 && return 0
    sleep 0.1
  done
  return 1
}
"$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/crash.json" --devices 0,1 --no-progress --format none >"$work/out" 2>&1 &
pid=$!
wait_for_workers $pid || fail "the workers of --devices 0,1 did not start"
kill -KILL "$(pgrep -P $pid | head -1)"
wait $pid; code=$?
[[ $code == 1 ]] || { fail "sweep with a killed worker: exit $code, expected 1"; cat "$work/out"; }
contains "starting it again" "killed worker note"
[[ $(json "$work/crash.json" "len(r['cases'])") == 8 ]] || fail "a killed worker lost cases"
[[ $(json "$work/crash.json" "sum('killed by signal 9' in (c['kernels'][0].get('reason') or '') for c in r['cases'])") == 1 ]] ||
  fail "the killed worker's case is not the one failed case"
[[ $(json "$work/crash.json" "r['complete']") == True ]] || fail "a killed worker made the report incomplete"

"$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/int.json" --devices 0,1 --no-progress --format none >"$work/out" 2>&1 &
pid=$!
wait_for_workers $pid || fail "the workers of --devices 0,1 did not start"
kill -INT $pid; wait $pid; code=$?
[[ $code == 130 ]] || fail "interrupted --devices sweep: exit $code, expected 130"
[[ $(json "$work/int.json" "r['complete']") == False ]] || fail "interrupted --devices report not marked incomplete"
[[ -z $(pgrep -P $pid) ]] || fail "workers survived the interrupted sweep"
# SIGTERM to the whole process group, as timeout and batch systems send it: the workers
# ignore it and finish their cases (none recorded as killed), the parent writes the finished
# ones marked incomplete and exits 130. setsid: the sweep leads a group of its own.
setsid "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/term.json" --devices 0,1 --no-progress \
  --format none >"$work/out" 2>&1 &
pid=$!
wait_for_workers $pid || fail "the workers of --devices 0,1 did not start (SIGTERM)"
wait_for_checkpoint "$work/term.json.ckpt.jsonl" 1
kill -TERM -- -$pid; wait $pid; code=$?
[[ $code == 130 ]] || { fail "--devices sweep stopped by a group SIGTERM: exit $code, expected 130"; cat "$work/out"; }
[[ $(json "$work/term.json" "r['complete']") == False ]] || fail "group SIGTERM: report not marked incomplete"
[[ $(json "$work/term.json" "sum(k['status'] not in ('ok', 'skipped') for c in r['cases'] for k in c['kernels'])") == 0 ]] ||
  fail "group SIGTERM: a case was recorded as failed (a worker died of it)"
[[ -z $(pgrep -g $pid) ]] || fail "processes of the SIGTERM'd sweep's group survived"
expect 0 "--devices --resume" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/int.json" --devices 1,0 --no-progress --format none --resume
contains "resumed" "--devices --resume"
[[ $(json "$work/int.json" "(r['complete'], len(r['cases']))") == "(True, 8)" ]] || fail "resumed --devices report incomplete"
# A single-process sweep resumed by --devices: the cases the single process finished keep its
# environment (no worker's device number), the others name the worker that ran them.
"$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/mixed.json" --no-progress --format none >"$work/out" 2>&1 &
pid=$!
wait_for_checkpoint "$work/mixed.json.ckpt.jsonl" 2
kill -INT $pid; wait $pid; code=$?
[[ $code == 130 ]] || fail "interrupted single-process sweep: exit $code, expected 130"
single=$(json "$work/mixed.json" "sorted(c['id'] for c in r['cases'])")
[[ $(json "$work/mixed.json" "0 < len(r['cases']) < 8") == True ]] || fail "the interrupted sweep finished $single"
expect 0 "single-process sweep resumed with --devices" -- "$bench" sweep --backend cpu -c "$work/slow.json" \
  -o "$work/mixed.json" --devices 0,1 --no-progress --format none --resume
[[ $(json "$work/mixed.json" "len(r['cases'])") == 8 ]] || fail "single-process sweep resumed with --devices: incomplete"
[[ $(json "$work/mixed.json" "all(('device' in r['environments'][c['environment']]) == (c['id'] not in $single)
  for c in r['cases'])") == True ]] ||
  fail "single-process sweep resumed with --devices: a case is credited to a machine that did not run it"

# --resume of a shard with another --filter would resume a part of another list of cases.
# Its shard holds four cases, interrupted once the first is in its checkpoint (a fixed sleep let
# a fast machine finish the two it had before the signal).
"$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/fint.json" --shard 1/2 --filter '*-q51[2-8]-*' --no-progress --format none >"$work/out" 2>&1 &
pid=$!
wait_for_checkpoint "$work/fint.json.ckpt.jsonl" 2
kill -INT $pid; wait $pid; code=$?
[[ $code == 130 && -s "$work/fint.json.ckpt.jsonl" ]] || fail "interrupted shard of a --filter: exit $code, expected 130 and a checkpoint"
expect 2 "--resume of a shard without its --filter" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/fint.json" --shard 1/2 --resume --no-progress --format none
contains "filter" "--resume of a shard without its --filter"
expect 0 "--resume of a shard with its --filter" -- "$bench" sweep --backend cpu -c "$work/slow.json" -o "$work/fint.json" --shard 1/2 --filter '*-q51[2-8]-*' --resume --no-progress --format none

if ((failures)); then echo "$failures scale-out check(s) failed"; exit 1; fi
echo "all scale-out checks passed"
