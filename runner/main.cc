// scalesweep: the sweep CLI. Each subcommand lives in its own runner/cli_*.cc and registers
// itself here with one add_*_command call. Invariant: only main() maps exceptions to exit codes
// (ss::InputError and CLI parse errors -> 2, anything else -> 1), and a parse error is one line,
// printed once per MPI job (by rank 0).
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>

#include "runner/cli_plan.h"
#include "runner/cli_prepare_data.h"
#include "runner/cli_retry.h"
#include "runner/cli_run.h"
#include "runner/cli_slurm.h"
#include "runner/cli_status.h"
#include "runner/cli_train.h"
#include "runner/preflight.h"
#include "runner/trainer.h"
#include "ss/cli_checks.h"
#include "ss/error.h"

namespace {

// This process's rank in a launcher's job (mpirun, srun), read before MPI_Init; 0 outside one.
// Errors found before MPI is up (CLI parsing) are printed by rank 0 only, once per job.
int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scalesweep: plan, run and inspect scaling-law sweeps"};
  app.require_subcommand(1);
  ss::runner::add_plan_command(app);
  ss::runner::add_status_command(app);
  ss::runner::add_retry_command(app);
  const auto prepare_exit = ss::runner::add_prepare_data_command(app);
  ss::runner::add_slurm_command(app);
  const auto train_exit = ss::runner::add_train_command(app);
  const auto run_exit = ss::runner::add_run_command(
      app,
      [](const ss::runner::TrainJob& job, ss::runner::RunSink& sink) {
        return ss::runner::train_point(job, sink);
      },
      ss::runner::preflight_sweep);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    // Every rank fails the same parse; rank 0 alone reports it and exits 2. Another rank exiting
    // non-zero first would make mpirun abort the job before rank 0's line is out.
    if (launcher_rank() != 0) return 0;
    fmt::print(
        stderr, "scalesweep: error: {}; see `scalesweep{} --help`\n",
        ss::cli::parse_error_line(e),
        app.get_subcommands().empty() ? "" : " " + app.get_subcommands().front()->get_name());
    return ss::kExitBadInput;
  } catch (const ss::InputError& e) {
    fmt::print(stderr, "scalesweep: error: {}\n", e.what());
    return ss::kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "scalesweep: error: {}\n", e.what());
    return 1;
  }
  // 0 unless `train`, `run` or `prepare-data` ran and set it (one subcommand runs).
  for (const auto& code : {train_exit, run_exit, prepare_exit})
    if (*code != 0) return *code;
  return 0;
}
