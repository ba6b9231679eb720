#!/usr/bin/env python3
"""Two more K-scale contracts for int8-fa, FP64 model (docs/perf-log.md s36), beside per-token K.

Both aim at the step's per-score K-scale FMUL (64 of the 128-key step's ~733 SASS at d128):
  Kchan->Q   K per channel over the whole head (after smoothing), its channel scales folded
             into Q before Q's per-token quantization: S needs no K scale at all.
  KT32..KT4  K scaled per group of a thread's keys (SageAttention 2's per-thread granularity and
             finer): groups of 32 / 16 / 8 / 4 tokens of a 128-key block, G = 1 / 2 / 4 / 8 groups
             a thread, each group's row max scaled once (2G multiplies a row, not 32).
research/v_block_scales.py's model otherwise (P128 with FP16 rounding, V per 128 keys, 256 query
rows, mean over seeds). Usage: research/k_scale_granularity.py [FAMILY,...] [SEQ_KV ...]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v_block_scales import inputs, int8_rows, int8fa_output, int8_scores, reference  # noqa: E402


def grouped(group_of):
    """INT8 K with one scale per group of tokens (group_of: token index -> group id)."""
    def quant(x):
        g = group_of(np.arange(len(x)))
        codes = np.empty_like(x); scales = np.empty((len(x), 1))
        for gg in np.unique(g):
            rows = g == gg
            amax = np.abs(x[rows]).max(); s = amax / 127 if amax > 0 else 1
            codes[rows] = np.clip(np.rint(x[rows] / s), -127, 127); scales[rows] = s
        return codes, scales
    return quant


def kchan_scores(q, k):
    """Smoothed K per channel over all tokens, its scales folded into Q, Q per token."""
    ks = k - k.mean(axis=0, keepdims=True)
    amax = np.abs(ks).max(axis=0, keepdims=True)
    sk = np.where(amax > 0, amax / 127, 1)
    k8 = np.clip(np.rint(ks / sk), -127, 127)
    q8, sq = int8_rows(q * sk)
    return (q8 @ k8.T) * sq / np.sqrt(q.shape[1])


# In the S accumulators' layout a thread holds columns 2t, 2t + 1 of each 8-key n-tile.
VARIANTS = {
    "token": lambda q, k: int8_scores(q, k),
    "Kchan->Q": kchan_scores,
    "KT32": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 4 + (j % 8) // 2)),
    "KT16": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 8 + j % 8)),
    "KT8": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 16 + (j % 128) // 64 * 8 + j % 8)),
    "KT4": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 32 + (j % 128) // 32 * 8 + j % 8)),
}


def main():
    fams = sys.argv[1].split(",") if len(sys.argv) > 1 else ["normal", "normal-scale3", "attention-sink"]
    lengths = [int(a) for a in sys.argv[2:]] or [4096, 16384]
    print("rel L2 against FP64, head_dim 128: " + "  ".join(VARIANTS))
    for fam in fams:
        for skv in lengths:
            acc = {name: [] for name in VARIANTS}
            for seed in range(2):
                q, k, v = inputs(fam, skv, 128, 256, seed)
                ref = reference(q, k, v)
                for name, scores in VARIANTS.items():
                    out = int8fa_output(scores(q, k), v, 128, 128, p_fp16=True)
                    acc[name].append(np.linalg.norm(out - ref) / np.linalg.norm(ref))
            print(f"{fam:16} {skv:6} " + "  ".join(f"{np.mean(a):.5f}" for a in acc.values()), flush=True)


if __name__ == "__main__":
    main()
