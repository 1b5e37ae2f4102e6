// RunRecorder (see run_recorder.h).
#include "runner/run_recorder.h"

#include <algorithm>

#include "runner/failure_kind.h"
#include "ss/log.h"

namespace ss::runner {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

RunRecorder::RunRecorder(store::Store& db, std::int64_t run_id, std::string owner,
                         RecorderPolicy policy)
    : db_(db),
      run_id_(run_id),
      owner_(std::move(owner)),
      policy_(policy),
      last_flush_(Clock::now()),
      last_renew_(Clock::now()) {
  policy_.keep_checkpoints = std::max<std::int64_t>(1, policy_.keep_checkpoints);
}

void RunRecorder::add_metrics(std::span<const store::MetricRow> rows) {
  for (const store::MetricRow& row : rows) {
    buffer_.push_back(row);
    buffer_.back().run = run_id_;  // never trust a foreign run id
  }
  if (!rows.empty()) last_row_ = buffer_.back();
  if (buffer_.size() >= policy_.flush_rows) flush();
  tick();
}

void RunRecorder::tick() {
  if (seconds_since(last_flush_) >= policy_.flush_seconds) flush();
  // A third of the lease, so two missed renewals do not lose it.
  if (seconds_since(last_renew_) >= policy_.lease_seconds / 3) {
    if (!db_.renew_lease(run_id_, owner_, policy_.lease_seconds)) {
      log::warn("run {}: lost its lease (expired before renewal); another job may claim it",
                run_id_);
    }
    last_renew_ = Clock::now();
  }
}

void RunRecorder::flush() {
  last_flush_ = Clock::now();
  if (buffer_.empty()) return;
  db_.insert_metrics(buffer_);
  const store::MetricRow& last = buffer_.back();
  last_wall_ = last.wall.value_or(last_wall_);
  db_.update_progress(run_id_, last.step, last.tokens, last_wall_);
  buffer_.clear();
}

void RunRecorder::add_checkpoint(store::CheckpointRecord checkpoint) {
  flush();  // rows up to the checkpoint's step reach the store first
  checkpoint.run = run_id_;
  db_.record_checkpoint(checkpoint);
  // The trainer deleted its files beyond K; drop their rows so resume never points at them.
  const auto rows = db_.latest_checkpoints(run_id_);
  for (std::size_t i = static_cast<std::size_t>(policy_.keep_checkpoints); i < rows.size(); ++i) {
    db_.delete_checkpoint(run_id_, rows[i].step);
  }
}

std::string RunRecorder::finish(const TrainResult& result) {
  flush();
  const store::RunOutcome& o = result.outcome;
  switch (result.end) {
    case TrainEnd::kDone:
      db_.mark_done(run_id_, o);
      return store::kStatusDone;
    case TrainEnd::kDiverged:
      db_.update_progress(run_id_, o.step, o.tokens_seen, o.wall_seconds);
      db_.mark_diverged(run_id_, result.diverged_step.value_or(o.step));
      return store::kStatusDiverged;
    case TrainEnd::kStopped:
      db_.update_progress(run_id_, o.step, o.tokens_seen, o.wall_seconds);
      db_.release_point(run_id_, owner_);
      return store::kStatusPending;
  }
  return store::kStatusPending;
}

void RunRecorder::release() {
  flush();
  db_.release_point(run_id_, owner_);
}

store::FailureOutcome RunRecorder::fail(const std::string& error, double now) {
  flush();
  return db_.mark_failed(run_id_, error, transient_cause(error).has_value(), policy_.retry, now);
}

}  // namespace ss::runner
