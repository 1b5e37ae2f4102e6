// `scalesweep run`: CLI options, the signal watcher (before MPI_Init, so every thread inherits
// the blocked mask) and the MPI session around run_sweep(). Invariant: MPI is finalised on every
// path that returns; an error that leaves ranks out of step, or a lost (hung) group, aborts the
// whole MPI job instead of hanging it.
#include "runner/cli_run.h"

#include <fmt/core.h>
#include <mpi.h>

#include <exception>

#include "model/comm_mpi.h"
#include "runner/signals.h"
#include "runner/sweep_run.h"
#include "ss/cli_checks.h"
#include "ss/error.h"

namespace ss::runner {
namespace {

// MPI_Init_thread / MPI_Finalize. FUNNELED: only the main thread calls MPI (the signal thread
// never does).
class MpiSession {
 public:
  MpiSession() {
    int provided = 0;
    SS_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    SS_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

int run_command(const SweepRunOptions& options, const TrainFunction& train,
                const PreflightFunction& preflight) {
  const StopSignalWatcher signals;  // before MPI_Init: see signals.h
  const MpiSession mpi;
  try {
    const JobEnd end = run_sweep(options, train, signals, preflight);
    if (end.abort) {
      // A lost group (rank 0 printed the line): a stopped rank would keep MPI_Finalize waiting.
      std::fflush(stdout);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, end.exit_code);
    }
    return end.exit_code;
  } catch (const InputError&) {
    throw;  // rank 0's start-up check only (run_sweep): every other rank returned in step
  } catch (const StartupError&) {
    throw;  // likewise (the store could not be created): main prints it, exit 1
  } catch (const std::exception& e) {
    int rank = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fmt::print(stderr, "scalesweep run: rank {}: fatal: {}\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);  // the other ranks may be inside a collective: end them all
    return 1;
  }
}

}  // namespace

void add_config_and_store_options(CLI::App& command, std::string& config, std::string& store,
                                  std::string& journal) {
  command.add_option("config", config, "sweep file (TOML), e.g. configs/quickstart.toml")
      ->required();
  command.add_option("--store", store, "SQLite store (created if missing)")->required();
  command
      .add_option(
          "--store-journal", journal,
          "journal mode: auto (wal on a local disk, delete on NFS/Lustre/GPFS), wal or delete")
      ->check(CLI::IsMember({"auto", "wal", "delete"}))
      ->capture_default_str();
}

std::shared_ptr<int> add_run_command(CLI::App& app, TrainFunction train,
                                     PreflightFunction preflight) {
  auto options = std::make_shared<SweepRunOptions>();
  auto exit_code = std::make_shared<int>(0);
  CLI::App* run = app.add_subcommand(
      "run",
      "Train every pending point of a sweep under MPI: mpirun -np P scalesweep run CONFIG "
      "--store DB (rank 0 schedules and writes the store, ranks 1..P-1 train). Exit 3 after "
      "SIGUSR1/SIGTERM: state saved, re-run the same command to resume");
  add_config_and_store_options(*run, options->config, options->store, options->journal);
  run->add_option("--lease-seconds", options->lease_seconds,
                  "lease on a claimed point, renewed every third of it; a crashed job's points "
                  "are reclaimed after it expires")
      ->check(cli::kPositive)
      ->capture_default_str();
  run->add_option("--gpus-per-node", options->gpus_per_node,
                  "GPUs per node; worker i on a node uses GPU (local rank / ranks-per-gpu) mod "
                  "this (0: CPU backend)")
      ->check(cli::kNonNegative)
      ->capture_default_str();
  run->add_option("--ranks-per-gpu", options->ranks_per_gpu,
                  "worker ranks sharing one GPU (packs small models)")
      ->check(cli::kPositive)
      ->capture_default_str();
  run->add_option("--summary-seconds", options->summary_seconds,
                  "period of the progress summary line")
      ->check(cli::kPositive)
      ->capture_default_str();
  run->add_option("--hang-seconds", options->hang_seconds,
                  "a worker group that sends nothing (rows, heartbeat) this long is hung: its "
                  "point is released, the others checkpointed, and the job ends with exit 4; "
                  "heartbeats come every tenth of it (at most 10 s)")
      ->check(cli::kPositive)
      ->capture_default_str();
  run->callback([options, exit_code, train = std::move(train), preflight = std::move(preflight)] {
    *exit_code = run_command(*options, train, preflight);
  });
  return exit_code;
}

}  // namespace ss::runner
