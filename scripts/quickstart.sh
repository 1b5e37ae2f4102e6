#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, fetches the
# Gutenberg corpus, tokenizes it (bytes), runs the quickstart sweep with mpirun
# on the CPU (rank 0 schedules, 2 workers train), shows its status, then fits
# the scaling laws with scalefit. Re-running it resumes/reuses what exists.
# Usage: scripts/quickstart.sh [NP]   (NP = MPI ranks, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${1:-3}
STORE=results.db
REPORT=report

scripts/setup.sh scalesweep scalefit
scripts/fetch-corpus.sh
if [ ! -f data/gutenberg/bytes/train.bin ]; then
  build/scalesweep prepare-data --input data/gutenberg/raw --tokenizer bytes \
    --out data/gutenberg/bytes
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One OpenMP/BLAS thread per worker rank: the ranks already fill the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mpirun -np "$NP" --oversubscribe --bind-to none \
  build/scalesweep run configs/quickstart.toml --store "$STORE"
build/scalesweep status "$STORE"
build/scalefit "$STORE" --out "$REPORT"

echo
echo "store:  $(pwd)/$STORE   (sqlite3 $STORE 'select point, n_params, tokens, final_val_loss from runs')"
echo "report: $(pwd)/$REPORT/report.md  (plots: $REPORT/*.svg)"
