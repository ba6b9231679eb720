#!/usr/bin/env python3
"""int8-fa's contract with V scales per key block: an FP64 simulation of its accuracy.

int8-fa (docs/perf-log.md) quantizes V per channel over the whole head (one scale a channel)
and P per 64-key block (UINT8 against the block's max). This simulates, per head:
  reference  softmax(q k^T / sqrt(d)) v in FP64 on FP16-rounded inputs
  int8-fa    per-token INT8 Q and K (K smoothed: its channel mean over tokens subtracted),
             P codes rint(255 exp(s - block max)) per P block (the "h" variant rounds
             255 exp(s - block max) to FP16 first, as the 128-key kernel does), l from the exact p,
             V codes per channel (Vchan) or per channel and V block of keys (V64, V128),
             O = sum over blocks of exp(block max - row max) (codes @ V) / 255 / l
and prints rel L2 = |O - ref| / |ref| over the sampled query rows, mean over seeds. It models
the contract's arithmetic, not the kernels' FP32 rounding (the CPU emulation does that); the
baseline (P64 Vchan) lands within 0.0005 of the GPU kernels' measured rel L2.
Inputs: the tool's families in spirit (common/input_families.h): normal; K with 4 outlier
channels (+20); an attention sink (key 0 += 2 u, every query += 0.5 u); normal at scale 3.
Usage: research/v_block_scales.py [--d 128] [--rows 256] [--seeds 2] SEQ_KV [SEQ_KV ...]
"""
import argparse

import numpy as np


def int8_rows(x):
    """Per-row symmetric INT8: codes and scales (amax / 127)."""
    amax = np.abs(x).max(axis=1, keepdims=True)
    scale = np.where(amax > 0, amax / 127, 1)
    return np.clip(np.rint(x / scale), -127, 127), scale


def v_dequantized(v, v_block):
    """V after INT8 per channel (v_block 0: over all keys) or per channel and v_block keys."""
    out = np.empty_like(v)
    step = len(v) if v_block == 0 else v_block
    for k0 in range(0, len(v), step):
        seg = v[k0:k0 + step]
        codes, scale = int8_rows(seg.T)
        out[k0:k0 + step] = (codes * scale).T
    return out


def inputs(family, seq_kv, d, rows, seed):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((rows, d))
    k = rng.standard_normal((seq_kv, d))
    v = rng.standard_normal((seq_kv, d))
    if family == "outlier-channels":
        k[:, rng.choice(d, 4, replace=False)] += 20
    elif family == "attention-sink":
        u = rng.standard_normal(d)
        k[0] += 2 * u
        q += 0.5 * u
    elif family == "normal-scale3":
        q, k, v = 3 * q, 3 * k, 3 * v
    half = lambda x: x.astype(np.float16).astype(np.float64)
    return half(q), half(k), half(v)


def reference(q, k, v):
    """The FP64 attention output softmax(q k^T / sqrt(d)) v."""
    s_ref = q @ k.T / np.sqrt(q.shape[1])
    e = np.exp(s_ref - s_ref.max(axis=1, keepdims=True))
    return e @ v / e.sum(axis=1, keepdims=True)


def int8_scores(q, k, k_quant=int8_rows):
    """The scores (log-e) of per-token INT8 Q and smoothed K quantized by k_quant (codes, scales)."""
    q8, q_scale = int8_rows(q)
    k8, k_scale = k_quant(k - k.mean(axis=0, keepdims=True))
    return (q8 @ k8.T) * q_scale * k_scale.T / np.sqrt(q.shape[1])


def problem(family, seq_kv, d, rows, seed):
    """V, the FP64 reference output, and the scores of per-token INT8 Q and smoothed K (log-e)."""
    q, k, v = inputs(family, seq_kv, d, rows, seed)
    return v, reference(q, k, v), int8_scores(q, k)


def int8fa_output(s, v, p_block, v_block, p_fp16=False):
    """int8-fa's contract: P codes per p_block keys against the block max, V per v_block (0: channel);
    p_fp16: 255 p rounded to FP16 before the integer."""
    vq = v_dequantized(v, v_block)
    row_max = s.max(axis=1, keepdims=True)
    num = np.zeros((s.shape[0], v.shape[1]))
    l = np.zeros((s.shape[0], 1))
    for k0 in range(0, s.shape[1], p_block):
        sb = s[:, k0:k0 + p_block]
        block_max = sb.max(axis=1, keepdims=True)
        p = np.exp(sb - block_max)
        w = np.exp(block_max - row_max)
        l += w * p.sum(axis=1, keepdims=True)
        t = p * 255
        codes = np.rint(t.astype(np.float32).astype(np.float16).astype(np.float64) if p_fp16 else t)
        num += w * (codes @ vq[k0:k0 + p_block]) / 255
    return num / l


def rel_l2(family, seq_kv, d, rows, seed, variants):
    v, ref, s = problem(family, seq_kv, d, rows, seed)
    return {name: np.linalg.norm(int8fa_output(s, v, p_block, v_block, p_fp16) - ref) / np.linalg.norm(ref)
            for name, p_block, v_block, p_fp16 in variants}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seq_kv", type=int, nargs="+")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--families", default="normal,outlier-channels,attention-sink,normal-scale3")
    args = ap.parse_args()
    variants = [("P64 Vchan", 64, 0, False), ("P64 V64", 64, 64, False), ("P128 Vchan", 128, 0, False),
                ("P128 V128", 128, 128, False), ("P128 V128 h", 128, 128, True)]
    print(f"head_dim {args.d}, {args.rows} query rows, {args.seeds} seeds; rel L2 against FP64")
    print(f"{'family':18} {'seq_kv':>7} " + " ".join(f"{v[0]:>11}" for v in variants))
    for family in args.families.split(","):
        for seq_kv in args.seq_kv:
            acc = {}
            for seed in range(args.seeds):
                for name, value in rel_l2(family, seq_kv, args.d, args.rows, seed, variants).items():
                    acc.setdefault(name, []).append(value)
            print(f"{family:18} {seq_kv:>7} " + " ".join(f"{np.mean(acc[v[0]]):>11.5f}" for v in variants),
                  flush=True)


if __name__ == "__main__":
    main()
