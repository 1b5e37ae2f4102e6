// hold_sweep: scalesweep's `run` and `train` subcommands with the real GPT trainer (the same
// add_run_command, add_train_command and train_point as scalesweep) whose runs hold at one step
// until stopped, so the tests can signal or kill a run mid-way on any machine speed:
//   mpirun -np P hold_sweep --hold-at-step K run CONFIG --store DB ...
//   hold_sweep --hold-at-step K train CONFIG --point I --store DB ...
// At step K (after that step's row and checkpoint reached the sink) the run prints "holding at
// step K (run R)" on stderr and waits in stop_requested() until the real sink says stop (a
// signal; under `run`, a Stop from rank 0) or the process is killed (tests/support/hold_sink.h).
// --hold-in-restart R (Slurm tests): hold only in the job's restart R (SLURM_RESTART_COUNT,
// unset = 0), so the requeued job trains through without holding.
// Test-only: production binaries have no such hold.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "runner/cli_run.h"
#include "runner/cli_train.h"
#include "runner/preflight.h"
#include "runner/trainer.h"
#include "tests/support/cli_main.h"
#include "tests/support/hold_sink.h"

namespace {

// The job's restart count under Slurm (SLURM_RESTART_COUNT; 0 when unset).
int slurm_restart() {
  const char* value = std::getenv("SLURM_RESTART_COUNT");
  return value == nullptr ? 0 : std::atoi(value);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ss::runner;
  CLI::App app{
      "hold_sweep: scalesweep run/train whose runs hold at one step until stopped (tests)"};
  app.require_subcommand(1);
  auto hold_at = std::make_shared<std::int64_t>(0);
  auto hold_restart = std::make_shared<int>(-1);
  app.add_option("--hold-at-step", *hold_at, "step at which every run waits for a stop")
      ->required();
  app.add_option("--hold-in-restart", *hold_restart,
                 "hold only in this Slurm restart of the job (SLURM_RESTART_COUNT; -1: always)");
  // The step to hold at in this process (0: never, steps start at 1).
  auto hold_step = [hold_at, hold_restart] {
    return *hold_restart < 0 || *hold_restart == slurm_restart() ? *hold_at : 0;
  };
  const auto run_code = add_run_command(
      app,
      [hold_step](const TrainJob& job, RunSink& sink) {
        ss::testing::HoldingSink holding(sink, hold_step());
        return train_point(job, holding);
      },
      preflight_sweep);
  const auto train_code = add_train_command(
      app, [hold_step](const TrainJob& job, RunSink& sink, const TrainOptions& options) {
        ss::testing::HoldingSink holding(sink, hold_step());
        return train_point(job, holding, options);
      });
  // Only the subcommand that ran sets its code; the other stays 0.
  auto exit_code = std::make_shared<int>(0);
  app.final_callback([&] { *exit_code = *run_code != 0 ? *run_code : *train_code; });
  return ss::testing::parse_and_run(app, argc, argv, "hold_sweep", exit_code);
}
