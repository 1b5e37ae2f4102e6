"""PyTorch CPU side of bench_model: the same GPT (tests/python/gpt_torch.py), the
same shapes (L2 d64 ctx64, L2 d64, L4 d128, L6 d256 at ctx 256; 16 sequences,
vocab 256, 4 heads, d_ff 4d), fp32, one full training step (zero_grad, forward,
backward, clip, AdamW) timed like BM_TrainStep. Prints tokens/s per shape, and,
given bench_model's JSON (--ours FILE from --benchmark_format=json), the ratios.

Run as the issue asks: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/model/torch_bench.py
(torch.set_num_threads(2) is set here; --threads to change).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "python"))
import gpt_torch  # noqa: E402

SHAPES = [(2, 64, 64), (2, 64, 256), (4, 128, 256), (6, 256, 256)]


def bench(L, d, ctx, min_time):
    V, B, NH = 256, 16, 4
    p = gpt_torch.init_params(L, d, 4 * d, ctx, V, torch.float32, seed=1)
    opt = gpt_torch.make_optimizer(p, 1e-4, 0.1)
    params = list(p.values())
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, V, (B, ctx), generator=g)
    y = torch.randint(0, V, (B, ctx), generator=g)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = gpt_torch.forward(p, x, y, NH)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= 2:
            return n * B * ctx / dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--ours", help="bench_model --benchmark_format=json output")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ours = {}
    if a.ours:
        for b in json.load(open(a.ours))["benchmarks"]:
            if b["name"].startswith("BM_TrainStep/"):
                parts = dict(kv.split(":") for kv in b["name"].split("/")[1:4])
                ours[(int(parts["L"]), int(parts["d"]), int(parts["ctx"]))] = b["tokens_per_s"]
    print(f"torch {torch.__version__}, {a.threads} threads, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    for L, d, ctx in SHAPES:
        tps = bench(L, d, ctx, a.min_time)
        line = f"L{L} d{d} ctx{ctx}: torch {tps:10.0f} tokens/s"
        if (L, d, ctx) in ours:
            line += f"   ours {ours[(L, d, ctx)]:10.0f} tokens/s   ratio {ours[(L, d, ctx)] / tps:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
