#!/usr/bin/env python3
"""What a study costs on 1, 8 and 64 GPUs, from per-case times measured on one GPU.

Reads a report measured on one GPU (default results/h200-llama3-8b.json: Llama-3-8B causal
GQA prefill, 512 to 32K tokens, six kernels), takes the mean wall time of its cases at each
length, extrapolates to 64K and 128K tokens, and spreads a study of N cases evenly over the
lengths 512 ... 128K. Prints the one-GPU total and, for each GPU count, the wall time of
  - a queue (sweep --devices): cases longest-estimated-first to whichever GPU is free;
  - static shards (sweep --shard I/N, one GPU each): the tool's greedy partition by
    estimated cost, finishing with its slowest shard;
  - nodes of --gpus-per-node GPUs: one shard per node, a queue on each (--devices all).
Beyond the measured lengths, each kernel's share of a case follows the report's sampling rule
(measurement: warm-up runs, then samples until the noise target, max_samples or max_seconds,
never fewer than min_samples) with its median 4x per doubling of the length; the rest of the
case (inputs, metrics, the reference check) grows 2x.

  scripts/scale_out_cost.py [--report R] [--cases 1000] [--gpus 1 8 64] [--gpus-per-node 8]
"""
import argparse
import json
import sys

# The estimate sweep --shard and --devices order cases by (src/bench/partition.cpp): 200
# units per case and kernel plus one per 8.6 GFLOP. Keep the two in step.
FIXED_COST, FLOPS_PER_UNIT = 200, 8_600_000_000


def flops(dims):
    f = 4 * dims["batch"] * dims["heads"] * dims["seq_q"] * dims["seq_kv"] * dims["head_dim"]
    return f // 2 if dims["causal"] else f


def estimated_cost(dims):
    return FIXED_COST + flops(dims) // FLOPS_PER_UNIT


def seconds_by_length(report):
    """{seq_len: (mean wall seconds, dims)}, extrapolated two doublings past the longest."""
    by_length = {}
    for case in report["cases"]:
        by_length.setdefault(case["dims"]["seq_q"], []).append(case)
    table = {}
    for length, cases in by_length.items():
        table[length] = (sum(c["wall_seconds"] for c in cases) / len(cases), cases[0]["dims"])
    longest = max(table)
    cases = by_length[longest]
    rule = report["config"]["settings"]["measurement"]

    def kernels_part(case, growth):  # its kernels' seconds with every median `growth` times longer
        return sum(sampling_seconds(k["latency"], growth, rule) for k in case["kernels"] if "latency" in k)

    other_part = table[longest][0] - sum(kernels_part(c, 1) for c in cases) / len(cases)
    for doubling in (1, 2):
        dims = dict(table[longest][1], seq_q=longest << doubling, seq_kv=longest << doubling)
        kernel_part = sum(kernels_part(c, 4**doubling) for c in cases) / len(cases)
        table[longest << doubling] = (kernel_part + other_part * 2**doubling, dims)
    return table


def sampling_seconds(latency, growth, rule):
    """A kernel's warm-up and samples (src/bench sampling rule) with its median `growth` times
    longer: as many samples as it took (the noise and max_samples stops do not depend on the
    length), at least min_samples, and past max_seconds only as far as min_samples needs."""
    median = latency["median_ms"] / 1000 * growth
    sampled = latency["samples"] * median
    floor = rule["min_samples"] * median
    return rule["warmup_runs"] * median + min(max(sampled, floor), max(rule["max_seconds"], floor))


def queue_makespan(times, gpus):
    """Longest-estimated-first, each case to the GPU that is free first."""
    free = [0.0] * gpus
    for seconds, _ in times:
        i = free.index(min(free))
        free[i] += seconds
    return max(free)


def shards(times, count):
    """Greedy partition by estimated cost, as sweep --shard: each shard's cases."""
    load, parts = [0] * count, [[] for _ in range(count)]
    for seconds, cost in times:
        i = load.index(min(load))
        load[i] += cost
        parts[i].append((seconds, cost))
    return parts


def shard_makespan(times, gpus):
    return max(sum(s for s, _ in part) for part in shards(times, gpus))


def nodes_makespan(times, gpus, per_node):
    per_node = min(per_node, gpus)
    return max(queue_makespan(part, per_node) for part in shards(times, gpus // per_node))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", default="results/h200-llama3-8b.json")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--gpus-per-node", type=int, default=8)
    args = parser.parse_args()
    report = json.load(open(args.report))
    table = seconds_by_length(report)
    lengths = sorted(table)
    print(f"per-case seconds on one {report['environment'].get('gpu_name', 'GPU')} ({args.report}):")
    for length in lengths:
        print(f"  {length:>6} tokens: {table[length][0]:7.2f} s")
    study = [table[lengths[i % len(lengths)]] for i in range(args.cases)]
    times = sorted(((s, estimated_cost(d)) for s, d in study), key=lambda t: -t[1])
    total = sum(s for s, _ in times)
    print(f"{args.cases} cases, lengths {lengths[0]} to {lengths[-1]} evenly: {total / 3600:.1f} GPU-hours")
    for gpus in args.gpus:
        print(f"  {gpus:>3} GPU(s): queue {queue_makespan(times, gpus) / 60:6.1f} min, "
              f"static shards {shard_makespan(times, gpus) / 60:6.1f} min, "
              f"nodes of {args.gpus_per_node} {nodes_makespan(times, gpus, args.gpus_per_node) / 60:6.1f} min "
              f"(ideal {total / gpus / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
