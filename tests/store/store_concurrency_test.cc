// Two writer processes on one store file (fork): with busy_timeout and IMMEDIATE transactions
// neither sees "database is locked", every point is claimed exactly once, and every metric
// row of both writers arrives.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

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
int writer_process(const std::filesystem::path& path, const std::string& owner, JournalMode journal,
                   int start_fd) {
  try {
    // Wait for the parent's start signal so that both writers begin together.
    char go = 0;
    if (::read(start_fd, &go, 1) != 1) return 2;
    StoreOptions options;
    options.journal = journal;
    options.busy_timeout_ms = 30000;
    Store store(path, options);
    while (auto run = store.claim_point(owner, 600)) {
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
  int start_pipe[2];
  ASSERT_EQ(::pipe(start_pipe), 0);
  std::vector<pid_t> children;
  for (const char* owner : {"writer-a", "writer-b"}) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(writer_process(path, owner, journal, start_pipe[0]));
    children.push_back(pid);
  }
  ASSERT_EQ(::write(start_pipe[1], "go", 2), 2);
  ::close(start_pipe[0]);
  ::close(start_pipe[1]);
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
  // Both writers did part of the work: the test really had two concurrent writers.
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
