// fake_sweep: `scalesweep run` with the fake trainer (tests/mpi/fake_trainer.h) instead of the
// GPT trainer, for the MPI tests and the runner benchmark. Same subcommand code as scalesweep
// (add_run_command); the fake's knobs are options of the app itself:
//   mpirun -np 3 fake_sweep [--step-ms 20] [--fail-attempts 1] [--noop] [--hold-at-step K]
//     run CONFIG --store DB ...
// --hold-at-step K: every run holds after step K until stopped or killed, printing "holding at
// step K (run R)" (tests/support/hold_sink.h), so the signal and kill tests never race the run.
// With FAKE_SWEEP_PID_DIR=D in the environment (mpirun -x), each rank writes
// D/rank-<world rank>.pid at start, so a test can signal or kill a given rank.
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runner/cli_run.h"
#include "tests/mpi/fake_trainer.h"
#include "tests/support/cli_main.h"
#include "tests/support/hold_sink.h"

int main(int argc, char** argv) {
  CLI::App app{"fake_sweep: scalesweep run with a fake trainer (tests only)"};
  app.require_subcommand(1);
  auto fake = std::make_shared<ss::runner::testing::FakeTrainerOptions>();
  app.add_option("--step-ms", fake->step_ms, "sleep per training step");
  app.add_option("--fail-attempts", fake->fail_attempts, "throw on attempts <= this");
  app.add_option("--diverge-lr", fake->diverge_lr, "NaN at step 3 when lr exceeds this");
  app.add_flag("--noop", fake->noop, "return at once (scheduler throughput)");
  auto hold_at = std::make_shared<std::int64_t>(0);
  app.add_option("--hold-at-step", *hold_at, "every run waits for a stop after this step");
  const auto exit_code = ss::runner::add_run_command(
      app, [hold_at, train = ss::runner::testing::make_fake_trainer(fake)](
               const ss::runner::TrainJob& job, ss::runner::RunSink& sink) {
        if (*hold_at <= 0) return train(job, sink);
        ss::testing::HoldingSink holding(sink, *hold_at);
        return train(job, holding);
      });
  const char* pid_dir = std::getenv("FAKE_SWEEP_PID_DIR");
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (pid_dir != nullptr && rank != nullptr) {
    std::filesystem::create_directories(pid_dir);
    std::ofstream(std::filesystem::path(pid_dir) / fmt::format("rank-{}.pid", rank))
        << ::getpid() << "\n";
  }
  return ss::testing::parse_and_run(app, argc, argv, "fake_sweep", exit_code);
}
