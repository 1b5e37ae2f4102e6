// hold_sweep: `scalesweep run` with the real GPT trainer (the same add_run_command and
// train_point as scalesweep) whose group holds at one step until it is stopped, so the mpirun
// tests can signal or kill a run mid-way on any machine speed:
//   mpirun -np P hold_sweep --hold-at-step K run CONFIG --store DB ...
// At step K (after that step's row and checkpoint reached the sink) every rank of the group
// keeps calling the collective stop_requested() until it answers true (a Stop from rank 0) or
// the process is killed. Test-only: production binaries have no such hold.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "runner/cli_run.h"
#include "runner/trainer.h"
#include "tests/support/cli_main.h"

namespace {

using ss::runner::RunSink;

// Forwards everything to the worker's sink; holds in stop_requested() at the hold step.
class HoldingSink final : public RunSink {
 public:
  HoldingSink(RunSink& inner, std::int64_t hold_at) : inner_(inner), hold_at_(hold_at) {}
  void on_metrics(std::span<const ss::store::MetricRow> rows) override {
    if (!rows.empty()) step_ = rows.back().step;
    inner_.on_metrics(rows);
  }
  void on_checkpoint(const ss::store::CheckpointRecord& checkpoint) override {
    inner_.on_checkpoint(checkpoint);
  }
  // Every rank sees the same rows' steps and the same answers, so all loop alike (collective).
  bool stop_requested() override {
    if (step_ != hold_at_) return inner_.stop_requested();
    while (!inner_.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return true;
  }

 private:
  RunSink& inner_;
  std::int64_t hold_at_;
  std::int64_t step_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hold_sweep: scalesweep run whose runs hold at one step until stopped (tests)"};
  app.require_subcommand(1);
  auto hold_at = std::make_shared<std::int64_t>(0);
  app.add_option("--hold-at-step", *hold_at, "step at which every run waits for a stop")
      ->required();
  const auto exit_code = ss::runner::add_run_command(
      app, [hold_at](const ss::runner::TrainJob& job, RunSink& sink) {
        HoldingSink holding(sink, *hold_at);
        return ss::runner::train_point(job, holding);
      });
  return ss::testing::parse_and_run(app, argc, argv, "hold_sweep", exit_code);
}
