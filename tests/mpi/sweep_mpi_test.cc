// `scalesweep run` end to end under real mpirun (2-5 ranks, --oversubscribe), with the fake
// trainer of fake_trainer.h: mini sweep, dp/tp groups, divergence, failure + retry, SIGUSR1 stop +
// resume, SIGKILL of a worker + re-run through expired leases, two concurrent jobs on one store,
// and bad input (exit 2, no store written). Every check reads the real SQLite store. The stop and
// kill tests hold the runs at a step (fake_sweep --hold-at-step) until the signal or kill, so
// they test the same thing on any machine speed.
// The expected losses come from the fake's recurrence written out again here (not from its code).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ss::store::RunRecord;
using ss::store::Store;

// x0 = 3 + seed/100, x_s = 0.95 x_{s-1} + 0.05 (1 + 1/s): the fake trainer's documented state.
double expected_loss(std::int64_t seed, std::int64_t step) {
  double x = 3.0 + static_cast<double>(seed) / 100.0;
  for (std::int64_t s = 1; s <= step; ++s)
    x = 0.95 * x + 0.05 * (1.0 + 1.0 / static_cast<double>(s));
  return x;
}

struct SweepConfig {
  std::string name = "mini";
  std::string n_layer = "[1, 2]";
  std::string seeds = "[1]";
  std::string lr = "[1e-3]";
  int dp = 1, tp = 1;
  int steps = 30;
  int max_attempts = 3;
};

class SweepMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  void TearDown() override {
    if (HasFailure()) temp_.keep();
  }

  fs::path write_config(const SweepConfig& c) {
    const int micro = 4, n_ctx = 16;
    const int batch = micro * n_ctx * c.dp;
    std::ostringstream t;
    t << "name = \"" << c.name << "\"\n[data]\ntokenizer = \"bytes\"\ntrain = \"t.bin\"\n"
      << "val = \"v.bin\"\n[model]\nn_layer = " << c.n_layer << "\nd_model = [32]\n"
      << "d_head = 16\nn_ctx = " << n_ctx << "\n[tokens]\nabsolute = [" << batch * c.steps
      << "]\n[train]\nbatch_tokens = " << batch << "\nmicro_batch = " << micro << "\nlr = " << c.lr
      << "\nseeds = " << c.seeds << "\n[parallel]\ndp = " << c.dp << "\ntp = " << c.tp
      << "\n[schedule]\neval_interval = 10\neval_tokens = 64\n"
      << "checkpoint_interval = 10\nkeep_checkpoints = 2\nmax_attempts = " << c.max_attempts
      << "\ncheckpoint_dir = \"" << (dir_ / "ckpt").string() << "\"\n";
    const fs::path path = dir_ / (c.name + ".toml");
    std::ofstream(path) << t.str();
    return path;
  }

  // Starts `mpirun -np N fake_sweep FAKE_ARGS run CONFIG --store DB RUN_ARGS` in the temp dir
  // (output to log), returns the pid of the shell that execs it.
  pid_t start(int np, const std::string& fake_args, const fs::path& config,
              const std::string& run_args, const std::string& log = "run.log",
              const fs::path& store = {}) {
    const std::string cmd =
        "cd '" + dir_.string() + "' && exec timeout 150 mpirun --oversubscribe -np " +
        std::to_string(np) + " -x FAKE_SWEEP_PID_DIR=" + (dir_ / "pids").string() + " " +
        FAKE_SWEEP_BIN + " " + fake_args + " run '" + config.string() + "' --store '" +
        (store.empty() ? db() : store).string() + "' --summary-seconds 1000 " + run_args + " >>'" +
        log + "' 2>&1";
    const pid_t pid = ss::testing::spawn_shell(cmd);
    EXPECT_GT(pid, 0) << cmd;
    return pid;
  }
  static int wait_exit(pid_t pid) { return ss::testing::wait_exit(pid); }
  int run(int np, const std::string& fake_args, const fs::path& config,
          const std::string& run_args = "") {
    return wait_exit(start(np, fake_args, config, run_args));
  }
  std::string log(const std::string& name = "run.log") {
    std::ifstream in(dir_ / name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path db() const { return dir_ / "sweep.db"; }
  Store open_store() {
    ss::store::StoreOptions o;
    o.read_only = true;
    return Store(db(), o);
  }
  pid_t rank_pid(int rank) {
    std::ifstream in(dir_ / "pids" / ("rank-" + std::to_string(rank) + ".pid"));
    pid_t pid = -1;
    in >> pid;
    return pid;
  }
  // Polls the store until `ready` holds (or ~60 s pass).
  template <typename Pred>
  bool wait_until(Pred ready) {
    for (int i = 0; i < 600; ++i) {
      if (fs::exists(db())) {
        try {
          Store s = open_store();
          if (ready(s)) return true;
        } catch (const std::exception&) {  // a store being created: try again
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Waits (up to ~60 s) until `count` runs print that they hold (fake_sweep --hold-at-step).
  bool wait_for_holds(int count) {
    for (int i = 0; i < 600; ++i) {
      const std::string text = log();
      int seen = 0;
      for (auto at = text.find("holding at step"); at != std::string::npos;
           at = text.find("holding at step", at + 1))
        ++seen;
      if (seen >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Every run done, one metric row per step 1..steps, losses equal to the recurrence.
  void expect_all_done_with_exact_history(Store& s) {
    const auto runs = s.list_runs();
    ASSERT_FALSE(runs.empty());
    for (const RunRecord& r : runs) {
      EXPECT_EQ(r.status, "done") << "run " << r.id << " " << r.error.value_or("");
      const auto rows = s.run_metrics(r.id);
      ASSERT_EQ(static_cast<std::int64_t>(rows.size()), r.plan.steps) << "run " << r.id;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].step, static_cast<std::int64_t>(i) + 1) << "gap in run " << r.id;
        ASSERT_TRUE(rows[i].train_loss);
        EXPECT_NEAR(*rows[i].train_loss, expected_loss(r.plan.seed, rows[i].step), 1e-12);
      }
      ASSERT_TRUE(r.final_train_loss);
      EXPECT_NEAR(*r.final_train_loss, expected_loss(r.plan.seed, r.plan.steps), 1e-12);
      EXPECT_EQ(r.step, r.plan.steps);
      EXPECT_FALSE(r.lease_owner.has_value());
    }
  }

  ss::testing::TempDir temp_;  // kept when the test fails
  fs::path dir_ = temp_.path();
};

TEST_F(SweepMpi, MiniSweepCompletesWithOneRowPerStep) {
  SweepConfig c;
  c.seeds = "[1, 2]";  // 2 shapes x 2 seeds = 4 points on 2 workers
  const auto config = write_config(c);
  ASSERT_EQ(run(3, "", config), 0) << log();
  Store s = open_store();
  expect_all_done_with_exact_history(s);
  EXPECT_EQ(s.list_runs().size(), 4u);
  for (const auto& r : s.list_runs()) {
    EXPECT_EQ(r.attempts, 1);
    const auto ckpts = s.latest_checkpoints(r.id);
    ASSERT_EQ(ckpts.size(), 2u);  // keep_checkpoints = 2: steps 30 and 20
    EXPECT_EQ(ckpts[0].step, 30);
    EXPECT_EQ(ckpts[1].step, 20);
    EXPECT_TRUE(fs::exists(ckpts[0].path));
  }
  EXPECT_NE(log().find("[done] run"), std::string::npos) << log();
  EXPECT_NE(log().find("progress: 4 done"), std::string::npos) << log();
  // Re-running the finished sweep trains nothing and exits 0.
  ASSERT_EQ(run(3, "", config), 0) << log();
  for (const auto& r : open_store().list_runs()) EXPECT_EQ(r.attempts, 1);
}

TEST_F(SweepMpi, DataAndTensorParallelGroupsFormAndFinish) {
  SweepConfig c;
  c.dp = 2;
  c.tp = 2;
  c.seeds = "[1, 2]";
  const auto config = write_config(c);
  ASSERT_EQ(run(5, "", config), 0) << log();  // one group of 4 at a time
  Store s = open_store();
  expect_all_done_with_exact_history(s);
}

TEST_F(SweepMpi, TwoGroupsOfTwoRunConcurrently) {
  SweepConfig c;
  c.dp = 2;
  c.seeds = "[1, 2]";
  const auto config = write_config(c);
  ASSERT_EQ(run(5, "--step-ms 5", config), 0) << log();
  Store s = open_store();
  expect_all_done_with_exact_history(s);
  // Both groups were busy at once: the log shows points on ranks 1,2 and on 3,4.
  EXPECT_NE(log().find("on ranks 1,2"), std::string::npos) << log();
  EXPECT_NE(log().find("on ranks 3,4"), std::string::npos) << log();
}

TEST_F(SweepMpi, DivergingPointIsMarkedAndOthersFinish) {
  SweepConfig c;
  c.lr = "[1e-3, 1e3]";
  const auto config = write_config(c);
  ASSERT_EQ(run(3, "", config), 0) << log();
  Store s = open_store();
  int diverged = 0, done = 0;
  for (const auto& r : s.list_runs()) {
    if (r.plan.lr > 1) {
      EXPECT_EQ(r.status, "diverged");
      EXPECT_EQ(r.diverged_step, 3);
      EXPECT_EQ(r.attempts, 1);  // not retried
      ++diverged;
    } else {
      EXPECT_EQ(r.status, "done");
      EXPECT_EQ(static_cast<std::int64_t>(s.run_metrics(r.id).size()), r.plan.steps);
      ++done;
    }
  }
  EXPECT_EQ(diverged, 2);
  EXPECT_EQ(done, 2);
}

TEST_F(SweepMpi, FailedAttemptsAreRetriedThenMarkedFailed) {
  SweepConfig c;
  const auto config = write_config(c);
  ASSERT_EQ(run(3, "--fail-attempts 1", config), 0) << log();
  {
    Store s = open_store();
    expect_all_done_with_exact_history(s);
    for (const auto& r : s.list_runs()) EXPECT_EQ(r.attempts, 2);
    int failures = 0;
    for (const auto& e : s.list_events()) failures += e.kind == "run_failed";
    EXPECT_EQ(failures, 2);
  }
  SweepConfig always = c;
  always.name = "always";
  always.lr = "[2e-3]";  // points of its own (the same points would continue the first sweep)
  const auto config2 = write_config(always);
  ASSERT_EQ(run(3, "--fail-attempts 99", config2), 0) << log();
  Store s = open_store();
  ss::store::RunFilter f;
  f.sweep_id = s.list_sweeps().back().id;
  ASSERT_EQ(s.list_runs(f).size(), 2u);
  for (const auto& r : s.list_runs(f)) {
    EXPECT_EQ(r.status, "failed");
    EXPECT_EQ(r.attempts, 3);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->find("injected failure on attempt 3"), std::string::npos) << *r.error;
  }
}

TEST_F(SweepMpi, Sigusr1StopsWithRequeueCodeAndResumeCompletes) {
  SweepConfig c;
  c.steps = 60;
  const auto config = write_config(c);
  // Both runs (2 points, 2 workers) hold after step 5 until stopped: the signal lands mid-run.
  const pid_t job = start(3, "--hold-at-step 5", config, "");
  ASSERT_TRUE(wait_for_holds(2)) << log();
  ASSERT_EQ(kill(rank_pid(0), SIGUSR1), 0);
  ASSERT_EQ(wait_exit(job), 3) << log();
  {
    Store s = open_store();
    ASSERT_EQ(s.list_runs().size(), 2u);
    for (const auto& r : s.list_runs()) {
      EXPECT_EQ(r.status, "pending");  // released, not left running
      EXPECT_FALSE(r.lease_owner.has_value());
      EXPECT_EQ(r.step, 5);
      ASSERT_FALSE(s.latest_checkpoints(r.id).empty());  // the stop checkpoint
      EXPECT_EQ(s.latest_checkpoints(r.id).front().step, 5);
      EXPECT_EQ(s.run_metrics(r.id).size(), 5u);
    }
  }
  EXPECT_NE(log().find("stopped on signal"), std::string::npos) << log();
  ASSERT_EQ(run(3, "", config), 0) << log();
  Store s = open_store();
  expect_all_done_with_exact_history(s);
}

TEST_F(SweepMpi, KilledWorkerEndsJobAndRerunResumesThroughExpiredLeases) {
  SweepConfig c;
  c.steps = 60;
  const auto config = write_config(c);
  // Both runs hold after step 12 (checkpoint of step 10 written) until the kill.
  const pid_t job = start(3, "--hold-at-step 12", config, "--lease-seconds 2");
  ASSERT_TRUE(wait_for_holds(2)) << log();
  ASSERT_TRUE(wait_until([](Store& s) {
    const auto runs = s.list_runs();
    for (const auto& r : runs) {
      const auto newest = s.latest_checkpoints(r.id, 1);
      if (newest.empty() || newest[0].step != 10) return false;
    }
    return runs.size() == 2;
  })) << log();
  ASSERT_EQ(kill(rank_pid(1), SIGKILL), 0);
  EXPECT_NE(wait_exit(job), 0) << log();
  {
    Store s = open_store();
    int running = 0;
    for (const auto& r : s.list_runs()) running += r.status == "running";
    EXPECT_GT(running, 0);  // left running by the dead job, lease still set
  }
  ASSERT_EQ(run(3, "", config, "--lease-seconds 2"), 0) << log();
  Store s = open_store();
  expect_all_done_with_exact_history(s);
}

TEST_F(SweepMpi, TwoConcurrentJobsTrainEachPointOnce) {
  SweepConfig c;
  c.n_layer = "[1, 2, 3]";
  c.seeds = "[1, 2]";  // 6 points
  const auto config = write_config(c);
  // Create the store first so the two jobs do not race on creating the file.
  ASSERT_EQ(run(2, "--noop", write_config(SweepConfig{.name = "warmup", .steps = 2})), 0) << log();
  const pid_t a = start(2, "--step-ms 10", config, "", "a.log");
  const pid_t b = start(2, "--step-ms 10", config, "", "b.log");
  ASSERT_EQ(wait_exit(a), 0) << log("a.log");
  ASSERT_EQ(wait_exit(b), 0) << log("b.log");
  Store s = open_store();
  ss::store::RunFilter f;
  f.sweep_id = s.list_sweeps().back().id;
  const auto runs = s.list_runs(f);
  ASSERT_EQ(runs.size(), 6u);
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(r.attempts, 1) << "run " << r.id << " claimed twice";
    EXPECT_EQ(static_cast<std::int64_t>(s.run_metrics(r.id).size()), r.plan.steps);
  }
  // Both jobs trained something (the points were shared, not all taken by one).
  EXPECT_NE(log("a.log").find("[done]"), std::string::npos) << log("a.log");
  EXPECT_NE(log("b.log").find("[done]"), std::string::npos) << log("b.log");
}

TEST_F(SweepMpi, BadInputExitsTwoAndWritesNothing) {
  SweepConfig c;
  const auto config = write_config(c);
  EXPECT_EQ(run(1, "", config), 2) << log();  // no worker rank
  EXPECT_FALSE(fs::exists(db()));
  EXPECT_NE(log().find("need rank 0 plus at least one worker"), std::string::npos) << log();
  SweepConfig wide = c;
  wide.name = "wide";
  wide.dp = 2;
  wide.tp = 2;
  EXPECT_EQ(run(3, "", write_config(wide)), 2) << log();  // 4 ranks per point, 2 workers
  EXPECT_FALSE(fs::exists(db()));
  EXPECT_NE(log().find("launch with mpirun -np 5"), std::string::npos) << log();
  std::ofstream(dir_ / "broken.toml") << "name = \"b\"\n[model]\nn_layer = [\n";
  EXPECT_EQ(run(2, "", dir_ / "broken.toml"), 2) << log();
  EXPECT_FALSE(fs::exists(db()));
  EXPECT_EQ(run(2, "", dir_ / "missing.toml"), 2) << log();
  EXPECT_FALSE(fs::exists(db()));
  // Bad flags are refused by the CLI on every rank.
  for (const char* flags :
       {"--lease-seconds 0", "--lease-seconds -5", "--ranks-per-gpu 0", "--store-journal bogus"}) {
    EXPECT_EQ(run(2, "", config, flags), 2) << flags << "\n" << log();
    EXPECT_FALSE(fs::exists(db())) << flags;
  }
  // A store path whose directory does not exist is bad input too.
  const fs::path nowhere = dir_ / "no" / "such" / "dir.db";
  EXPECT_EQ(wait_exit(start(2, "", config, "", "run.log", nowhere)), 2) << log();
  EXPECT_FALSE(fs::exists(dir_ / "no"));
}

}  // namespace
