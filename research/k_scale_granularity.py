#!/usr/bin/env python3
"""Two more K-scale contracts for int8-fa, FP64 model (docs/perf-log.md s36), beside per-token K.

Both aim at the step's per-score K-scale FMUL (64 of the 128-key step's ~733 SASS at d128):
  Kchan->Q   K per channel over the whole head (after smoothing), its channel scales folded
             into Q before Q's per-token quantization: S needs no K scale at all.
  KT32..KT4  K scaled per group of a thread's keys (SageAttention 2's per-thread granularity and
             finer): groups of 32 / 16 / 8 / 4 tokens of a 128-key block, G = 1 / 2 / 4 / 8 groups
             a thread, each group's row max scaled once (2G multiplies a row, not 32).
  NAME+H     the variant on Q H and K H, H the orthonormal d x d Walsh-Hadamard matrix (Sylvester,
             / sqrt(d)), applied after K's smoothing and before quantization (Q K^T unchanged in
             exact arithmetic; the rotated values stay FP64, no FP16 rounding after H).
  KT32s      KT32 with each 128-key block's keys ranked by their own amax, a thread's group being
             32 keys of one rank quarter (the quantizer would permute K and V alike within the
             block, and the masked steps would read the keys' positions: s56).
  KT16h      KT32's groups split by the block's halves (keys 0-63, 64-127): two scales a thread,
             one per half of its n-tiles (s58).
  KT16s      KT32s with eight rank groups of 16 keys (two a thread; s58).
  KT16L      eight groups of 16, each led by one of the block's eight largest keys, the others
             ranked in runs filling the led groups in turn (KT16Lr: the smallest leader's group
             first, so the largest leader takes the smallest keys; KT32Lr: four groups; KT16L4 /
             KT16L4r: four leaders; s72).
  KT16A13    per block KT16Lr where the block's amax is heavy-tailed (largest > 1.3 x the
             ninth largest), else KT16s (A12, A15, A20: other thresholds; KT32A: four groups).
  KT8P4      per block the KT16Lr-style layout with 0..16 leaders (16 groups of 8 keys, four
             scales a thread) that minimizes sum over groups of amax_g^2 * sum of amax_j^4, a
             proxy for the attention a key's size earns it (P2-P12: other exponents, P6 the best
             over eight seeds; KT16P / KT32P: eight / four groups; s72).
KT32's groups follow the S accumulators' layout, not contiguous runs: key j of a 128-key block is in
group (j % 8) // 2, the quad lane t that holds columns 2t, 2t + 1 of every 8-key n-tile (32 keys).
research/v_block_scales.py's model otherwise (P128 with FP16 rounding, V per 128 keys, 256 query
rows, mean over seeds; --v-block / --v-mode set V's contract, s57).
Usage: research/k_scale_granularity.py [--d 128] [--rows 256] [--seeds 2] [--v-block 128]
                                       [--v-mode chan] [--variants NAME,...] [FAMILY,...] [SEQ_KV ...]
"""
import argparse
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


def sorted_grouped(span=128, groups=4):
    """K per group of span // groups tokens of each span-token block, the groups made by ranking
    the block's tokens by their own amax (the quantizer would permute K and V alike within the
    block so that a thread's keys are one group: attention is invariant to a key permutation)."""
    def quant(x):
        amax = np.abs(x).max(axis=1)
        g = np.empty(len(x), dtype=np.int64)
        for b0 in range(0, len(x), span):
            order = np.argsort(amax[b0:b0 + span], kind="stable")
            g[b0 + order] = b0 // span * groups + np.arange(len(order)) * groups // span
        return grouped(lambda j: g[j])(x)
    return quant


def leader_layout(groups, size, leaders, reverse=False):
    """Group of each rank of a block's keys (rank 0: the largest amax) in groups of `size`: ranks
    0 .. leaders - 1 lead groups 0, 1, ... one each, and the other ranks are dealt in runs filling
    the groups in turn, the led groups first, then the others (reverse: each in the opposite order,
    so the smallest leader's group takes the largest run). leaders 0 gives ranked groups (s72)."""
    g = np.empty(groups * size, dtype=np.int64)
    g[:leaders] = np.arange(leaders)
    led, free = list(range(leaders)), list(range(leaders, groups))
    fill = (led[::-1] + free[::-1]) if reverse else (led + free)
    i = leaders
    for gg in fill:
        room = size - (1 if gg < leaders else 0)
        g[i:i + room] = gg
        i += room
    return g


def ranked_blocks(span, groups, layout_of):
    """K per group of span // groups tokens of each span-token block: the block's keys ranked by
    amax from the largest, layout_of(their amax in that order) giving each rank's group."""
    def quant(x):
        amax = np.abs(x).max(axis=1)
        g = np.empty(len(x), dtype=np.int64)
        for b0 in range(0, len(x), span):
            order = np.argsort(-amax[b0:b0 + span], kind="stable")
            g[b0 + order] = b0 // span * groups + layout_of(amax[b0 + order])
        return grouped(lambda j: g[j])(x)
    return quant


def leaders_grouped(span=128, groups=8, leaders=None, reverse=False):
    """leader_layout in every block, with `leaders` leaders (default one a group), so the keys
    attention weights most keep their own scale (s72)."""
    layout = leader_layout(groups, span // groups, groups if leaders is None else leaders, reverse)
    return ranked_blocks(span, groups, lambda a: layout)


def adaptive_grouped(span=128, groups=8, tail=1.3):
    """Per block: a leader per group (reverse) where the block's amax is heavy-tailed (its largest
    over its groups + 1-th largest above `tail`), else ranked groups (s72)."""
    size = span // groups
    led, ranked = leader_layout(groups, size, groups, True), leader_layout(groups, size, 0)
    return ranked_blocks(span, groups, lambda a: led if a[0] > tail * a[groups] else ranked)


def proxy_grouped(span=128, groups=8, beta=2.0, levels=None):
    """Per block, the leader_layout (reverse) with 0..groups leaders that minimizes the sum over
    groups of (group amax)^2 * sum of its keys' amax^beta: a key's scale error weighted by how much
    attention its size earns it (beta 0: ranked groups are best; s72). levels: each key's amax as
    an integer rint(amax * levels / block amax) and the cost in exact integers (r^beta over 8 keys
    times r_max^2 fits 64 bits at levels 127, beta 6), as the GPU quantizer and its CPU mirror
    compute it bit for bit (common/k_groups.h, s73)."""
    layouts = [leader_layout(groups, span // groups, leaders, True) for leaders in range(groups + 1)]
    def cost(a, layout):
        w = a ** beta
        return sum(a[layout == gg].max() ** 2 * w[layout == gg].sum() for gg in range(groups))
    def layout_of(a):
        if levels is not None:
            a = np.rint(a * (levels / a[0])).astype(np.int64) if a[0] > 0 else np.zeros(len(a), np.int64)
        return min(layouts, key=lambda layout: cost(a, layout))
    return ranked_blocks(span, groups, layout_of)


def kchan_scores(q, k):
    """Smoothed K per channel over all tokens, its scales folded into Q, Q per token."""
    ks = k - k.mean(axis=0, keepdims=True)
    amax = np.abs(ks).max(axis=0, keepdims=True)
    sk = np.where(amax > 0, amax / 127, 1)
    k8 = np.clip(np.rint(ks / sk), -127, 127)
    q8, sq = int8_rows(q * sk)
    return (q8 @ k8.T) * sq / np.sqrt(q.shape[1])


def hadamard(d):
    """The orthonormal d x d Walsh-Hadamard matrix (Sylvester; d a power of two)."""
    h = np.ones((1, 1))
    while len(h) < d:
        h = np.block([[h, h], [h, -h]])
    assert len(h) == d, d
    return h / np.sqrt(d)


def rotated(scores):
    """scores on Q H and K H. K's smoothing inside scores subtracts mean(K H) = mean(K) H, so this
    is the rotation applied after smoothing, before quantization."""
    def f(q, k):
        h = hadamard(q.shape[1])
        return scores(q @ h, k @ h)
    return f


# In the S accumulators' layout a thread holds columns 2t, 2t + 1 of each 8-key n-tile.
VARIANTS = {
    "token": lambda q, k: int8_scores(q, k),
    "Kchan->Q": kchan_scores,
    "KT32": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 4 + (j % 8) // 2)),
    "KT32s": lambda q, k: int8_scores(q, k, sorted_grouped()),
    "KT16": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 8 + j % 8)),
    "KT16h": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 8 + (j % 128) // 64 * 4 + (j % 8) // 2)),
    "KT16s": lambda q, k: int8_scores(q, k, sorted_grouped(groups=8)),
    "KT16L": lambda q, k: int8_scores(q, k, leaders_grouped()),
    "KT16Lr": lambda q, k: int8_scores(q, k, leaders_grouped(reverse=True)),
    "KT32Lr": lambda q, k: int8_scores(q, k, leaders_grouped(groups=4, reverse=True)),
    "KT16L1r": lambda q, k: int8_scores(q, k, leaders_grouped(leaders=1, reverse=True)),
    "KT16L2r": lambda q, k: int8_scores(q, k, leaders_grouped(leaders=2, reverse=True)),
    "KT16L4r": lambda q, k: int8_scores(q, k, leaders_grouped(leaders=4, reverse=True)),
    "KT16L4": lambda q, k: int8_scores(q, k, leaders_grouped(leaders=4)),
    "KT16A12": lambda q, k: int8_scores(q, k, adaptive_grouped(tail=1.2)),
    "KT16A13": lambda q, k: int8_scores(q, k, adaptive_grouped(tail=1.3)),
    "KT16A15": lambda q, k: int8_scores(q, k, adaptive_grouped(tail=1.5)),
    "KT16A20": lambda q, k: int8_scores(q, k, adaptive_grouped(tail=2.0)),
    "KT32A13": lambda q, k: int8_scores(q, k, adaptive_grouped(groups=4, tail=1.3)),
    "KT32A12": lambda q, k: int8_scores(q, k, adaptive_grouped(groups=4, tail=1.2)),
    "KT16P0": lambda q, k: int8_scores(q, k, proxy_grouped(beta=0)),
    "KT16P2": lambda q, k: int8_scores(q, k, proxy_grouped(beta=2)),
    "KT16P4": lambda q, k: int8_scores(q, k, proxy_grouped(beta=4)),
    "KT16P8": lambda q, k: int8_scores(q, k, proxy_grouped(beta=8)),
    "KT8s": lambda q, k: int8_scores(q, k, sorted_grouped(groups=16)),
    "KT8P2": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=2)),
    "KT8P4": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=4)),
    "KT8P6": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=6)),
    "KT8P8": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=8)),
    "KT8P12": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=12)),
    "KT32P4": lambda q, k: int8_scores(q, k, proxy_grouped(groups=4, beta=4)),
    "KT8P6i": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=6, levels=127)),
    "KT8P6i15": lambda q, k: int8_scores(q, k, proxy_grouped(groups=16, beta=6, levels=15)),
    "KT8q": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 16 + (j % 8) // 2 * 4 + (j % 128) // 32)),
    "KT8": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 16 + (j % 128) // 64 * 8 + j % 8)),
    "KT4": lambda q, k: int8_scores(q, k, grouped(lambda j: (j // 128) * 32 + (j % 128) // 32 * 8 + j % 8)),
}
VARIANTS.update({name + "+H": rotated(f) for name, f in list(VARIANTS.items())})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("args", nargs="*", help="[FAMILY,...] [SEQ_KV ...]")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated (default all)")
    ap.add_argument("--v-block", type=int, default=128,
                    help="keys per V scale of each channel (0: one scale a channel over the head; s57)")
    ap.add_argument("--v-mode", default="chan", choices=["chan", "scal", "sep", "sep2"],
                    help="V's scales as research/v_block_scales.py's v_dequantized (default chan)")
    a = ap.parse_args()
    pos = a.args
    fams = ["normal", "normal-scale3", "attention-sink"]
    if pos and not pos[0].isdigit():
        fams, pos = pos[0].split(","), pos[1:]
    lengths = [int(x) for x in pos] or [4096, 16384]
    names = a.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    print(f"rel L2 against FP64, head_dim {a.d}, {a.rows} query rows, {a.seeds} seeds, "
          f"V per {a.v_block or 'head'} keys ({a.v_mode})")
    print(f"{'family':16} {'seq_kv':>6} " + " ".join(f"{n:>9}" for n in names))
    for fam in fams:
        for skv in lengths:
            acc = {name: [] for name in names}
            for seed in range(a.seeds):
                q, k, v = inputs(fam, skv, a.d, a.rows, seed)
                ref = reference(q, k, v)
                for name in names:
                    out = int8fa_output(VARIANTS[name](q, k), v, 128, a.v_block, p_fp16=True, v_mode=a.v_mode)
                    acc[name].append(np.linalg.norm(out - ref) / np.linalg.norm(ref))
            print(f"{fam:16} {skv:6} " + " ".join(f"{np.mean(x):9.5f}" for x in acc.values()), flush=True)


if __name__ == "__main__":
    main()
