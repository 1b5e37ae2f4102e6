// Schema migration steps (v0 -> v1: the base schema; v1 -> v2: run_flags; v2 -> v3: runs.budget;
// v3 -> v4: the retry state of transient failures). The SQL text is the
// contract of store/schema.md, copied verbatim; never edit a released step, add a new one.
#include "store/migrations.h"

#include <SQLiteCpp/Statement.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "store/sqlite_check.h"

namespace ss::store {
namespace {

constexpr std::string_view kV0ToV1 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sweeps(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, config_path TEXT NOT NULL,
  config_text TEXT NOT NULL, config_hash TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  point TEXT NOT NULL UNIQUE,
  point_index INTEGER NOT NULL,
  n_layer INTEGER NOT NULL, d_model INTEGER NOT NULL, n_head INTEGER NOT NULL,
  d_ff INTEGER NOT NULL, n_ctx INTEGER NOT NULL, vocab INTEGER NOT NULL,
  n_params INTEGER NOT NULL,
  n_params_embedding INTEGER NOT NULL,
  n_params_total INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  batch_tokens INTEGER NOT NULL,
  steps INTEGER NOT NULL,
  lr REAL NOT NULL, seed INTEGER NOT NULL, dp INTEGER NOT NULL, tp INTEGER NOT NULL,
  flops REAL NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK(status IN ('pending','running','done','failed','diverged')),
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT, lease_expires REAL,
  step INTEGER NOT NULL DEFAULT 0,
  tokens_seen INTEGER NOT NULL DEFAULT 0,
  final_train_loss REAL, final_val_loss REAL,
  best_train_loss REAL, best_val_loss REAL,
  diverged_step INTEGER, error TEXT,
  created REAL NOT NULL, started REAL, finished REAL,
  wall_seconds REAL NOT NULL DEFAULT 0);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics(
  run INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
  tokens INTEGER NOT NULL, flops REAL NOT NULL,
  train_loss REAL, val_loss REAL, lr REAL, grad_norm REAL,
  tokens_per_s REAL, wall REAL,
  PRIMARY KEY(run, step)) WITHOUT ROWID;
CREATE TABLE checkpoints(
  run INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
  path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, created REAL NOT NULL,
  PRIMARY KEY(run, step));
CREATE TABLE fits(
  id INTEGER PRIMARY KEY, law TEXT NOT NULL, source TEXT NOT NULL,
  params TEXT NOT NULL,
  ci TEXT NOT NULL,
  n_points INTEGER NOT NULL, residual REAL, created REAL NOT NULL);
CREATE TABLE events(
  id INTEGER PRIMARY KEY, time REAL NOT NULL, rank INTEGER NOT NULL,
  kind TEXT NOT NULL, text TEXT NOT NULL);
INSERT INTO meta(key, value) VALUES('schema_version', '0');
)sql";

constexpr std::string_view kV1ToV2 = R"sql(
CREATE TABLE run_flags(
  run INTEGER PRIMARY KEY REFERENCES runs(id),
  kaplan_ratio REAL NOT NULL,
  kaplan_flag INTEGER NOT NULL,
  val_train_gap REAL,
  val_turn_step INTEGER,
  measured_flag INTEGER NOT NULL,
  updated REAL NOT NULL);
)sql";

// The isoFLOP budget each run was planned for (NULL for runs not planned on an isoFLOP grid and
// for every run registered before v3): scalefit groups isoFLOP profiles by it.
constexpr std::string_view kV2ToV3 = R"sql(
ALTER TABLE runs ADD COLUMN budget REAL;
)sql";

// The retry state of a run's failures (docs/runner.md § Failures): when a pending run may be
// handed out again (NULL: at once), how many transient failures it had since it was registered
// or last retried, and whether runs.error was a transient failure (NULL: no error, or one
// recorded before v4).
constexpr std::string_view kV3ToV4 = R"sql(
ALTER TABLE runs ADD COLUMN retry_after REAL;
ALTER TABLE runs ADD COLUMN transient_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN error_transient INTEGER;
)sql";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> steps = {
      {0, kV0ToV1}, {1, kV1ToV2}, {2, kV2ToV3}, {3, kV3ToV4}};
  return steps;
}

int read_schema_version(SQLite::Database& db) {
  const int table_count =
      SS_SQL(db.execAndGet("SELECT count(*) FROM sqlite_schema WHERE type='table'").getInt());
  if (table_count == 0) return 0;
  if (!SS_SQL(db.tableExists("meta"))) {
    throw std::runtime_error("it has tables but no meta table");
  }
  SQLite::Statement query = prepare(db, "SELECT value FROM meta WHERE key='schema_version'");
  if (!SS_SQL(query.executeStep())) {
    throw std::runtime_error("its meta table has no schema_version");
  }
  const std::string text = query.getColumn(0).getString();
  try {
    std::size_t used = 0;
    const int version = std::stoi(text, &used);
    if (used != text.size() || version < 1) throw std::invalid_argument(text);
    return version;
  } catch (const std::exception&) {
    throw std::runtime_error("its meta.schema_version '" + text + "' is not a version number");
  }
}

std::string missing_schema_parts(SQLite::Database& db, int version) {
  // The schema of `version` as the migrations themselves make it, on an empty in-memory
  // database: the migration SQL stays the one definition of what a version holds.
  SQLite::Database expected(":memory:", SQLite::OPEN_READWRITE);
  migrate_schema(expected, version);
  SQLite::Statement tables(expected,
                           "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY rowid");
  std::vector<std::string> missing;
  while (tables.executeStep()) {
    const std::string table = tables.getColumn(0).getString();
    if (!SS_SQL(db.tableExists(table))) {
      missing.push_back("table " + table);
      continue;
    }
    SQLite::Statement want(expected, "SELECT name FROM pragma_table_info(?)");
    want.bind(1, table);
    while (want.executeStep()) {
      const std::string column = want.getColumn(0).getString();
      SQLite::Statement have =
          prepare(db, "SELECT count(*) FROM pragma_table_info(?) WHERE name=?");
      have.bind(1, table);
      have.bind(2, column);
      if (SS_SQL(have.executeStep()) && have.getColumn(0).getInt() == 0)
        missing.push_back("column " + table + "." + column);
    }
  }
  std::string text;
  for (const auto& m : missing) text += (text.empty() ? "" : ", ") + m;
  return text;
}

int migrate_schema(SQLite::Database& db, int target_version) {
  int version = read_schema_version(db);
  for (const Migration& step : migrations()) {
    if (step.from_version < version || step.from_version >= target_version) continue;
    auto transaction = begin_immediate(db);
    // Another process may have migrated while we waited for the write lock: re-read.
    const int current = read_schema_version(db);
    if (current > step.from_version) {
      version = current;
      continue;
    }
    SS_SQL(db.exec(std::string(step.sql)));
    SQLite::Statement set_version =
        prepare(db, "UPDATE meta SET value=? WHERE key='schema_version'");
    set_version.bind(1, std::to_string(step.from_version + 1));
    SS_SQL(set_version.exec());
    SS_SQL(transaction.commit());
    version = step.from_version + 1;
  }
  return version;
}

}  // namespace ss::store
