#!/usr/bin/env python3
"""scripts/kernel-ab.sh's runs side by side: one row a kernel and shape, and for each variant its
TOPS in every round, its best round against the base variant's best, and its largest `bad`
count (elements outside the output tolerance; any bad element makes a variant's speed
meaningless, so those are listed again at the end). Then the quantizer's times (kernel_bench's
`quantize` rows), one row a shape: each variant's best round of every configuration, in µs.

  ab_table.py LOG [--base NAME]

LOG is kernel-ab.sh's output (its "== MODE VARIANT run R" headers, each followed by that run's
kernel_bench summary rows); kernel-ab.sh runs this on its own output last. --base: the variant
the others are compared with (default: the first one in the log). Exit status 1 if LOG holds
no summary rows, 2 on bad usage.
"""
import argparse
import collections
import re
import sys

HEADER = re.compile(r"^== (\S+) (\S+) run (\d+)\s*$")
# kernel_bench's summary row, runs of spaces collapsed (as kernel-ab.sh prints it):
#   b1 h16/16 sq16384 skv16384 d128 full int8-qk(ws) s-1 2.952 ms 745.0 TOPS @ 1784 MHz relL2 ... bad 0 ok
# (the median SM clock of its timed runs since s63; older logs have none).
ROW = re.compile(r"^(b\d+ h\S+ sq\d+ skv\d+ d\d+ (?:full|causal)) (\S+) s(-?\d+) [\d.]+ ms ([\d.]+) TOPS"
                 r"(?: @ ([\d.]+) MHz)?.*\bbad (\d+)")
# kernel_bench's quantize row: its times in ms, each followed by the tensors it quantized.
QUANT_ROW = re.compile(r"^(b\d+ h\S+ sq\d+ skv\d+ d\d+ (?:full|causal)) quantize (.*)$")
QUANT_TIME = re.compile(r"([\d.]+) ms (\([^)]*\))")
# The quantize row's configurations in its order: V per channel, then V per 128 keys ("w").
QUANT_NAMES = ["(Q,K,V)", "(Q,K)", "(K,V)", "(K)", "(Q,K,V)w", "(K,V)w"]


def parse(lines):
    """{(kernel, shape): {variant: [(tops, bad), ...]}} in first-seen order, the variants, and
    {shape: {variant: [[ms of each QUANT_NAMES], ...]}} from the quantize rows."""
    table = collections.OrderedDict()
    quant = collections.OrderedDict()
    variants = []
    variant = None
    for line in lines:
        line = " ".join(line.split())
        header = HEADER.match(line)
        if header:
            variant = header.group(2)
            if variant not in variants:
                variants.append(variant)
            continue
        quant_row = QUANT_ROW.match(line)
        if quant_row and variant is not None:
            times = [float(ms) for ms, _ in QUANT_TIME.findall(quant_row.group(2))]
            if len(times) == len(QUANT_NAMES):
                quant.setdefault(quant_row.group(1), collections.OrderedDict()).setdefault(variant, []).append(times)
            continue
        row = ROW.match(line)
        if row and variant is not None:
            shape, kernel, schedule, tops, mhz, bad = row.groups()
            if schedule != "-1":
                kernel += f" s{schedule}"
            table.setdefault((kernel, shape), collections.OrderedDict()).setdefault(variant, []).append(
                (float(tops), int(bad), float(mhz) if mhz else None))
    return table, variants, quant


def render_quant(quant, variants, base):
    """One row a shape: each variant's best round (µs) of every quantize configuration, the others'
    change against the base's."""
    width_shape = max(len(s) for s in quant)
    out = []
    for shape, runs in quant.items():
        best = {v: [min(r[i] for r in runs[v]) * 1e3 for i in range(len(QUANT_NAMES))] for v in runs}
        cells = []
        for i, name in enumerate(QUANT_NAMES):
            parts = []
            for v in variants:
                if v not in best:
                    continue
                us = best[v][i]
                change = ""
                if v != base and base in best and best[base][i] > 0:
                    change = f" ({(us / best[base][i] - 1) * 100:+.0f}%)"
                parts.append(f"{us:.0f}{change}")
            cells.append(f"{name} " + " / ".join(parts))
        out.append(f"{shape:<{width_shape}}  " + "  ".join(cells))
    return out


def render(table, variants, base):
    width_kernel = max(len(k) for k, _ in table)
    width_shape = max(len(s) for _, s in table)
    out = []
    bad_cells = []
    for (kernel, shape), runs in table.items():
        base_best = max(t for t, _, _ in runs[base]) if base in runs else None
        cells = []
        for v in variants:
            if v not in runs:
                cells.append(f"{v}: -")
                continue
            best = max(t for t, _, _ in runs[v])
            worst_bad = max(b for _, b, _ in runs[v])
            # A round's SM clock beside its TOPS where the log has it: a slower round at a lower clock is the GPU's.
            rounds = "/".join(f"{t:.0f}" + (f"@{c:.0f}" if c else "") for t, _, c in runs[v])
            change = "" if v == base or not base_best else f" ({(best / base_best - 1) * 100:+.1f}%)"
            cells.append(f"{v}: {rounds}{change}" + (f" BAD {worst_bad}" if worst_bad else ""))
            if worst_bad:
                bad_cells.append(f"{v} {kernel} {shape}: {worst_bad}")
        out.append(f"{kernel:<{width_kernel}}  {shape:<{width_shape}}  " + "  ".join(cells))
    if bad_cells:
        out.append("bad elements (their speed does not count): " + "; ".join(bad_cells))
    return out


def main(argv):
    parser = argparse.ArgumentParser(description="kernel-ab.sh's variants side by side")
    parser.add_argument("log", help="kernel-ab.sh's output")
    parser.add_argument("--base", help="the variant to compare with (default: the first in the log)")
    args = parser.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            table, variants, quant = parse(f)
    except OSError as e:
        print(f"ab_table.py: {args.log}: {e.strerror}", file=sys.stderr)
        return 2
    if not table:
        print(f"ab_table.py: {args.log}: no kernel_bench summary rows under '== MODE VARIANT run R' headers",
              file=sys.stderr)
        return 1
    base = args.base or variants[0]
    if base not in variants:
        print(f"ab_table.py: --base {base}: not a variant of {args.log} ({', '.join(variants)})", file=sys.stderr)
        return 2
    print(f"TOPS by round (@ the round's median SM MHz where kernel_bench read it), best round against {base}'s best:")
    print("\n".join(render(table, variants, base)))
    if quant:
        print(f"quantize µs, best round of each variant ({', '.join(v for v in variants)}), against {base}'s;"
              " w: V per 128 keys:")
        print("\n".join(render_quant(quant, variants, base)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
