#!/usr/bin/env python3
"""int8-fa's contract with V scales per key block: an FP64 simulation of its accuracy.

int8-fa (docs/perf-log.md) quantizes V per channel over the whole head (one scale a channel)
and P per 64-key block (UINT8 against the block's max). This simulates, per head:
  reference  softmax(q k^T / sqrt(d)) v in FP64 on FP16-rounded inputs
  int8-fa    per-token INT8 Q and K (K smoothed: its channel mean over tokens subtracted),
             P codes rint(255 exp(s - block max)) per P block (the "h" variant rounds
             255 exp(s - block max) to FP16 first, as the 128-key kernel does), l from the exact p,
             V codes per channel (Vchan) or per channel and V block of keys (V64, V128), or with
             one scale a merge can apply per row (one factor a block, all channels alike):
               "V128 scal"  one scale per 128-key block for all channels (block's amax / 127);
               "V128 sep"   g_c t_b: g_c the channel's head-wide scale (Vchan's), t_b the max over
                            channels of amax_{b,c} / amax_c (<= 1), so that the block's relatively
                            largest channel spans the code range;
               "V128 sep2"  as "V128 sep" with t_b rounded up to a power of two,
             O = sum over blocks of exp(block max - row max) (codes @ V) / 255 / l
and prints rel L2 = |O - ref| / |ref| over the sampled query rows, mean over seeds. It models
the contract's arithmetic, not the kernels' FP32 rounding (the CPU emulation does that); the
baseline (P64 Vchan) lands within 0.0005 of the GPU kernels' measured rel L2.
Inputs: the tool's families in spirit (common/input_families.h): normal; K with 4 outlier
channels (+20); an attention sink (key 0 += 2 u, every query += 0.5 u); normal at scale 3;
V with 4 outlier channels, +20 ("v-outlier-channels") or x10 ("v-outlier-channels-x10");
"outlier-scale": 4 channels of K x20 and the same of Q x5 (s58).
Usage: research/v_block_scales.py [--d 128] [--rows 256] [--seeds 2] [--families F,...]
                                  [--variants NAME,...] SEQ_KV [SEQ_KV ...]
  variants: P64 Vchan, P64 V64, P128 Vchan, P128 V128, P128 V128 h, P128 V128 scal,
            P128 V128 sep, P128 V128 sep2, P128 V256, P128 V512 (V per channel and 256 / 512 keys)
            (default all)
"""
import argparse

import numpy as np


def int8_rows(x):
    """Per-row symmetric INT8: codes and scales (amax / 127)."""
    amax = np.abs(x).max(axis=1, keepdims=True)
    scale = np.where(amax > 0, amax / 127, 1)
    return np.clip(np.rint(x / scale), -127, 127), scale


def v_dequantized(v, v_block, v_mode="chan"):
    """V after INT8. v_mode "chan": per channel (v_block 0: over all keys) or per channel and
    v_block keys; per v_block keys with one factor a block: "scal" (one scale for all channels),
    "sep" (g_c t_b, g_c the channel's head-wide amax / 127, t_b = max_c amax_{b,c} / amax_c),
    "sep2" ("sep" with t_b rounded up to a power of two)."""
    out = np.empty_like(v)
    step = len(v) if v_block == 0 else v_block
    if v_mode != "chan":
        assert v_block > 0, v_mode
        amax_c = np.abs(v).max(axis=0)
        g = np.where(amax_c > 0, amax_c / 127, 1)
    for k0 in range(0, len(v), step):
        seg = v[k0:k0 + step]
        if v_mode == "chan":
            codes, scale = int8_rows(seg.T)
            out[k0:k0 + step] = (codes * scale).T
            continue
        amax_bc = np.abs(seg).max(axis=0)
        if v_mode == "scal":
            scale = np.full(v.shape[1], amax_bc.max() / 127 if amax_bc.max() > 0 else 1.0)
        elif v_mode in ("sep", "sep2"):
            t = np.where(amax_c > 0, amax_bc / np.where(amax_c > 0, amax_c, 1), 0).max()
            t = 1.0 if t <= 0 else t
            if v_mode == "sep2":
                t = 2.0 ** np.ceil(np.log2(t))
            scale = g * t
        else:
            raise ValueError(v_mode)
        out[k0:k0 + step] = np.clip(np.rint(seg / scale), -127, 127) * scale
    return out


def inputs(family, seq_kv, d, rows, seed):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((rows, d))
    k = rng.standard_normal((seq_kv, d))
    v = rng.standard_normal((seq_kv, d))
    if family == "outlier-channels":
        k[:, rng.choice(d, 4, replace=False)] += 20
    elif family == "v-outlier-channels":
        v[:, rng.choice(d, 4, replace=False)] += 20
    elif family == "v-outlier-channels-x10":
        v[:, rng.choice(d, 4, replace=False)] *= 10
    elif family == "attention-sink":
        u = rng.standard_normal(d)
        k[0] += 2 * u
        q += 0.5 * u
    elif family == "outlier-scale":  # the product's outlier-scale defaults (common/input_families.h)
        ch = rng.choice(d, 4, replace=False)
        k[:, ch] *= 20
        q[:, ch] *= 5
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


def int8fa_output(s, v, p_block, v_block, p_fp16=False, v_mode="chan"):
    """int8-fa's contract: P codes per p_block keys against the block max, V per v_block (0: channel)
    with v_mode's scales (v_dequantized); p_fp16: 255 p rounded to FP16 before the integer."""
    vq = v_dequantized(v, v_block, v_mode)
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
    return {name: np.linalg.norm(int8fa_output(s, v, p_block, v_block, p_fp16, v_mode) - ref)
            / np.linalg.norm(ref) for name, p_block, v_block, p_fp16, v_mode in variants}


VARIANTS = [("P64 Vchan", 64, 0, False, "chan"), ("P64 V64", 64, 64, False, "chan"),
            ("P128 Vchan", 128, 0, False, "chan"), ("P128 V128", 128, 128, False, "chan"),
            ("P128 V128 h", 128, 128, True, "chan"), ("P128 V128 scal", 128, 128, False, "scal"),
            ("P128 V128 sep", 128, 128, False, "sep"), ("P128 V128 sep2", 128, 128, False, "sep2"),
            ("P128 V256", 128, 256, False, "chan"), ("P128 V512", 128, 512, False, "chan")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seq_kv", type=int, nargs="+")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--families", default="normal,outlier-channels,attention-sink,normal-scale3,"
                    "v-outlier-channels,v-outlier-channels-x10")
    ap.add_argument("--variants", default=",".join(v[0] for v in VARIANTS),
                    help="comma-separated variant names (default all)")
    args = ap.parse_args()
    by_name = {v[0]: v for v in VARIANTS}
    unknown = [n for n in args.variants.split(",") if n not in by_name]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {list(by_name)}")
    variants = [by_name[n] for n in args.variants.split(",")]
    width = lambda name: max(11, len(name))
    print(f"head_dim {args.d}, {args.rows} query rows, {args.seeds} seeds; rel L2 against FP64")
    print(f"{'family':22} {'seq_kv':>7} " + " ".join(f"{v[0]:>{width(v[0])}}" for v in variants))
    for family in args.families.split(","):
        for seq_kv in args.seq_kv:
            acc = {}
            for seed in range(args.seeds):
                for name, value in rel_l2(family, seq_kv, args.d, args.rows, seed, variants).items():
                    acc.setdefault(name, []).append(value)
            print(f"{family:22} {seq_kv:>7} "
                  + " ".join(f"{np.mean(acc[v[0]]):>{width(v[0])}.5f}" for v in variants), flush=True)


if __name__ == "__main__":
    main()
