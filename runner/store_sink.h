// A RunSink that writes straight into the store, for the single-process `scalesweep train`:
// metric rows in one transaction per batch, checkpoint rows (keeping the newest K), progress
// and lease renewal. Invariant: a checkpoint row is written only after the metric rows of
// every step up to it (the loop flushes metrics first), so a resume never leaves a gap.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "runner/worker_sink.h"
#include "store/store.h"

namespace ss::runner {

class StoreSink final : public RunSink {
 public:
  // `stop` answers stop_requested() (e.g. a signal watcher); empty: never stop.
  StoreSink(store::Store& db, std::int64_t run_id, std::string owner, double lease_seconds,
            std::int64_t keep_checkpoints, std::function<bool()> stop = {});

  void on_metrics(std::span<const store::MetricRow> rows) override;
  void on_checkpoint(const store::CheckpointRecord& checkpoint) override;
  bool stop_requested() override { return stop_ && stop_(); }

  // Wall seconds of the last metric row (over all attempts); 0 before any.
  double last_wall_seconds() const { return last_wall_; }

 private:
  store::Store& db_;
  std::int64_t run_id_;
  std::string owner_;
  double lease_seconds_;
  std::int64_t keep_checkpoints_;
  std::function<bool()> stop_;
  double last_wall_ = 0;
  std::chrono::steady_clock::time_point last_renew_;
};

}  // namespace ss::runner
