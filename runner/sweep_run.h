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
//
// Lost groups: a group that has sent nothing (rows, checkpoint, heartbeat, failure) for
// --hang-seconds is hung (a stopped rank, a stuck file system, a member blocked in a collective
// because a peer failed alone); a worker that cannot go on sends Fatal. Either way rank 0
// prints one line, releases the lost group's point (pending: it resumes from its newest
// checkpoint), stops the other groups as on a signal, and ends the job with MPI_Abort
// (JobEnd::abort: a stopped rank never returns from a collective, so MPI_Finalize would wait
// for it): exit kExitHung after a hang, 1 after a worker's fatal error. Leaders send a
// heartbeat every heartbeat_seconds() while they train, evaluate or checkpoint.
//
// Messages: workers print no errors of their own after start-up. A run's failure reaches rank
// 0 as Failed from every rank of its group and is printed once, by rank 0, when all have
// reported (or in the hang line, when some never do).
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>

#include "runner/lease_owner.h"
#include "runner/preflight.h"
#include "runner/signals.h"
#include "runner/worker_sink.h"

namespace ss::runner {

// --hang-seconds' default: far above any step, eval batch or checkpoint write of the sweeps
// this runner is for (one step of the largest configs/ model takes seconds).
inline constexpr double kDefaultHangSeconds = 1800;

struct SweepRunOptions {
  std::string config;                // sweep file (TOML)
  std::string store;                 // SQLite store path
  std::string journal = "auto";      // auto | wal | delete
  double lease_seconds = kDefaultLeaseSeconds;  // lease length; renewed every lease/3
  int gpus_per_node = 0;             // 0: CPU backend on every worker
  int ranks_per_gpu = 1;             // ranks sharing one GPU (packing small models)
  double summary_seconds = 30;       // period of the progress summary line
  double metrics_flush_seconds = 1;  // rank 0 writes buffered metric rows at least this often
  double hang_seconds = kDefaultHangSeconds;  // a group silent this long is hung
};

// The period of a busy group's heartbeat: a tenth of --hang-seconds, at most 10 s, so a
// healthy group is heard at least 10 times per hang window.
inline double heartbeat_seconds(const SweepRunOptions& options) {
  return std::min(10.0, options.hang_seconds / 10);
}

// How `run` ended on this rank: its exit code, and whether the whole MPI job must be aborted
// with it (a lost group cannot take part in MPI_Finalize).
struct JobEnd {
  int exit_code = 0;
  bool abort = false;
};

// Rank 0's start-up failure that is not bad input (the store cannot be created: a disk too
// small for its schema). Every other rank has returned in step, so the caller prints it once
// and exits 1 without aborting the job.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs this rank's part. MPI must be initialised (MPI_THREAD_FUNNELED at least) and `signals`
// constructed before MPI_Init. Returns exit 0 when every point of the sweep has ended (done,
// failed or diverged), ss::kExitRequeue after a stop signal, and {kExitHung or 1, abort} after
// a lost group (see above; rank 0 has printed the line). Throws ss::InputError on rank 0 for a
// bad config/store before any work starts (nothing written; the workers then return 0,
// so that rank 0's line is out before mpirun sees a non-zero exit and aborts the job), and
// StartupError when the store cannot be created. Any other exception on rank 0 means the job
// cannot continue: the caller aborts the MPI job. `preflight` (may be empty) runs on rank 0
// after the config and grid checks, before the store is opened; its InputError ends the job
// like any other start-up check.
JobEnd run_sweep(const SweepRunOptions& options, const TrainFunction& train,
                 const StopSignalWatcher& signals, const PreflightFunction& preflight = {});

}  // namespace ss::runner
