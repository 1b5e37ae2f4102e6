// The write paths of Store: sweeps, points, leases, outcomes, metrics, checkpoints, events,
// fits and run flags. Invariant: each public method is one IMMEDIATE transaction.
#include <SQLiteCpp/Statement.h>
#include <nlohmann/json.hpp>

#include "store/sqlite_check.h"
#include "store/store.h"

namespace ss::store {
namespace {

// Binds an optional value: NULL when empty.
template <typename T>
void bind_optional(SQLite::Statement& statement, int index, const std::optional<T>& value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind(index);
  }
}

}  // namespace

std::int64_t Store::insert_sweep_row(const std::string& name, const std::string& config_path,
                                     const std::string& config_text,
                                     const std::string& config_hash) {
  auto insert = prepare(db_,
                        "INSERT OR IGNORE INTO sweeps(name, config_path, config_text, "
                        "config_hash, created) VALUES(?,?,?,?,?)");
  insert.bind(1, name);
  insert.bind(2, config_path);
  insert.bind(3, config_text);
  insert.bind(4, config_hash);
  insert.bind(5, unix_now());
  SS_SQL(insert.exec());
  auto select = prepare(db_, "SELECT id FROM sweeps WHERE config_hash=?");
  select.bind(1, config_hash);
  SS_SQL(select.executeStep());
  return select.getColumn(0).getInt64();
}

std::int64_t Store::insert_point_rows(std::span<const RunPlan> points,
                                      std::optional<std::int64_t> sweep_id) {
  auto insert = prepare(
      db_,
      "INSERT OR IGNORE INTO runs(sweep_id, point, point_index, n_layer, d_model, n_head, d_ff, "
      "n_ctx, vocab, n_params, n_params_embedding, n_params_total, tokens, batch_tokens, steps, "
      "lr, seed, dp, tp, flops, status, created) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'pending',?)");
  const double now = unix_now();
  std::int64_t inserted = 0;
  for (const RunPlan& p : points) {
    int i = 0;
    insert.bind(++i, sweep_id.value_or(p.sweep_id));
    insert.bind(++i, p.point);
    insert.bind(++i, p.point_index);
    insert.bind(++i, p.n_layer);
    insert.bind(++i, p.d_model);
    insert.bind(++i, p.n_head);
    insert.bind(++i, p.d_ff);
    insert.bind(++i, p.n_ctx);
    insert.bind(++i, p.vocab);
    insert.bind(++i, p.n_params);
    insert.bind(++i, p.n_params_embedding);
    insert.bind(++i, p.n_params_total);
    insert.bind(++i, p.tokens);
    insert.bind(++i, p.batch_tokens);
    insert.bind(++i, p.steps);
    insert.bind(++i, p.lr);
    insert.bind(++i, p.seed);
    insert.bind(++i, p.dp);
    insert.bind(++i, p.tp);
    insert.bind(++i, p.flops);
    insert.bind(++i, now);
    inserted += SS_SQL(insert.exec());
    SS_SQL(insert.reset());
  }
  return inserted;
}

std::int64_t Store::register_sweep(const std::string& name, const std::string& config_path,
                                   const std::string& config_text, const std::string& config_hash) {
  ImmediateTransaction transaction(db_);
  const std::int64_t id = insert_sweep_row(name, config_path, config_text, config_hash);
  transaction.commit();
  return id;
}

std::int64_t Store::register_points(std::span<const RunPlan> points) {
  ImmediateTransaction transaction(db_);
  const std::int64_t inserted = insert_point_rows(points, std::nullopt);
  transaction.commit();
  return inserted;
}

Store::Registration Store::register_sweep_and_points(const std::string& name,
                                                     const std::string& config_path,
                                                     const std::string& config_text,
                                                     const std::string& config_hash,
                                                     std::span<const RunPlan> points) {
  ImmediateTransaction transaction(db_);
  Registration r;
  r.sweep_id = insert_sweep_row(name, config_path, config_text, config_hash);
  r.new_points = insert_point_rows(points, r.sweep_id);
  transaction.commit();
  return r;
}

std::optional<RunRecord> Store::claim_point(const std::string& owner, double lease_seconds,
                                            const RunFilter& filter, double now) {
  ImmediateTransaction transaction(db_);
  // The point set travels as one JSON array bound to one parameter (json_each), so any number
  // of keys needs no dynamic SQL.
  // With a point list, "+status" keeps SQLite off the status index so it looks the keys up in
  // the point index (O(keys), not a scan of every pending row: rank 0 claims one key at a time).
  auto select = filter.points.empty()
                    ? prepare(db_,
                              "SELECT id FROM runs WHERE (status='pending' OR (status='running' "
                              "AND lease_expires < ?1)) AND (?2 IS NULL OR sweep_id = ?2) AND "
                              "?3 IS NULL ORDER BY flops DESC, point_index ASC, id ASC LIMIT 1")
                    : prepare(db_,
                              "SELECT id FROM runs WHERE (+status='pending' OR (+status='running' "
                              "AND lease_expires < ?1)) AND (?2 IS NULL OR sweep_id = ?2) AND "
                              "point IN (SELECT value FROM json_each(?3)) "
                              "ORDER BY flops DESC, point_index ASC, id ASC LIMIT 1");
  select.bind(1, now);
  bind_optional(select, 2, filter.sweep_id);
  if (!filter.points.empty()) {
    select.bind(3, nlohmann::json(filter.points).dump());
  } else {
    select.bind(3);
  }
  if (!SS_SQL(select.executeStep())) return std::nullopt;
  const std::int64_t id = select.getColumn(0).getInt64();
  SS_SQL(select.reset());
  auto update = prepare(db_,
                        "UPDATE runs SET status='running', lease_owner=?, lease_expires=?, "
                        "attempts=attempts+1, started=? WHERE id=?");
  update.bind(1, owner);
  update.bind(2, now + lease_seconds);
  update.bind(3, now);
  update.bind(4, id);
  SS_SQL(update.exec());
  transaction.commit();
  return find_run(id);
}

bool Store::renew_lease(std::int64_t run_id, const std::string& owner, double lease_seconds,
                        double now) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET lease_expires=? WHERE id=? AND status='running' AND "
                        "lease_owner=?");
  update.bind(1, now + lease_seconds);
  update.bind(2, run_id);
  update.bind(3, owner);
  const int changed = SS_SQL(update.exec());
  transaction.commit();
  return changed == 1;
}

bool Store::release_point(std::int64_t run_id, const std::string& owner) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='pending', lease_owner=NULL, lease_expires=NULL "
                        "WHERE id=? AND status='running' AND lease_owner=?");
  update.bind(1, run_id);
  update.bind(2, owner);
  const int changed = SS_SQL(update.exec());
  transaction.commit();
  return changed == 1;
}

std::int64_t Store::expire_leases(double now) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='pending', lease_owner=NULL, lease_expires=NULL "
                        "WHERE status='running' AND lease_expires < ?");
  update.bind(1, now);
  const int changed = SS_SQL(update.exec());
  transaction.commit();
  return changed;
}

void Store::update_progress(std::int64_t run_id, std::int64_t step, std::int64_t tokens_seen,
                            double wall_seconds) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_, "UPDATE runs SET step=?, tokens_seen=?, wall_seconds=? WHERE id=?");
  update.bind(1, step);
  update.bind(2, tokens_seen);
  update.bind(3, wall_seconds);
  update.bind(4, run_id);
  SS_SQL(update.exec());
  transaction.commit();
}

void Store::mark_done(std::int64_t run_id, const RunOutcome& outcome, double now) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='done', lease_owner=NULL, lease_expires=NULL, "
                        "step=?, tokens_seen=?, final_train_loss=?, final_val_loss=?, "
                        "best_train_loss=?, best_val_loss=?, wall_seconds=?, finished=?, "
                        "error=NULL WHERE id=?");
  update.bind(1, outcome.step);
  update.bind(2, outcome.tokens_seen);
  bind_optional(update, 3, outcome.final_train_loss);
  bind_optional(update, 4, outcome.final_val_loss);
  bind_optional(update, 5, outcome.best_train_loss);
  bind_optional(update, 6, outcome.best_val_loss);
  update.bind(7, outcome.wall_seconds);
  update.bind(8, now);
  update.bind(9, run_id);
  SS_SQL(update.exec());
  transaction.commit();
}

std::string Store::mark_failed(std::int64_t run_id, const std::string& error,
                               std::int64_t max_attempts, double now) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status = CASE WHEN attempts < ?1 THEN 'pending' ELSE "
                        "'failed' END, finished = CASE WHEN attempts < ?1 THEN NULL ELSE ?2 END, "
                        "error=?3, lease_owner=NULL, lease_expires=NULL WHERE id=?4");
  update.bind(1, max_attempts);
  update.bind(2, now);
  update.bind(3, error);
  update.bind(4, run_id);
  SS_SQL(update.exec());
  auto select = prepare(db_, "SELECT status FROM runs WHERE id=?");
  select.bind(1, run_id);
  std::string status;
  if (SS_SQL(select.executeStep())) status = select.getColumn(0).getString();
  transaction.commit();
  return status;
}

void Store::mark_diverged(std::int64_t run_id, std::int64_t step, double now) {
  ImmediateTransaction transaction(db_);
  auto update = prepare(db_,
                        "UPDATE runs SET status='diverged', diverged_step=?, step=?, finished=?, "
                        "lease_owner=NULL, lease_expires=NULL WHERE id=?");
  update.bind(1, step);
  update.bind(2, step);
  update.bind(3, now);
  update.bind(4, run_id);
  SS_SQL(update.exec());
  transaction.commit();
}

void Store::insert_metrics(std::span<const MetricRow> rows) {
  ImmediateTransaction transaction(db_);
  auto insert = prepare(db_,
                        "INSERT OR REPLACE INTO metrics(run, step, tokens, flops, train_loss, "
                        "val_loss, lr, grad_norm, tokens_per_s, wall) VALUES(?,?,?,?,?,?,?,?,?,?)");
  for (const MetricRow& r : rows) {
    insert.bind(1, r.run);
    insert.bind(2, r.step);
    insert.bind(3, r.tokens);
    insert.bind(4, r.flops);
    bind_optional(insert, 5, r.train_loss);
    bind_optional(insert, 6, r.val_loss);
    bind_optional(insert, 7, r.lr);
    bind_optional(insert, 8, r.grad_norm);
    bind_optional(insert, 9, r.tokens_per_s);
    bind_optional(insert, 10, r.wall);
    SS_SQL(insert.exec());
    SS_SQL(insert.reset());
  }
  transaction.commit();
}

void Store::record_checkpoint(const CheckpointRecord& c) {
  ImmediateTransaction transaction(db_);
  auto insert = prepare(db_,
                        "INSERT OR REPLACE INTO checkpoints(run, step, path, bytes, sha256, "
                        "created) VALUES(?,?,?,?,?,?)");
  insert.bind(1, c.run);
  insert.bind(2, c.step);
  insert.bind(3, c.path);
  insert.bind(4, c.bytes);
  insert.bind(5, c.sha256);
  insert.bind(6, c.created > 0 ? c.created : unix_now());
  SS_SQL(insert.exec());
  transaction.commit();
}

void Store::delete_checkpoint(std::int64_t run_id, std::int64_t step) {
  ImmediateTransaction transaction(db_);
  auto remove = prepare(db_, "DELETE FROM checkpoints WHERE run=? AND step=?");
  remove.bind(1, run_id);
  remove.bind(2, step);
  SS_SQL(remove.exec());
  transaction.commit();
}

void Store::add_event(std::int64_t rank, const std::string& kind, const std::string& text,
                      double now) {
  ImmediateTransaction transaction(db_);
  auto insert = prepare(db_, "INSERT INTO events(time, rank, kind, text) VALUES(?,?,?,?)");
  insert.bind(1, now);
  insert.bind(2, rank);
  insert.bind(3, kind);
  insert.bind(4, text);
  SS_SQL(insert.exec());
  transaction.commit();
}

std::int64_t Store::write_fit(const FitRecord& fit) {
  ImmediateTransaction transaction(db_);
  auto insert = prepare(db_,
                        "INSERT INTO fits(law, source, params, ci, n_points, residual, created) "
                        "VALUES(?,?,?,?,?,?,?)");
  insert.bind(1, fit.law);
  insert.bind(2, fit.source);
  insert.bind(3, fit.params);
  insert.bind(4, fit.ci);
  insert.bind(5, fit.n_points);
  bind_optional(insert, 6, fit.residual);
  insert.bind(7, fit.created > 0 ? fit.created : unix_now());
  SS_SQL(insert.exec());
  const std::int64_t id = db_.getLastInsertRowid();
  transaction.commit();
  return id;
}

void Store::write_run_flags(std::span<const RunFlagsRecord> flags) {
  ImmediateTransaction transaction(db_);
  auto insert = prepare(db_,
                        "INSERT OR REPLACE INTO run_flags(run, kaplan_ratio, kaplan_flag, "
                        "val_train_gap, val_turn_step, measured_flag, updated) "
                        "VALUES(?,?,?,?,?,?,?)");
  const double now = unix_now();
  for (const RunFlagsRecord& f : flags) {
    insert.bind(1, f.run);
    insert.bind(2, f.kaplan_ratio);
    insert.bind(3, f.kaplan_flag ? 1 : 0);
    bind_optional(insert, 4, f.val_train_gap);
    bind_optional(insert, 5, f.val_turn_step);
    insert.bind(6, f.measured_flag ? 1 : 0);
    insert.bind(7, f.updated > 0 ? f.updated : now);
    SS_SQL(insert.exec());
    SS_SQL(insert.reset());
  }
  transaction.commit();
}

}  // namespace ss::store
