#!/usr/bin/env bash
# scripts/ci-gate.sh on a copy of its folders, with a stand-in int8attn-bench whose sweep of
# one config fails: --update must then change no baseline (a half-updated gate passes on stale
# ones), the gate must fail naming that config, and a sweep that exits 1 (a kernel error, its
# report written) is still compared. Usage: ci_gate_test.sh SOURCE_DIR
set -uo pipefail
src=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work/scripts" "$work/configs" "$work/results" "$work/build"
cp "$src/scripts/ci-gate.sh" "$work/scripts/"
for name in ci-cpu ci-cpu-options-a ci-cpu-options-b; do
  echo '{}' >"$work/configs/$name.json"
  echo "old $name" >"$work/results/$name-baseline.json"
done
# The stand-in: `sweep -c C -o OUT` writes "new <name>" and exits with FAKE_EXIT_<name> (0 by
# default, '-' and '_' alike); `compare` logs its candidate and exits 0 when the two files
# hold the same text, else 1 (the gate's exact comparison).
cat >"$work/bench" <<'BENCH'
#!/usr/bin/env bash
cmd=$1; shift
if [[ $cmd == compare ]]; then echo "compared $2" >>"$COMPARE_LOG"; cmp -s "$1" "$2"; exit $?; fi
while (($#)); do
  case $1 in -c) config=$2; shift ;; -o) out=$2; shift ;; esac
  shift
done
name=$(basename "$config" .json)
echo "new $name" >"$out"
var=FAKE_EXIT_${name//-/_}
exit "${!var:-0}"
BENCH
chmod +x "$work/bench"
export BENCH=$work/bench BUILD_DIR=$work/build COMPARE_LOG=$work/compare.log

FAKE_EXIT_ci_cpu_options_b=2 bash "$work/scripts/ci-gate.sh" --update >"$work/out.txt" 2>&1 &&
  fail "--update with a failed sweep exited 0: $(cat "$work/out.txt")"
grep -q 'no baseline changed' "$work/out.txt" || fail "no message: $(cat "$work/out.txt")"
for name in ci-cpu ci-cpu-options-a ci-cpu-options-b; do
  [[ $(cat "$work/results/$name-baseline.json") == "old $name" ]] || fail "--update rewrote $name's baseline"
done

# A baseline the exact compare passes is left as it is (its timings alone would churn).
echo "new ci-cpu-options-a" >"$work/results/ci-cpu-options-a-baseline.json"
touch -d '2000-01-01' "$work/results/ci-cpu-options-a-baseline.json"
bash "$work/scripts/ci-gate.sh" --update >"$work/out.txt" 2>&1 || fail "--update failed: $(cat "$work/out.txt")"
for name in ci-cpu ci-cpu-options-a ci-cpu-options-b; do
  [[ $(cat "$work/results/$name-baseline.json") == "new $name" ]] || fail "--update left $name's baseline"
done
[[ $(stat -c %Y "$work/results/ci-cpu-options-a-baseline.json") == $(date -d '2000-01-01' +%s) ]] ||
  fail "--update rewrote a baseline the gate passes on"
grep -q 'baseline unchanged: results/ci-cpu-options-a-baseline.json' "$work/out.txt" || fail "not said: $(cat "$work/out.txt")"
grep -q 'baseline updated: results/ci-cpu-baseline.json' "$work/out.txt" || fail "not said: $(cat "$work/out.txt")"

: >"$work/compare.log"
FAKE_EXIT_ci_cpu_options_a=1 FAKE_EXIT_ci_cpu=130 bash "$work/scripts/ci-gate.sh" >"$work/out.txt" 2>&1 &&
  fail "the gate passed with failed sweeps"
grep -q 'sweep of configs/ci-cpu.json failed (exit 130)' "$work/out.txt" || fail "not named: $(cat "$work/out.txt")"
grep -q 'ci-cpu-options-a-candidate' "$work/compare.log" || fail "the exit-1 sweep was not compared"
grep -q 'ci-cpu-options-b-candidate' "$work/compare.log" || fail "a clean sweep was not compared"
grep -q '/ci-cpu-candidate' "$work/compare.log" && fail "a sweep without a report was compared"
echo "ci-gate: --update all or nothing and only where the numbers moved, failed sweeps named and compared where they wrote a report"
