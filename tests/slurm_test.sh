#!/usr/bin/env bash
# The Slurm recipe for real, on this machine: starts a single-node Slurm in the foreground
# (munged, slurmctld and slurmd as children of this script, in a temporary folder, on free
# ports), submits a CPU-backend sweep with scripts/slurm/submit.sh as a 3-task array plus the
# dependent merge, and checks that the merged report holds exactly the unsharded sweep's
# cases, with the same results. Exit 77 (skipped) without slurm-wlm and munge or root.
# Usage: slurm_test.sh BENCH_EXE SOURCE_DIR
set -uo pipefail
bench=$(realpath "$1"); src=$2
skip() { echo "SKIP: $*"; exit 77; }
for tool in munged slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$tool" >/dev/null || skip "$tool not found (apt-get install slurm-wlm munge)"
done
[[ $(id -u) == 0 ]] || skip "slurmd must run as root"

work=$(mktemp -d); chmod 711 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for log in "$work"/*.log "$work"/out/*.out; do [[ -f $log ]] && { echo "--- $log"; tail -15 "$log"; }; done
  exit 1
}
wait_until() {  # SECONDS DESCRIPTION -- command...: polls until the command succeeds
  local seconds=$1 what=$2; shift 3
  for ((i = 0; i < seconds * 4; i++)); do "$@" && return 0; sleep 0.25; done
  fail "timed out after ${seconds}s waiting for $what"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# munge: a key of our own, a socket in the work folder.
head -c 1024 /dev/urandom >"$work/munge.key"; chmod 600 "$work/munge.key"
munged --foreground --force --key-file="$work/munge.key" --socket="$work/munge.sock" \
  --pid-file="$work/munged.pid" --seed-file="$work/munged.seed" --log-file="$work/munged.log" \
  >"$work/munged.log" 2>&1 &
pids+=($!)
wait_until 10 "munged's socket" -- test -S "$work/munge.sock"

node=$(hostname -s)
mkdir -p "$work/state" "$work/spool" "$work/out"
cat >"$work/slurm.conf" <<CONF
ClusterName=int8attntest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.sock
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" >"$work/slurmd.log" 2>&1 &
pids+=($!)
node_idle() { [[ $(sinfo -h -n "$node" -o %T 2>/dev/null) == idle ]]; }
wait_until 60 "the node to be idle" -- node_idle

# The study: 12 small cases (-a cuts its 16), unsharded here, then 3 shards + merge through Slurm.
cat >"$work/study.json" <<'JSON'
{"axes": {"batch": [1, 2], "heads": [2], "seq_len": [17, 64, 129, 256], "head_dim": [64], "causal": [false, true]},
 "cpu": {"threads": 1}}
JSON
# An option whose value holds a space must reach every task whole.
axis=(-a "seq_len=17, 129, 256")
"$bench" sweep --backend cpu -c "$work/study.json" "${axis[@]}" -o "$work/unsharded.json" -q --format none ||
  fail "the unsharded sweep failed"
submitted=$("$src/scripts/slurm/submit.sh" -n 3 -c "$work/study.json" -o "$work/out" -g 0 -b "$bench" -- --backend cpu \
  "${axis[@]}") ||
  fail "submit.sh failed: $submitted"
echo "$submitted"
merge_job=$(sed -n 's/.*merge: job \([0-9]*\).*/\1/p' <<<"$submitted")
[[ -n $merge_job ]] || fail "no merge job id in: $submitted"
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
merge_done() { [[ $(job_state "$merge_job") =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)$ ]]; }
wait_until 240 "the merge job $merge_job" -- merge_done
[[ $(job_state "$merge_job") == COMPLETED ]] || fail "merge job $merge_job ended $(job_state "$merge_job")"

ls "$work/out"/shard-{1,2,3}-of-3.json >/dev/null || fail "the array did not write three shard reports"
"$bench" compare "$work/unsharded.json" "$work/out/merged.json" --fail-on-change --missing fail \
  --mse-tolerance 0 --max-abs-tolerance 0 --rel-l2-tolerance 0 >"$work/compare.log" 2>&1 ||
  fail "the merged report differs from the unsharded one: $(tail -3 "$work/compare.log")"
python3 - "$work/unsharded.json" "$work/out/merged.json" <<'PY' || fail "case sets or parts differ"
import json, sys
unsharded, merged = (json.load(open(p)) for p in sys.argv[1:])
ids = lambda r: [c["id"] for c in r["cases"]]
assert ids(merged) == ids(unsharded), "case ids differ"
assert merged["complete"], "merged report incomplete"
assert sorted(p["shard"]["index"] for p in merged["parts"]) == [1, 2, 3], merged["parts"]
PY
echo "slurm: 3 shards merged into the unsharded case set ($(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['cases']))" "$work/out/merged.json") cases)"
