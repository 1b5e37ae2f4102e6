"""PyTorch CPU side of bench_model, and the interleaved side-by-side comparison.

The same GPT (tests/python/gpt_torch.py), the same shapes (L2 d64 ctx64, L2 d64,
L4 d128, L6 d256 at ctx 256, 4 heads, at --threads threads; and the quickstart's
L2 d8/d16/d28/d36 ctx64, 2 heads, at one thread, as its workers run; 16 sequences,
vocab 256, d_ff 4d), fp32, one full training step (zero_grad, forward, backward,
clip, AdamW) timed like BM_TrainStep. Prints tokens/s per shape.

Given --ours BENCH_MODEL (the binary), it interleaves: for each repetition and each
shape, bench_model on that shape, then PyTorch on it, then (once per repetition)
bench_model's sgemm. On a shared machine the load moves by the second, so a ratio
is only meaningful from runs this close together; it prints, per shape, the median
ratio over the repetitions with its min and max, our model FLOP/s as a fraction
of the same repetition's sgemm FLOP/s, and the ratio of process CPU seconds per
token (all threads; torch/ours, so > 1 means ours does less work), each as median
[min, max], plus the load average before and after. The tokens/s ratio is the
goal's measure; the CPU-time ratio is steadier on a loaded machine.

Threads: both sides get the same count for everything. Ours: OMP_NUM_THREADS
(OpenBLAS is the OpenMP build, so its GEMMs follow it). PyTorch:
torch.set_num_threads, which sets its OpenMP intra-op threads; Debian's torch
calls BLAS through libblas.so.3, here the same OpenMP OpenBLAS, whose GEMMs
follow omp_get_max_threads() of the calling thread, i.e. the same count
(OPENBLAS_NUM_THREADS only sets its initial count and is overridden at each
call; measured, see model/README.md). Kernels: both processes inherit the same
OPENBLAS_CORETYPE (or OpenBLAS's own pick); the kernel set is printed, as the
GEMMs' speed depends on it (Haswell AVX2 vs SkylakeX/Cooperlake AVX-512, about 2x
on the dev machine). Run through bench/model/compare.sh.
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

# (n_layer, d_model, n_ctx, n_head): the shapes, run at --threads threads ...
SHAPES = [(2, 64, 64, 4), (2, 64, 256, 4), (4, 128, 256, 4), (6, 256, 256, 4)]
# ... and the quickstart's (configs/quickstart*.toml), run at one thread as its workers are.
QUICK_SHAPES = [(2, 8, 64, 2), (2, 16, 64, 2), (2, 28, 64, 2), (2, 36, 64, 2)]


def bench_torch(L, d, ctx, NH, min_time):
    V, B = 256, 16
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
    """bench_model's JSON benchmarks matching regex, as {name: entry}, and its context."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))  # torch: set_num_threads(threads)
        subprocess.run([binary, f"--benchmark_filter={regex}", f"--benchmark_min_time={min_time}",
                        f"--benchmark_out={f.name}", "--benchmark_out_format=json"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = json.load(open(f.name))
        return {b["name"]: b for b in out["benchmarks"]}, out["context"]


def spread(xs):
    return f"{statistics.median(xs):6.2f} [{min(xs):.2f}, {max(xs):.2f}]"


def one_shape(a, s, threads, sgemm, out):
    """Ours then PyTorch on shape s at `threads` threads; appends to out[s]'s lists."""
    L, d, ctx, nh = s
    torch.set_num_threads(threads)
    ours, _ = run_ours(a.ours, threads, f"BM_TrainStep/L:{L}/d:{d}/ctx:{ctx}/h:{nh}/", a.min_time)
    (b,) = ours.values()
    t, t_cpu = bench_torch(L, d, ctx, nh, a.min_time)
    r = out[s]
    r["ratio"].append(b["tokens_per_s"] / t)
    r["cpu"].append(t_cpu / b["cpu_s_per_token"])
    r["mfu"].append(100 * b["model_flops"] / sgemm)
    r["ours"].append(b["tokens_per_s"])
    r["torch"].append(t)
    r["ours_cpu"].append(b["cpu_s_per_token"])


def interleaved(a):
    plan = [(s, a.threads) for s in SHAPES] + [(s, 1) for s in (QUICK_SHAPES if a.quick else [])]
    out = {s: {k: [] for k in ("ratio", "cpu", "mfu", "ours", "torch", "ours_cpu")}
           for s, _ in plan}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    for rep in range(a.reps):
        sgemm_runs, context = run_ours(a.ours, a.threads, "BM_Sgemm", a.min_time)
        if rep == 0:  # both processes inherit the same environment, so the same kernels
            print(f"OpenBLAS kernels: {context.get('openblas_core', '?')} (OPENBLAS_CORETYPE "
                  f"{os.environ.get('OPENBLAS_CORETYPE', 'unset: OpenBLAS picks')})", flush=True)
        sgemm = max(x["flops"] for x in sgemm_runs.values())
        for s, threads in plan:
            one_shape(a, s, threads, sgemm, out)
        print(f"rep {rep + 1}/{a.reps}: sgemm {sgemm / 1e9:.1f} GFLOP/s; ratios " +
              " ".join(f"{out[s]['ratio'][-1]:.2f}" for s, _ in plan), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"torch {torch.__version__}, {a.reps} interleaved repetitions; median [min, max]; "
          f"% of sgemm: of {a.threads}-thread sgemm")
    for s, threads in plan:
        L, d, ctx, nh = s
        r = out[s]
        print(f"L{L} d{d} ctx{ctx} h{nh} {threads}T: ours/torch {spread(r['ratio'])}   "
              f"ours % of sgemm {spread(r['mfu'])}   CPU time torch/ours {spread(r['cpu'])}   "
              f"tokens/s ours {statistics.median(r['ours']):8.0f} torch "
              f"{statistics.median(r['torch']):8.0f}   ours CPU us/token "
              f"{1e6 * statistics.median(r['ours_cpu']):.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", type=int, default=1,
                    help="1: also the quickstart's shapes at one thread")
    ap.add_argument("--ours", help="the bench_model binary: run interleaved with it")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.ours:
        interleaved(a)
        return
    print(f"torch {torch.__version__}, {a.threads} threads")
    for L, d, ctx, nh in SHAPES:
        print(f"L{L} d{d} ctx{ctx} h{nh}: torch "
              f"{bench_torch(L, d, ctx, nh, a.min_time)[0]:10.0f} tokens/s", flush=True)


if __name__ == "__main__":
    main()
