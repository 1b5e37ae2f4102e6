#!/usr/bin/env bash
# Side-by-side CPU training throughput: bench_model (ours) and PyTorch on the same
# shapes, interleaved shape by shape in one run (torch_bench.py drives both), printed
# as ratios ours/torch and as our model FLOP/s over sgemm FLOP/s, each the median
# [min, max] over REPS repetitions, with the load average before and after.
# Usage: bench/model/compare.sh [BUILD_DIR] [THREADS] [REPS]   (defaults: build, 2, 5)
# OMP_WAIT_POLICY=PASSIVE is exported for both sides: on a shared machine
# spinning OpenMP barriers dominate otherwise (see tests/model/CMakeLists.txt).
set -euo pipefail
build=${1:-build}
threads=${2:-2}
reps=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_bench.py" --threads "$threads" \
  --reps "$reps" --ours "$build/bench/model/bench_model"
