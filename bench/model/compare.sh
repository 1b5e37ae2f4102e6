#!/usr/bin/env bash
# Side-by-side CPU training throughput: bench_model (ours) and torch_bench.py
# (PyTorch, same shapes) in one run, printed as ratios, plus our model FLOP/s as a
# fraction of sgemm FLOP/s from the same bench_model run.
# Usage: bench/model/compare.sh [BUILD_DIR] [THREADS]   (defaults: build, 2)
# OMP_WAIT_POLICY=PASSIVE is exported for both sides: on a shared machine
# spinning OpenMP barriers dominate otherwise (see tests/model/CMakeLists.txt).
set -euo pipefail
build=${1:-build}
threads=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
json=$(mktemp)
trap 'rm -f "$json"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
OMP_NUM_THREADS=$threads "$build/bench/model/bench_model" --benchmark_min_time=2 \
  --benchmark_out="$json" --benchmark_out_format=json > /dev/null 2>&1
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_bench.py" --threads "$threads" --ours "$json"
/usr/bin/python3 - "$json" <<'PY'
import json, sys
b = {x["name"]: x for x in json.load(open(sys.argv[1]))["benchmarks"]}
sgemm = max(x["flops"] for n, x in b.items() if n.startswith("BM_Sgemm"))
print(f"sgemm {sgemm / 1e9:.1f} GFLOP/s (best of the two shapes)")
for n, x in b.items():
    if n.startswith("BM_TrainStep"):
        print(f"{n.split('/real')[0]}: model {x['model_flops'] / 1e9:.1f} GFLOP/s = "
              f"{100 * x['model_flops'] / sgemm:.0f}% of sgemm")
PY
