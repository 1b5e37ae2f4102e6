// HoldingSink: the RunSink wrapper of the test binaries whose runs must be interrupted mid-run
// on any machine speed (hold_sweep's `run` and `train`, fake_sweep --hold-at-step). It forwards
// everything to the real sink; once the rows of step K have reached it, stop_requested() keeps
// asking the real sink until that says stop (a signal, a Stop from rank 0) or the process is
// killed, so a test's signal or kill always lands at step K, never after the run ended.
// Invariant: it holds once per run, after step K's row and any checkpoint of step K were
// reported, and says so in one line on stderr ("holding at step K (run R)") that a test waits
// for; every rank of a group sees the same rows, so all ranks hold alike (collective).
#pragma once

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <span>
#include <thread>

#include "runner/worker_sink.h"

namespace ss::testing {

class HoldingSink final : public runner::RunSink {
 public:
  HoldingSink(runner::RunSink& inner, std::int64_t hold_at) : inner_(inner), hold_at_(hold_at) {}
  void on_metrics(std::span<const store::MetricRow> rows) override {
    if (!rows.empty()) {
      step_ = rows.back().step;
      run_ = rows.back().run;
    }
    inner_.on_metrics(rows);
  }
  void on_checkpoint(const store::CheckpointRecord& checkpoint) override {
    inner_.on_checkpoint(checkpoint);
  }
  void keep_alive() override { inner_.keep_alive(); }
  bool stop_requested() override {
    if (step_ != hold_at_ || held_) return inner_.stop_requested();
    held_ = true;
    fmt::print(stderr, "holding at step {} (run {})\n", step_, run_);
    std::fflush(stderr);
    while (!inner_.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return true;
  }

 private:
  runner::RunSink& inner_;
  std::int64_t hold_at_;
  std::int64_t step_ = 0;
  std::int64_t run_ = 0;
  bool held_ = false;
};

}  // namespace ss::testing
