// A stand-in training function for the MPI runner tests and the no-op benchmark: it keeps a
// one-number "model state" that evolves by a fixed recurrence, reports one metric row per step,
// writes real checkpoint files (atomic rename, sha256) and resumes from them, answers
// stop_requested() each step, and uses the dp/tp communicators (the state is all-reduced), so
// every path of the runner is exercised without the real GPT trainer. It does NOT test learning.
#pragma once

#include <memory>

#include "runner/worker_sink.h"

namespace ss::runner::testing {

struct FakeTrainerOptions {
  int step_ms = 0;          // sleep per step (lets tests signal/kill mid-run)
  int fail_attempts = 0;    // throw on attempts <= this (exercises failed + retry)
  double diverge_lr = 1.0;  // a point with lr above this reports NaN at step 3
  bool noop = false;        // return kDone at once (scheduler throughput)
};

// The options are read when a run starts (so a CLI may fill them after this call).
TrainFunction make_fake_trainer(std::shared_ptr<const FakeTrainerOptions> options);

}  // namespace ss::runner::testing
