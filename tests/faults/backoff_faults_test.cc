// Fault family 2, transient failures: a point whose checkpoints hit a full disk (a real 16 KiB
// tmpfs) is told apart from a deterministic failure and backs off instead of using up its tries.
//  - Under the real `scalesweep run` (mpirun -np 3): the points go back to pending with a
//    stored retry time, each wait at least the configured backoff (the next failure comes only
//    after it), the progress line names the point it waits for; once the disk is freed the SAME
//    job trains them to done, one metric row per step, without `scalesweep retry`.
//  - Under `scalesweep train`: the point backs off, `status` says why, that it was transient and
//    when it is retried; `train` of that point trains it at once.
//  - A v3 store written by main before schema v4: `status` and `scalefit` read it read-only.
//  - Two jobs on one store: the last progress line names no lease the other job has finished.
// The assertions are on stored state and the order of stored events, never on wall durations.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

#ifndef SCALEFIT_BIN
#error "SCALEFIT_BIN must name the scalefit binary"
#endif
#ifndef STORE_FIXTURES_DIR
#error "STORE_FIXTURES_DIR must name tests/store/fixtures"
#endif

extern char** environ;

namespace ss::faults {
namespace {

// 1-2 s backoffs; max_attempts = 1, so a single failure counted as a try would end the point.
const std::string kBackoff =
    "checkpoint_dir = \"ckpt\"\nmax_attempts = 1\nretry_backoff_seconds = 1\n"
    "retry_backoff_max_seconds = 2\nmax_transient_failures = 100\n";

class Backoff : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(work() / "ckpt"); }
  fs::path work() const { return dir_ / "work"; }
  Outcome sh(const std::string& cmd) { return run_command(cmd, work(), dir_ / "scratch"); }
  std::int64_t count(const std::string& sql) { return query_int(work() / "s.db", sql); }
  // `sql` on the store while a job writes it (a plain read-only reader sees the WAL); -1
  // before the store and its tables exist.
  std::int64_t live(const std::string& sql) {
    return query_live(work() / "s.db", sql).value_or(-1);
  }
  TempDir dir_;
};

// Starts `cmd` in the background (/bin/sh in work(), output to `log`); returns its pid.
pid_t spawn(const std::string& cmd, const fs::path& cwd, const fs::path& log) {
  const std::string full = "cd " + sh_quote(cwd.string()) + " && exec " + cmd + " > " +
                           sh_quote(log.string()) + " 2>&1 < /dev/null";
  const char* argv[] = {"/bin/sh", "-c", full.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits (polling, up to 100 s) until `done()`; false when the process ended or time ran out.
template <typename Done>
bool wait_until(pid_t pid, Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Whether `pid` is stopped (state T in /proc/PID/stat): SIGSTOP is delivered asynchronously.
bool is_stopped(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T';
}

// Stops `pid` (SIGSTOP) at a moment it holds no write lock on the store `db`: a writer stopped
// inside a transaction would block every other job's writes until it is let go (the run job then
// failed its registration with "database is locked", 1 in ~10 CI runs). Stops, waits for the
// stop, probes with BEGIN IMMEDIATE; when the lock was held, lets it go on and tries again.
bool stop_outside_a_write(pid_t pid, const fs::path& db) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    ::kill(pid, SIGSTOP);
    for (int i = 0; i < 1000 && !is_stopped(pid); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    try {
      SQLite::Database probe(db.string(), SQLite::OPEN_READWRITE);  // busy timeout 0
      probe.exec("BEGIN IMMEDIATE");
      probe.exec("ROLLBACK");
      return true;
    } catch (const SQLite::Exception&) {
      ::kill(pid, SIGCONT);
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  }
  return false;
}

// Every pair of consecutive run_failed events of one run is at least that run's backoff apart:
// the failure after a backoff comes from a claim the store refused before retry_after. The
// k-th failure (k >= 1) waits min(1 * 2^(k-1), 2) s; checked over the stored event times.
void expect_failures_spaced_by_backoff(const fs::path& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement events(db,
                           "SELECT text, time FROM events WHERE kind = 'run_failed' ORDER BY id");
  std::map<std::string, std::vector<double>> times;  // "run N" -> failure times
  while (events.executeStep()) {
    const std::string text = events.getColumn(0).getString();
    EXPECT_NE(text.find("transient (no space left on device (ENOSPC))"), std::string::npos) << text;
    times[text.substr(0, text.find(" attempt"))].push_back(events.getColumn(1).getDouble());
  }
  ASSERT_EQ(times.size(), 2u);
  for (const auto& [run, t] : times) {
    ASSERT_GE(t.size(), 3u) << run;
    for (std::size_t k = 1; k < t.size(); ++k) {
      const double wait = std::min(2.0, static_cast<double>(1 << std::min<std::size_t>(k - 1, 4)));
      EXPECT_GE(t[k] - t[k - 1], wait - 1e-6) << run << " failure " << k + 1;
    }
  }
}

TEST_F(Backoff, AFullDiskBacksOffAndTheSameRunFinishesOnceSpaceIsFreed) {
  write_sweep(work(), {.schedule = kBackoff});
  if (auto why = mount_small_fs(work() / "ckpt", 16)) GTEST_SKIP() << *why;
  const fs::path log = dir_ / "run.log";
  const pid_t pid = spawn(
      "timeout 200 mpirun --oversubscribe -np 3 -x OMP_NUM_THREADS -x "
      "OPENBLAS_NUM_THREADS " +
          scalesweep() + " run sweep.toml --store s.db --summary-seconds 0.2",
      work(), log);
  ASSERT_GT(pid, 0);
  // Both points failed transiently 3 times (max_attempts is 1), are waiting, and a progress
  // line said so.
  // One snapshot: each point's stored retry time is its last failure's time + its backoff
  // (capped at 2 s from the 2nd failure on). Its run_failed event is written just after the
  // failure itself, so a snapshot between the two does not match yet and the wait goes on.
  const std::string waiting =
      "select count(*) from runs r where r.status = 'pending' and r.transient_failures >= 3 and "
      "abs(r.retry_after - 2 - (select max(e.time) from events e where e.kind = 'run_failed' "
      "and e.text like 'run ' || r.id || ' attempt %')) < 1e-6";
  const bool backing_off = wait_until(pid, [&] {
    return live(waiting) == 2 && slurp(log).find("; backing off: run ") != std::string::npos;
  });
  if (!backing_off) {
    ::umount2((work() / "ckpt").c_str(), MNT_DETACH);
    wait_exit(pid);
    FAIL() << "never saw both points backing off:\n" << slurp(log);
  }
  EXPECT_EQ(live("select count(*) from runs where status = 'failed'"), 0);
  const std::string line = slurp(log);
  EXPECT_NE(line.find("waits until "), std::string::npos) << line;
  EXPECT_NE(line.find("UTC (in "), std::string::npos) << line;
  EXPECT_NE(line.find("after transient failure "), std::string::npos) << line;
  EXPECT_NE(line.find(" of 100"), std::string::npos) << line;

  ASSERT_EQ(::umount2((work() / "ckpt").c_str(), MNT_DETACH), 0);  // space is freed
  const int rc = wait_exit(pid);
  const std::string out = slurp(log);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(count("select count(*) from runs where status = 'done' and error is null and "
                  "retry_after is null and transient_failures >= 3"),
            2)
      << out;
  EXPECT_EQ(out.find("[failed]"), std::string::npos) << out;
  EXPECT_NE(out.find("[pending] run "), std::string::npos) << out;
  EXPECT_NE(out.find("[done] run "), std::string::npos) << out;
  // One metric row per step and run (4 steps each), none doubled by the failed tries.
  EXPECT_EQ(count("select count(*) from metrics"), 8);
  EXPECT_EQ(count("select count(distinct run * 1000 + step) from metrics"), 8);
  expect_failures_spaced_by_backoff(work() / "s.db");
}

// strftime's "%Y-%m-%d %H:%M:%S UTC" of a stored time, as the test's own formatting.
std::string utc(double t) {
  const std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

TEST_F(Backoff, TrainBacksOffStatusSaysWhyAndTrainingThePointAgainStartsAtOnce) {
  write_sweep(work(), {.schedule = "checkpoint_dir = \"ckpt\"\nretry_backoff_seconds = 600\n"});
  if (auto why = mount_small_fs(work() / "ckpt", 16)) GTEST_SKIP() << *why;
  const Outcome first = sh(scalesweep() + " train sweep.toml --point 0 --store s.db --threads 1");
  EXPECT_EQ(first.rc, 1) << first.all();
  EXPECT_NE(first.all().find("transient: `run` retries it from "), std::string::npos)
      << first.all();
  EXPECT_EQ(count("select count(*) from runs where status = 'pending' and attempts = 1 and "
                  "transient_failures = 1 and error_transient = 1 and finished is null and "
                  "error like '%No space left on device%'"),
            1);
  const double retry_after = SQLite::Database(work() / "s.db", SQLite::OPEN_READONLY)
                                 .execAndGet("select retry_after from runs where attempts = 1")
                                 .getDouble();

  const Outcome status = sh(scalesweep() + " status s.db");
  EXPECT_EQ(status.rc, 0) << status.all();
  EXPECT_NE(status.out.find("failure: transient (no space left on device (ENOSPC)), transient "
                            "failure 1 of 10, retry at " +
                            utc(retry_after) + " (in "),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("; why: "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("No space left on device"), std::string::npos) << status.out;

  // A `run` now would wait for the backoff; `train POINT` is the user asking for it now.
  ASSERT_EQ(::umount2((work() / "ckpt").c_str(), MNT_DETACH), 0);
  const Outcome again = sh(scalesweep() + " train sweep.toml --point 0 --store s.db --threads 1");
  ASSERT_EQ(again.rc, 0) << again.all();
  EXPECT_EQ(count("select count(*) from runs where status = 'done' and retry_after is null"), 1);
  EXPECT_EQ(count("select count(*) from metrics"), 4);
}

// A store written by main's scalesweep at acb0702 (schema v3, tests/store/fixtures): `status`
// and `scalefit --no-store-write` read it as it is (never migrated): the failed runs' errors
// are shown as recorded before v4; nothing beside the store is created, its bytes stay. A
// scalefit that writes its fits back opens it for writing, which migrates it to v4 with every
// earlier row kept.
TEST_F(Backoff, ReadersReadAV3StoreUnchanged) {
  fs::copy_file(fs::path(STORE_FIXTURES_DIR) / "backoff-v3_acb0702.db", work() / "s.db");
  const Listing before = listing(work());
  const auto rows = row_counts(work() / "s.db");
  const Outcome status = sh(scalesweep() + " status s.db");
  EXPECT_EQ(status.rc, 0) << status.all();
  EXPECT_NE(status.out.find("failed (2)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("failure: not classified (recorded before schema v4); why: "),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("No space left on device"), std::string::npos) << status.out;
  const Outcome fit = sh(std::string(SCALEFIT_BIN) + " s.db --no-store-write");
  EXPECT_EQ(fit.rc, 0) << fit.all();
  EXPECT_EQ(listing_diff(before, listing(work())), "");

  const Outcome writing = sh(std::string(SCALEFIT_BIN) + " s.db");
  EXPECT_EQ(writing.rc, 0) << writing.all();
  EXPECT_EQ(query_int(work() / "s.db", "select value from meta where key = 'schema_version'"), 4);
  auto after = row_counts(work() / "s.db");
  for (const auto& [table, n] : rows) {
    if (table == "fits" || table == "run_flags")
      EXPECT_GE(after[table], n) << table;  // scalefit adds its rows
    else
      EXPECT_EQ(after[table], n) << table;
  }
}

// Two jobs on one store: `scalesweep train` holds the only point (stopped with SIGSTOP, so it
// cannot finish early) while a `run` job waits for it and says so; once train is let go and
// finishes, the run job ends too, and its LAST progress line names no lease (it used to show
// the lease list of its last refresh, so it could name the run train had just finished).
TEST_F(Backoff, TheLastProgressLineNamesNoLeaseAnotherJobHasFinished) {
  write_sweep(work(), {.tokens = "[192000]", .seeds = "[1]"});  // 3000 steps
  const pid_t train = spawn(scalesweep() + " train sweep.toml --point 0 --store s.db --threads 1",
                            work(), dir_ / "train.log");
  ASSERT_GT(train, 0);
  const bool running = wait_until(
      train, [&] { return live("select count(*) from runs where status = 'running'") == 1; });
  ASSERT_TRUE(running) << slurp(dir_ / "train.log");
  ASSERT_TRUE(stop_outside_a_write(train, work() / "s.db"));
  const fs::path log = dir_ / "run.log";
  const pid_t job = spawn("timeout 200 mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS " +
                              scalesweep() + " run sweep.toml --store s.db --summary-seconds 0.2",
                          work(), log);
  ASSERT_GT(job, 0);
  const bool waiting = wait_until(
      job, [&] { return slurp(log).find("; waiting for run 1 (point ") != std::string::npos; });
  ::kill(train, SIGCONT);
  EXPECT_TRUE(waiting) << slurp(log);
  EXPECT_EQ(wait_exit(train), 0) << slurp(dir_ / "train.log");
  ASSERT_EQ(wait_exit(job), 0) << slurp(log);
  std::string last;
  for (const auto& line : lines_of(slurp(log)))
    if (line.starts_with("progress: ")) last = line;
  EXPECT_NE(last.find("progress: 1 done, 0 running"), std::string::npos) << last;
  EXPECT_EQ(last.find("waiting for"), std::string::npos) << last;
  EXPECT_EQ(count("select count(*) from metrics"), 3000);
}

}  // namespace
}  // namespace ss::faults
