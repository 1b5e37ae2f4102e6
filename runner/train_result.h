// How a training run of one point ended: the one outcome record that the training loop returns,
// the worker sends to rank 0 (protocol::Ended) and the run's recorder writes to the store
// (runner/run_recorder.h). Invariant: `outcome` is the store's own record (store::RunOutcome),
// embedded, never copied field by field.
#pragma once

#include <cstdint>
#include <optional>

#include "store/records.h"

namespace ss::runner {

// How a training run ended (when it did not throw).
enum class TrainEnd : std::uint8_t {
  kDone,      // every step trained
  kStopped,   // stop_requested() was true: checkpoint written, resume later
  kDiverged,  // NaN/Inf loss at diverged_step
};

struct TrainResult {
  TrainEnd end = TrainEnd::kDone;
  // step = last completed step; wall_seconds = the trainer's wall clock of the run over all its
  // attempts up to that step (the `wall` of its last metric row).
  store::RunOutcome outcome;
  std::optional<std::int64_t> diverged_step;  // kDiverged: the step whose loss was NaN/Inf

  bool operator==(const TrainResult&) const = default;
};

}  // namespace ss::runner
