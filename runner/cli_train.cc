// `scalesweep train` (see cli_train.h). Order matters for "bad input writes nothing": the config,
// the grid, the point and its preflight (runner/preflight.h: shards, checkpoint directory,
// memory) are all checked before the store is opened.
#include "runner/cli_train.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runner/cli_run.h"
#include "runner/config.h"
#include "runner/grid.h"
#include "runner/failure_kind.h"
#include "runner/lease_owner.h"
#include "runner/preflight.h"
#include "runner/run_recorder.h"
#include "runner/signals.h"
#include "runner/trainer.h"
#include "ss/cli_checks.h"
#include "ss/error.h"
#include "ss/log.h"
#include "store/store.h"

namespace ss::runner {
namespace {

struct TrainOptionsCli {
  std::string config;
  std::string point;
  std::string store;
  std::string journal = "auto";
  double lease_seconds = kDefaultLeaseSeconds;
  int threads = 0;
  double progress_seconds = 2;
};

const Point& find_point(const std::vector<Point>& points, const std::string& wanted,
                        const std::string& config) {
  const bool numeric = !wanted.empty() && std::all_of(wanted.begin(), wanted.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  for (const Point& p : points) {
    if (p.key == wanted || (numeric && std::to_string(p.index) == wanted)) return p;
  }
  throw InputError(
      fmt::format("--point {}: no such point in {} (indices 0..{} or a 16-hex key; "
                  "list them with `scalesweep plan {}`)",
                  wanted, config, points.size() - 1, config));
}

// The training loop's reports go straight to the run's recorder; stop on SIGUSR1/SIGTERM.
class RecorderSink final : public RunSink {
 public:
  RecorderSink(RunRecorder& recorder, const StopSignalWatcher& signals)
      : recorder_(recorder), signals_(signals) {}
  void on_metrics(std::span<const store::MetricRow> rows) override { recorder_.add_metrics(rows); }
  void on_checkpoint(const store::CheckpointRecord& checkpoint) override {
    recorder_.add_checkpoint(checkpoint);
  }
  bool stop_requested() override { return signals_.stop_requested(); }

 private:
  RunRecorder& recorder_;
  const StopSignalWatcher& signals_;
};

// Claims `point` in the store (registering the sweep first). nullopt: the point already ended
// (a line says so); throws InputError when a live lease holds it.
std::optional<store::RunRecord> claim(store::Store& db, const SweepSpec& spec,
                                      const std::vector<Point>& points, const Point& point,
                                      const TrainOptionsCli& options, const LeaseOwner& self) {
  const std::string owner = self.to_string();
  register_sweep_points(db, spec, points);
  // The point by its key, whichever sweep registered it first (a sweep file edited since
  // registers only its new points under a sweep of its own).
  store::RunFilter filter;
  filter.points = {point.key};
  filter.ignore_backoff = true;  // the user asks for this point now
  const auto runs = db.list_runs(filter);
  if (runs.empty()) {  // registered just above: only a store changed underneath us
    throw std::runtime_error(fmt::format("{}: point {} is not in the store after registering it",
                                         options.store, point.key));
  }
  const store::RunRecord& existing = runs.front();
  if (existing.status == store::kStatusDone || existing.status == store::kStatusDiverged ||
      existing.status == store::kStatusFailed) {
    fmt::print("point {} ({}) is already {} in {}: nothing to do\n", point.index, point.key,
               existing.status, options.store);
    return std::nullopt;
  }
  const auto leases = reclaim_dead_leases(db, self, filter);
  auto claimed = db.claim_point(owner, options.lease_seconds, filter);
  if (!claimed) {
    std::string holder = existing.lease_owner.value_or("another job");
    for (const auto& lease : leases.live) {
      if (lease.run_id == existing.id) holder = describe_live_lease(lease);
    }
    throw InputError(
        fmt::format("point {} ({}) is being trained: {}; wait for it or for its lease to expire",
                    point.index, point.key, holder));
  }
  return claimed;
}

// The line that says how the run ended, and the exit code.
int report_end(const Point& point, const TrainResult& result, const StopSignalWatcher& signals) {
  const store::RunOutcome& o = result.outcome;
  switch (result.end) {
    case TrainEnd::kDone:
      fmt::print(
          "point {} done: {} steps, {} tokens, final train loss {:.4f}, val loss {:.4f}, "
          "{:.1f} s\n",
          point.index, o.step, o.tokens_seen, o.final_train_loss.value_or(0),
          o.final_val_loss.value_or(0), o.wall_seconds);
      return 0;
    case TrainEnd::kDiverged:
      fmt::print("point {} diverged at step {}\n", point.index,
                 result.diverged_step.value_or(o.step));
      return 0;
    case TrainEnd::kStopped:
      fmt::print(
          "point {} stopped by signal {} at step {} (checkpoint written); run the same "
          "command to resume\n",
          point.index, signals.stop_signal(), o.step);
      return kExitRequeue;
  }
  return 1;
}

int train_command(const TrainOptionsCli& options, const TrainPointFunction& train) {
  // First, so every thread created later (OpenMP/BLAS) inherits the blocked signal mask.
  const StopSignalWatcher signals;
  const store::JournalMode journal = store::parse_journal_mode(options.journal);
  SweepSpec spec = load_sweep_spec(options.config);
  place_checkpoints(spec, options.store);
  const std::vector<Point> points = expand_grid(spec);
  const Point& point = find_point(points, options.point, options.config);
  preflight_sweep(spec, {&point, 1}, 1);  // the same checks as `run`, for this one point
  install_bus_error_line();

  store::StoreOptions store_options;
  store_options.create_if_missing = true;
  store_options.journal = journal;
  store::Store db(options.store, store_options);
  const LeaseOwner self = this_process_owner("train", process_env());
  const std::string owner = self.to_string();
  const auto claimed = claim(db, spec, points, point, options, self);
  if (!claimed) return 0;

  const auto latest = db.latest_checkpoints(claimed->id, 1);
  TrainJob job = make_train_job(spec, point, claimed->id, claimed->attempts,
                                latest.empty() ? std::nullopt : std::optional(latest.front()));
  job.cpu_threads = options.threads;
  RunRecorder recorder(
      db, claimed->id, owner,
      {options.lease_seconds, spec.schedule.keep_checkpoints, retry_policy(spec.schedule)});
  RecorderSink sink(recorder, signals);
  TrainOptions train_options;
  train_options.progress = true;
  train_options.progress_interval_s = options.progress_seconds;
  fmt::print("training point {} ({}) of {}: run {}, attempt {}, {} steps{}\n", point.index,
             point.key, spec.name, claimed->id, claimed->attempts, point.steps,
             job.resume ? fmt::format(", resuming from step {}", job.resume->step) : "");
  std::fflush(stdout);

  TrainResult result;
  try {
    result = train(job, sink, train_options);
  } catch (const std::exception& e) {
    const auto failure = recorder.fail(e.what());
    log::error("run {}: {} (status now {}{})", claimed->id, e.what(), failure.status,
               failure.retry_after
                   ? fmt::format(", transient: `run` retries it from {}",
                                 utc_time_text(*failure.retry_after))
                   : "");
    throw;
  }
  recorder.finish(result);
  return report_end(point, result, signals);
}

}  // namespace

std::shared_ptr<int> add_train_command(CLI::App& app, TrainPointFunction train_fn) {
  if (!train_fn) {
    train_fn = [](const TrainJob& job, RunSink& sink, const TrainOptions& options) {
      return train_point(job, sink, options);
    };
  }
  auto options = std::make_shared<TrainOptionsCli>();
  auto exit_code = std::make_shared<int>(0);
  CLI::App* train = app.add_subcommand(
      "train",
      "Train one grid point in this process (no MPI): scalesweep train CONFIG --point "
      "KEY_OR_INDEX --store DB. Resumes from the point's newest checkpoint; exit 3 after "
      "SIGUSR1/SIGTERM (checkpoint written, re-run to resume)");
  add_config_and_store_options(*train, options->config, options->store, options->journal);
  train->add_option("--point", options->point, "grid index (as `scalesweep plan` prints) or key")
      ->required();
  train->add_option("--lease-seconds", options->lease_seconds, "lease on the claimed point")
      ->check(cli::kPositive)
      ->capture_default_str();
  train->add_option("--threads", options->threads, "CPU threads (0: OMP_NUM_THREADS or all)")
      ->check(cli::kNonNegative)
      ->capture_default_str();
  train
      ->add_option("--progress-seconds", options->progress_seconds,
                   "seconds between progress lines")
      ->check(cli::kNonNegative)
      ->capture_default_str();
  train->callback(
      [options, exit_code, train_fn] { *exit_code = train_command(*options, train_fn); });
  return exit_code;
}

}  // namespace ss::runner
