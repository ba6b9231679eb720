#!/usr/bin/env python3
"""The SM clock each variant of an A/B ran at: scripts/kernel-ab.sh samples nvidia-smi every 100 ms
while a variant's kernel_bench runs (DIR/clock-NAME/*.csv, lines "MHz, 0xMASK" of
`--query-gpu=clocks.sm,clocks_throttle_reasons.active --format=csv,noheader,nounits`), and this
prints, per variant, the median and lowest SM clock of the samples under load and how many of them
the software power cap (mask bit 0x4) or a slowdown (thermal, hardware, power brake) held back.
Samples of an idle GPU (bit 0x1) are left out.

Why: a long burst of FP16 tensor work on an H100 runs into the power cap and loses 7-10% where
INT8 work does not (docs/perf-log.md s62); a speed difference between two variants or two shapes
whose clocks differ is the power's, not the kernel's.

usage: clock_summary.py DIR [DIR ...]   (each DIR named clock-NAME)
"""
import glob
import os
import statistics
import sys

IDLE = 0x1
POWER_CAP = 0x4
SLOWDOWNS = 0x8 | 0x20 | 0x40 | 0x80  # HW slowdown, SW thermal, HW thermal, power brake


def read_samples(folder):
    """(MHz, mask) of every parsable line of the folder's .csv files; malformed lines are skipped."""
    samples = []
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = [p.strip() for p in line.split(",")]
                if len(parts) != 2:
                    continue
                try:
                    samples.append((int(float(parts[0])), int(parts[1], 16)))
                except ValueError:
                    continue
    return samples


def summary_line(name, samples):
    loaded = [(mhz, mask) for mhz, mask in samples if not mask & IDLE]
    if not loaded:
        return f"{name}: no samples under load ({len(samples)} in all)"
    clocks = [mhz for mhz, _ in loaded]
    capped = sum(1 for _, mask in loaded if mask & POWER_CAP)
    slowed = sum(1 for _, mask in loaded if mask & SLOWDOWNS)
    return (f"{name}: SM clock median {statistics.median(clocks):.0f} MHz, lowest {min(clocks)}; "
            f"power cap in {capped} and slowdowns in {slowed} of {len(loaded)} samples under load")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    lines = []
    for folder in argv[1:]:
        base = os.path.basename(os.path.normpath(folder))
        if not base.startswith("clock-") or not os.path.isdir(folder):
            print(f"clock_summary: {folder} is not a clock-NAME folder", file=sys.stderr)
            return 2
        lines.append(summary_line(base[len("clock-"):], read_samples(folder)))
    print("SM clock during each variant's runs (nvidia-smi every 100 ms; docs/perf-log.md s62):")
    for line in lines:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
