#!/usr/bin/env python3
"""How often a 128-key block raises a row's running max (FP64 scores, docs/perf-log.md s55).

A speculative softmax would take a block's exponents against the previous blocks' running max
and redo them when the block holds a larger score (UINT8 P codes have no headroom above 255).
A warp holds 16 query rows of a consumer's tile, so its redo is needed when any of them sees a
new max. Prints, per input family and length, the share of blocks (after the first) that need
a redo for a warp and for a row alone. Inputs: research/v_block_scales.py's families.
Usage: research/speculative_max.py [--rows 256] [--seed 0] [SEQ_KV ...]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v_block_scales import inputs  # noqa: E402


def redo_rates(family, seq_kv, d, rows, seed, warp_rows=16, block=128):
    q, k, _ = inputs(family, seq_kv, d, rows, seed)
    s = (q @ k.T) / np.sqrt(d)
    blocks = seq_kv // block
    block_max = s[:, :blocks * block].reshape(rows, blocks, block).max(axis=2)
    running = np.maximum.accumulate(block_max, axis=1)
    raises = block_max[:, 1:] > running[:, :-1]
    warp_raises = raises.reshape(rows // warp_rows, warp_rows, blocks - 1).any(axis=1)
    return warp_raises.mean(), raises.mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seq_kv", type=int, nargs="*", default=[1024, 4096, 16384, 32768])
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", default="normal,attention-sink,normal-scale3")
    args = ap.parse_args()
    for family in args.families.split(","):
        for seq_kv in args.seq_kv:
            warp, row = redo_rates(family, seq_kv, args.d, args.rows, args.seed)
            print(f"{family:16} {seq_kv:>6}  a warp's redo {warp:.3f}  a row's {row:.4f}", flush=True)


if __name__ == "__main__":
    main()
