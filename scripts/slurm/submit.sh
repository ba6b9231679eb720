#!/usr/bin/env bash
# Submits a sharded sweep to Slurm: an array of N shard tasks (sweep-array.sbatch), then a
# merge (merge.sbatch) that runs when every shard has succeeded. Prints both job ids.
#   scripts/slurm/submit.sh -n SHARDS -c CONFIG -o OUT_DIR [-g GPUS_PER_TASK] [-b BENCH] [-- SWEEP_OPTIONS...]
#   -g 0 asks for no GPU (CPU backend: add -- --backend cpu). Other sbatch options (partition,
#   account, time limit) come from the usual SBATCH_* environment variables.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '3,6s/^# \{0,1\}//p' "$0" >&2; exit 2; }
shards="" config="" out="" gpus=1 bench=${INT8ATTN_BENCH:-$(command -v int8attn-bench || true)}
while getopts "n:c:o:g:b:h" opt; do
  case $opt in
    n) shards=$OPTARG ;; c) config=$OPTARG ;; o) out=$OPTARG ;; g) gpus=$OPTARG ;; b) bench=$OPTARG ;; *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $shards =~ ^[1-9][0-9]*$ && -n $config && -n $out ]] || usage
[[ -n $bench ]] || { echo "submit.sh: no int8attn-bench on PATH; give -b BENCH" >&2; exit 2; }
[[ $gpus =~ ^(0|[1-9][0-9]*)$ ]] || { echo "submit.sh: -g expects a number of GPUs, found '$gpus'" >&2; exit 2; }
for arg in "$@"; do
  [[ $arg != *$'\n'* ]] || { echo "submit.sh: a sweep option holds a line break, which the job cannot be given: '$arg'" >&2; exit 2; }
done
# Checked here, not on the cluster: every task would fail, or run another int8attn-bench.
[[ -f $config && -r $config ]] || { echo "submit.sh: -c $config: expected a readable config file" >&2; exit 2; }
[[ -f $bench && -x $bench ]] || { echo "submit.sh: -b $bench: expected an executable int8attn-bench" >&2; exit 2; }
mkdir -p "$out"
# Assigned apart from export, so that set -e sees a failing realpath.
INT8ATTN_CONFIG=$(realpath "$config"); INT8ATTN_OUT=$(realpath "$out"); INT8ATTN_BENCH=$(realpath "$bench")
export INT8ATTN_CONFIG INT8ATTN_OUT INT8ATTN_BENCH
# One option a line, so that a value with spaces (--dump '/scratch/my dumps') reaches the job whole.
INT8ATTN_ARGV=$(printf '%s\n' "$@")
export INT8ATTN_SHARDS=$shards INT8ATTN_ARGV
gpu_request=()
((gpus > 0)) && gpu_request=(--gpus-per-task="$gpus")
array=$(sbatch --parsable --array=1-"$shards" "${gpu_request[@]}" --output="$INT8ATTN_OUT/sweep-%A_%a.out" \
  "$here/sweep-array.sbatch")
array=${array%%;*}  # "id;cluster" on federated clusters
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
  --output="$INT8ATTN_OUT/merge-%j.out" "$here/merge.sbatch")
echo "shards: array job $array ($shards tasks); merge: job ${merge%%;*} -> $INT8ATTN_OUT/merged.json"
