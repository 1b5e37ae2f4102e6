#!/usr/bin/env bash
# Side-by-side CPU training throughput: bench_model (ours) and PyTorch on the same
# shapes, interleaved shape by shape in one run (torch_bench.py drives both), printed
# as ratios ours/torch and as our model FLOP/s over sgemm FLOP/s, each the median
# [min, max] over REPS repetitions, with the load average before and after.
# Usage: bench/model/compare.sh [BUILD_DIR] [THREADS] [REPS] [QUICK] [MIN_TIME]
#   (defaults: build, 2, 5, 1, 1.0). MIN_TIME: seconds each side runs each shape per
#   repetition; on the 2-core dev VM, runs of 1.5 s of one binary at L6 d256 ranged
#   2427-3997 tokens/s, runs of 5 s mostly stayed within 3% (model/README.md), so use 5
#   for L6 d256 verdicts.
# The issue's shapes run at THREADS threads; with QUICK=1 the quickstart's shapes
# (L2 d8..d36 ctx64, 2 heads) follow at one thread, as the quickstart's workers run.
#
# Threads, the same on both sides for everything: ours gets OMP_NUM_THREADS (OpenBLAS
# here is the OpenMP build, so its GEMMs follow it); PyTorch gets torch.set_num_threads,
# and Debian's torch calls the same OpenMP OpenBLAS (libblas.so.3), whose GEMMs follow
# the calling thread's OpenMP thread count. Checked by per-thread CPU time: with
# set_num_threads(2) torch's 512^3 matmul and GELU each ran on 2 threads (60 + 56 ticks)
# whether or not OPENBLAS_NUM_THREADS=1 was set; bench_model's sgemm at
# OMP_NUM_THREADS=2 on 2 (80 + 62). OPENBLAS_NUM_THREADS is therefore unset for both.
# Kernels: OPENBLAS_CORETYPE passes through unchanged to both sides, so both run the same
# OpenBLAS kernel set, which is printed (the session environment of the dev machine pins
# Haswell, AVX2; unset, OpenBLAS picks Cooperlake, AVX-512, on its Zen 5, and sgemm runs
# about 2x faster: `env -u OPENBLAS_CORETYPE bench/model/compare.sh ...`; model/README.md).
# OMP_WAIT_POLICY=PASSIVE is exported for both sides: on a shared machine
# spinning OpenMP barriers dominate otherwise (see tests/model/CMakeLists.txt).
set -euo pipefail
build=${1:-build}
threads=${2:-2}
reps=${3:-5}
quick=${4:-1}
min_time=${5:-1.0}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OMP_NUM_THREADS=$threads
unset OPENBLAS_NUM_THREADS
/usr/bin/python3 "$here/torch_bench.py" --threads "$threads" --reps "$reps" --quick "$quick" --min-time "$min_time" \
  --ours "$build/bench/model/bench_model"
