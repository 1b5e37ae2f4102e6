// Checkpoints and the store's place are never destroyed: a checkpoint that fails its check on
// resume is moved aside to <name>.corrupt (its bytes kept, one line saying so) and the run falls
// back to an older checkpoint, ending bit-identical to the uninterrupted run; another store's
// checkpoints found in the directory are moved aside to <name>.unknown; `plan --store`
// into a missing directory prints nothing but its one line (exit 2) and creates nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

class Checkpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work());
    SweepToml toml{.seeds = "[1]"};
    std::string text = toml.text();
    const std::string keep = "keep_checkpoints = 1";
    text.replace(text.find(keep), keep.size(), "keep_checkpoints = 2");
    write_sweep(work());
    write_text(work() / "sweep.toml", text);
  }
  fs::path work() const { return dir_ / "work"; }
  Outcome sh(const std::string& cmd) { return run_command(cmd, work(), dir_ / "scratch"); }
  SQLite::Database db() { return SQLite::Database(work() / "s.db", SQLite::OPEN_READWRITE); }
  // Starts `run` (mpirun -np 2) on one point of kSteps steps in the background and returns its
  // pid once the point has a checkpoint in the store (thousands of steps still to go).
  static constexpr std::int64_t kSteps = 3000;
  pid_t start_long_run() {
    write_text(work() / "sweep.toml",
               SweepToml{.tokens = "[" + std::to_string(64 * kSteps) + "]", .seeds = "[1]"}.text());
    const pid_t job =
        spawn_command(mpirun_run("sweep.toml --store s.db"), work(), dir_ / "scratch");
    const auto checkpoints = [&] {
      return query_live(work() / "s.db", "select count(*) from checkpoints").value_or(0);
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
    while (job > 0 && checkpoints() < 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(checkpoints(), 1) << slurp(dir_ / "scratch" / "err.txt");
    return job;
  }
  // After the fault is undone: the same command finishes the point, one metric row per step.
  void expect_rerun_finishes() {
    const Outcome again = sh(mpirun_run("sweep.toml --store s.db"));
    ASSERT_EQ(again.rc, 0) << again.all();
    const auto count = [&](const std::string& q) { return query_int(work() / "s.db", q); };
    EXPECT_EQ(count("select count(*) from runs where status = 'done'"), 1);
    EXPECT_EQ(count("select count(*) from metrics"), kSteps);
    EXPECT_EQ(count("select count(distinct step) from metrics"), kSteps);
  }
  TempDir dir_;
};

// The checkpoint directory made read-only while a run writes to it: as root a read-only bind mount
// (EROFS even for root), otherwise chmod a-w (EACCES). That is the place, not the point: the job
// used to fail every point max_attempts times in about a second and exit 0. Now rank 0 prints
// one line naming the error, releases the point (pending, no try used up as a failure), the job
// exits 1, and once the directory is writable again the same command finishes it with one
// metric row per step.
TEST_F(Checkpoints, ADirectoryMadeReadOnlyMidRunEndsTheJobAndKeepsThePoint) {
  private_mounts();  // before the job, so it shares a read-only mount made below (where allowed)
  const pid_t job = start_long_run();
  ASSERT_GT(job, 0);
  const fs::path ckpt = work() / "ckpt";
  if (const auto why = make_read_only(ckpt)) {  // root without mount rights: nothing is read-only
    ::kill(job, SIGTERM);
    wait_exit(job);
    GTEST_SKIP() << *why;
  }
  const Outcome o = spawned_outcome(wait_exit(job), dir_ / "scratch");
  ::umount2(ckpt.c_str(), MNT_DETACH);  // as root
  fs::permissions(ckpt, fs::perms::owner_write, fs::perm_options::add);  // otherwise
  const std::string error = ::geteuid() == 0 ? "Read-only file system" : "Permission denied";
  expect_one_line(o, 1, {error, "released (pending", "exit 1", "run the same command again"});
  const auto count = [&](const std::string& q) { return query_int(work() / "s.db", q); };
  EXPECT_EQ(count("select count(*) from runs where status = 'pending'"), 1) << o.all();
  EXPECT_EQ(count("select count(*) from runs where error is not null"), 0);
  expect_rerun_finishes();
}

// The train shard truncated in place while the run reads it (as `cp small.bin train.bin` does):
// the memory-mapped pages past the new end raise SIGBUS in the worker. It used to die of the
// signal with Open MPI's block alone (exit 135); now it writes one line saying what happened and
// what to do, and exits 1. With the shard restored, the same command resumes the run (its lease,
// held by a dead process, reclaimed at once) and finishes with one metric row per step.
TEST_F(Checkpoints, AShardTruncatedUnderTheRunGivesOneLineAndTheRerunResumes) {
  write_shard(work() / "train.bin", text_tokens(200000));  // ~100 pages: most windows lie past 4 KiB
  const pid_t job = start_long_run();
  ASSERT_GT(job, 0);
  fs::resize_file(work() / "train.bin", 4096);  // the same file, shorter
  const Outcome o = spawned_outcome(wait_exit(job), dir_ / "scratch");
  expect_one_line(o, 1, {"SIGBUS", "truncated or replaced", "run the same command again"});
  // The job did not end in order: the store's last writes may still be in its -wal (a live
  // read, not an immutable one).
  EXPECT_EQ(query_live(work() / "s.db", "select count(*) from runs where status = 'done'"), 0)
      << o.all();
  write_shard(work() / "train.bin", text_tokens(200000));
  expect_rerun_finishes();
}

TEST_F(Checkpoints, ACorruptCheckpointIsMovedAsideNotDeletedAndTheRunResumesOlder) {
  const Outcome first = sh(mpirun_run("sweep.toml --store s.db"));
  ASSERT_EQ(first.rc, 0) << first.all();
  double final_loss = 0;
  fs::path newest, recorded;
  {
    auto d = db();
    final_loss = d.execAndGet("select final_val_loss from runs").getDouble();
    recorded = d.execAndGet("select path from checkpoints order by step desc limit 1").getString();
    // As if the job had been killed after its last checkpoint: the run is not done yet.
    d.exec("update runs set status = 'pending', final_val_loss = null");
  }
  newest = recorded.is_relative() ? work() / recorded : recorded;
  ASSERT_TRUE(fs::exists(newest)) << newest;
  std::string bytes = slurp(newest);
  bytes[bytes.size() / 2] ^= 0x5a;  // one flipped byte in the middle of the parameters
  write_text(newest, bytes);
  fs::path aside = newest;
  aside += ".corrupt";

  const Outcome second = sh(mpirun_run("sweep.toml --store s.db"));
  ASSERT_EQ(second.rc, 0) << second.all();
  const auto errors = error_lines(second.all());
  ASSERT_EQ(errors.size(), 1u) << second.all();
  EXPECT_NE(errors[0].find("moved aside to " + recorded.string() + ".corrupt"), std::string::npos)
      << errors[0];
  ASSERT_TRUE(fs::exists(aside));
  EXPECT_EQ(slurp(aside), bytes);   // kept byte for byte
  EXPECT_TRUE(fs::exists(newest));  // written again by the resumed run
  auto d = db();
  EXPECT_EQ(d.execAndGet("select status from runs").getString(), "done");
  EXPECT_EQ(d.execAndGet("select final_val_loss from runs").getDouble(), final_loss);
  EXPECT_EQ(d.execAndGet("select count(*) from metrics").getInt64(), 4);
}

// A second store whose sweep shares the checkpoint directory finds the first store's
// checkpoints, which it does not know: it moves them aside (<name>.unknown), never deletes them.
TEST_F(Checkpoints, AnotherStoresCheckpointsAreMovedAsideNotDeleted) {
  ASSERT_EQ(sh(mpirun_run("sweep.toml --store a.db")).rc, 0);
  std::map<std::string, std::string> first;  // path -> bytes
  for (const auto& e : fs::recursive_directory_iterator(work() / "ckpt"))
    if (e.is_regular_file()) first[e.path().string()] = slurp(e.path());
  ASSERT_FALSE(first.empty());

  const Outcome second = sh(mpirun_run("sweep.toml --store b.db"));
  ASSERT_EQ(second.rc, 0) << second.all();
  EXPECT_NE(second.all().find("moved aside to"), std::string::npos) << second.all();
  for (const auto& [path, bytes] : first) {
    EXPECT_EQ(slurp(path + ".unknown"), bytes) << path;  // kept byte for byte
    EXPECT_TRUE(fs::exists(path)) << path;               // and b's own written again
  }
}

TEST_F(Checkpoints, PlanIntoAMissingDirectoryPrintsOnlyItsLine) {
  const Listing before = listing(work());
  const Outcome o = sh(scalesweep() + " plan sweep.toml --store nodir/s.db");
  expect_one_line(o, 2, {"nodir"});
  EXPECT_EQ(o.out.find("sweep faults"), std::string::npos) << o.out;
  EXPECT_EQ(listing_diff(before, listing(work())), "");
}

}  // namespace
}  // namespace ss::faults
