// `scalesweep run` with the real GPT trainer (runner/trainer.h) under mpirun, on tiny byte-level
// models and token shards written here: a mini sweep completes with one metric row per step;
// dp = 2 and tp = 2 give the same per-step losses as dp = tp = 1 on the same global batch
// (1e-4 relative over 50 steps); a SIGUSR1 stop (sent to mpirun) + resume, and a SIGKILL of
// every rank + re-run, give exactly the losses of an uninterrupted run (CPU backend, same seeds).
// The interrupted runs use hold_sweep (tests/mpi/hold_sweep_main.cc: the same runner and trainer,
// holding at a given step until stopped), so the signal or kill always lands mid-run.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ss::store::Store;

// A token shard in the documented format (model/io/shard.h): 32-byte header, u16 tokens.
void write_shard(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  const char magic[8] = {'S', 'S', 'T', 'O', 'K', 0, 0, 0};
  const std::uint32_t version = 1, vocab = 256;
  const std::uint64_t count = text.size(), reserved = 0;
  out.write(magic, 8);
  out.write(reinterpret_cast<const char*>(&version), 4);
  out.write(reinterpret_cast<const char*>(&vocab), 4);
  out.write(reinterpret_cast<const char*>(&count), 8);
  out.write(reinterpret_cast<const char*>(&reserved), 8);
  for (unsigned char c : text) {
    const std::uint16_t t = c;
    out.write(reinterpret_cast<const char*>(&t), 2);
  }
}

std::string corpus(std::size_t bytes, unsigned seed) {
  static const char* words[] = {"the ", "cat ", "sat ", "on ", "a ",   "mat ",
                                "and ", "dog ", "ran ", "to ", "it. ", "then "};
  std::string s;
  unsigned x = seed;
  while (s.size() < bytes) {
    x = x * 1103515245u + 12345u;
    s += words[(x >> 16) % 12];
  }
  return s;
}

class SweepReal : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    write_shard(dir_ / "train.bin", corpus(200000, 1));
    write_shard(dir_ / "val.bin", corpus(20000, 2));
  }
  void TearDown() override {
    if (HasFailure()) temp_.keep();
  }

  // 4 sequences of 16 tokens per step; micro_batch sequences per micro step and dp rank.
  fs::path config(const std::string& name, int dp, int tp, int steps,
                  const std::string& n_layer = "[1]", int checkpoint_interval = 10, int micro = 2) {
    const int n_ctx = 16, batch = 64;
    std::ostringstream t;
    t << "name = \"" << name << "\"\n[data]\ntokenizer = \"bytes\"\ntrain = \"train.bin\"\n"
      << "val = \"val.bin\"\n[model]\nn_layer = " << n_layer << "\nd_model = [32]\n"
      << "d_head = 16\nn_ctx = " << n_ctx << "\n[tokens]\nabsolute = [" << batch * steps
      << "]\n[train]\nbatch_tokens = " << batch << "\nmicro_batch = " << micro
      << "\nlr = [3e-3]\nwarmup_steps = 2\nseeds = [5]\n[parallel]\ndp = " << dp << "\ntp = " << tp
      << "\n[schedule]\neval_interval = 10\neval_tokens = 64\n"
      << "checkpoint_interval = " << checkpoint_interval << "\nkeep_checkpoints = 2\n"
      << "checkpoint_dir = \"ckpt-" << name << "\"\n";
    const fs::path path = dir_ / (name + ".toml");
    std::ofstream(path) << t.str();
    return path;
  }

  // `binary` is scalesweep, or hold_sweep with its --hold-at-step option.
  pid_t start(int np, const fs::path& cfg, const fs::path& store, const std::string& run_args = "",
              const std::string& binary = SCALESWEEP_BIN) {
    const std::string cmd =
        "cd '" + dir_.string() + "' && exec timeout 150 mpirun --oversubscribe -np " +
        std::to_string(np) + " -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS " + binary +
        " run '" + cfg.string() + "' --store '" + store.string() + "' --summary-seconds 1000 " +
        run_args + " >>run.log 2>&1";
    const pid_t pid = ss::testing::spawn_shell(cmd);
    EXPECT_GT(pid, 0) << cmd;
    return pid;
  }
  static int wait_exit(pid_t pid) { return ss::testing::wait_exit(pid); }
  int run(int np, const fs::path& cfg, const fs::path& store, const std::string& run_args = "") {
    return wait_exit(start(np, cfg, store, run_args));
  }
  // The children of `pid` (Linux /proc): timeout -> mpirun -> the ranks.
  static std::vector<pid_t> children(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    std::vector<pid_t> out;
    for (pid_t c; in >> c;) out.push_back(c);
    return out;
  }
  // hold_sweep holding at `step` (a checkpoint step): the command line, for start().
  static std::string hold_at(std::int64_t step) {
    return std::string(HOLD_SWEEP_BIN) + " --hold-at-step " + std::to_string(step);
  }
  // Waits (up to 120 s) until the only run of `store` has its checkpoint of `step` recorded.
  static bool wait_for_checkpoint(const fs::path& store, std::int64_t step) {
    for (int i = 0; i < 2400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!fs::exists(store)) continue;
      try {
        Store s = open(store);
        const auto runs = s.list_runs();
        if (runs.empty()) continue;
        const auto newest = s.latest_checkpoints(runs[0].id, 1);
        if (!newest.empty() && newest[0].step == step) return true;
      } catch (const std::exception&) {  // being created
      }
    }
    return false;
  }
  std::string log() {
    std::ifstream in(dir_ / "run.log");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static Store open(const fs::path& path) {
    ss::store::StoreOptions o;
    o.read_only = true;
    return Store(path, o);
  }
  // Per-step train losses of the only run of a store (all steps present, in order).
  static std::vector<double> losses(const fs::path& store) {
    Store s = open(store);
    const auto runs = s.list_runs();
    EXPECT_EQ(runs.size(), 1u);
    std::vector<double> out;
    if (runs.empty()) return out;
    EXPECT_EQ(runs[0].status, "done") << runs[0].error.value_or("");
    const auto rows = s.run_metrics(runs[0].id);
    EXPECT_EQ(static_cast<std::int64_t>(rows.size()), runs[0].plan.steps);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].step, static_cast<std::int64_t>(i) + 1);
      out.push_back(rows[i].train_loss.value_or(NAN));
    }
    return out;
  }
  static void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                           double rel) {
    ASSERT_EQ(got.size(), want.size());
    ASSERT_FALSE(want.empty());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], rel * std::abs(want[i])) << "step " << i + 1;
    }
    EXPECT_LT(want.back(), want.front() - 0.5);  // it learns: not two flat sequences
  }

  ss::testing::TempDir temp_;  // kept when the test fails
  fs::path dir_ = temp_.path();
};

TEST_F(SweepReal, MiniSweepCompletesWithOneRowPerStep) {
  const auto cfg = config("mini", 1, 1, 30, "[1, 2]");
  ASSERT_EQ(run(3, cfg, dir_ / "mini.db"), 0) << log();
  Store s = open(dir_ / "mini.db");
  const auto runs = s.list_runs();
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "done") << r.error.value_or("");
    const auto rows = s.run_metrics(r.id);
    ASSERT_EQ(static_cast<std::int64_t>(rows.size()), r.plan.steps);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].step, static_cast<std::int64_t>(i) + 1);
    }
    ASSERT_TRUE(r.final_train_loss);
    EXPECT_LT(*r.final_train_loss, std::log(256.0));  // below a uniform guess over bytes
    EXPECT_FALSE(s.latest_checkpoints(r.id).empty());
  }
}

TEST_F(SweepReal, DataParallelTwoEqualsOne) {
  // The same config except dp: micro_batch 2 of a 4-sequence batch, so dp=1 accumulates two
  // micro steps where each dp=2 rank takes one; the loader numbers sequences across micro steps
  // and ranks, so both train on the same data.
  ASSERT_EQ(run(2, config("dp1", 1, 1, 50, "[1]", 10, 2), dir_ / "dp1.db"), 0) << log();
  ASSERT_EQ(run(3, config("dp2", 2, 1, 50, "[1]", 10, 2), dir_ / "dp2.db"), 0) << log();
  expect_close(losses(dir_ / "dp2.db"), losses(dir_ / "dp1.db"), 1e-4);
}

TEST_F(SweepReal, TensorParallelTwoEqualsOne) {
  ASSERT_EQ(run(2, config("tp1", 1, 1, 50), dir_ / "tp1.db"), 0) << log();
  ASSERT_EQ(run(3, config("tp2", 1, 2, 50), dir_ / "tp2.db"), 0) << log();
  expect_close(losses(dir_ / "tp2.db"), losses(dir_ / "tp1.db"), 1e-4);
}

TEST_F(SweepReal, StopAndResumeReproducesAnUninterruptedRun) {
  const int steps = 400;
  ASSERT_EQ(run(2, config("whole", 1, 1, steps, "[1]", 20), dir_ / "whole.db"), 0) << log();
  const auto cfg = config("cut", 1, 1, steps, "[1]", 20);
  const fs::path store = dir_ / "cut.db";
  const pid_t job = start(2, cfg, store, "", hold_at(100));
  // The run holds at step 100 (its checkpoint recorded) until stopped. Signal mpirun (it
  // forwards SIGUSR1 to every rank; rank 0 coordinates the stop); `job` is timeout(1), which
  // would die of SIGUSR1.
  ASSERT_TRUE(wait_for_checkpoint(store, 100)) << log();
  const auto mpirun = children(job);
  ASSERT_FALSE(mpirun.empty());
  ASSERT_EQ(kill(mpirun[0], SIGUSR1), 0);
  ASSERT_EQ(wait_exit(job), 3) << log();
  {
    Store s = open(store);
    const auto run = s.list_runs().at(0);
    EXPECT_EQ(run.status, "pending");  // released
    EXPECT_EQ(run.step, 100);
  }
  ASSERT_EQ(run(2, cfg, store), 0) << log();
  const auto resumed = losses(store), whole = losses(dir_ / "whole.db");
  ASSERT_EQ(resumed.size(), whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(resumed[i], whole[i]) << "step " << i + 1;  // bit-identical on the CPU backend
  }
}

TEST_F(SweepReal, KilledRankThenRerunReproducesAnUninterruptedRun) {
  const int steps = 400;
  ASSERT_EQ(run(2, config("whole", 1, 1, steps, "[1]", 20), dir_ / "whole.db"), 0) << log();
  const auto cfg = config("killed", 1, 1, steps, "[1]", 20);
  const fs::path store = dir_ / "killed.db";
  const pid_t job = start(2, cfg, store, "--lease-seconds 2", hold_at(100));
  ASSERT_TRUE(wait_for_checkpoint(store, 100)) << log();  // it holds there until killed
  const auto mpirun = children(job);
  ASSERT_FALSE(mpirun.empty());
  const auto ranks = children(mpirun[0]);
  ASSERT_EQ(ranks.size(), 2u);
  for (const pid_t rank : ranks) EXPECT_EQ(kill(rank, SIGKILL), 0);  // every rank
  ASSERT_NE(wait_exit(job), 0);
  {
    Store s = open(store);
    ASSERT_EQ(s.list_runs().at(0).status, "running");  // left behind with a live lease
  }
  ASSERT_EQ(run(2, cfg, store, "--lease-seconds 2"), 0) << log();  // waits for the expiry
  const auto resumed = losses(store), whole = losses(dir_ / "whole.db");
  ASSERT_EQ(resumed.size(), whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(resumed[i], whole[i]) << "step " << i + 1;
  }
}

}  // namespace
