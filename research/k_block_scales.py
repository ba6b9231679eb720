#!/usr/bin/env python3
"""int8-fa's contract with K's INT8 scales per block of tokens (Q per token): FP64 simulation.

research/v_block_scales.py's model with the product's pair (128-key P blocks, V per channel and
128 keys), K smoothed, Q per token, and K's scale shared by k_block consecutive tokens (0: one
per token, today's contract). Why: with one K scale per 32 keys, a thread's 32 scores of a
128-key block fall in four scale groups, so the row max runs on the INT32 scores (one multiply
per group) and each score's scale folds into the exponent's FFMA: the per-score K-scale FMUL
(64 a step) and 15 of 16 scale loads go (docs/perf-log.md s21).
Usage: research/k_block_scales.py [--d 128] [--rows 256] [--seeds 2] SEQ_KV [SEQ_KV ...]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v_block_scales import inputs, int8_rows, int8_scores, int8fa_output, reference  # noqa: E402


def int8_blocks(x, block):
    """INT8 with one scale per `block` consecutive rows (0: per row)."""
    if block == 0:
        return int8_rows(x)
    codes = np.empty_like(x); scales = np.empty((len(x), 1))
    for r0 in range(0, len(x), block):
        seg = x[r0:r0 + block]
        amax = np.abs(seg).max()
        s = amax / 127 if amax > 0 else 1
        codes[r0:r0 + block] = np.clip(np.rint(seg / s), -127, 127); scales[r0:r0 + block] = s
    return codes, scales


def int8_strided(x, span=128, lanes=4):
    """INT8 with one scale per thread's keys of each `span`-token block: the tokens j with the same
    (j % 8) // 2, which one thread of the S accumulators' layout holds (columns 2t, 2t + 1 of each
    8-key n-tile), SageAttention 2's per-thread granularity: span / lanes tokens a group."""
    codes = np.empty_like(x); scales = np.empty((len(x), 1))
    j = np.arange(len(x))
    group = (j // span) * lanes + (j % 8) // 2
    for g in np.unique(group):
        rows = group == g
        amax = np.abs(x[rows]).max()
        s = amax / 127 if amax > 0 else 1
        codes[rows] = np.clip(np.rint(x[rows] / s), -127, 127); scales[rows] = s
    return codes, scales


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seq_kv", type=int, nargs="+")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--families", default="normal,outlier-channels,attention-sink")
    a = ap.parse_args()
    blocks = [0, 16, 32, 64, 128, "T32"]
    print(f"head_dim {a.d}; P128 V128; rel L2 against FP64 for K scales per token (0) or per k_block tokens")
    print(f"{'family':18} {'seq_kv':>7} " + " ".join(f"{'K' + str(b):>9}" for b in blocks))
    for fam in a.families.split(","):
        for skv in a.seq_kv:
            acc = {b: [] for b in blocks}
            for seed in range(a.seeds):
                q, k, v = inputs(fam, skv, a.d, a.rows, seed)
                ref = reference(q, k, v)
                for b in blocks:
                    quant = (lambda x: int8_strided(x)) if b == "T32" else (lambda x: int8_blocks(x, b))
                    s = int8_scores(q, k, quant)
                    out = int8fa_output(s, v, 128, 128, p_fp16=True)
                    acc[b].append(np.linalg.norm(out - ref) / np.linalg.norm(ref))
            print(f"{fam:18} {skv:>7} " + " ".join(f"{np.mean(acc[b]):>9.5f}" for b in blocks), flush=True)


if __name__ == "__main__":
    main()
