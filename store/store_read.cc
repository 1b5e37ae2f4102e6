// The read queries of Store (status, analysis, resume). Invariant: reads never write; each is
// a single SELECT (so, in WAL mode, a consistent snapshot while a writer is active).
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <nlohmann/json.hpp>

#include "store/sqlite_check.h"
#include "store/store.h"

namespace ss::store {
namespace {

constexpr const char* kRunColumns =
    "id, sweep_id, point, point_index, n_layer, d_model, n_head, d_ff, n_ctx, vocab, n_params, "
    "n_params_embedding, n_params_total, tokens, batch_tokens, steps, lr, seed, dp, tp, flops, "
    "{budget}, status, attempts, lease_owner, lease_expires, step, tokens_seen, final_train_loss, "
    "final_val_loss, best_train_loss, best_val_loss, diverged_step, error, created, started, "
    "finished, wall_seconds, {retry_after}, {transient_failures}, {error_transient}";

std::optional<double> optional_double(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getDouble();
}
std::optional<std::int64_t> optional_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}
std::optional<std::string> optional_text(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getString();
}

// The runs columns added after v1: the version that added each, and what a store older than
// that reads in its place (an older store opened read-only by scalefit or status is never
// migrated).
struct LaterColumn {
  const char* name;
  int since_version;
  const char* before;  // SQL value read from an older store
};
constexpr LaterColumn kLaterColumns[] = {
    {"budget", 3, "NULL"},
    {"retry_after", 4, "NULL"},
    {"transient_failures", 4, "0"},
    {"error_transient", 4, "NULL"},
};

// kRunColumns for a store at `schema_version`.
std::string run_columns(int schema_version) {
  std::string columns = kRunColumns;
  for (const LaterColumn& c : kLaterColumns) {
    const std::string placeholder = std::string("{") + c.name + "}";
    columns.replace(columns.find(placeholder), placeholder.size(),
                    schema_version >= c.since_version ? c.name : c.before);
  }
  return columns;
}

// Reads a row selected with run_columns().
RunRecord read_run(SQLite::Statement& s) {
  RunRecord r;
  int i = 0;
  r.id = s.getColumn(i++).getInt64();
  RunPlan& p = r.plan;
  p.sweep_id = s.getColumn(i++).getInt64();
  p.point = s.getColumn(i++).getString();
  p.point_index = s.getColumn(i++).getInt64();
  p.n_layer = s.getColumn(i++).getInt64();
  p.d_model = s.getColumn(i++).getInt64();
  p.n_head = s.getColumn(i++).getInt64();
  p.d_ff = s.getColumn(i++).getInt64();
  p.n_ctx = s.getColumn(i++).getInt64();
  p.vocab = s.getColumn(i++).getInt64();
  p.n_params = s.getColumn(i++).getInt64();
  p.n_params_embedding = s.getColumn(i++).getInt64();
  p.n_params_total = s.getColumn(i++).getInt64();
  p.tokens = s.getColumn(i++).getInt64();
  p.batch_tokens = s.getColumn(i++).getInt64();
  p.steps = s.getColumn(i++).getInt64();
  p.lr = s.getColumn(i++).getDouble();
  p.seed = s.getColumn(i++).getInt64();
  p.dp = s.getColumn(i++).getInt64();
  p.tp = s.getColumn(i++).getInt64();
  p.flops = s.getColumn(i++).getDouble();
  p.budget = optional_double(s.getColumn(i++));
  r.status = s.getColumn(i++).getString();
  r.attempts = s.getColumn(i++).getInt64();
  r.lease_owner = optional_text(s.getColumn(i++));
  r.lease_expires = optional_double(s.getColumn(i++));
  r.step = s.getColumn(i++).getInt64();
  r.tokens_seen = s.getColumn(i++).getInt64();
  r.final_train_loss = optional_double(s.getColumn(i++));
  r.final_val_loss = optional_double(s.getColumn(i++));
  r.best_train_loss = optional_double(s.getColumn(i++));
  r.best_val_loss = optional_double(s.getColumn(i++));
  r.diverged_step = optional_int(s.getColumn(i++));
  r.error = optional_text(s.getColumn(i++));
  r.created = s.getColumn(i++).getDouble();
  r.started = optional_double(s.getColumn(i++));
  r.finished = optional_double(s.getColumn(i++));
  r.wall_seconds = s.getColumn(i++).getDouble();
  r.retry_after = optional_double(s.getColumn(i++));
  r.transient_failures = s.getColumn(i++).getInt64();
  const auto transient = optional_int(s.getColumn(i++));
  if (transient) r.error_transient = *transient != 0;
  return r;
}

}  // namespace

std::vector<SweepRecord> Store::list_sweeps() {
  auto s = prepare(db_,
                   "SELECT id, name, config_path, config_text, config_hash, created FROM sweeps "
                   "ORDER BY id");
  std::vector<SweepRecord> out;
  while (SS_STORE_SQL(s.executeStep())) {
    out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getString(),
                   s.getColumn(2).getString(), s.getColumn(3).getString(),
                   s.getColumn(4).getString(), s.getColumn(5).getDouble()});
  }
  return out;
}

std::vector<RunRecord> Store::list_runs(const RunFilter& filter) {
  const std::string sql = "SELECT " + run_columns(schema_version()) +
                          " FROM runs WHERE (?1 IS NULL OR sweep_id=?1) AND (?2 IS NULL OR "
                          "status=?2) AND (?3 IS NULL OR point IN (SELECT value FROM "
                          "json_each(?3))) ORDER BY sweep_id, point_index, id";
  auto s = prepare(db_, sql.c_str());
  if (filter.sweep_id) s.bind(1, *filter.sweep_id);
  if (filter.status) s.bind(2, *filter.status);
  if (!filter.points.empty()) s.bind(3, nlohmann::json(filter.points).dump());
  std::vector<RunRecord> out;
  while (SS_STORE_SQL(s.executeStep())) out.push_back(read_run(s));
  return out;
}

std::optional<RunRecord> Store::find_run(std::int64_t run_id) {
  const std::string sql = "SELECT " + run_columns(schema_version()) + " FROM runs WHERE id=?";
  auto s = prepare(db_, sql.c_str());
  s.bind(1, run_id);
  if (!SS_STORE_SQL(s.executeStep())) return std::nullopt;
  return read_run(s);
}

std::vector<MetricRow> Store::run_metrics(std::int64_t run_id) {
  auto s = prepare(db_,
                   "SELECT run, step, tokens, flops, train_loss, val_loss, lr, grad_norm, "
                   "tokens_per_s, wall FROM metrics WHERE run=? ORDER BY step");
  s.bind(1, run_id);
  std::vector<MetricRow> out;
  while (SS_STORE_SQL(s.executeStep())) {
    MetricRow m;
    m.run = s.getColumn(0).getInt64();
    m.step = s.getColumn(1).getInt64();
    m.tokens = s.getColumn(2).getInt64();
    m.flops = s.getColumn(3).getDouble();
    m.train_loss = optional_double(s.getColumn(4));
    m.val_loss = optional_double(s.getColumn(5));
    m.lr = optional_double(s.getColumn(6));
    m.grad_norm = optional_double(s.getColumn(7));
    m.tokens_per_s = optional_double(s.getColumn(8));
    m.wall = optional_double(s.getColumn(9));
    out.push_back(m);
  }
  return out;
}

StatusSummary Store::status_summary(std::optional<std::int64_t> sweep_id) {
  RunFilter scope;
  scope.sweep_id = sweep_id;
  return status_summary(scope);
}

StatusSummary Store::status_summary(const RunFilter& scope) {
  StatusSummary summary;
  for (const char* status :
       {kStatusPending, kStatusRunning, kStatusDone, kStatusFailed, kStatusDiverged}) {
    summary.runs_by_status[status] = 0;
  }
  // ?1 the sweep, ?2 the point keys as one JSON array (json_each, as in list_runs).
  const std::string where =
      "(?1 IS NULL OR sweep_id=?1) AND (?2 IS NULL OR point IN (SELECT value FROM json_each(?2)))";
  const auto bind_scope = [&](SQLite::Statement& s) {
    if (scope.sweep_id) s.bind(1, *scope.sweep_id);
    if (!scope.points.empty()) s.bind(2, nlohmann::json(scope.points).dump());
  };
  // One SELECT for the counts and one for the totals; in WAL mode each sees a committed state.
  const std::string count_sql = "SELECT status, count(*) FROM runs WHERE " + where + " GROUP BY status";
  auto counts = prepare(db_, count_sql.c_str());
  bind_scope(counts);
  while (SS_STORE_SQL(counts.executeStep())) {
    summary.runs_by_status[counts.getColumn(0).getString()] = counts.getColumn(1).getInt64();
  }
  const std::string totals_sql =
      "SELECT count(*), coalesce(sum(tokens_seen),0), coalesce(sum(tokens),0), "
      "coalesce(sum(flops),0) FROM runs WHERE " + where;
  auto totals = prepare(db_, totals_sql.c_str());
  bind_scope(totals);
  SS_STORE_SQL(totals.executeStep());
  summary.runs_total = totals.getColumn(0).getInt64();
  summary.tokens_seen = totals.getColumn(1).getInt64();
  summary.tokens_target = totals.getColumn(2).getInt64();
  summary.flops_planned = totals.getColumn(3).getDouble();
  const std::string best_sql = "SELECT id, best_val_loss FROM runs WHERE best_val_loss IS NOT NULL AND " +
                               where + " ORDER BY best_val_loss LIMIT 1";
  auto best = prepare(db_, best_sql.c_str());
  bind_scope(best);
  if (SS_STORE_SQL(best.executeStep())) {
    summary.best_val_run = best.getColumn(0).getInt64();
    summary.best_val_loss = best.getColumn(1).getDouble();
  }
  return summary;
}

std::vector<CheckpointRecord> Store::latest_checkpoints(std::int64_t run_id, int limit) {
  auto s = prepare(db_,
                   "SELECT run, step, path, bytes, sha256, created FROM checkpoints WHERE run=? "
                   "ORDER BY step DESC LIMIT ?");
  SQLite::bind(s, run_id, limit > 0 ? limit : -1);
  std::vector<CheckpointRecord> out;
  while (SS_STORE_SQL(s.executeStep())) {
    out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getInt64(), s.getColumn(2).getString(),
                   s.getColumn(3).getInt64(), s.getColumn(4).getString(),
                   s.getColumn(5).getDouble()});
  }
  return out;
}

std::vector<FitRecord> Store::list_fits() {
  auto s = prepare(db_,
                   "SELECT id, law, source, params, ci, n_points, residual, created FROM fits "
                   "ORDER BY id");
  std::vector<FitRecord> out;
  while (SS_STORE_SQL(s.executeStep())) {
    out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getString(),
                   s.getColumn(2).getString(), s.getColumn(3).getString(),
                   s.getColumn(4).getString(), s.getColumn(5).getInt64(),
                   optional_double(s.getColumn(6)), s.getColumn(7).getDouble()});
  }
  return out;
}

std::vector<RunFlagsRecord> Store::list_run_flags() {
  auto s = prepare(db_,
                   "SELECT run, kaplan_ratio, kaplan_flag, val_train_gap, val_turn_step, "
                   "measured_flag, updated FROM run_flags ORDER BY run");
  std::vector<RunFlagsRecord> out;
  while (SS_STORE_SQL(s.executeStep())) {
    out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getDouble(),
                   s.getColumn(2).getInt() != 0, optional_double(s.getColumn(3)),
                   optional_int(s.getColumn(4)), s.getColumn(5).getInt() != 0,
                   s.getColumn(6).getDouble()});
  }
  return out;
}

std::vector<EventRecord> Store::list_events() {
  auto s = prepare(db_, "SELECT id, time, rank, kind, text FROM events ORDER BY id");
  std::vector<EventRecord> out;
  while (SS_STORE_SQL(s.executeStep())) {
    out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getDouble(), s.getColumn(2).getInt64(),
                   s.getColumn(3).getString(), s.getColumn(4).getString()});
  }
  return out;
}

}  // namespace ss::store
