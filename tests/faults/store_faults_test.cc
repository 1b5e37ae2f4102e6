// Fault family 4: stores in read-only places and rejected stores. Real stores made by the real
// `scalesweep plan --store` / `scalesweep run` (mpirun), then each reader and writer (status,
// scalefit, plan --store, run) pointed at them: readers work and create nothing; writers refuse
// with one line (exit 2) before SQLite creates anything; a rejected store (schema 99,
// truncated, not a database) is left byte for byte as it was, with no -wal/-shm beside it.
#include <gtest/gtest.h>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

#ifndef SCALEFIT_BIN
#error "SCALEFIT_BIN must name the scalefit binary"
#endif

namespace ss::faults {
namespace {

class StoreFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work());
    // Open to `nobody` (the unprivileged cases): the temp root is 0700 by mkdtemp.
    fs::permissions(dir_.path(), fs::perms::all, fs::perm_options::replace);
    fs::permissions(work(), fs::perms::all, fs::perm_options::replace);
    // 3 sizes (L(N) fits); checkpoints outside work(), which some cases make read-only.
    write_sweep(work(), {.d_model = "[16, 24, 32]",
                         .seeds = "[1]",
                         .schedule = "checkpoint_dir = \"" + (dir_ / "ckpt").string() + "\"\n"});
  }
  fs::path work() const { return dir_ / "work"; }
  Outcome sh(const std::string& cmd) { return run_command(cmd, work(), dir_ / "scratch"); }
  // The sweep trained to the end (3 done points) by the real run command.
  void train_store(const std::string& name = "s.db") {
    const Outcome o = sh(mpirun_run("sweep.toml --store " + name));
    ASSERT_EQ(o.rc, 0) << o.all();
  }
  // `cmd` must fail with exit 2 and one line holding `needles`, changing nothing in work().
  void expect_refused(const std::string& cmd, const std::vector<std::string>& needles) {
    const Listing before = listing(work());
    const auto rows = row_counts(work() / "s.db");
    const Outcome o = sh(cmd);
    expect_one_line(o, 2, needles);
    EXPECT_EQ(listing_diff(before, listing(work())), "") << cmd;
    EXPECT_EQ(row_counts(work() / "s.db"), rows) << cmd;
  }
  std::string status(const std::string& db = "s.db") { return scalesweep() + " status " + db; }
  std::string plan(const std::string& db = "s.db") {
    return scalesweep() + " plan sweep.toml --store " + db;
  }
  std::string fit(const std::string& db = "s.db") {
    return std::string(SCALEFIT_BIN) + " " + db + " --law kaplan-n --bootstrap 0 -q";
  }
  std::string run(const std::string& db = "s.db") { return mpirun_run("sweep.toml --store " + db); }
  TempDir dir_;
};

TEST_F(StoreFaults, ReadersCreateNothingBesideAStore) {
  train_store();
  const Listing before = listing(work());
  const Outcome s = sh(status());
  EXPECT_EQ(s.rc, 0) << s.all();
  EXPECT_NE(s.out.find("3 done"), std::string::npos) << s.out;
  const Outcome f = sh(fit() + " --no-store-write");
  EXPECT_EQ(f.rc, 0) << f.all();
  EXPECT_EQ(listing_diff(before, listing(work())), "");  // no -wal, no -shm
}

TEST_F(StoreFaults, ReadersWorkInAReadOnlyDirectory) {
  train_store();
  const auto rows = row_counts(work() / "s.db");
  if (auto why = make_read_only(work())) GTEST_SKIP() << *why;
  const Listing before = listing(work());
  const Outcome s = sh(status());
  EXPECT_EQ(s.rc, 0) << s.all();
  EXPECT_NE(s.out.find("3 done"), std::string::npos) << s.out;
  const Outcome f = sh(fit());  // fits, and says once that it cannot write them back
  EXPECT_EQ(f.rc, 0) << f.all();
  EXPECT_NE(f.out.find("kaplan-n"), std::string::npos) << f.out;
  EXPECT_NE(f.err.find("not written back"), std::string::npos) << f.err;
  EXPECT_EQ(lines_of(f.err).size(), 1u) << f.err;
  EXPECT_EQ(listing_diff(before, listing(work())), "");
  EXPECT_EQ(row_counts(work() / "s.db"), rows);
}

TEST_F(StoreFaults, WritersRefuseAReadOnlyDirectory) {
  ASSERT_EQ(sh(plan()).rc, 0);
  if (auto why = make_read_only(work())) GTEST_SKIP() << *why;
  expect_refused(plan(), {"s.db", "not writable"});
  expect_refused(run(), {"s.db", "not writable"});
  expect_refused(plan("new.db"), {"new.db", "not writable"});
}

TEST_F(StoreFaults, A0444StoreIsRefusedAndLeavesNoSideFileForTheNextRun) {
  ASSERT_EQ(sh(as_unprivileged(plan())).rc, 0);  // the store belongs to the user who runs
  fs::permissions(work() / "s.db",
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  if (::geteuid() == 0 && sh("command -v setpriv").rc != 0)
    GTEST_SKIP() << "root without setpriv: 0444 is not read-only for root";
  expect_refused(as_unprivileged(plan()), {"s.db", "not writable", "chmod u+w"});
  expect_refused(as_unprivileged(run()), {"s.db", "not writable", "chmod u+w"});
  // The user fixes the mode; the next writer works (no 0444 -shm was left to break it).
  fs::permissions(work() / "s.db", fs::perms::owner_write, fs::perm_options::add);
  const Outcome again = sh(as_unprivileged(plan()));
  EXPECT_EQ(again.rc, 0) << again.all();
}

// `status --sweep 99` used to print "0 runs" with exit 0, as if sweep 99 were empty.
TEST_F(StoreFaults, StatusOfASweepTheStoreDoesNotHave) {
  ASSERT_EQ(sh(plan()).rc, 0);
  expect_refused(status() + " --sweep 99", {"--sweep 99", "s.db has no sweep 99",
                                             "its sweeps are 1 (faults)"});
}

// scalefit on a store whose runs have not finished, with --where status=all: it used to tell the
// user to pass --where status=all.
TEST_F(StoreFaults, ScalefitOnUnfinishedRunsSuggestsOnlyWhatHelps) {
  ASSERT_EQ(sh(plan()).rc, 0);
  expect_refused(fit() + " --where status=all",
                 {"s.db has 3 runs but none with a final loss", "wait for runs to finish"});
  const Outcome o = sh(fit() + " --where status=all");
  EXPECT_EQ(o.all().find("pass --where"), std::string::npos) << o.all();
}

// The sweep file edited in a comment only (or in a setting outside the point keys): a re-run
// used to register a new, empty sweep and print "0 new ... of 0", training nothing even where
// points were pending. It continues the sweep that holds the points: here it trains the one
// left pending, and a second re-run says all are done.
TEST_F(StoreFaults, ACommentOnlyEditContinuesTheSweep) {
  train_store();
  const auto sql = [&](const std::string& q) { return query_int(work() / "s.db", q); };
  ASSERT_EQ(sh("/usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('s.db'); "
               "c.execute(\\\"update runs set status = 'pending' where id = 3\\\"); "
               "c.commit()\"").rc, 0);
  write_text(work() / "sweep.toml", "# tuned later\n" + slurp(work() / "sweep.toml"));
  const Outcome p = sh(plan());
  EXPECT_EQ(p.rc, 0) << p.all();
  EXPECT_NE(p.err.find("all 3 points are registered already, by sweep id 1"), std::string::npos)
      << p.err;
  EXPECT_EQ(sql("SELECT count(*) FROM sweeps"), 1);
  const Outcome r = sh(run());
  EXPECT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("the points of sweep id 1, which this job continues"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("3 done, 0 running (0 here), 0 pending, 0 failed, 0 diverged of 3"),
            std::string::npos) << r.out;
  EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE status = 'done'"), 3);
  EXPECT_EQ(sql("SELECT count(*) FROM sweeps"), 1);
  // One metric row per step of every run: the pending one resumed or restarted, none doubled.
  EXPECT_EQ(sql("SELECT count(*) FROM metrics"), sql("SELECT sum(steps) FROM runs"));
}

// The sweep file edited to add a width while its points are still pending: the edited file is
// a sweep of its own holding only the new point, and its job used to train only that one,
// leaving the three earlier points pending for good (exit 0; re-running the edited file never
// trained them, and `train` of one of them was refused as "registered under another sweep").
// A job's runs are its file's points by key, whichever sweep registered them first.
TEST_F(StoreFaults, AnEditThatAddsAWidthStillTrainsTheEarlierPendingPoints) {
  ASSERT_EQ(sh(plan()).rc, 0);  // 3 points registered, none trained
  const auto sql = [&](const std::string& q) { return query_int(work() / "s.db", q); };
  std::string text = slurp(work() / "sweep.toml");
  const std::string widths = "d_model = [16, 24, 32]";
  ASSERT_NE(text.find(widths), std::string::npos);
  text.replace(text.find(widths), widths.size(), "d_model = [16, 24, 32, 40]");
  write_text(work() / "sweep.toml", text);
  // `train` of an earlier point (index 0, d 16) with the edited file trains it.
  const Outcome t = sh(scalesweep() + " train sweep.toml --point 0 --store s.db");
  EXPECT_EQ(t.rc, 0) << t.all();
  EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE status = 'done' AND d_model = 16"), 1);
  const Outcome r = sh(run());
  EXPECT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("4 done, 0 running (0 here), 0 pending, 0 failed, 0 diverged of 4"),
            std::string::npos) << r.out;
  EXPECT_EQ(sql("SELECT count(*) FROM runs"), 4);
  EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE status = 'done'"), 4);
  EXPECT_EQ(sql("SELECT count(*) FROM sweeps"), 2);
  EXPECT_EQ(sql("SELECT count(*) FROM metrics"), sql("SELECT sum(steps) FROM runs"));
}

// Rejected stores: every command refuses them and leaves them byte for byte.
class RejectedStore : public StoreFaults {
 protected:
  void expect_every_command_refuses(const std::string& needle) {
    for (const auto& cmd : {status(), plan(), fit(), run()}) expect_refused(cmd, {"s.db", needle});
  }
};

TEST_F(RejectedStore, Schema99) {
  ASSERT_EQ(sh(plan()).rc, 0);
  ASSERT_EQ(sh("/usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('s.db'); "
               "c.execute(\\\"update meta set value = '99' where key = 'schema_version'\\\"); "
               "c.commit(); c.close()\"")
                .rc,
            0);
  ASSERT_FALSE(fs::exists(work() / "s.db-wal"));
  expect_every_command_refuses("schema_version 99");
}

TEST_F(RejectedStore, TruncatedFile) {
  ASSERT_EQ(sh(plan()).rc, 0);
  fs::resize_file(work() / "s.db", fs::file_size(work() / "s.db") / 3);
  expect_every_command_refuses("not a ScaleSweep store");
}

TEST_F(RejectedStore, NotADatabase) {
  write_text(work() / "s.db", "name,loss\nsmall,3.2\n");
  expect_every_command_refuses("not a ScaleSweep store");
}

TEST_F(RejectedStore, SqliteHeaderWithGarbage) {
  std::string bytes = "SQLite format 3";
  bytes.push_back('\0');
  bytes += std::string(4080, 'x');
  write_text(work() / "s.db", bytes);
  expect_every_command_refuses("not a ScaleSweep store");
}

// Probe C2.8: a file holding only `meta` with schema_version 1 used to be migrated by `plan
// --store` (tables created in it); status, run and scalefit printed an internal error.
TEST_F(RejectedStore, MetaOnlyWithSchemaVersion1) {
  ASSERT_EQ(sh("/usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('s.db'); "
               "c.execute('create table meta(key text primary key, value text not null)'); "
               "c.execute(\\\"insert into meta values('schema_version', '1')\\\"); "
               "c.commit(); c.close()\"")
                .rc,
            0);
  expect_every_command_refuses("schema_version 1 but it lacks table sweeps, table runs");
}

// A real store whose runs table was dropped, or which lacks a column its version added.
TEST_F(RejectedStore, StoreMissingATableOrAColumnOfItsVersion) {
  ASSERT_EQ(sh(plan()).rc, 0);
  ASSERT_EQ(sh(plan("cols.db")).rc, 0);
  ASSERT_EQ(sh("/usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('s.db'); "
               "c.execute('pragma foreign_keys=off'); c.execute('drop table runs'); c.commit(); "
               "d = sqlite3.connect('cols.db'); d.execute('alter table runs drop column "
               "retry_after'); d.commit()\"")
                .rc,
            0);
  expect_every_command_refuses("lacks table runs");
  for (const auto& cmd : {status("cols.db"), plan("cols.db"), fit("cols.db"), run("cols.db")})
    expect_refused(cmd, {"cols.db", "lacks column runs.retry_after"});
}

}  // namespace
}  // namespace ss::faults
