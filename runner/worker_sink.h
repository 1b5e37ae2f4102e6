// The seam between the sweep runner and the training loop of ONE point.
//
// A TrainFunction trains one grid point described by a TrainJob and reports through a RunSink.
// Two sinks exist: `scalesweep train` (single process) hands everything to the run's recorder
// (runner/run_recorder.h), which writes the store; the MPI worker of `scalesweep run` forwards
// everything to rank 0 as protocol messages, where the run's recorder writes it (rank 0 is the
// only SQLite writer). The training loop never knows which one it talks to.
//
// Contract (every TrainFunction must keep it):
//  - It runs on every rank of the point's group (dp_size x tp_size ranks). job.dp_comm and
//    job.tp_comm are that group's data- and tensor-parallel communicators (SelfComm when 1).
//  - stop_requested() is COLLECTIVE over the group: every rank calls it once per optimizer step,
//    at the same step, and every rank gets the same answer. When it returns true, the loop writes
//    a checkpoint of the current state, reports it with on_checkpoint, and returns kStopped.
//  - on_metrics / on_checkpoint are forwarded only from the group's first rank (dp 0, tp 0);
//    calls on other ranks are accepted and ignored, so the loop may call them everywhere.
//  - One MetricRow per optimizer step, `run` = job.run_id, steps 1-based and increasing, handed
//    over as soon as the step ends (the run's recorder is the one buffer before the store). A resumed run starts at
//    latest checkpoint step + 1 (rows of redone steps overwrite, see store::insert_metrics).
//  - Checkpoint files are written atomically by the loop (temp, fsync, rename) under
//    job.schedule.checkpoint_dir; the loop deletes its own files beyond keep_checkpoints, and the
//    runner drops the store rows of all but the newest keep_checkpoints.
//  - keep_alive() (not collective, cheap, rate-limited by the sink) inside any work longer than
//    a moment between two steps: every micro step, every eval batch, around a checkpoint
//    write. `scalesweep run` declares a group that sends nothing for --hang-seconds hung.
//  - NaN/Inf loss: return kDiverged with diverged_step (not an exception). Any other problem:
//    throw (std::exception); the runner records `failed` with what() and retries up to
//    schedule.max_attempts. Bad user input (missing data file, corrupt checkpoint): ss::InputError.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "model/comm.h"
#include "runner/config.h"
#include "runner/grid.h"
#include "runner/train_result.h"
#include "store/records.h"

namespace ss::runner {

// Where a worker computes: a CUDA device index, or the CPU backend.
struct DeviceChoice {
  int cuda_device = -1;  // -1: CPU backend
  bool cpu() const { return cuda_device < 0; }
};

// Everything one training run needs. Plain data plus the two communicators (not owned).
struct TrainJob {
  std::int64_t run_id = 0;   // runs.id in the store
  std::int64_t attempt = 1;  // 1 for the first try (runs.attempts after the claim)
  Point point;               // shape, D, batch, lr, warmup, seed, dp, tp, steps, ...
  DataSpec data;             // tokenizer and shard paths
  ScheduleSpec schedule;     // eval/checkpoint intervals, keep, max_attempts, checkpoint_dir
  // Resume from this checkpoint (newest recorded for the run), if any. The loop must verify
  // the file (size and sha256) and throw ss::InputError when it does not match.
  std::optional<store::CheckpointRecord> resume;
  DeviceChoice device;
  // CPU backend: OpenMP/BLAS threads this rank should use (cores / ranks on the node; 0: leave
  // the process default). The loop applies it (e.g. model::cpu_set_threads).
  int cpu_threads = 0;
  model::Comm* dp_comm = nullptr;  // size == point.dp
  model::Comm* tp_comm = nullptr;  // size == point.tp
};

// The one way to build a TrainJob: the claimed run (id, attempt, newest checkpoint) of `point`
// under `spec`'s data and schedule. Device, threads and communicators keep their defaults (CPU,
// process threads, SelfComm) unless the caller places the job elsewhere.
inline TrainJob make_train_job(const SweepSpec& spec, const Point& point, std::int64_t run_id,
                               std::int64_t attempt,
                               std::optional<store::CheckpointRecord> resume) {
  TrainJob job;
  job.run_id = run_id;
  job.attempt = attempt;
  job.point = point;
  job.data = spec.data;
  job.schedule = spec.schedule;
  job.resume = std::move(resume);
  return job;
}

// What the training loop reports to. Implementations: the store sink (scalesweep train) and the
// MPI worker sink (scalesweep run).
class RunSink {
 public:
  virtual ~RunSink() = default;
  // Metric rows of completed steps (buffered by the sink; flushed by batch or on return).
  virtual void on_metrics(std::span<const store::MetricRow> rows) = 0;
  // A checkpoint file was written completely (atomic rename done).
  virtual void on_checkpoint(const store::CheckpointRecord& checkpoint) = 0;
  // Collective over the group (see the contract above): true when the job must checkpoint now
  // and return kStopped (SIGUSR1/SIGTERM reached rank 0, or preemption).
  virtual bool stop_requested() = 0;
  // The loop is busy and well (see the contract); the MPI sink sends a heartbeat when one is
  // due. Not collective.
  virtual void keep_alive() {}
};

// The training function the runner calls for one point.
using TrainFunction = std::function<TrainResult(const TrainJob& job, RunSink& sink)>;

}  // namespace ss::runner
