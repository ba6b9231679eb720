#!/usr/bin/env python3
"""scripts/e2e-ab.sh's sweep reports side by side: for every case and INT8 kernel, each variant's
best round end to end (the report's median latency, quantization included) and its change
against the base, its quantize time, and its fallback decision; the fastest FP16 kernel of each
variant's run beside them, since the decision is taken against it.

  e2e_ab_table.py DIR [--base NAME] [--kernels LIST]

DIR holds the reports as e2e-VARIANT-rROUND.json (e2e-ab.sh's names). --base: the variant the
others are compared with (default: "base" if present, else the first name in sorted order).
--kernels: the kernels with a row of their own, comma-separated, or "all" (every kernel the
reports ran but the reference, FP16 ones included: e2e-ab.sh's tuning mode, whose knobs move
our fp16-fa too); default int8-fa,int8-qk.
Exit status 1 if DIR holds no such report (or, with --kernels all, no timed kernel), 2 on bad
usage or an unreadable report.
"""
import argparse
import collections
import glob
import json
import os
import re
import sys

NAME = re.compile(r"^e2e-(.+)-r(\d+)\.json$")
INT8_KERNELS = ("int8-fa", "int8-qk")
FP16_KERNELS = ("fp16-fa", "fp16-cudnn")
REFERENCE_PREFIX = "fp16-ref"  # the reference's registry name (fp16-ref-cublaslt)


def latency_ms(kernel):
    return kernel.get("latency", {}).get("median_ms") if kernel.get("status") == "ok" else None


def read(directory):
    """{case id: {variant: [{kernel: (ms, quantize ms, decision)}, ...]}} and the variants."""
    cases = collections.OrderedDict()
    variants = set()
    for path in sorted(glob.glob(os.path.join(directory, "e2e-*-r*.json"))):
        match = NAME.match(os.path.basename(path))
        if not match:
            continue
        variant = match.group(1)
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        variants.add(variant)
        for case in report.get("cases", []):
            row = {}
            for k in case.get("kernels", []):
                ms = latency_ms(k)
                if ms is None:
                    continue
                quantize = k.get("quantize_latency", {}).get("median_ms")
                row[k["kernel"]] = (ms, quantize, k.get("fallback", {}).get("decision"))
            cases.setdefault(case["id"], collections.OrderedDict()).setdefault(variant, []).append(row)
    return cases, sorted(variants)


def best(rounds, kernel):
    """The round with the lowest latency of `kernel`: (ms, quantize ms, decision), or None."""
    found = [r[kernel] for r in rounds if kernel in r]
    return min(found, key=lambda t: t[0]) if found else None


def kernels_ran(cases):
    """Every kernel with a latency in some report, in first-seen order, the reference left out."""
    seen = collections.OrderedDict()
    for runs in cases.values():
        for rounds in runs.values():
            for row in rounds:
                for kernel in row:
                    if not kernel.startswith(REFERENCE_PREFIX):
                        seen[kernel] = None
    return list(seen)


def render(cases, variants, base, kernels=INT8_KERNELS):
    out = []
    width = max(len(c) for c in cases)
    for case_id, runs in cases.items():
        fp16 = []
        for v in variants:
            times = [best(runs.get(v, []), k) for k in FP16_KERNELS]
            times = [t[0] for t in times if t]
            fp16.append(f"{v} {min(times) * 1e3:.1f}" if times else f"{v} -")
        out.append(f"{case_id:<{width}}  fastest FP16 us: " + " / ".join(fp16))
        for kernel in kernels:
            base_best = best(runs.get(base, []), kernel)
            cells = []
            for v in variants:
                b = best(runs.get(v, []), kernel)
                if b is None:
                    cells.append(f"{v}: -")
                    continue
                ms, quantize, decision = b
                change = "" if v == base or base_best is None else f" ({(ms / base_best[0] - 1) * 100:+.1f}%)"
                q = f" (quantize {quantize * 1e3:.1f})" if quantize is not None else ""
                cells.append(f"{v}: {ms * 1e3:.1f}{change}{q}" + (f" {decision}" if decision else ""))
            if any(not c.endswith(": -") for c in cells):
                out.append(f"{'':<{width}}  {kernel:<10} us: " + "  ".join(cells))
    return out


def main(argv):
    parser = argparse.ArgumentParser(description="e2e-ab.sh's variants side by side")
    parser.add_argument("dir", help="the folder of e2e-VARIANT-rROUND.json reports")
    parser.add_argument("--base", help="the variant to compare with (default: base)")
    parser.add_argument("--kernels", default=",".join(INT8_KERNELS),
                        help='the kernels with a row each, comma-separated, or "all" (default: int8-fa,int8-qk)')
    args = parser.parse_args(argv)
    try:
        cases, variants = read(args.dir)
    except (OSError, ValueError, KeyError) as e:
        print(f"e2e_ab_table.py: {args.dir}: a report could not be read: {e}", file=sys.stderr)
        return 2
    if not cases:
        print(f"e2e_ab_table.py: {args.dir}: no e2e-VARIANT-rROUND.json report with cases", file=sys.stderr)
        return 1
    base = args.base or ("base" if "base" in variants else variants[0])
    if base not in variants:
        print(f"e2e_ab_table.py: --base {base}: not a variant in {args.dir} ({', '.join(variants)})", file=sys.stderr)
        return 2
    kernels = kernels_ran(cases) if args.kernels == "all" else [k for k in args.kernels.split(",") if k]
    if not kernels:
        if args.kernels == "all":  # the CPU backend times nothing
            print(f"e2e_ab_table.py: {args.dir}: no kernel has a latency in these reports", file=sys.stderr)
            return 1
        print(f"e2e_ab_table.py: --kernels {args.kernels}: no kernel named", file=sys.stderr)
        return 2
    print(f"end to end, best round of each variant, against {base}'s; the decision of that round:")
    print("\n".join(render(cases, variants, base, kernels)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
