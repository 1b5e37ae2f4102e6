#!/usr/bin/env bash
# The test command of the README and of CI: installs what is missing, builds,
# runs every test: unit, real mpirun (label mpi), PyTorch cross-checks (python),
# CUDA kernels against the CPU (gpu; they skip without a device). The Slurm tests
# come with the Slurm issue. Extra arguments go to ctest (e.g. -L mpi).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
