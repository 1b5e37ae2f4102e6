#!/usr/bin/env bash
# The test command of the README and of CI: installs what is missing, builds,
# runs every test (unit, MPI, Python cross-checks, local Slurm; GPU tests skip
# without a device).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
