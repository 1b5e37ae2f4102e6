"""A PyTorch trainer for one ScaleSweep point, written from the documented behaviour
(docs/training.md, model/io/loader.h, model/rng.h, model/schedule.h, model/gpt.h), not
from our code: the same training windows (splitmix64 of (seed, step, index), Lemire
multiply-shift), the same evenly spaced val windows, the same init (std::mt19937_64 +
Box-Muller, GPT-2 stds), the same warmup + cosine schedule, clipping and AdamW groups.

Invariant: given the same shards, shape and hyper-parameters, the only differences from
`scalesweep train` are float summation order and the GEMM library, so the two loss curves
must agree closely (tests/python/train_parity_test.py checks it).

Usage: /usr/bin/python3 tests/python/torch_train.py --train T.bin --val V.bin
           --layers 2 --d-model 64 --heads 4 --ctx 128 --batch 16 --steps 600 --lr 3e-3
           --warmup 30 [--seed 1] [--eval-interval 50] [--eval-tokens 32768] [--json OUT]
"""
import argparse
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

import gpt_torch

MASK64 = (1 << 64) - 1


# ---- data: token shards and the two loaders -------------------------------------------------

def read_shard(path):
    """Tokens of a shard (32-byte header "SSTOK", version, vocab, count; then u16)."""
    raw = open(path, "rb").read()
    assert raw[:5] == b"SSTOK", path
    count = int.from_bytes(raw[16:24], "little")
    tok = np.frombuffer(raw, dtype="<u2", count=count, offset=32)
    return torch.from_numpy(tok.astype(np.int64))


def splitmix64_mix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def train_window_start(seed, step, index, num_starts):
    h = splitmix64_mix(seed)
    h = splitmix64_mix(h ^ step)
    h = splitmix64_mix(h ^ index)
    return (h * num_starts) >> 64


def train_batch(tok, seed, step, batch, T):
    """Sequences 0..batch-1 of 0-based optimizer step `step` (one micro step, dp = 1)."""
    num_starts = len(tok) - T
    starts = [train_window_start(seed, step, b, num_starts) for b in range(batch)]
    idx = torch.tensor(starts)[:, None] + torch.arange(T + 1)[None, :]
    w = tok[idx]
    return w[:, :-1], w[:, 1:]


def val_windows(tok, T, count):
    last = len(tok) - T - 1
    starts = [0] if count == 1 else [last * k // (count - 1) for k in range(count)]
    idx = torch.tensor(starts)[:, None] + torch.arange(T + 1)[None, :]
    w = tok[idx]
    return w[:, :-1], w[:, 1:]


# ---- init: std::mt19937_64 and the Box-Muller pairs of model/rng.h ------------------------------

def mt19937_64(seed, count):
    """The first `count` outputs of std::mt19937_64(seed), as uint64 numpy values."""
    n, m = 312, 156
    mt = [0] * n
    mt[0] = seed & MASK64
    for i in range(1, n):
        mt[i] = (6364136223846793005 * (mt[i - 1] ^ (mt[i - 1] >> 62)) + i) & MASK64
    state = np.array(mt, dtype=np.uint64)
    upper, lower = np.uint64(0xFFFFFFFF80000000), np.uint64(0x7FFFFFFF)
    matrix = np.uint64(0xB5026F5AA96619E9)
    out = []
    produced = 0
    while produced < count:
        new = state.copy()

        def twist(i0, i1, nxt, far):
            x = (new[i0:i1] & upper) | (nxt & lower)
            xa = x >> np.uint64(1)
            xa = np.where(x & np.uint64(1), xa ^ matrix, xa)
            new[i0:i1] = far ^ xa

        twist(0, n - m, state[1:n - m + 1], state[m:n])           # reads old words only
        twist(n - m, n - 1, state[n - m + 1:n], new[0:m - 1])     # reads the new first part
        twist(n - 1, n, new[0:1], new[m - 1:m])
        state = new
        y = state.copy()
        y ^= (y >> np.uint64(29)) & np.uint64(0x5555555555555555)
        y ^= (y << np.uint64(17)) & np.uint64(0x71D67FFFEDA60000)
        y ^= (y << np.uint64(37)) & np.uint64(0xFFF7EEE000000000)
        y ^= y >> np.uint64(43)
        out.append(y)
        produced += n
    return np.concatenate(out)[:count]


def normals(seed, count):
    """NormalRng(seed).normal() called `count` times: (cos, sin) of each Box-Muller pair."""
    pairs = (count + 1) // 2
    bits = mt19937_64(seed, 2 * pairs)
    u = ((bits >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0 ** -53
    u1, u2 = u[0::2], u[1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    angle = 6.283185307179586 * u2
    z = np.empty(2 * pairs)
    z[0::2], z[1::2] = r * np.cos(angle), r * np.sin(angle)
    return z[:count]


def init_like_scalesweep(L, C, F_, T, V, seed, resid_scale=True):
    """The parameters of model::GptT::init_params(seed), tensor by tensor in layout order
    (resid_scale=False: std 0.02 for the residual projections too, an experiment)."""
    shapes = gpt_torch.shapes(L, C, F_, T, V)
    drawn = [n for n in gpt_torch.NAMES if n in gpt_torch.DECAY]  # every matrix is random
    z = normals(seed, sum(math.prod(shapes[n]) for n in drawn))
    std_resid = 0.02 / math.sqrt(2.0 * L) if resid_scale else 0.02
    p, off = {}, 0
    for name in gpt_torch.NAMES:
        shp = shapes[name]
        if name in gpt_torch.DECAY:
            k = math.prod(shp)
            std = std_resid if name in ("attprojw", "fcprojw") else 0.02
            t = torch.from_numpy(std * z[off:off + k]).reshape(shp)
            off += k
        elif name in ("ln1w", "ln2w", "lnfw"):
            t = torch.ones(shp, dtype=torch.float64)
        else:
            t = torch.zeros(shp, dtype=torch.float64)
        p[name] = t.float().requires_grad_(True)
    return p


# ---- schedule and loop ----------------------------------------------------------------------

def lr_at(peak, warmup, total, min_ratio, step):
    if step < warmup:
        return peak * (step + 1) / warmup
    lo = min_ratio * peak
    decay = total - 1 - warmup
    if decay <= 0:
        return lo if step >= total - 1 else peak
    progress = min(1.0, (step - warmup) / decay)
    return lo + 0.5 * (peak - lo) * (1.0 + math.cos(math.pi * progress))


def evaluate(p, val, heads, batch):
    x, y = val
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            total += gpt_torch.forward(p, x[i:i + batch], y[i:i + batch], heads).item() * \
                len(x[i:i + batch])
    return total / len(x)


def train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    tr, va = read_shard(a.train), read_shard(a.val)
    C, L, T, V, F_ = a.d_model, a.layers, a.ctx, 256, 4 * a.d_model
    p = init_like_scalesweep(L, C, F_, T, V, a.seed, resid_scale=not a.no_resid_scale)
    opt = gpt_torch.make_optimizer(p, a.lr, a.weight_decay)
    if a.no_embedding_decay:  # experiment: wte/wpe without weight decay
        decay = [p[n] for n in gpt_torch.NAMES if n in gpt_torch.DECAY and n not in ("wte", "wpe")]
        rest = [p[n] for n in gpt_torch.NAMES if n not in gpt_torch.DECAY or n in ("wte", "wpe")]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                                 {"params": rest, "weight_decay": 0.0}],
                                lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    params = [p[n] for n in gpt_torch.NAMES]
    val = val_windows(va, T, max(1, a.eval_tokens // T))
    curve = []
    for step in range(1, a.steps + 1):
        x, y = train_batch(tr, a.seed, step - 1, a.batch, T)
        loss = gpt_torch.forward(p, x, y, a.heads)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, a.grad_clip)
        for g in opt.param_groups:
            g["lr"] = lr_at(a.lr, a.warmup, a.steps, a.lr_min_ratio, step - 1)
        opt.step()
        if step % a.eval_interval == 0 or step == a.steps:
            v = evaluate(p, val, a.heads, a.batch)
            curve.append({"step": step, "train": loss.item(), "val": v})
            print(f"step {step} train {loss.item():.4f} val {v:.4f}", flush=True)
    if a.full_val:  # every non-overlapping window of the val shard
        n = (len(va) - 1) // T
        idx = torch.arange(n)[:, None] * T + torch.arange(T + 1)[None, :]
        whole = (va[idx][:, :-1], va[idx][:, 1:])
        curve.append({"step": "full_val", "val": evaluate(p, whole, a.heads, 64)})
        print(f"full val ({n} windows): {curve[-1]['val']:.4f}", flush=True)
    return curve


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--lr-min-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval-interval", type=int, default=50)
    ap.add_argument("--eval-tokens", type=int, default=32768)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    # Experiments (not ScaleSweep's behaviour): what a different trainer would do.
    ap.add_argument("--no-resid-scale", action="store_true", help="std 0.02 for projections")
    ap.add_argument("--no-embedding-decay", action="store_true", help="no decay on wte/wpe")
    ap.add_argument("--full-val", action="store_true", help="also eval the whole val shard")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse(argv)
    curve = train(a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(curve, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
