// The one place that decides how an active run's reports reach the store: metric rows (buffered,
// written in one transaction per batch, each batch followed by the run's progress columns),
// checkpoint rows (only the newest keep_checkpoints stay), lease renewal (every third of the
// lease) and the run's end (done / diverged / stopped or lost -> released / failed, a failure
// classified transient or deterministic by runner/failure_kind.h). `scalesweep train`
// feeds it straight from the training loop (cli_train.cc); `scalesweep run` keeps one per active
// run on rank 0 and feeds it from the leader's messages (sweep_run.cc).
//
// Invariants: rows and checkpoints are filed under this recorder's run whatever run id they
// carry; every buffered row is written before the checkpoint or end that follows it, so a resume
// never leaves a gap; progress and wall time come from the rows and the TrainResult (the
// trainer's one wall clock), never from a clock of the recorder's own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runner/train_result.h"
#include "store/store.h"

namespace ss::runner {

struct RecorderPolicy {
  double lease_seconds = 300;         // renewed every third of it
  std::int64_t keep_checkpoints = 1;  // checkpoint rows kept per run (at least 1)
  store::RetryPolicy retry;           // how a failure is retried (store::mark_failed)
  double flush_seconds = 1;           // buffered rows wait at most this long (see tick())
  std::size_t flush_rows = 256;       // ... or until this many are buffered
};

class RunRecorder {
 public:
  // `owner` holds the run's lease (claimed by the caller).
  RunRecorder(store::Store& db, std::int64_t run_id, std::string owner, RecorderPolicy policy);

  // Metric rows of completed steps, in step order.
  void add_metrics(std::span<const store::MetricRow> rows);
  // A checkpoint file was written completely.
  void add_checkpoint(store::CheckpointRecord checkpoint);
  // Writes what is due: the row buffer after flush_seconds, the lease renewal after a third of
  // it. add_metrics calls it; a caller whose run may report rarely calls it periodically.
  void tick();
  // The training function returned: writes the end and returns the run's status now (done,
  // diverged, or pending after a stop).
  std::string finish(const TrainResult& result);
  // The training function threw: classifies `error` (transient_cause, failure_kind.h) and
  // records it with the retry policy: pending (at once, or after a backoff) or failed.
  store::FailureOutcome fail(const std::string& error, double now = store::unix_now());
  // The run's group was lost (hung, or a rank's fatal error): its rows are written and the point
  // released (pending, lease cleared), so the next run resumes it from its newest checkpoint.
  // Not a failure of the point: no attempt is charged beyond the claim's.
  void release();

  std::int64_t run_id() const { return run_id_; }
  // The newest row received (progress display), if any.
  const std::optional<store::MetricRow>& last_row() const { return last_row_; }

 private:
  void flush();

  store::Store& db_;
  std::int64_t run_id_;
  std::string owner_;
  RecorderPolicy policy_;
  std::vector<store::MetricRow> buffer_;
  std::optional<store::MetricRow> last_row_;
  double last_wall_ = 0;  // the newest row's wall seconds written
  std::chrono::steady_clock::time_point last_flush_, last_renew_;
};

}  // namespace ss::runner
