// The training loop of ONE grid point (a TrainFunction of runner/worker_sink.h): builds the GPT
// of the point (this rank's tensor-parallel shard), starts from the seed or from the newest good
// checkpoint, and trains with gradient accumulation, data-parallel gradient averaging, global-norm
// clipping, AdamW and warmup + cosine lr, reporting metric rows and checkpoints to a RunSink.
// The loop (train_point in trainer.cc) reads top to bottom: train_step, then the step's metric
// row, evaluate when due, checkpoint when due, progress, and the collective stop check.
//
// Invariants:
//  - Deterministic: the batch of step s is a pure function of (seed, s) (io::TrainLoader in
//    model/io/loader.h), and a checkpoint holds everything else (params, AdamW m/v, step, tokens,
//    best losses), so resuming from step k reproduces steps k+1... bit-identically on the CPU
//    backend.
//  - Never trains from garbage: a checkpoint is loaded only after its checksum, identity (point
//    key, tp rank/size, parameter count) and, for the newest one, the store's size/sha256 match;
//    otherwise an error line names the file and the loop falls back to an older file or scratch.
//  - Collectives: every rank of the group calls the same collectives in the same order.
#pragma once

#include <cstdio>

#include "runner/worker_sink.h"

namespace ss::runner {

struct TrainOptions {
  // One progress line (step/steps, loss, tokens/s, ETA) on `progress_out` at most every
  // progress_interval_s seconds, plus one at the last step; only the group's first rank prints.
  bool progress = false;
  double progress_interval_s = 2.0;
  std::FILE* progress_out = stdout;
};

// Trains job.point; see the contract in worker_sink.h. Throws ss::InputError for bad input
// (missing/corrupt data shards, vocabulary mismatch), std::exception for other failures.
TrainResult train_point(const TrainJob& job, RunSink& sink, const TrainOptions& options);

// The TrainFunction form (no progress line), for `scalesweep run`.
inline TrainResult train_point(const TrainJob& job, RunSink& sink) {
  return train_point(job, sink, TrainOptions{});
}

}  // namespace ss::runner
