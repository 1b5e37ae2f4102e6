// Fault family 7: under mpirun an error is one short line, printed once (by rank 0), whatever
// the number of ranks: CLI errors (found before MPI is up, in every rank), a value CLI11 used
// to answer with a 309-digit range, config errors and a too-small job (nothing is written);
// and a worker's error after start-up (a shard that disappears mid-sweep), which the workers
// hand to rank 0 instead of printing, also from every rank of a dp = 2 group.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

class Messages : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work());
    write_sweep(work());
  }
  fs::path work() const { return dir_ / "work"; }
  // `run ARGS` under `np` ranks: exit 2, one error line (< 300 characters) holding `needle`.
  void expect_one_short_line(const std::string& args, int np, const std::string& needle) {
    const Listing before = listing(work());
    const Outcome o = run_command(mpirun_run(args, np), work(), dir_ / "scratch");
    expect_one_line(o, 2, {needle});
    for (const auto& line : error_lines(o.all())) EXPECT_LT(line.size(), 300u) << line;
    EXPECT_EQ(listing_diff(before, listing(work())), "") << args;
  }
  TempDir dir_;
};

TEST_F(Messages, LeaseSecondsZeroIsOneShortLineFromOneRank) {
  expect_one_short_line("sweep.toml --store s.db --lease-seconds 0", 3,
                        "--lease-seconds: 0 is not positive");
}

TEST_F(Messages, UnknownOptionIsOneLineFromOneRank) {
  expect_one_short_line("sweep.toml --store s.db --no-such-option", 3, "--no-such-option");
}

TEST_F(Messages, NotANumberIsOneLine) {
  expect_one_short_line("sweep.toml --store s.db --summary-seconds soon", 2,
                        "soon is not a number");
}

// An integer option given a fraction: CLI11 said "Could not convert: --gpus-per-node = 1.5".
TEST_F(Messages, AFractionForAWholeNumberIsOneLine) {
  expect_one_short_line("sweep.toml --store s.db --gpus-per-node 1.5", 3,
                        "--gpus-per-node: 1.5 is not a whole number");
}

TEST_F(Messages, ConfigErrorIsOneLineFromRankZero) {
  write_text(work() / "sweep.toml", "name = \"x\"\n[model\n");
  expect_one_short_line("sweep.toml --store s.db", 3, "sweep.toml:2");
}

TEST_F(Messages, OneRankIsOneLine) {
  expect_one_short_line("sweep.toml --store s.db", 1, "mpirun -np 2");
}

// The val shard is deleted while the first point trains (its shards are open, a checkpoint is
// in the store); the second point, which starts after it on the same ranks, cannot open it. Its
// failure is recorded (max_attempts 1: failed) and printed once, by rank 0, as one line, though
// every rank of its group failed; the job goes on and exits 0 (every point ended).
class MidRunFailure : public ::testing::Test {
 protected:
  void run(int np, const std::string& parallel) {
    fs::create_directories(work());
    std::string text = SweepToml{.tokens = "[96000]",  // 1500 steps
                                 .schedule = "checkpoint_dir = \"ckpt\"\nmax_attempts = 1\n"}
                           .text();
    if (!parallel.empty()) {
      text.replace(text.find("micro_batch = 4"), 15, "micro_batch = 2");
      text += parallel;
    }
    write_sweep(work());
    write_text(work() / "sweep.toml", text);
    const pid_t job = spawn_command(mpirun_run("sweep.toml --store s.db", np), work(),
                                    dir_ / "scratch");
    ASSERT_GT(job, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
    while (checkpoints() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    fs::remove(work() / "val.bin");
    const Outcome o = spawned_outcome(wait_exit(job), dir_ / "scratch");
    expect_one_line(o, 0, {"[failed]", "val.bin", "no such file"});
    EXPECT_NE(o.out.find("1 run(s) failed: `scalesweep status s.db` says why"),
              std::string::npos) << o.out;
    EXPECT_EQ(query_int(work() / "s.db", "select count(*) from runs where status = 'done'"), 1);
    EXPECT_EQ(query_int(work() / "s.db", "select count(*) from runs where status = 'failed'"), 1);
  }
  // Checkpoint rows in the live store (0 before it exists).
  std::int64_t checkpoints() {
    try {
      SQLite::Database db(work() / "s.db", SQLite::OPEN_READONLY);
      return db.execAndGet("select count(*) from checkpoints").getInt64();
    } catch (const std::exception&) {
      return 0;
    }
  }
  fs::path work() const { return dir_ / "work"; }
  TempDir dir_;
};

TEST_F(MidRunFailure, AShardGoneMidSweepIsOneLineFromRankZero) {
  run(2, "");
}

TEST_F(MidRunFailure, EveryRankOfADp2GroupFailingIsStillOneLine) {
  run(3, "[parallel]\ndp = 2\n");
}

}  // namespace
}  // namespace ss::faults
