// The scalesweep binary end to end: plan (table/csv/json), plan --store twice (idempotent),
// status, --help, and bad input (broken configs, foreign stores, bad flags): exit code 2, one
// "scalesweep: error: FILE:LINE: key ..." line, and no store file created or changed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdlib>
#include <sstream>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

using ss::testing::read_bytes;
using ss::testing::TempDir;
using ss::testing::write_text;

struct Result {
  int code = -1;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  // Runs `scalesweep ARGS` in the source dir (so configs/... resolve), capturing both streams.
  Result scalesweep(const std::string& args) {
    const auto out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    const std::string command = std::string("cd '") + SS_SOURCE_DIR + "' && '" + SCALESWEEP_BIN +
                                "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    Result r;
    r.code = ss::testing::run_command(command).rc;
    r.out = read_bytes(out);
    r.err = read_bytes(err);
    return r;
  }
  static int count_lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }
  TempDir dir_;
};

TEST_F(CliTest, PlanPrintsEveryPoint) {
  // configs/quickstart.toml: widths 6..28 x budgets 2e10, 3.5e10, 6e10, 1e11 with D/N within
  // [15, 2600], counted by hand from D = C / (6 N + 6 * 2 * 64 * d): 5 + 4 + 5 + 4 = 18 points
  // (2e10: d 6..20, d 28 at D/N 7.9 out; 3.5e10: d 8..20, d 6 at 4136 and d 28 at 13.8 out; 6e10:
  // d 8..28, d 6 at 7090 out; 1e11: d 12..28, d 8 at 4240 out).
  const Result table = scalesweep("plan configs/quickstart.toml");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("18 points"), std::string::npos) << table.out;
  EXPECT_EQ(count_lines(table.out), 1 + 1 + 18 + 1);  // title, header, 18 rows, total
  const Result csv = scalesweep("plan configs/quickstart.toml --format csv");
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(count_lines(csv.out), 1 + 18);
  EXPECT_EQ(csv.out.rfind("index,key,n_layer,d_model,n_head,d_ff", 0), 0u);
  const Result json = scalesweep("plan configs/quickstart.toml --format json");
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find("\"points\""), std::string::npos);
  EXPECT_NE(json.out.find("\"kaplan_overfit\""), std::string::npos);
}

TEST_F(CliTest, PlanStoreTwiceRegistersEachPointOnce) {
  const auto db = dir_ / "x.db";
  const Result first = scalesweep("plan configs/quickstart.toml --store " + db.string());
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.err.find("18 new points"), std::string::npos) << first.err;
  const Result second = scalesweep("plan configs/quickstart.toml --store " + db.string());
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.err.find("0 new points, 18 already registered"), std::string::npos) << second.err;
  SQLite::Database raw(db.string());
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM runs").getInt(), 18);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM runs WHERE status='pending'").getInt(), 18);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM sweeps").getInt(), 1);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  // configs/quickstart.toml's isoflop = [2e10, 3.5e10, 6e10, 1e11]: every run keeps the budget
  // it was planned for (runs.budget), and does that many FLOPs (D = C / (6N + attention)).
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM runs WHERE budget IS NULL").getInt(), 0);
  EXPECT_EQ(raw.execAndGet("SELECT count(DISTINCT budget) FROM runs").getInt(), 4);
  EXPECT_EQ(raw.execAndGet("SELECT min(budget) FROM runs").getDouble(), 2e10);
  EXPECT_EQ(raw.execAndGet("SELECT max(budget) FROM runs").getDouble(), 1e11);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM runs WHERE abs(flops / budget - 1) > 1e-3").getInt(),
            0);

  const Result status = scalesweep("status " + db.string());
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("pending (18)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("summary: 18 runs"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("tokens: 0 of "), std::string::npos) << status.out;  // none trained
}

TEST_F(CliTest, StatusWorksWhileAWriterHoldsTheLock) {
  const auto db = dir_ / "busy.db";
  ASSERT_EQ(scalesweep("plan configs/quickstart.toml --store " + db.string()).code, 0);
  SQLite::Database writer(db.string(), SQLite::OPEN_READWRITE);
  writer.exec("BEGIN IMMEDIATE");
  writer.exec("UPDATE runs SET status='running', lease_owner='job-1' WHERE point_index=0");
  // WAL: the reader sees the last committed state while the write transaction is open.
  const Result during = scalesweep("status " + db.string());
  EXPECT_EQ(during.code, 0) << during.err;
  EXPECT_NE(during.out.find("pending (18)"), std::string::npos) << during.out;
  writer.exec("COMMIT");
  const Result after = scalesweep("status " + db.string());
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_NE(after.out.find("running (1)"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("lease: job-1"), std::string::npos) << after.out;
}

TEST_F(CliTest, StoreJournalDelete) {
  const auto db = dir_ / "nfs.db";
  const Result r =
      scalesweep("plan configs/quickstart.toml --store-journal delete --store " + db.string());
  ASSERT_EQ(r.code, 0) << r.err;
  SQLite::Database raw(db.string());
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "delete");
}

TEST_F(CliTest, HelpOnEverySubcommand) {
  for (const char* args : {"--help", "plan --help", "status --help"}) {
    const Result r = scalesweep(args);
    EXPECT_EQ(r.code, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << ": " << r.out;
  }
}

TEST_F(CliTest, CommandLineMistakesExitTwo) {
  EXPECT_EQ(scalesweep("").code, 2);  // a subcommand is required
  EXPECT_EQ(scalesweep("plan").code, 2);
  EXPECT_EQ(scalesweep("plan configs/quickstart.toml --bogus").code, 2);
  EXPECT_EQ(scalesweep("plan configs/quickstart.toml --format xml").code, 2);
  const auto db = dir_ / "never.db";
  EXPECT_EQ(
      scalesweep("plan configs/quickstart.toml --store-journal nfs --store " + db.string()).code,
      2);
  EXPECT_FALSE(std::filesystem::exists(db));
}

// Each broken config: exit 2, exactly one stderr line naming file:line and the key, no store.
TEST_F(CliTest, BrokenConfigsExitTwoWithOneLineAndNoStore) {
  const std::string good =
      read_bytes(std::filesystem::path(SS_SOURCE_DIR) / "configs" / "quickstart.toml");
  struct Case {
    const char* name;
    std::string from, to;
    std::string expected;  // after "scalesweep: error: FILE:"
  };
  const std::vector<Case> cases = {
      {"syntax", "n_ctx = 64", "n_ctx = = 64", "TOML syntax error"},
      {"unknown_key", "n_ctx = 64", "n_ctx = 64\nn_ctxx = 64", "model.n_ctxx = 64 is not a known"},
      {"n_head", "n_head = 2", "n_head = 5", "model.n_head = 5 does not divide d_model = 6"},
      {"negative_tokens", "isoflop = [2e10, 3.5e10, 6e10, 1e11]", "absolute = [-1000]", "tokens.absolute = -1000"},
      {"empty_grid", "n_layer = 2", "n_layer = []", "model.n_layer = [] is an empty list"},
      {"tp", "tp = 1", "tp = 3", "parallel.tp = 3 does not divide n_head"},
      {"two_modes", "isoflop = [2e10, 3.5e10, 6e10, 1e11]", "isoflop = [9e10]\nper_param = [20]", "second token mode"},
  };
  for (const Case& c : cases) {
    std::string text = good;
    const auto at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.name;
    text.replace(at, c.from.size(), c.to);
    // The line the edit starts on (1-based) is where every one of these errors points.
    const int line = static_cast<int>(std::count(text.begin(), text.begin() + at, '\n')) + 1 +
                     (std::string(c.name) == "unknown_key" || std::string(c.name) == "two_modes");
    const auto config = dir_ / (std::string(c.name) + ".toml");
    write_text(config, text);
    const auto db = dir_ / (std::string(c.name) + ".db");
    const Result r = scalesweep("plan " + config.string() + " --store " + db.string());
    EXPECT_EQ(r.code, 2) << c.name << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << c.name << ": " << r.err;
    const std::string prefix =
        "scalesweep: error: " + config.string() + ":" + std::to_string(line) + ": ";
    EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << c.name << ": expected " << prefix << " got " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.name << ": printed a plan for a bad config";
    EXPECT_FALSE(std::filesystem::exists(db)) << c.name << ": created a store";
  }
}

TEST_F(CliTest, StatusNeverCreatesAndRefusesForeignFiles) {
  const auto missing = dir_ / "missing.db";
  const Result r = scalesweep("status " + missing.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(missing));

  const auto text = dir_ / "notes.txt";
  write_text(text, "not a database\n");
  const Result t = scalesweep("status " + text.string());
  EXPECT_EQ(t.code, 2);
  EXPECT_EQ(count_lines(t.err), 1) << t.err;
  EXPECT_EQ(read_bytes(text), "not a database\n");
  const Result p = scalesweep("plan configs/quickstart.toml --store " + text.string());
  EXPECT_EQ(p.code, 2);
  EXPECT_EQ(read_bytes(text), "not a database\n");
}

TEST_F(CliTest, MissingConfigExitsTwo) {
  const Result r = scalesweep("plan " + (dir_ / "absent.toml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("absent.toml"), std::string::npos) << r.err;
}

}  // namespace
