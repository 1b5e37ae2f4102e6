// `scalesweep train CONFIG --point KEY_OR_INDEX --store DB [--store-journal wal|delete]`: trains
// ONE grid point in this process (no MPI): registers the sweep and its points if needed
// (idempotent), claims the point's lease, resumes from its newest recorded checkpoint, writes a
// metric row per step and the run's final status. Exit codes: 0 done (or already finished),
// 2 bad input, 3 stopped by SIGUSR1/SIGTERM after a checkpoint (re-run to resume), 1 otherwise.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace ss::runner {

// Adds the `train` subcommand; the returned int holds its exit code after parse().
std::shared_ptr<int> add_train_command(CLI::App& app);

}  // namespace ss::runner
