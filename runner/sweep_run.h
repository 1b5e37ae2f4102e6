// `scalesweep run` after MPI_Init: rank 0 schedules (and is the only store writer), ranks
// 1..P-1 train the points they are assigned. The training function is injected, so tests and
// benchmarks run the same loops with a fake or no-op trainer.
//
// Rank 0: validates config + grid, opens the store, registers the sweep and its points
// (idempotent), expires stale leases, then loops: claim the next point the scheduler picks
// (store lease, so two jobs on one store never train the same live-leased point), send Assign to
// its group, hand the rows / checkpoints / end each leader sends to that run's RunRecorder
// (runner/run_recorder.h: the store-writing policy, shared with `scalesweep train`), print
// progress. It ends when no point of the sweep is pending
// or running anywhere (it waits for other jobs' live leases and reclaims expired ones).
//
// Groups: a point needs dp*tp ranks. Rank 0 sends Assign (with the member list) to each member;
// the members (and only they) call MPI_Comm_create_group on MPI_COMM_WORLD with tag = the
// assignment id, then split that into tp sub-groups (consecutive group ranks) and dp sub-groups
// with MPI_Comm_split, collective over the group only. Idle or busy ranks elsewhere are not
// involved, so groups form while other groups train; no per-round world-wide collective.
//
// Stop (SIGUSR1/SIGTERM at rank 0): rank 0 sends Stop to every busy leader; each group
// checkpoints at its next step and reports Stopped; rank 0 releases those points (pending, lease
// cleared), shuts the workers down and returns ss::kExitRequeue. Re-running the same command
// resumes them from their newest checkpoint.
#pragma once

#include <string>

#include "runner/lease_owner.h"
#include "runner/preflight.h"
#include "runner/signals.h"
#include "runner/worker_sink.h"

namespace ss::runner {

struct SweepRunOptions {
  std::string config;                // sweep file (TOML)
  std::string store;                 // SQLite store path
  std::string journal = "auto";      // auto | wal | delete
  double lease_seconds = kDefaultLeaseSeconds;  // lease length; renewed every lease/3
  int gpus_per_node = 0;             // 0: CPU backend on every worker
  int ranks_per_gpu = 1;             // ranks sharing one GPU (packing small models)
  double summary_seconds = 30;       // period of the progress summary line
  double metrics_flush_seconds = 1;  // rank 0 writes buffered metric rows at least this often
};

// Runs this rank's part. MPI must be initialised (MPI_THREAD_FUNNELED at least) and `signals`
// constructed before MPI_Init. Returns 0 when every point of the sweep has ended (done, failed
// or diverged) and ss::kExitRequeue after a stop signal. Throws ss::InputError on rank 0 for a
// bad config/store before any work starts (nothing written; the workers then return 0,
// so that rank 0's line is out before mpirun sees a non-zero exit and aborts the job). Any other
// exception, on any rank (an InputError after start-up included), means the job cannot continue:
// the caller aborts the MPI job. `preflight` (may be empty) runs on rank 0 after the config and
// grid checks, before the store is opened; its InputError ends the job like any other start-up
// check.
int run_sweep(const SweepRunOptions& options, const TrainFunction& train,
              const StopSignalWatcher& signals, const PreflightFunction& preflight = {});

}  // namespace ss::runner
