// Opening stores: creation, schema migrations (a hand-made v1 file; a v2 store written by the
// scalesweep of main at e2fb372, tests/store/fixtures/; a v3 store of main at 38737ac and
// one of main at acb0702 with rows in every table migrate to v4), and refusal (ss::InputError, file
// bytes unchanged) of missing, foreign and newer-version files; the journal mode by file system.
#include <gtest/gtest.h>
#include <linux/magic.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "ss/error.h"
#include "store/migrations.h"
#include "store/sqlite_check.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace ss::store {
namespace {

using ss::testing::read_bytes;
using ss::testing::TempDir;
using ss::testing::write_text;

StoreOptions create_options() {
  StoreOptions o;
  o.create_if_missing = true;
  return o;
}

// Expects opening `path` with `options` to throw InputError whose message names the path and
// contains `fragment`, leaving the file's bytes as they were and no journal files behind.
void expect_refused(const std::filesystem::path& path, const StoreOptions& options,
                    const std::string& fragment) {
  const bool existed = std::filesystem::exists(path);
  const bool is_file = std::filesystem::is_regular_file(path);
  const std::string before = is_file ? read_bytes(path) : "";
  try {
    Store store(path, options);
    FAIL() << "opening " << path << " should have thrown";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
  EXPECT_EQ(std::filesystem::exists(path), existed);
  if (is_file) {
    EXPECT_EQ(read_bytes(path), before) << "file bytes changed";
  }
  EXPECT_FALSE(std::filesystem::exists(path.string() + "-journal"));
}

TEST(StoreOpen, CreatesEveryTableAtTheCurrentVersion) {
  TempDir dir;
  Store store(dir / "s.db", create_options());
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
  EXPECT_EQ(kSchemaVersion, 4);
  EXPECT_EQ(store.journal_mode(), "wal");
  SQLite::Database raw((dir / "s.db").string());
  for (const char* table :
       {"meta", "sweeps", "runs", "metrics", "checkpoints", "fits", "events", "run_flags"}) {
    EXPECT_TRUE(raw.tableExists(table)) << table;
  }
  EXPECT_EQ(raw.execAndGet("SELECT value FROM meta WHERE key='schema_version'").getString(), "4");
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM pragma_table_info('runs') WHERE name='budget'")
                .getInt(),
            1);
}

TEST(StoreOpen, DeleteJournalModeOnRequest) {
  TempDir dir;
  StoreOptions options = create_options();
  options.journal = JournalMode::kDelete;
  Store store(dir / "s.db", options);
  EXPECT_EQ(store.journal_mode(), "delete");
}

// statfs f_type magics: linux/magic.h where it has them; Lustre's LL_SUPER_MAGIC
// (lustre/include/uapi/linux/lustre/lustre_user.h), GPFS's and BeeGFS's (BEEGFS_MAGIC, the
// client's FhgfsOpsSuper.h) as coreutils' stat.c lists them, each marked "remote" there.
TEST(StoreOpen, FileSystemMagicsAreClassified) {
  const std::vector<std::pair<std::uint64_t, std::optional<std::string>>> cases = {
      {NFS_SUPER_MAGIC, "NFS"},
      {0x0BD00BD0, "Lustre"},
      {0x47504653, "GPFS"},
      {0x19830326, "BeeGFS"},
      {CIFS_SUPER_MAGIC, "CIFS"},
      {SMB2_SUPER_MAGIC, "SMB2"},
      {CEPH_SUPER_MAGIC, "CephFS"},
      {AFS_SUPER_MAGIC, "AFS"},
      {EXT4_SUPER_MAGIC, std::nullopt},
      {XFS_SUPER_MAGIC, std::nullopt},
      {TMPFS_MAGIC, std::nullopt},
      {BTRFS_SUPER_MAGIC, std::nullopt},
      {OVERLAYFS_SUPER_MAGIC, std::nullopt},  // a container's root: local
      {0, std::nullopt},
  };
  for (const auto& [magic, expected] : cases) {
    EXPECT_EQ(network_file_system_of_type(magic), expected) << std::hex << magic;
  }
  // f_type is a signed long: a 32-bit kernel gives CIFS's magic sign-extended.
  const auto negative = static_cast<std::uint64_t>(
      static_cast<std::int64_t>(static_cast<std::int32_t>(CIFS_SUPER_MAGIC)));
  EXPECT_EQ(network_file_system_of_type(negative), "CIFS");
}

TEST(StoreOpen, JournalByFileSystem) {
  EXPECT_EQ(choose_journal("NFS", JournalMode::kAuto), JournalMode::kDelete);
  EXPECT_EQ(choose_journal("Lustre", JournalMode::kAuto), JournalMode::kDelete);
  EXPECT_EQ(choose_journal("NFS", JournalMode::kWal), JournalMode::kWal);  // kept, warned of
  EXPECT_EQ(choose_journal("NFS", JournalMode::kDelete), JournalMode::kDelete);
  EXPECT_EQ(choose_journal(std::nullopt, JournalMode::kAuto), JournalMode::kWal);
  EXPECT_EQ(choose_journal(std::nullopt, JournalMode::kDelete), JournalMode::kDelete);
}

// coreutils' `stat -f -c %t` (the f_type in hex), an independent reader of statfs.
std::uint64_t stat_f_type(const std::filesystem::path& path) {
  const std::string command = "stat -f -c %t '" + path.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen " + command);
  char line[64] = {};
  const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
  if (::pclose(pipe) != 0 || !read) throw std::runtime_error(command + " failed");
  return std::stoull(line, nullptr, 16);
}

// One real statfs call on a local directory: the type matches coreutils' stat, a path that does
// not exist yet is told by its nearest existing parent, and auto opens the store with WAL. (The
// test machines keep temporary directories on a local disk; no NFS, Lustre or GPFS mount exists
// there, so the network branch is covered by the magics above.)
TEST(StoreOpen, AutoJournalIsWalOnALocalDisk) {
  TempDir dir;
  const auto type = file_system_type(dir.path());
  ASSERT_TRUE(type);
  EXPECT_EQ(*type, stat_f_type(dir.path()));
  EXPECT_EQ(file_system_type(dir / "not-yet" / "s.db"), type);  // nearest existing parent
  EXPECT_FALSE(network_file_system_of_type(*type)) << std::hex << *type;
  EXPECT_FALSE(network_file_system(dir.path()));
  EXPECT_EQ(resolve_journal(dir / "s.db", JournalMode::kAuto), JournalMode::kWal);
  EXPECT_EQ(resolve_journal(dir / "s.db", JournalMode::kDelete), JournalMode::kDelete);
  StoreOptions options = create_options();
  options.journal = JournalMode::kAuto;
  Store store(dir / "s.db", options);
  EXPECT_EQ(store.journal_mode(), "wal");
}

TEST(StoreOpen, ParseJournalModeRejectsUnknownText) {
  EXPECT_EQ(parse_journal_mode("auto"), JournalMode::kAuto);
  EXPECT_EQ(parse_journal_mode("wal"), JournalMode::kWal);
  EXPECT_EQ(parse_journal_mode("delete"), JournalMode::kDelete);
  EXPECT_THROW(parse_journal_mode("truncate"), InputError);
}

TEST(StoreOpen, ReopeningIsIdempotent) {
  TempDir dir;
  { Store store(dir / "s.db", create_options()); }
  Store again(dir / "s.db", StoreOptions{});
  EXPECT_EQ(again.schema_version(), kSchemaVersion);
}

TEST(StoreOpen, MigratesAHandMadeV1FileToV2KeepingItsRows) {
  TempDir dir;
  const auto path = dir / "v1.db";
  {
    // The v1 schema of store/schema.md, written by hand (not by the code under test), with one
    // sweep and one run in it.
    SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec(R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sweeps(id INTEGER PRIMARY KEY, name TEXT NOT NULL, config_path TEXT NOT NULL,
  config_text TEXT NOT NULL, config_hash TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE runs(id INTEGER PRIMARY KEY, sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  point TEXT NOT NULL UNIQUE, point_index INTEGER NOT NULL, n_layer INTEGER NOT NULL,
  d_model INTEGER NOT NULL, n_head INTEGER NOT NULL, d_ff INTEGER NOT NULL,
  n_ctx INTEGER NOT NULL, vocab INTEGER NOT NULL, n_params INTEGER NOT NULL,
  n_params_embedding INTEGER NOT NULL, n_params_total INTEGER NOT NULL, tokens INTEGER NOT NULL,
  batch_tokens INTEGER NOT NULL, steps INTEGER NOT NULL, lr REAL NOT NULL, seed INTEGER NOT NULL,
  dp INTEGER NOT NULL, tp INTEGER NOT NULL, flops REAL NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK(status IN ('pending','running','done','failed','diverged')),
  attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires REAL,
  step INTEGER NOT NULL DEFAULT 0, tokens_seen INTEGER NOT NULL DEFAULT 0,
  final_train_loss REAL, final_val_loss REAL, best_train_loss REAL, best_val_loss REAL,
  diverged_step INTEGER, error TEXT, created REAL NOT NULL, started REAL, finished REAL,
  wall_seconds REAL NOT NULL DEFAULT 0);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics(run INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
  tokens INTEGER NOT NULL, flops REAL NOT NULL, train_loss REAL, val_loss REAL, lr REAL,
  grad_norm REAL, tokens_per_s REAL, wall REAL, PRIMARY KEY(run, step)) WITHOUT ROWID;
CREATE TABLE checkpoints(run INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
  path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, created REAL NOT NULL,
  PRIMARY KEY(run, step));
CREATE TABLE fits(id INTEGER PRIMARY KEY, law TEXT NOT NULL, source TEXT NOT NULL,
  params TEXT NOT NULL, ci TEXT NOT NULL, n_points INTEGER NOT NULL, residual REAL,
  created REAL NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY, time REAL NOT NULL, rank INTEGER NOT NULL,
  kind TEXT NOT NULL, text TEXT NOT NULL);
INSERT INTO meta VALUES('schema_version','1');
INSERT INTO sweeps VALUES(1,'old','old.toml','x = 1','abc',1.0);
INSERT INTO runs(id, sweep_id, point, point_index, n_layer, d_model, n_head, d_ff, n_ctx, vocab,
  n_params, n_params_embedding, n_params_total, tokens, batch_tokens, steps, lr, seed, dp, tp,
  flops, status, created) VALUES(7,1,'p7',0,2,64,4,256,64,256,98304,20480,119552,1000000,
  8192,123,0.001,1,1,1,1.0e12,'done',1.0);
)sql");
  }
  {
    // Read-only opening reads a v1 store as it is and does not migrate it.
    StoreOptions read_only;
    read_only.read_only = true;
    Store store(path, read_only);
    EXPECT_EQ(store.schema_version(), 1);
  }
  Store store(path, StoreOptions{});
  EXPECT_EQ(store.schema_version(), 4);
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].id, 7);
  EXPECT_FALSE(runs[0].plan.budget.has_value());
  EXPECT_EQ(runs[0].plan.point, "p7");
  EXPECT_EQ(runs[0].status, "done");
  const RunFlagsRecord flag{7, 0.5, true, 0.1, std::nullopt, false, 0};
  store.write_run_flags(std::span(&flag, 1));
  ASSERT_EQ(store.list_run_flags().size(), 1u);
  EXPECT_TRUE(store.list_run_flags()[0].kaplan_flag);
}

// Every row of every table as text, in rowid/key order, with the column names, leaving out
// the columns in `later` (those a migration adds): what a migration must keep.
using TableDump = std::map<std::string, std::vector<std::string>>;
constexpr const char* kV4Columns = "'retry_after', 'transient_failures', 'error_transient'";
TableDump dump_tables(const std::filesystem::path& path, const std::string& later) {
  SQLite::Database raw(path.string(), SQLite::OPEN_READONLY);
  TableDump out;
  for (const char* table :
       {"meta", "sweeps", "runs", "metrics", "checkpoints", "fits", "events", "run_flags"}) {
    std::string columns;
    SQLite::Statement info(raw, std::string("SELECT name FROM pragma_table_info('") + table +
                                    "') WHERE name NOT IN (" + later + ") ORDER BY cid");
    while (info.executeStep())
      columns += (columns.empty() ? "" : ", ") + info.getColumn(0).getString();
    SQLite::Statement rows(raw, "SELECT " + columns + " FROM " + table + " ORDER BY 1, 2");
    while (rows.executeStep()) {
      std::string row;
      for (int c = 0; c < rows.getColumnCount(); ++c)
        row += (rows.getColumn(c).isNull() ? "NULL" : rows.getColumn(c).getString()) + "|";
      out[table].push_back(row);
    }
  }
  return out;
}
// The v2 columns only (v3 adds runs.budget, v4 the retry state).
TableDump dump_v2_tables(const std::filesystem::path& path) {
  return dump_tables(path, std::string("'budget', ") + kV4Columns);
}

// tests/store/fixtures/quickstart_v2_e2fb372.db was written by scalesweep built from main at
// e2fb372 (schema v2), before runs.budget existed:
//   scalesweep plan configs/quickstart.toml --store quickstart_v2_e2fb372.db
//   scalesweep train configs/quickstart.toml --point 11 --store quickstart_v2_e2fb372.db
//     --threads 1   (45 steps of the 2-layer d_model 48 model at the 3e10 budget: run 12 done)
// It holds 1 sweep, 12 runs (11 pending, 1 done), 45 metrics rows, WAL journal mode.
TEST(StoreOpen, MigratesAV2StoreWrittenByMainKeepingEveryRow) {
  TempDir dir;
  const auto path = dir / "quickstart_v2.db";
  std::filesystem::copy_file(std::filesystem::path(STORE_FIXTURES_DIR) / "quickstart_v2_e2fb372.db",
                             path);
  const auto before = dump_v2_tables(path);
  ASSERT_EQ(before.at("runs").size(), 12u);
  ASSERT_EQ(before.at("metrics").size(), 45u);
  {
    // Read-only (scalefit, status): read as v2, not migrated, no budget.
    Store store(path, {.read_only = true});
    EXPECT_EQ(store.schema_version(), 2);
    const auto runs = store.list_runs();
    ASSERT_EQ(runs.size(), 12u);
    for (const auto& run : runs) EXPECT_FALSE(run.plan.budget.has_value());
    EXPECT_EQ(store.find_run(12)->status, kStatusDone);
  }
  EXPECT_EQ(dump_v2_tables(path), before);
  {
    Store store(path, StoreOptions{});  // opening for writing migrates
    EXPECT_EQ(store.schema_version(), 4);
    const auto runs = store.list_runs();
    ASSERT_EQ(runs.size(), 12u);
    for (const auto& run : runs) EXPECT_FALSE(run.plan.budget.has_value());  // unknown: NULL
    const auto done = store.find_run(12);
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->status, kStatusDone);
    EXPECT_NEAR(*done->final_val_loss, 3.1588, 1e-4);  // as `train` printed it
    EXPECT_EQ(store.run_metrics(12).size(), 45u);
    // A point registered after the migration keeps its budget.
    RunPlan plan = runs[0].plan;
    plan.point = "new-after-v3";
    plan.budget = 3e10;
    EXPECT_EQ(store.register_points(std::span(&plan, 1)), 1);
    RunFilter only_new;
    only_new.points = {"new-after-v3"};
    const auto added = store.list_runs(only_new);
    ASSERT_EQ(added.size(), 1u);
    EXPECT_EQ(added[0].plan.budget, 3e10);
  }
  auto after = dump_v2_tables(path);
  EXPECT_EQ(after.at("meta"), std::vector<std::string>{"schema_version|4|"});
  after.at("meta") = before.at("meta");
  after.at("runs").pop_back();  // the run added above (highest id)
  EXPECT_EQ(after, before);     // every v2 row, column by column
}

// tests/store/fixtures/quickstart-quick_v3_38737ac.db was written by scalesweep built from main
// at 38737ac (schema v3; store/, the grid and `plan` are unchanged from 461aed5 to 38737ac), the
// last build before the restructuring of issue 9 that changed store-facing code:
//   scalesweep plan q.toml --store quickstart-quick_v3_38737ac.db
//   scalesweep train q.toml --point 0130cf1b8b6c3a8e --store ... --threads 1
// (q.toml: configs/quickstart-quick.toml with absolute shard paths). It holds 1 sweep, 11 runs
// (10 pending, run 6 done after 193 steps), 193 metrics rows, WAL journal mode. Opened for
// writing it is migrated to v4 (it used to open unchanged at v3).
TEST(StoreOpen, MigratesAV3StoreWrittenBeforeTheRestructuring) {
  TempDir dir;
  const auto path = dir / "quickstart-quick_v3.db";
  std::filesystem::copy_file(
      std::filesystem::path(STORE_FIXTURES_DIR) / "quickstart-quick_v3_38737ac.db", path);
  const auto before = dump_v2_tables(path);
  ASSERT_EQ(before.at("runs").size(), 11u);
  ASSERT_EQ(before.at("metrics").size(), 193u);
  {
    Store store(path, StoreOptions{});  // for writing: migrated to v4
    EXPECT_EQ(store.schema_version(), 4);
    const auto runs = store.list_runs();
    ASSERT_EQ(runs.size(), 11u);
    for (const auto& run : runs) EXPECT_TRUE(run.plan.budget.has_value()) << run.plan.point;
    const auto done = store.find_run(6);
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->status, kStatusDone);
    EXPECT_EQ(done->plan.point, "0130cf1b8b6c3a8e");
    EXPECT_EQ(done->plan.budget, 2e10);
    EXPECT_NEAR(*done->final_val_loss, 3.0145, 1e-4);  // as `train` printed it
    EXPECT_EQ(store.run_metrics(6).size(), 193u);
    // Still writable by this build: a claim takes a pending point.
    const auto claimed = store.claim_point("test", 60);
    ASSERT_TRUE(claimed.has_value());
    EXPECT_EQ(claimed->status, kStatusRunning);
  }
  auto after = dump_v2_tables(path);
  EXPECT_EQ(after.at("metrics"), before.at("metrics"));
  EXPECT_EQ(after.at("sweeps"), before.at("sweeps"));
  EXPECT_EQ(after.at("meta"), std::vector<std::string>{"schema_version|4|"});
}

// tests/store/fixtures/backoff-v3_acb0702.db was written by scalesweep and scalefit built from
// main at acb0702 (schema v3), the last build before v4, with backoff-v3_acb0702.sh beside it:
// a 3-point sweep run under mpirun with its checkpoints on a full 16 KiB tmpfs (3 runs failed
// after 2 attempts, "No space left on device"), `retry --point` of one and a second `run` (run
// 1 done: 4 metric rows, a checkpoint row), `plan` of a second sweep (run 4 pending) and
// `scalefit` (a fit, a run_flags row). 2 sweeps, 4 runs, 8 metrics rows, 10 events; every
// table has rows.
TEST(StoreOpen, MigratesAV3StoreOfMainWithRowsInEveryTableKeepingEveryRow) {
  TempDir dir;
  const auto path = dir / "backoff-v3.db";
  std::filesystem::copy_file(std::filesystem::path(STORE_FIXTURES_DIR) / "backoff-v3_acb0702.db",
                             path);
  const auto before = dump_tables(path, kV4Columns);
  for (const auto& [table, rows] : before) EXPECT_FALSE(rows.empty()) << table;
  ASSERT_EQ(before.at("runs").size(), 4u);
  {
    // Read-only (scalefit, status): read as v3, not migrated; the v4 fields read as absent.
    Store store(path, {.read_only = true});
    EXPECT_EQ(store.schema_version(), 3);
    for (const auto& run : store.list_runs()) {
      EXPECT_EQ(run.retry_after, std::nullopt);
      EXPECT_EQ(run.transient_failures, 0);
      EXPECT_EQ(run.error_transient, std::nullopt);
    }
  }
  EXPECT_EQ(dump_tables(path, kV4Columns), before);
  {
    Store store(path, StoreOptions{});  // opening for writing migrates
    EXPECT_EQ(store.schema_version(), 4);
    std::int64_t failed = 0;
    for (const auto& run : store.list_runs()) {
      EXPECT_EQ(run.retry_after, std::nullopt);
      EXPECT_EQ(run.transient_failures, 0);  // the column's default
      EXPECT_EQ(run.error_transient, std::nullopt);  // an error before v4: not classified
      if (run.status == kStatusFailed) {
        ++failed;
        EXPECT_NE(run.error->find("No space left on device"), std::string::npos) << *run.error;
      }
    }
    EXPECT_EQ(failed, 2);
  }
  auto after = dump_tables(path, kV4Columns);
  EXPECT_EQ(after.at("meta"), std::vector<std::string>{"schema_version|4|"});
  after.at("meta") = before.at("meta");
  EXPECT_EQ(after, before);  // every v3 row of every table, column by column
  SQLite::Database raw(path.string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM runs WHERE transient_failures = 0 AND "
                           "retry_after IS NULL AND error_transient IS NULL")
                .getInt64(),
            static_cast<std::int64_t>(before.at("runs").size()));
}

TEST(StoreOpen, MissingFileIsNotCreatedUnlessAsked) {
  TempDir dir;
  expect_refused(dir / "absent.db", StoreOptions{}, "does not exist");
}

TEST(StoreOpen, MissingDirectoryIsBadInput) {
  TempDir dir;
  expect_refused(dir / "no" / "such" / "s.db", create_options(), "does not exist");
  EXPECT_FALSE(std::filesystem::exists(dir / "no"));
}

TEST(StoreOpen, RefusesATextFile) {
  TempDir dir;
  write_text(dir / "notes.db", "this is a text file, not a database\n");
  expect_refused(dir / "notes.db", create_options(), "not an SQLite file");
}

TEST(StoreOpen, RefusesAShortBinaryFile) {
  TempDir dir;
  write_text(dir / "short.db", std::string("SQLite", 6));
  expect_refused(dir / "short.db", create_options(), "not an SQLite file");
}

TEST(StoreOpen, RefusesAnSqliteFileWithOtherTables) {
  TempDir dir;
  const auto path = dir / "other.db";
  {
    SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)");
    raw.exec("INSERT INTO customers(name) VALUES('ada')");
  }
  expect_refused(path, create_options(), "no meta table");
}

TEST(StoreOpen, RefusesAMetaTableWithoutSchemaVersion) {
  TempDir dir;
  const auto path = dir / "meta.db";
  {
    SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    raw.exec("INSERT INTO meta VALUES('owner','someone else')");
  }
  expect_refused(path, create_options(), "no schema_version");
}

TEST(StoreOpen, RefusesANewerSchemaVersion) {
  TempDir dir;
  const auto path = dir / "new.db";
  {
    StoreOptions options = create_options();
    options.journal = JournalMode::kDelete;  // no -wal file: the main file holds everything
    Store store(path, options);
  }
  {
    SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE meta SET value='5' WHERE key='schema_version'");
  }
  expect_refused(path, StoreOptions{}, "schema_version 5");
  expect_refused(path, create_options(), "newer");
}

TEST(StoreOpen, ALockedStoreIsALockErrorNotAForeignFile) {
  TempDir dir;
  const auto path = dir / "locked.db";
  StoreOptions options = create_options();
  options.journal = JournalMode::kDelete;
  { Store store(path, options); }
  SQLite::Database holder(path.string(), SQLite::OPEN_READWRITE);
  holder.exec("BEGIN EXCLUSIVE");  // blocks readers in rollback-journal mode
  StoreOptions impatient;
  impatient.busy_timeout_ms = 50;
  try {
    Store store(path, impatient);
    ADD_FAILURE() << "opened a store another connection holds exclusively";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.sqlite_code() & 0xff, 5) << e.what();  // SQLITE_BUSY
  } catch (const InputError& e) {
    ADD_FAILURE() << "a lock was reported as bad input: " << e.what();
  }
  holder.exec("ROLLBACK");
  Store store(path, impatient);
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
}

TEST(StoreOpen, EmptyFileNeedsCreate) {
  TempDir dir;
  write_text(dir / "empty.db", "");
  expect_refused(dir / "empty.db", StoreOptions{}, "is empty");
  Store store(dir / "empty.db", create_options());
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
}

TEST(StoreOpen, ADirectoryIsRefused) {
  TempDir dir;
  std::filesystem::create_directory(dir / "adir.db");
  expect_refused(dir / "adir.db", create_options(), "not a regular file");
}

}  // namespace
}  // namespace ss::store
