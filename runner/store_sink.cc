// StoreSink (see store_sink.h).
#include "runner/store_sink.h"

#include <algorithm>

#include "ss/log.h"

namespace ss::runner {

StoreSink::StoreSink(store::Store& db, std::int64_t run_id, std::string owner, double lease_seconds,
                     std::int64_t keep_checkpoints, std::function<bool()> stop)
    : db_(db),
      run_id_(run_id),
      owner_(std::move(owner)),
      lease_seconds_(lease_seconds),
      keep_checkpoints_(std::max<std::int64_t>(1, keep_checkpoints)),
      stop_(std::move(stop)),
      last_renew_(std::chrono::steady_clock::now()) {}

void StoreSink::on_metrics(std::span<const store::MetricRow> rows) {
  if (rows.empty()) return;
  db_.insert_metrics(rows);
  const store::MetricRow& last = rows.back();
  last_wall_ = last.wall.value_or(last_wall_);
  db_.update_progress(run_id_, last.step, last.tokens, last_wall_);
  // Renew at a third of the lease, so two missed batches do not lose it.
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_renew_).count() >= lease_seconds_ / 3) {
    if (!db_.renew_lease(run_id_, owner_, lease_seconds_)) {
      log::warn("run {}: lost its lease (expired); another job may claim it", run_id_);
    }
    last_renew_ = now;
  }
}

void StoreSink::on_checkpoint(const store::CheckpointRecord& checkpoint) {
  db_.record_checkpoint(checkpoint);
  // The loop deleted its files beyond K; drop their rows so resume never points at them.
  const auto rows = db_.latest_checkpoints(run_id_);
  for (std::size_t i = static_cast<std::size_t>(keep_checkpoints_); i < rows.size(); ++i) {
    db_.delete_checkpoint(run_id_, rows[i].step);
  }
}

}  // namespace ss::runner
