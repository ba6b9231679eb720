#!/usr/bin/env python3
"""K smoothing's mean from fewer tokens: an FP64 simulation of int8-fa's accuracy.

The quantizer subtracts a per-channel mean from K before its codes (docs/accuracy.md, "K's
mean"). Any vector works for the attention; the mean only narrows K's range. This compares rel
L2 (research/v_block_scales.py's model of int8-fa's product contract: per-token INT8 Q and K,
128-key P blocks through FP16, V per 128 keys) with K's mean taken as
  exact     the mean of every token
  chunks16  16 chunks of 128 consecutive tokens spread over the head (the rule until s34)
  tok128j   128 tokens, one from each 128th of the head at a hashed offset (the rule since s34)
  tok128    the same strata, each at its first token (no jitter)
  tok64j    64 jittered strata
  none      no smoothing
over the families of v_block_scales.py and "rope-bias": keys and queries with a per-channel
offset (4 sigma) rotated by RoPE (base 500000), the case where evenly spaced samples could line
up with a rotation's period.
Usage: research/k_mean_samples.py SEQ_KV [SEQ_KV ...]   (head_dim 128, 256 query rows, 2 seeds)
"""
import sys

import numpy as np

import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v_block_scales as vb

def rope(x, base=500000.0):
    n, d = x.shape
    pos = np.arange(n)[:, None]
    inv = base ** (-np.arange(0, d, 2) / d)
    ang = pos * inv[None, :]
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = x[:, 0::2], x[:, 1::2]
    out = np.empty_like(x)
    out[:, 0::2] = x1 * c - x2 * s
    out[:, 1::2] = x1 * s + x2 * c
    return out

def inputs(family, seq, d, rows, seed):
    if family.startswith("rope"):
        rng = np.random.default_rng(seed)
        bias = rng.standard_normal(d) * 4  # a per-channel offset before the rotation
        q = rope(rng.standard_normal((seq, d)) + bias)[-rows:]
        k = rope(rng.standard_normal((seq, d)) + bias)
        v = rng.standard_normal((seq, d))
        h = lambda x: x.astype(np.float16).astype(np.float64)
        return h(q), h(k), h(v)
    return vb.inputs(family, seq, d, rows, seed)

def mean_chunks(k):
    n = (len(k) + 127) // 128
    idx = range(n) if n <= 16 else [i * n // 16 for i in range(16)]
    rows = np.concatenate([k[c * 128:(c + 1) * 128] for c in idx])
    return rows.mean(axis=0, keepdims=True)

def mean_tokens(k, m=128, jitter=True):
    n = len(k)
    if n <= m: return k.mean(axis=0, keepdims=True)
    pos = []
    for i in range(m):
        lo, hi = i * n // m, (i + 1) * n // m
        h = ((i * 0x9E3779B1) & 0xffffffff) >> 8
        pos.append(lo + (h % (hi - lo) if jitter else 0))
    return k[pos].mean(axis=0, keepdims=True)

def run(family, seq, d, rows, seed):
    q, k, v = inputs(family, seq, d, rows, seed)
    ref = vb.reference(q, k, v)
    q8, qs = vb.int8_rows(q)
    out = {}
    for name, mu in [("exact", k.mean(axis=0, keepdims=True)), ("chunks16", mean_chunks(k)),
                     ("tok128j", mean_tokens(k, 128)), ("tok128", mean_tokens(k, 128, False)),
                     ("tok64j", mean_tokens(k, 64)), ("none", 0 * k[:1])]:
        k8, ks = vb.int8_rows(k - mu)
        s = (q8 @ k8.T) * qs * ks.T / np.sqrt(d)
        o = vb.int8fa_output(s, v, 128, 128, True)
        out[name] = np.linalg.norm(o - ref) / np.linalg.norm(ref)
    return out

names = ["exact", "chunks16", "tok128j", "tok128", "tok64j", "none"]
print("family seq " + " ".join(names), flush=True)
for fam in ["normal", "outlier-channels", "attention-sink", "normal-scale3", "rope-bias"]:
    for seq in [int(x) for x in sys.argv[1:]]:
        acc = {n: [] for n in names}
        for seed in range(2):
            for n, val in run(fam, seq, 128, 256, seed).items(): acc[n].append(val)
        print(fam, seq, " ".join(f"{np.mean(acc[n]):.5f}" for n in names), flush=True)
