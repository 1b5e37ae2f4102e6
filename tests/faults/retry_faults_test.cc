// Fault family 2: `failed` is not a dead end. A sweep whose checkpoints land on a 16 KiB tmpfs
// fails every point (disk full, transient: after its 2nd transient failure, the configured
// limit) under the real `scalesweep run`; `status` says why; after the
// disk is fixed, `scalesweep retry` sets the points back to pending and the next run trains
// them to done with one metric row per step. Bad retry arguments change nothing (exit 2).
#include <gtest/gtest.h>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

class Retry : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work() / "ckpt");
    // A full disk is transient: each point backs off 1 s and is failed at its 2nd transient
    // failure (a disk that stays full ends the job; docs/runner.md § Failures).
    write_sweep(work(), {.schedule = "checkpoint_dir = \"ckpt\"\nmax_attempts = 2\n"
                                     "retry_backoff_seconds = 1\nmax_transient_failures = 2\n"});
  }
  fs::path work() const { return dir_ / "work"; }
  Outcome sh(const std::string& cmd) { return run_command(cmd, work(), dir_ / "scratch"); }
  std::int64_t count(const std::string& sql) { return query_int(work() / "s.db", sql); }
  // `retry ARGS` must refuse (exit 2, one line with `needle`) and change nothing.
  void expect_refused(const std::string& args, const std::string& needle) {
    const Listing before = listing(work());
    const auto rows = row_counts(work() / "s.db");
    expect_one_line(sh(scalesweep() + " retry " + args), 2, {needle});
    EXPECT_EQ(listing_diff(before, listing(work())), "") << args;
    EXPECT_EQ(row_counts(work() / "s.db"), rows) << args;
  }
  TempDir dir_;
};

TEST_F(Retry, FailedByAFullDiskThenFixedThenRetriedToDone) {
  if (auto why = mount_small_fs(work() / "ckpt", 16)) GTEST_SKIP() << *why;
  const Outcome first = sh(mpirun_run("sweep.toml --store s.db"));
  ASSERT_EQ(first.rc, 0) << first.all();
  // Exit 0 (every point ended), and the last line says what failed and what to do.
  EXPECT_EQ(lines_of(first.out).back(),
            "2 run(s) failed: `scalesweep status s.db` says why; after fixing the cause, "
            "`scalesweep retry s.db` and run the same command again")
      << first.out;
  EXPECT_EQ(count("select count(*) from runs where status = 'failed' and attempts = 2 and "
                  "transient_failures = 2 and error_transient = 1 and retry_after is null"),
            2);

  const Outcome status = sh(scalesweep() + " status s.db");
  EXPECT_NE(status.out.find("failed (2)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("failure: transient (no space left on device (ENOSPC)), transient "
                            "failure 2 of 2; why: "),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("No space left on device"), std::string::npos) << status.out;

  // Bad arguments first: nothing may change.
  expect_refused("s.db --status done", "--status");
  expect_refused("s.db --point 0123456789abcdef", "no such point");
  expect_refused("missing.db", "does not exist");

  ASSERT_EQ(::umount2((work() / "ckpt").c_str(), 0), 0);  // the user frees the disk
  const Outcome retry = sh(scalesweep() + " retry s.db");
  EXPECT_EQ(retry.rc, 0) << retry.all();
  EXPECT_NE(retry.out.find("2 run(s) set back to pending"), std::string::npos) << retry.out;
  EXPECT_EQ(count("select count(*) from runs where status = 'pending' and attempts = 0 "
                  "and error is null and transient_failures = 0 and retry_after is null"),
            2);

  const Outcome second = sh(mpirun_run("sweep.toml --store s.db"));
  ASSERT_EQ(second.rc, 0) << second.all();
  EXPECT_EQ(count("select count(*) from runs where status = 'done'"), 2);
  // One metric row per step and run: 4 steps each, none doubled by the failed attempts.
  EXPECT_EQ(count("select count(*) from metrics"), 8);
  EXPECT_EQ(count("select count(distinct run * 1000 + step) from metrics"), 8);

  const Outcome again = sh(scalesweep() + " retry s.db");
  EXPECT_EQ(again.rc, 0);
  EXPECT_NE(again.out.find("nothing to retry"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace ss::faults
