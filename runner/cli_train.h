// `scalesweep train CONFIG --point KEY_OR_INDEX --store DB [--store-journal wal|delete]`: trains
// ONE grid point in this process (no MPI): registers the sweep and its points if needed
// (idempotent), claims the point's lease, resumes from its newest recorded checkpoint, writes a
// metric row per step and the run's final status. Exit codes: 0 done (or already finished),
// 2 bad input, 3 stopped by SIGUSR1/SIGTERM after a checkpoint (re-run to resume), 1 otherwise.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

#include "runner/trainer.h"

namespace ss::runner {

// What `train` calls to train the point: train_point in scalesweep; the tests' hold_sweep wraps
// the sink so a run holds at a given step until signalled (tests/support/hold_sink.h).
using TrainPointFunction =
    std::function<TrainResult(const TrainJob& job, RunSink& sink, const TrainOptions& options)>;

// Adds the `train` subcommand; the returned int holds its exit code after parse(). An empty
// `train` means train_point.
std::shared_ptr<int> add_train_command(CLI::App& app, TrainPointFunction train = {});

}  // namespace ss::runner
