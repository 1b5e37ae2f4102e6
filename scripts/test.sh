#!/usr/bin/env bash
# The test command of the README and of CI: installs what is missing, builds,
# runs every test: unit, real mpirun (label mpi), PyTorch cross-checks (python),
# CUDA kernels against the CPU (gpu; they skip without a device), and the Slurm tests
# (slurm) on a local Slurm with 2 fake nodes, started here through the shared
# start-local-slurm.sh (installs Debian's Slurm if missing; needs root). If it cannot
# start, this script fails. Extra arguments go to ctest (e.g. -L mpi).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# The shared folder beside the checkout, else the machines' usual place.
SLURM_LOCAL=${SS_SLURM_LOCAL:-$(pwd)/../shared/slurm-local/start-local-slurm.sh}
[ -f "$SLURM_LOCAL" ] || [ -n "${SS_SLURM_LOCAL:-}" ] || SLURM_LOCAL=/work/shared/slurm-local/start-local-slurm.sh
SLURM_LOCAL_NODES=2 bash "$SLURM_LOCAL" start
export SS_SLURM_LOCAL=$SLURM_LOCAL
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
