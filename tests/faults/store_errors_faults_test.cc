// Every SQLite error after the store is opened names the store's path and a fix (one rethrow
// point: store/sqlite_check.h's sqlite_checked_at). Made real: `plan --store` of an 80-point
// sweep into a store on a 128 KiB tmpfs opens and migrates the store, then fills the disk while
// registering the points: exit 1, one line naming the store and "free space", no table printed;
// after the disk is freed the same command registers every point. A store whose schema does not
// fit at all (a tmpfs smaller than it): the command created the store file, so it removes
// exactly what it created and nothing else (a file of the user's beside it stays), exit 1, one
// line naming the store; for `plan --store` and for `run` under mpirun.
#include <gtest/gtest.h>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

TEST(StoreErrors, ADiskFullAfterOpeningNamesTheStoreAndTheFix) {
  TempDir dir;
  const fs::path work = dir / "work";
  fs::create_directories(work / "st");
  std::string seeds = "[1";
  for (int s = 2; s <= 80; ++s) seeds += ", " + std::to_string(s);
  write_sweep(work, {.seeds = seeds + "]"});
  if (auto why = mount_small_fs(work / "st", 128)) GTEST_SKIP() << *why;
  const std::string plan = scalesweep() + " plan sweep.toml --store st/s.db";
  const Outcome full = run_command(plan, work, dir / "scratch");
  expect_one_line(full, 1, {"store st/s.db", "store_write.cc", "disk is full", "free space"});
  EXPECT_EQ(full.out.find("sweep faults"), std::string::npos) << full.out;  // no table

  ASSERT_EQ(::umount2((work / "st").c_str(), 0), 0);  // the user frees space
  fs::create_directories(work / "st");
  const Outcome again = run_command(plan, work, dir / "scratch");
  ASSERT_EQ(again.rc, 0) << again.all();
  EXPECT_EQ(row_counts(work / "st" / "s.db")["runs"], 80);
}

// `cmd` (run in work/) creates st/s.db on a tmpfs of kSchemaDoesNotFitKiB, which the schema
// does not fit: exit 1, one line naming the store and the full disk, st/ exactly as before.
constexpr int kSchemaDoesNotFitKiB = 16;
void expect_created_store_removed(const std::string& cmd) {
  TempDir dir;
  const fs::path work = dir / "work";
  fs::create_directories(work / "st");
  write_sweep(work);
  if (auto why = mount_small_fs(work / "st", kSchemaDoesNotFitKiB)) GTEST_SKIP() << *why;
  write_text(work / "st" / "notes.txt", "the user's file, beside the store\n");
  const Listing before = listing(work / "st");
  const Outcome o = run_command(cmd, work, dir / "scratch");
  expect_one_line(o, 1, {"store st/s.db", "free space"});
  EXPECT_EQ(listing_diff(before, listing(work / "st")), "") << o.all();
}

TEST(StoreErrors, PlanOfAStoreWhoseSchemaDoesNotFitRemovesWhatItCreated) {
  expect_created_store_removed(scalesweep() + " plan sweep.toml --store st/s.db");
}

TEST(StoreErrors, RunOfAStoreWhoseSchemaDoesNotFitRemovesWhatItCreated) {
  expect_created_store_removed(mpirun_run("sweep.toml --store st/s.db", 3));
}

}  // namespace
}  // namespace ss::faults
