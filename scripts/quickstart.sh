#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, fetches the
# Gutenberg corpus, tokenizes it (bytes), runs the quickstart's four sweeps into
# one store with mpirun on the CPU (rank 0 schedules, the other ranks train one
# point each), shows its status, then fits the scaling laws with scalefit and
# prints how long the sweeps and the fit took. Re-running it resumes/reuses what
# exists (runs are keyed by what they compute, so a point is never trained twice).
# The six sweeps (configs/quickstart*.toml, 66 runs; why each: docs/quickstart.md): the isoFLOP
# grid's four smaller budgets (seed 1) and two of them again with seeds 2 and 3, its three largest
# budgets with seeds 1 and 2, widths 8..28 trained long (D = 1000 N) so the N-limited end is
# measured, d 8 at D = 3000 N, and the largest width (d 36) at two more token counts for L(D).
# Usage: scripts/quickstart.sh [--quick] [NP]
#   --quick  the small sweep (configs/quickstart-quick.toml, ~70 s on 2 cores, a smoke test)
#   NP       MPI ranks, default 3 (one scheduler + one worker per core of a 2-core machine)
# Why the sweep looks as it does, and the fits it gives: docs/quickstart.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIGS=(configs/quickstart.toml configs/quickstart-seeds.toml configs/quickstart-top.toml
  configs/quickstart-long.toml configs/quickstart-d36.toml configs/quickstart-longer.toml)
STORE=results.db
REPORT=report
usage="usage: scripts/quickstart.sh [--quick] [NP]  (NP: MPI ranks, an integer >= 2, default 3)"
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  echo "$usage"
  exit 0
fi
if [ "${1:-}" = "--quick" ]; then
  CONFIGS=(configs/quickstart-quick.toml) STORE=results-quick.db REPORT=report-quick
  shift
fi
NP=${1:-3}
# The arguments are checked before anything is installed, built or fetched (a typo used to be
# found only by mpirun, after the setup and the corpus).
if [ $# -gt 1 ] || ! [[ "$NP" =~ ^[0-9]+$ ]] || [ "$((10#$NP))" -lt 2 ]; then
  echo "quickstart.sh: error: bad arguments '$*': NP must be a whole number >= 2 (rank 0 schedules, the others train); $usage" >&2
  exit 2
fi
NP=$((10#$NP))

scripts/setup.sh scalesweep scalefit
scripts/fetch-corpus.sh
if [ ! -f data/gutenberg/bytes/train.bin ]; then
  build/scalesweep prepare-data --input data/gutenberg/raw --tokenizer bytes \
    --out data/gutenberg/bytes
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One OpenMP/BLAS thread per worker rank: the ranks already fill the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
start=$SECONDS
for config in "${CONFIGS[@]}"; do
  mpirun -np "$NP" --oversubscribe --bind-to none \
    build/scalesweep run "$config" --store "$STORE"
done
swept=$SECONDS
build/scalesweep status "$STORE"
build/scalefit "$STORE" --out "$REPORT"
fitted=$SECONDS

echo
echo "time:   sweep $((swept - start)) s, fit $((fitted - swept)) s (wall; a re-run reuses finished runs)"
echo "store:  $(pwd)/$STORE   (sqlite3 $STORE 'select point, n_params, tokens, final_val_loss from runs')"
echo "report: $(pwd)/$REPORT/report.md  (plots: $REPORT/*.svg)"
