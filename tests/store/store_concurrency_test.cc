// Two writer processes on one store file (fork): with busy_timeout and IMMEDIATE transactions
// neither sees "database is locked", every point is claimed exactly once, and every metric
// row of both writers arrives. That both writers really worked concurrently is made certain,
// not left to the scheduler: after its first claim each writer waits (a pipe handshake, no
// lock held) until the other has claimed one too. Without it, on a loaded machine one writer
// could claim all points before the other started (seen under load ~10 in rollback mode).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <array>
#include <cstdio>
#include <exception>

#include <fmt/core.h>

#include "store/store.h"
#include "tests/support/store_rows.h"
#include "tests/support/temp_dir.h"

namespace ss::store {
namespace {

using ss::testing::TempDir;

constexpr int kPoints = 40;
constexpr int kRowsPerClaim = 20;

// The child's work: claim points until none is left; for each, write metric rows in several
// transactions and mark it done. Returns the process exit code (0: no error at all).
// `handshake` = {fd to tell the other writer "I claimed one", fd to hear the same from it}.
int writer_process(const std::filesystem::path& path, const std::string& owner, JournalMode journal,
                   int start_fd, std::array<int, 2> handshake) {
  try {
    // Wait for the parent's start signal so that both writers begin together.
    char go = 0;
    if (::read(start_fd, &go, 1) != 1) return 2;
    StoreOptions options;
    options.journal = journal;
    options.busy_timeout_ms = 30000;
    Store store(path, options);
    bool first = true;
    while (auto run = store.claim_point(owner, 600)) {
      if (first) {  // the claim's transaction is committed: no lock is held while waiting
        first = false;
        if (::write(handshake[0], "c", 1) != 1 || ::read(handshake[1], &go, 1) != 1) return 3;
      }
      for (int batch = 0; batch < 4; ++batch) {
        std::vector<MetricRow> rows;
        for (int i = 0; i < kRowsPerClaim / 4; ++i) {
          const std::int64_t step = batch * (kRowsPerClaim / 4) + i + 1;
          rows.push_back(ss::testing::metric_row(run->id, step, step * 1024, 0, 1.0));
        }
        store.insert_metrics(rows);
      }
      store.add_event(0, "done", owner);
      ::usleep(10000);  // stands for training time: lets the other writer claim meanwhile
      RunOutcome outcome;
      outcome.step = kRowsPerClaim;
      store.mark_done(run->id, outcome);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer %s: %s\n", owner.c_str(), e.what());
    return 1;
  }
}

void run_two_writers(JournalMode journal) {
  TempDir dir;
  const auto path = dir / "shared.db";
  {
    StoreOptions options;
    options.create_if_missing = true;
    options.journal = journal;
    Store store(path, options);
    const auto sweep = store.register_sweep("c", "c.toml", "", "h");
    std::vector<RunPlan> points;
    for (int i = 0; i < kPoints; ++i) {
      points.push_back(ss::testing::run_plan(sweep, i));
      points.back().flops = 1e12 + i;
    }
    ASSERT_EQ(store.register_points(points), kPoints);
  }
  int start_pipe[2], a_to_b[2], b_to_a[2];
  ASSERT_EQ(::pipe(start_pipe), 0);
  ASSERT_EQ(::pipe(a_to_b), 0);
  ASSERT_EQ(::pipe(b_to_a), 0);
  const std::array<std::pair<const char*, std::array<int, 2>>, 2> writers{
      {{"writer-a", {a_to_b[1], b_to_a[0]}}, {"writer-b", {b_to_a[1], a_to_b[0]}}}};
  std::vector<pid_t> children;
  for (const auto& [owner, handshake] : writers) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Keep only this writer's two ends, so that its read sees EOF (not a hang) if the other dies.
      for (int fd : {a_to_b[0], a_to_b[1], b_to_a[0], b_to_a[1]})
        if (fd != handshake[0] && fd != handshake[1]) ::close(fd);
      ::_exit(writer_process(path, owner, journal, start_pipe[0], handshake));
    }
    children.push_back(pid);
  }
  ASSERT_EQ(::write(start_pipe[1], "go", 2), 2);
  for (int fd : {start_pipe[0], start_pipe[1], a_to_b[0], a_to_b[1], b_to_a[0], b_to_a[1]}) ::close(fd);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "a writer process failed (see its stderr)";
  }
  SQLite::Database raw(path.string());
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM runs WHERE status='done'").getInt(), kPoints);
  EXPECT_EQ(raw.execAndGet("SELECT max(attempts) FROM runs").getInt(), 1) << "claimed twice";
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM metrics").getInt(), kPoints * kRowsPerClaim);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM events").getInt(), kPoints);
  // Both writers did part of the work (the handshake guarantees it; this checks the handshake).
  EXPECT_EQ(raw.execAndGet("SELECT count(DISTINCT text) FROM events").getInt(), 2);
}

TEST(StoreConcurrency, TwoWriterProcessesWal) {
  run_two_writers(JournalMode::kWal);
}

TEST(StoreConcurrency, TwoWriterProcessesRollbackJournal) {
  run_two_writers(JournalMode::kDelete);
}

}  // namespace
}  // namespace ss::store
