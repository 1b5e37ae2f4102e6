// `scalesweep retry` (see cli_retry.h).
#include "runner/cli_retry.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "ss/error.h"
#include "store/store.h"

namespace ss::runner {
namespace {

struct RetryOptions {
  std::string store;
  std::vector<std::string> statuses = {store::kStatusFailed};
  std::vector<std::string> points;
};

// Every --point names a run of the store whose status is one of --status.
void check_points(store::Store& db, const RetryOptions& o) {
  if (o.points.empty()) return;
  store::RunFilter filter;
  filter.points = o.points;
  const auto runs = db.list_runs(filter);
  for (const std::string& key : o.points) {
    const auto run = std::find_if(runs.begin(), runs.end(),
                                  [&](const store::RunRecord& r) { return r.plan.point == key; });
    if (run == runs.end())
      throw InputError(
          fmt::format("--point {}: no such point in {}; `scalesweep status {}` "
                      "lists them",
                      key, o.store, o.store));
    if (std::find(o.statuses.begin(), o.statuses.end(), run->status) == o.statuses.end())
      throw InputError(
          fmt::format("--point {}: run {} is {}, not {}; only those are retried "
                      "(see --status)",
                      key, run->id, run->status, fmt::join(o.statuses, " or ")));
  }
}

void run_retry(const RetryOptions& o) {
  for (const std::string& status : o.statuses)
    if (status != store::kStatusFailed && status != store::kStatusDiverged)
      throw InputError(fmt::format("--status {}: only failed and diverged runs are retried; "
                                   "write --status failed, diverged or failed,diverged",
                                   status));
  store::StoreOptions options;  // an existing store, opened for writing
  store::Store db(o.store, options);
  check_points(db, o);
  const auto reset = db.reset_runs(o.statuses, o.points);
  if (reset.empty()) {
    fmt::print("no {} run in {}: nothing to retry\n", fmt::join(o.statuses, " or "), o.store);
    return;
  }
  fmt::print("{} run(s) set back to pending in {}:\n", reset.size(), o.store);
  for (const auto& r : reset)
    fmt::print("  run {} point {} (was {} after {} attempt(s){})\n", r.id, r.plan.point, r.status,
               r.attempts, r.error ? ": " + *r.error : std::string());
  const auto sweeps = db.list_sweeps();
  fmt::print("train them with: mpirun -np P scalesweep run {} --store {}\n",
             sweeps.empty() ? std::string("CONFIG") : sweeps.front().config_path, o.store);
}

}  // namespace

void add_retry_command(CLI::App& app) {
  auto options = std::make_shared<RetryOptions>();
  CLI::App* retry = app.add_subcommand(
      "retry",
      "Set failed (or diverged) runs back to pending, attempts 0, so that the next `scalesweep "
      "run` trains them again (from their newest checkpoint)");
  retry->add_option("store", options->store, "SQLite store written by plan --store / run")
      ->required();
  retry->add_option("--status", options->statuses, "which runs: failed and/or diverged")
      ->delimiter(',')
      ->capture_default_str();
  retry->add_option("--point", options->points, "only these point keys (comma list)")
      ->delimiter(',');
  retry->callback([options] { run_retry(*options); });
}

}  // namespace ss::runner
