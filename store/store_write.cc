// The write paths of Store: sweeps, points, leases, outcomes, metrics, checkpoints, events,
// fits and run flags. Invariant: each public method is one IMMEDIATE transaction.
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "store/sqlite_check.h"
#include "store/store.h"

namespace ss::store {
namespace {

// SQLite::bind (SQLiteCpp/VariadicBind.h) for parameter lists that hold a std::optional (bound
// as NULL when empty), which SQLiteCpp 3.2.1 does not bind; lists without one use SQLite::bind.
template <typename T>
void bind_at(SQLite::Statement& statement, int index, const T& value) {
  statement.bind(index, value);
}
template <typename T>
void bind_at(SQLite::Statement& statement, int index, const std::optional<T>& value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind(index);
  }
}
template <typename... Args>
void bind_nullable(SQLite::Statement& statement, const Args&... values) {
  int index = 0;
  (bind_at(statement, ++index, values), ...);
}

}  // namespace

std::int64_t Store::insert_sweep_row(const std::string& name, const std::string& config_path,
                                     const std::string& config_text,
                                     const std::string& config_hash) {
  auto insert = prepare(db_,
                        "INSERT OR IGNORE INTO sweeps(name, config_path, config_text, "
                        "config_hash, created) VALUES(?,?,?,?,?)");
  SQLite::bind(insert, name, config_path, config_text, config_hash, unix_now());
  SS_STORE_SQL(insert.exec());
  auto select = prepare(db_, "SELECT id FROM sweeps WHERE config_hash=?");
  select.bind(1, config_hash);
  SS_STORE_SQL(select.executeStep());
  return select.getColumn(0).getInt64();
}

std::optional<std::int64_t> Store::sweep_holding_all(std::span<const RunPlan> points) {
  if (points.empty()) return std::nullopt;
  std::vector<std::string> keys;
  keys.reserve(points.size());
  for (const RunPlan& p : points) keys.push_back(p.point);
  auto select = prepare(db_,
                        "SELECT count(*), min(sweep_id), max(sweep_id) FROM runs WHERE point IN "
                        "(SELECT value FROM json_each(?))");
  select.bind(1, nlohmann::json(keys).dump());
  SS_STORE_SQL(select.executeStep());
  const auto count = select.getColumn(0).getInt64();
  const auto low = select.getColumn(1).getInt64(), high = select.getColumn(2).getInt64();
  if (count != static_cast<std::int64_t>(points.size()) || low != high) return std::nullopt;
  return low;
}

std::int64_t Store::insert_point_rows(std::span<const RunPlan> points,
                                      std::optional<std::int64_t> sweep_id) {
  auto insert = prepare(
      db_,
      "INSERT OR IGNORE INTO runs(sweep_id, point, point_index, n_layer, d_model, n_head, d_ff, "
      "n_ctx, vocab, n_params, n_params_embedding, n_params_total, tokens, batch_tokens, steps, "
      "lr, seed, dp, tp, flops, budget, status, created) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'pending',?)");
  const double now = unix_now();
  std::int64_t inserted = 0;
  for (const RunPlan& p : points) {
    bind_nullable(insert, sweep_id.value_or(p.sweep_id), p.point, p.point_index, p.n_layer,
                  p.d_model, p.n_head, p.d_ff, p.n_ctx, p.vocab, p.n_params,
                  p.n_params_embedding, p.n_params_total, p.tokens, p.batch_tokens, p.steps, p.lr,
                  p.seed, p.dp, p.tp, p.flops, p.budget, now);
    inserted += SS_STORE_SQL(insert.exec());
    SS_STORE_SQL(insert.reset());
  }
  return inserted;
}

std::int64_t Store::register_sweep(const std::string& name, const std::string& config_path,
                                   const std::string& config_text, const std::string& config_hash) {
  auto transaction = begin_immediate(db_);
  const std::int64_t id = insert_sweep_row(name, config_path, config_text, config_hash);
  SS_STORE_SQL(transaction.commit());
  return id;
}

std::int64_t Store::register_points(std::span<const RunPlan> points) {
  auto transaction = begin_immediate(db_);
  const std::int64_t inserted = insert_point_rows(points, std::nullopt);
  SS_STORE_SQL(transaction.commit());
  return inserted;
}

Store::Registration Store::register_sweep_and_points(const std::string& name,
                                                     const std::string& config_path,
                                                     const std::string& config_text,
                                                     const std::string& config_hash,
                                                     std::span<const RunPlan> points) {
  auto transaction = begin_immediate(db_);
  Registration r;
  auto known = prepare(db_, "SELECT count(*) FROM sweeps WHERE config_hash=?");
  known.bind(1, config_hash);
  SS_STORE_SQL(known.executeStep());
  if (known.getColumn(0).getInt64() == 0) {
    if (const auto earlier = sweep_holding_all(points)) {
      r.sweep_id = *earlier;
      r.earlier_sweep = true;
      return r;  // nothing written: the transaction rolls back
    }
  }
  r.sweep_id = insert_sweep_row(name, config_path, config_text, config_hash);
  r.new_points = insert_point_rows(points, r.sweep_id);
  SS_STORE_SQL(transaction.commit());
  return r;
}

std::optional<RunRecord> Store::claim_point(const std::string& owner, double lease_seconds,
                                            const RunFilter& filter, double now) {
  auto transaction = begin_immediate(db_);
  // The point set travels as one JSON array bound to one parameter (json_each), so any number
  // of keys needs no dynamic SQL.
  // With a point list, "+status" keeps SQLite off the status index so it looks the keys up in
  // the point index (O(keys), not a scan of every pending row: rank 0 claims one key at a time).
  // A pending row waits for its retry_after (a transient failure's backoff) unless ?4.
  auto select = filter.points.empty()
                    ? prepare(db_,
                              "SELECT id FROM runs WHERE ((status='pending' AND (?4 OR "
                              "retry_after IS NULL OR retry_after <= ?1)) OR (status='running' "
                              "AND lease_expires < ?1)) AND (?2 IS NULL OR sweep_id = ?2) AND "
                              "?3 IS NULL ORDER BY flops DESC, point_index ASC, id ASC LIMIT 1")
                    : prepare(db_,
                              "SELECT id FROM runs WHERE ((+status='pending' AND (?4 OR "
                              "retry_after IS NULL OR retry_after <= ?1)) OR (+status='running' "
                              "AND lease_expires < ?1)) AND (?2 IS NULL OR sweep_id = ?2) AND "
                              "point IN (SELECT value FROM json_each(?3)) "
                              "ORDER BY flops DESC, point_index ASC, id ASC LIMIT 1");
  bind_nullable(
      select, now, filter.sweep_id,
      filter.points.empty() ? std::nullopt : std::optional(nlohmann::json(filter.points).dump()),
      filter.ignore_backoff ? 1 : 0);
  if (!SS_STORE_SQL(select.executeStep())) return std::nullopt;
  const std::int64_t id = select.getColumn(0).getInt64();
  SS_STORE_SQL(select.reset());
  auto update = prepare(db_,
                        "UPDATE runs SET status='running', lease_owner=?, lease_expires=?, "
                        "attempts=attempts+1, started=?, retry_after=NULL WHERE id=?");
  SQLite::bind(update, owner, now + lease_seconds, now, id);
  SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
  return find_run(id);
}

bool Store::renew_lease(std::int64_t run_id, const std::string& owner, double lease_seconds,
                        double now) {
  auto transaction = begin_immediate(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET lease_expires=? WHERE id=? AND status='running' AND "
                        "lease_owner=?");
  SQLite::bind(update, now + lease_seconds, run_id, owner);
  const int changed = SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
  return changed == 1;
}

bool Store::release_point(std::int64_t run_id, const std::string& owner) {
  auto transaction = begin_immediate(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='pending', lease_owner=NULL, lease_expires=NULL "
                        "WHERE id=? AND status='running' AND lease_owner=?");
  SQLite::bind(update, run_id, owner);
  const int changed = SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
  return changed == 1;
}

std::int64_t Store::expire_leases(double now) {
  auto transaction = begin_immediate(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='pending', lease_owner=NULL, lease_expires=NULL "
                        "WHERE status='running' AND lease_expires < ?");
  update.bind(1, now);
  const int changed = SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
  return changed;
}

void Store::update_progress(std::int64_t run_id, std::int64_t step, std::int64_t tokens_seen,
                            double wall_seconds) {
  auto transaction = begin_immediate(db_);
  auto update = prepare(db_, "UPDATE runs SET step=?, tokens_seen=?, wall_seconds=? WHERE id=?");
  SQLite::bind(update, step, tokens_seen, wall_seconds, run_id);
  SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
}

void Store::mark_done(std::int64_t run_id, const RunOutcome& outcome, double now) {
  auto transaction = begin_immediate(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='done', lease_owner=NULL, lease_expires=NULL, "
                        "step=?, tokens_seen=?, final_train_loss=?, final_val_loss=?, "
                        "best_train_loss=?, best_val_loss=?, wall_seconds=?, finished=?, "
                        "error=NULL, error_transient=NULL, retry_after=NULL WHERE id=?");
  bind_nullable(update, outcome.step, outcome.tokens_seen, outcome.final_train_loss,
                outcome.final_val_loss, outcome.best_train_loss, outcome.best_val_loss,
                outcome.wall_seconds, now, run_id);
  SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
}

double backoff_delay(const RetryPolicy& policy, std::int64_t transient_failures) {
  const double doublings = static_cast<double>(std::max<std::int64_t>(0, transient_failures - 1));
  // 2^n for n up to 1e4 saturates to +inf (no overflow trap); min() caps it.
  return std::min(policy.backoff_max_seconds,
                  std::ldexp(policy.backoff_seconds, static_cast<int>(std::min(doublings, 1e4))));
}

FailureOutcome Store::mark_failed(std::int64_t run_id, const std::string& error, bool transient,
                                  const RetryPolicy& policy, double now) {
  auto transaction = begin_immediate(db_);
  auto select = prepare(db_, "SELECT attempts, transient_failures FROM runs WHERE id=?");
  select.bind(1, run_id);
  FailureOutcome outcome;
  outcome.status = kStatusFailed;
  if (SS_STORE_SQL(select.executeStep())) {
    const std::int64_t attempts = select.getColumn(0).getInt64();
    outcome.transient_failures = select.getColumn(1).getInt64() + (transient ? 1 : 0);
    const bool retried = transient ? outcome.transient_failures < policy.max_transient_failures
                                   : attempts - outcome.transient_failures < policy.max_attempts;
    if (retried) outcome.status = kStatusPending;
    if (retried && transient)
      outcome.retry_after = now + backoff_delay(policy, outcome.transient_failures);
  }
  SS_STORE_SQL(select.reset());
  auto update = prepare(db_,
                        "UPDATE runs SET status=?, finished=?, error=?, error_transient=?, "
                        "transient_failures=?, retry_after=?, lease_owner=NULL, "
                        "lease_expires=NULL WHERE id=?");
  bind_nullable(update, outcome.status,
                outcome.status == kStatusFailed ? std::optional(now) : std::nullopt, error,
                transient ? 1 : 0, outcome.transient_failures, outcome.retry_after, run_id);
  SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
  return outcome;
}

void Store::mark_diverged(std::int64_t run_id, std::int64_t step, double now) {
  auto transaction = begin_immediate(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='diverged', diverged_step=?, step=?, finished=?, "
                        "lease_owner=NULL, lease_expires=NULL WHERE id=?");
  SQLite::bind(update, step, step, now, run_id);
  SS_STORE_SQL(update.exec());
  SS_STORE_SQL(transaction.commit());
}

std::vector<RunRecord> Store::reset_runs(std::span<const std::string> statuses,
                                         std::span<const std::string> points) {
  auto transaction = begin_immediate(db_);
  std::vector<RunRecord> reset;
  for (const std::string& status : statuses) {
    RunFilter filter;
    filter.status = status;
    filter.points.assign(points.begin(), points.end());
    for (auto& run : list_runs(filter)) reset.push_back(std::move(run));
  }
  auto update = prepare(db_,
                        "UPDATE runs SET status='pending', attempts=0, transient_failures=0, "
                        "error=NULL, error_transient=NULL, retry_after=NULL, "
                        "diverged_step=NULL, finished=NULL, lease_owner=NULL, "
                        "lease_expires=NULL WHERE id=?");
  for (const RunRecord& run : reset) {
    update.bind(1, run.id);
    SS_STORE_SQL(update.exec());
    SS_STORE_SQL(update.reset());
  }
  SS_STORE_SQL(transaction.commit());
  return reset;
}

void Store::insert_metrics(std::span<const MetricRow> rows) {
  auto transaction = begin_immediate(db_);
  auto insert = prepare(db_,
                        "INSERT OR REPLACE INTO metrics(run, step, tokens, flops, train_loss, "
                        "val_loss, lr, grad_norm, tokens_per_s, wall) VALUES(?,?,?,?,?,?,?,?,?,?)");
  for (const MetricRow& r : rows) {
    bind_nullable(insert, r.run, r.step, r.tokens, r.flops, r.train_loss, r.val_loss, r.lr,
                  r.grad_norm, r.tokens_per_s, r.wall);
    SS_STORE_SQL(insert.exec());
    SS_STORE_SQL(insert.reset());
  }
  SS_STORE_SQL(transaction.commit());
}

void Store::record_checkpoint(const CheckpointRecord& c) {
  auto transaction = begin_immediate(db_);
  auto insert = prepare(db_,
                        "INSERT OR REPLACE INTO checkpoints(run, step, path, bytes, sha256, "
                        "created) VALUES(?,?,?,?,?,?)");
  SQLite::bind(insert, c.run, c.step, c.path, c.bytes, c.sha256,
               c.created > 0 ? c.created : unix_now());
  SS_STORE_SQL(insert.exec());
  SS_STORE_SQL(transaction.commit());
}

void Store::delete_checkpoint(std::int64_t run_id, std::int64_t step) {
  auto transaction = begin_immediate(db_);
  auto remove = prepare(db_, "DELETE FROM checkpoints WHERE run=? AND step=?");
  SQLite::bind(remove, run_id, step);
  SS_STORE_SQL(remove.exec());
  SS_STORE_SQL(transaction.commit());
}

void Store::add_event(std::int64_t rank, const std::string& kind, const std::string& text,
                      double now) {
  auto transaction = begin_immediate(db_);
  auto insert = prepare(db_, "INSERT INTO events(time, rank, kind, text) VALUES(?,?,?,?)");
  SQLite::bind(insert, now, rank, kind, text);
  SS_STORE_SQL(insert.exec());
  SS_STORE_SQL(transaction.commit());
}

std::int64_t Store::write_fit(const FitRecord& fit) {
  auto transaction = begin_immediate(db_);
  auto insert = prepare(db_,
                        "INSERT INTO fits(law, source, params, ci, n_points, residual, created) "
                        "VALUES(?,?,?,?,?,?,?)");
  bind_nullable(insert, fit.law, fit.source, fit.params, fit.ci, fit.n_points, fit.residual,
                fit.created > 0 ? fit.created : unix_now());
  SS_STORE_SQL(insert.exec());
  const std::int64_t id = db_.getLastInsertRowid();
  SS_STORE_SQL(transaction.commit());
  return id;
}

void Store::write_run_flags(std::span<const RunFlagsRecord> flags) {
  auto transaction = begin_immediate(db_);
  auto insert = prepare(db_,
                        "INSERT OR REPLACE INTO run_flags(run, kaplan_ratio, kaplan_flag, "
                        "val_train_gap, val_turn_step, measured_flag, updated) "
                        "VALUES(?,?,?,?,?,?,?)");
  const double now = unix_now();
  for (const RunFlagsRecord& f : flags) {
    bind_nullable(insert, f.run, f.kaplan_ratio, f.kaplan_flag ? 1 : 0, f.val_train_gap,
                  f.val_turn_step, f.measured_flag ? 1 : 0, f.updated > 0 ? f.updated : now);
    SS_STORE_SQL(insert.exec());
    SS_STORE_SQL(insert.reset());
  }
  SS_STORE_SQL(transaction.commit());
}

}  // namespace ss::store
