// `scalesweep run CONFIG --store DB [--store-journal wal|delete] [--lease-seconds S]
//  [--gpus-per-node G] [--ranks-per-gpu K] [--summary-seconds S] [--hang-seconds S]`, launched
//  as `mpirun -np P scalesweep run ...`.
// Exit codes: 0 every point ended (done/failed/diverged); 2 bad input (nothing written);
// 3 (ss::kExitRequeue) stopped by SIGUSR1/SIGTERM with state saved: re-run the same command;
// 4 (ss::kExitHung, through MPI_Abort) a worker group hung: its point released, the others
// checkpointed; 1 (or an MPI abort) anything else.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "runner/preflight.h"
#include "runner/worker_sink.h"

namespace ss::runner {

// Adds the `run` subcommand; `train` trains one point (the real trainer in scalesweep, a fake
// one in the MPI tests). The returned int holds the subcommand's exit code after parse() (0 when
// `run` did not execute); main() returns it.
// `preflight` checks what the points will need before the store is opened (run_sweep).
std::shared_ptr<int> add_run_command(CLI::App& app, TrainFunction train,
                                     PreflightFunction preflight = {});

// The arguments `run` and `train` share, declared once (one wording): CONFIG, --store and
// --store-journal (auto, wal or delete).
void add_config_and_store_options(CLI::App& command, std::string& config, std::string& store,
                                  std::string& journal);

}  // namespace ss::runner
