#!/usr/bin/python3
"""Reference timing for bench_laws: Epoch AI's chinchilla-3 refit done with SciPy, as they did
it: Huber (delta 1e-3) on LSE(a - alpha log N, b - beta log D, e) - log L, scipy L-BFGS-B with
an analytic gradient, from the 4,500-start grid; prints the best fit and seconds.

Usage: /usr/bin/python3 bench/analysis/scipy_chinchilla3.py [CSV] [--starts K]
--starts K runs every (4500/K)-th start and extrapolates the time to 4,500 (SciPy needs ~2
minutes for all of them on the 2-core machine)."""
import itertools
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

csv = "/work/shared/data/chinchilla/svg_extracted_data.csv"
starts_wanted = 4500
args = sys.argv[1:]
if "--starts" in args:
    i = args.index("--starts")
    starts_wanted = int(args[i + 1])
    del args[i:i + 2]
if args:
    csv = args[0]

import csv as csvmod
with open(csv) as f:
    rows = list(csvmod.DictReader(f))
N = np.array([float(r["Model Size"]) for r in rows])
C = np.array([float(r["Training FLOP"]) for r in rows])
L = np.array([float(r["loss"]) for r in rows])
keep = np.argsort(L)[:-5]  # drop the 5 highest-loss rows
N, C, L = N[keep], C[keep], L[keep]
D = C / (6 * N)
lN, lD, lL = np.log(N), np.log(D), np.log(L)
delta = 1e-3


def objective(x):
    a, b, e, alpha, beta = x
    t = np.stack([a - alpha * lN, b - beta * lD, np.full_like(lN, e)])
    lse = logsumexp(t, axis=0)
    r = lse - lL
    small = np.abs(r) <= delta
    loss = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta)).sum()
    dr = np.where(small, r, delta * np.sign(r))
    w = np.exp(t - lse)
    g = np.array([(dr * w[0]).sum(), (dr * w[1]).sum(), (dr * w[2]).sum(),
                  -(dr * w[0] * lN).sum(), -(dr * w[1] * lD).sum()])
    return loss, g


grid = [(a, b, e, al, be) for a in range(0, 30, 5) for b in range(0, 30, 5)
        for e in np.arange(-1, 1.5, 0.5) for al in np.arange(0, 2.5, 0.5)
        for be in np.arange(0, 2.5, 0.5)]
step = max(1, len(grid) // starts_wanted)
chosen = grid[::step]
t0 = time.perf_counter()
best = None
for x0 in chosen:
    res = minimize(objective, np.array(x0, dtype=float), jac=True, method="L-BFGS-B")
    if best is None or res.fun < best.fun:
        best = res
elapsed = time.perf_counter() - t0
a, b, e, alpha, beta = best.x
print(f"starts {len(chosen)} seconds {elapsed:.2f} ms_per_start {1000 * elapsed / len(chosen):.2f} "
      f"extrapolated_4500_s {elapsed / len(chosen) * 4500:.1f}")
print(f"A {np.exp(a):.1f} B {np.exp(b):.1f} E {np.exp(e):.4f} alpha {alpha:.4f} beta {beta:.4f} "
      f"a {beta / (alpha + beta):.4f} objective {best.fun:.6g}")
