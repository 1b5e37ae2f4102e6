"""PyTorch CPU side of bench_model, and the interleaved side-by-side comparison.

The same GPT (tests/python/gpt_torch.py), the same shapes (L2 d64 ctx64, L2 d64,
L4 d128, L6 d256 at ctx 256; 16 sequences, vocab 256, 4 heads, d_ff 4d), fp32, one
full training step (zero_grad, forward, backward, clip, AdamW) timed like
BM_TrainStep. Prints tokens/s per shape.

Given --ours BENCH_MODEL (the binary), it interleaves: for each repetition and each
shape, bench_model on that shape, then PyTorch on it, then (once per repetition)
bench_model's sgemm. On a shared machine the load moves by the second, so a ratio
is only meaningful from runs this close together; it prints, per shape, the median
ratio over the repetitions with its min and max, our model FLOP/s as a fraction
of the same repetition's sgemm FLOP/s, and the ratio of process CPU seconds per
token (all threads; torch/ours, so > 1 means ours does less work), each as median
[min, max], plus the load average before and after. The tokens/s ratio is the
goal's measure; the CPU-time ratio is steadier on a loaded machine.

Run through bench/model/compare.sh (sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS=1
for torch's own process, OMP_WAIT_POLICY=PASSIVE).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "python"))
import gpt_torch  # noqa: E402

SHAPES = [(2, 64, 64), (2, 64, 256), (4, 128, 256), (6, 256, 256)]


def bench_torch(L, d, ctx, min_time):
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
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        step()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= 2:
            return n * B * ctx / dt, (time.process_time() - c0) / (n * B * ctx)


def run_ours(binary, threads, regex, min_time):
    """bench_model's JSON benchmarks matching regex, as {name: entry}."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        env.pop("OPENBLAS_NUM_THREADS", None)
        subprocess.run([binary, f"--benchmark_filter={regex}", f"--benchmark_min_time={min_time}",
                        f"--benchmark_out={f.name}", "--benchmark_out_format=json"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return {b["name"]: b for b in json.load(open(f.name))["benchmarks"]}


def spread(xs):
    return f"{statistics.median(xs):6.2f} [{min(xs):.2f}, {max(xs):.2f}]"


def interleaved(a):
    ratios = {s: [] for s in SHAPES}
    cpu_ratios = {s: [] for s in SHAPES}
    mfu = {s: [] for s in SHAPES}
    tps = {s: ([], []) for s in SHAPES}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    for rep in range(a.reps):
        sgemm_runs = run_ours(a.ours, a.threads, "BM_Sgemm", a.min_time)
        sgemm = max(x["flops"] for x in sgemm_runs.values())
        for L, d, ctx in SHAPES:
            ours = run_ours(a.ours, a.threads, f"BM_TrainStep/L:{L}/d:{d}/ctx:{ctx}/", a.min_time)
            (b,) = ours.values()
            t, t_cpu = bench_torch(L, d, ctx, a.min_time)
            s = (L, d, ctx)
            ratios[s].append(b["tokens_per_s"] / t)
            cpu_ratios[s].append(t_cpu / b["cpu_s_per_token"])
            mfu[s].append(100 * b["model_flops"] / sgemm)
            tps[s][0].append(b["tokens_per_s"])
            tps[s][1].append(t)
        print(f"rep {rep + 1}/{a.reps}: sgemm {sgemm / 1e9:.1f} GFLOP/s; ratios " +
              " ".join(f"{ratios[s][-1]:.2f}" for s in SHAPES), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"torch {torch.__version__}, {a.threads} threads, {a.reps} interleaved repetitions; "
          "median [min, max]")
    for s in SHAPES:
        L, d, ctx = s
        print(f"L{L} d{d} ctx{ctx}: ours/torch {spread(ratios[s])}   "
              f"ours % of sgemm {spread(mfu[s])}   CPU time torch/ours "
              f"{spread(cpu_ratios[s])}   tokens/s ours "
              f"{statistics.median(tps[s][0]):8.0f} torch {statistics.median(tps[s][1]):8.0f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ours", help="the bench_model binary: run interleaved with it")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.ours:
        interleaved(a)
        return
    print(f"torch {torch.__version__}, {a.threads} threads")
    for L, d, ctx in SHAPES:
        print(f"L{L} d{d} ctx{ctx}: torch {bench_torch(L, d, ctx, a.min_time)[0]:10.0f} tokens/s",
              flush=True)


if __name__ == "__main__":
    main()
