#!/usr/bin/env python3
"""INT8 Q·K^T with FP8 (e4m3) P·V, SageAttention2's split, against int8-fa's INT8 P·V: FP64 accuracy.

The design names FP8 P·V as a lever (the INT32 merge of each P block goes: FP8 wgmma accumulates
in FP32 across blocks). Before building the kernel, this asks what it costs in accuracy, with
the same inputs and INT8 Q/K as research/v_block_scales.py:
  int8-fa   P codes rint(255 exp(s - block max)) per 64-key block, V INT8 per channel
  fp8       P = e4m3(448 exp(s - running max)), V = e4m3(v / (amax / 448)) per channel, l from
            the exact p, O rescaled by the running max as FlashAttention does
  fp8 smoothV  the same with V's channel mean taken out before e4m3 and added back to O
Needs numpy and ml_dtypes (float8_e4m3fn). Usage: research/fp8_pv.py [--d 128] SEQ_KV [...]
"""
import argparse

import ml_dtypes
import numpy as np

import v_block_scales as vb


def e4m3(x):
    return np.clip(x, -448, 448).astype(np.float32).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)


def fp8_pv(s, v, rows, smooth_v):
    mean = v.mean(axis=0, keepdims=True) if smooth_v else 0.0
    centred = v - mean
    amax = np.abs(centred).max(axis=0, keepdims=True)
    scale = np.where(amax > 0, amax / 448, 1)
    v8 = e4m3(centred / scale)
    m = np.full((rows, 1), -np.inf)
    num = np.zeros((rows, v.shape[1]))
    l = np.zeros((rows, 1))
    for k0 in range(0, s.shape[1], 64):
        sb = s[:, k0:k0 + 64]
        m_new = np.maximum(m, sb.max(axis=1, keepdims=True))
        alpha = np.exp(m - m_new)
        p = np.exp(sb - m_new)
        l = l * alpha + p.sum(axis=1, keepdims=True)
        num = num * alpha + e4m3(448 * p) @ v8[k0:k0 + 64]
        m = m_new
    return num * scale / 448 / l + mean


def rel_l2(family, seq_kv, d, rows, seed):
    v, ref, s = vb.problem(family, seq_kv, d, rows, seed)
    err = lambda o: np.linalg.norm(o - ref) / np.linalg.norm(ref)
    return {"int8-fa": err(vb.int8fa_output(s, v, 64, 0)), "fp8": err(fp8_pv(s, v, rows, False)),
            "fp8 smoothV": err(fp8_pv(s, v, rows, True))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seq_kv", type=int, nargs="+")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rows", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--families", default="normal,outlier-channels,attention-sink,normal-scale3")
    args = ap.parse_args()
    names = ["int8-fa", "fp8", "fp8 smoothV"]
    print(f"head_dim {args.d}, {args.rows} query rows, {args.seeds} seeds; rel L2 against FP64")
    print(f"{'family':18} {'seq_kv':>7} " + " ".join(f"{n:>11}" for n in names))
    for family in args.families.split(","):
        for seq_kv in args.seq_kv:
            runs = [rel_l2(family, seq_kv, args.d, args.rows, seed) for seed in range(args.seeds)]
            print(f"{family:18} {seq_kv:>7} " + " ".join(f"{np.mean([r[n] for r in runs]):>11.5f}" for n in names),
                  flush=True)


if __name__ == "__main__":
    main()
