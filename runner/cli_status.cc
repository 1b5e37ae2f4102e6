// `scalesweep status DB`: every run grouped by status with its progress and losses (a running
// point: who holds its lease, with the Slurm job/step and node; a failed or backing-off one: its
// stored error, whether it was transient and when it is retried), then the summary. Read-only:
// never creates, migrates or locks the store for writing.
#include "runner/cli_status.h"

#include <fmt/core.h>

#include <map>
#include <memory>

#include "runner/config.h"
#include "runner/failure_kind.h"
#include "runner/lease_owner.h"
#include "ss/cli_checks.h"
#include "ss/error.h"
#include "store/store.h"

namespace ss::runner {
namespace {

struct StatusOptions {
  std::string store;
  std::int64_t sweep_id = 0;  // 0: every sweep
};

std::string loss_text(const std::optional<double>& loss) {
  return loss ? fmt::format("{:.4f}", *loss) : std::string("-");
}

double percent(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

// Each sweep's retry policy, from the config text the store keeps; nullopt for a sweep whose
// text this build cannot parse (written by another version), so its notes leave the limits out.
std::map<std::int64_t, std::optional<store::RetryPolicy>> retry_policies(store::Store& db) {
  std::map<std::int64_t, std::optional<store::RetryPolicy>> policies;
  for (const auto& sweep : db.list_sweeps()) {
    try {
      policies[sweep.id] =
          retry_policy(parse_sweep_spec(sweep.config_text, sweep.config_path).schedule);
    } catch (const std::exception&) {
      policies[sweep.id] = std::nullopt;
    }
  }
  return policies;
}

// The note of a run: its lease, its divergence, its failure (why, whether transient, when it is
// retried).
std::string run_note(const store::RunRecord& r, const std::optional<store::RetryPolicy>& policy,
                     double now) {
  std::string note;
  if (r.lease_owner) {
    note = fmt::format("lease: {}, expires in {:.0f}s", describe_owner(*r.lease_owner),
                       r.lease_expires.value_or(now) - now);
  }
  if (r.diverged_step) note = fmt::format("diverged at step {}", *r.diverged_step);
  if (r.error) {
    note += fmt::format("{}{}: {}", note.empty() ? "" : "; ",
                        r.status == store::kStatusRunning ? "last failure" : "failure",
                        describe_failure(r, policy, now));
    note += "; why: " + *r.error;
  }
  return note;
}

// `--sweep ID` names a sweep of the store: otherwise one line naming the sweeps it has (it used
// to print "0 runs", as if the sweep were empty).
void require_sweep(store::Store& db, const std::string& path, std::int64_t id) {
  const auto sweeps = db.list_sweeps();
  std::string known;
  for (const auto& s : sweeps) {
    if (s.id == id) return;
    known += fmt::format("{}{} ({})", known.empty() ? "" : ", ", s.id, s.name);
  }
  throw InputError(fmt::format(
      "--sweep {}: store {} has no sweep {}; {}", id, path, id,
      known.empty() ? "it has no sweep yet (register one with `scalesweep plan CONFIG --store "
                      "DB`)"
                    : "its sweeps are " + known + "; pass one of these ids"));
}

void run_status(const StatusOptions& options) {
  store::StoreOptions store_options;
  store_options.read_only = true;
  store::Store db(options.store, store_options);
  std::optional<std::int64_t> sweep;
  if (options.sweep_id > 0) sweep = options.sweep_id;
  if (sweep) require_sweep(db, options.store, *sweep);
  const store::StatusSummary summary = db.status_summary(sweep);
  auto policies = retry_policies(db);
  for (const char* status : {store::kStatusRunning, store::kStatusPending, store::kStatusDone,
                             store::kStatusFailed, store::kStatusDiverged}) {
    store::RunFilter filter;
    filter.sweep_id = sweep;
    filter.status = status;
    const auto runs = db.list_runs(filter);
    if (runs.empty()) continue;
    const double now = store::unix_now();
    fmt::print("{} ({})\n", status, runs.size());
    fmt::print("  {:>5} {:>5} {:<16} {:>10} {:>12} {:>15} {:>7} {:>10} {:>10} {:>10} {:>4} {}\n",
               "run", "index", "point", "N", "D", "step/steps", "tokens%", "best_val", "final_val",
               "final_trn", "try", "note");
    for (const auto& r : runs) {
      const std::string note = run_note(r, policies[r.plan.sweep_id], now);
      fmt::print(
          "  {:>5} {:>5} {:<16} {:>10} {:>12} {:>15} {:>6.1f}% {:>10} {:>10} {:>10} {:>4} "
          "{}\n",
          r.id, r.plan.point_index, r.plan.point, r.plan.n_params, r.plan.tokens,
          fmt::format("{}/{}", r.step, r.plan.steps), percent(r.tokens_seen, r.plan.tokens),
          loss_text(r.best_val_loss), loss_text(r.final_val_loss), loss_text(r.final_train_loss),
          r.attempts, note);
    }
  }
  fmt::print("summary: {} runs", summary.runs_total);
  for (const auto& [status, count] : summary.runs_by_status) fmt::print(", {} {}", count, status);
  fmt::print("\ntokens: {} of {} ({:.1f}%), planned {:.3g} FLOPs\n", summary.tokens_seen,
             summary.tokens_target, percent(summary.tokens_seen, summary.tokens_target),
             summary.flops_planned);
  if (summary.best_val_loss) {
    fmt::print("best val loss: {:.4f} (run {})\n", *summary.best_val_loss, *summary.best_val_run);
  } else {
    fmt::print("best val loss: - (no run has reported one yet)\n");
  }
}

}  // namespace

void add_status_command(CLI::App& app) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* status = app.add_subcommand(
      "status", "Print the runs of a store by status, their progress and losses, and a summary");
  status->add_option("store", options->store, "SQLite store written by plan --store / run")
      ->required();
  status->add_option("--sweep", options->sweep_id, "only this sweep id (default: all)")
      ->check(cli::kPositive);
  status->callback([options] { run_status(*options); });
}

}  // namespace ss::runner
