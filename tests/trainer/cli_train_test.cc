// The real `scalesweep train` binary on a real SQLite store: a point trained to `done` with one
// metric row per step; SIGKILL after a checkpoint then a re-run that resumes and matches an
// uninterrupted run bit for bit; SIGTERM checkpoints and releases; bad inputs exit 2 and create
// no store. The interrupted runs use hold_sweep's `train` (tests/mpi/hold_sweep_main.cc: the same
// subcommand and trainer, holding at a given step until signalled), so the signal or kill always
// lands mid-run, at a known step, on any machine speed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "store/store.h"
#include "tests/support/process.h"
#include "tests/trainer/trainer_fixture.h"

extern char** environ;

namespace ss::runner::testing {
namespace {

using namespace std::chrono_literals;

// Starts `binary` (scalesweep, or hold_sweep: tests/mpi/hold_sweep_main.cc) with `args`,
// stdout+stderr to `log`, in `cwd` (empty: this process's); returns the pid.
pid_t spawn_scalesweep(const std::vector<std::string>& args, const fs::path& log,
                       const fs::path& cwd = {}, const char* binary = SCALESWEEP_BIN) {
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, binary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return pid;
}

using ss::testing::wait_exit;

int run_scalesweep(const std::vector<std::string>& args, const fs::path& log,
                   const fs::path& cwd = {}) {
  return wait_exit(spawn_scalesweep(args, log, cwd));
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `scalesweep train ARGS` run by hold_sweep, which holds after step `step` until signalled or
// killed; returns once it holds (its "holding at step" line is in `log`), or -1 after 120 s.
pid_t spawn_held_train(const std::vector<std::string>& args, std::int64_t step,
                       const fs::path& log) {
  std::vector<std::string> all = {"--hold-at-step", std::to_string(step), "train"};
  all.insert(all.end(), args.begin(), args.end());
  const pid_t pid = spawn_scalesweep(all, log, {}, HOLD_SWEEP_BIN);
  const std::string marker = "holding at step " + std::to_string(step);
  for (int i = 0; i < 12000; ++i) {
    if (read_text(log).find(marker) != std::string::npos) return pid;
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  wait_exit(pid);
  return -1;
}

store::Store open_read_only(const fs::path& db) {
  store::StoreOptions options;
  options.read_only = true;
  return store::Store(db, options);
}

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    write_corpus(dir_.path() / "data");
  }
  fs::path path(const std::string& name) const { return dir_.path() / name; }
  TempDir dir_;
};

TEST_F(TrainCliTest, TrainsAPointToDoneWithOneRowPerStep) {
  TinySweep s;
  s.steps = 20;
  const fs::path config = write_sweep(s, dir_.path(), "tiny.toml");
  const fs::path db = path("q.db"), log = path("log.txt");
  ASSERT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log),
            0)
      << read_text(log);
  const std::string out = read_text(log);
  EXPECT_NE(out.find("step 20/20"), std::string::npos) << out;
  EXPECT_NE(out.find("tok/s"), std::string::npos) << out;
  {
    store::Store store = open_read_only(db);
    const auto runs = store.list_runs();
    ASSERT_EQ(runs.size(), 1u);
    const store::RunRecord& run = runs[0];
    EXPECT_EQ(run.status, store::kStatusDone);
    EXPECT_EQ(run.step, 20);
    EXPECT_EQ(run.tokens_seen, 20 * 8 * 16);
    ASSERT_TRUE(run.final_train_loss && run.final_val_loss && run.best_val_loss);
    const auto metrics = store.run_metrics(run.id);
    ASSERT_EQ(metrics.size(), 20u);
    for (std::size_t i = 0; i < metrics.size(); ++i) EXPECT_EQ(metrics[i].step, (int)i + 1);
    EXPECT_EQ(*run.final_train_loss, *metrics.back().train_loss);
    EXPECT_EQ(*run.final_val_loss, *metrics.back().val_loss);
    const auto checkpoints = store.latest_checkpoints(run.id);
    ASSERT_EQ(checkpoints.size(), 2u);  // steps 10 and 20, keep 2
    EXPECT_EQ(checkpoints[0].step, 20);
  }
  // Again: nothing to do, nothing changes.
  ASSERT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log),
            0);
  EXPECT_NE(read_text(log).find("already done"), std::string::npos);
  store::Store store = open_read_only(db);
  EXPECT_EQ(store.run_metrics(store.list_runs()[0].id).size(), 20u);
}

// The checkpoint files of a run, as the store records them (relative ones against `cwd`, the
// command's working directory), and that each exists.
std::vector<fs::path> recorded_checkpoints(const fs::path& db, const fs::path& cwd) {
  store::Store store = open_read_only(db);
  std::vector<fs::path> files;
  for (const auto& c : store.latest_checkpoints(store.list_runs().at(0).id)) {
    EXPECT_TRUE(fs::exists(cwd / c.path)) << c.path;
    files.push_back(fs::weakly_canonical(cwd / c.path));
  }
  return files;
}

// Without [schedule] checkpoint_dir the checkpoints go beside the store, wherever the command
// runs: <store dir>/<store stem>-checkpoints/<sweep name>/<point key>/.
TEST_F(TrainCliTest, CheckpointsDefaultBesideTheStore) {
  TinySweep s;
  s.checkpoint_dir_line = false;
  const fs::path config = write_sweep(s, dir_.path(), "tiny.toml");
  fs::create_directories(path("stores"));
  fs::create_directories(path("elsewhere"));
  const fs::path db = path("stores/q.db"), log = path("log.txt");
  ASSERT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log,
                           path("elsewhere")),
            0)
      << read_text(log);
  const std::string key = expand_grid(load_sweep_spec(config)).at(0).key;
  const auto files = recorded_checkpoints(db, path("elsewhere"));
  ASSERT_EQ(files.size(), 2u);  // steps 10 and 20
  for (const auto& f : files) {
    EXPECT_EQ(f.parent_path(), fs::weakly_canonical(path("stores/q-checkpoints/tiny") / key));
  }
  EXPECT_TRUE(fs::is_empty(path("elsewhere")));  // nothing in the working directory
}

// An explicit relative checkpoint_dir keeps its old meaning: relative to the working directory.
TEST_F(TrainCliTest, AGivenRelativeCheckpointDirIsRelativeToTheWorkingDirectory) {
  TinySweep s;
  s.checkpoint_dir = "ckpt-rel";
  const fs::path config = write_sweep(s, dir_.path(), "tiny.toml");
  fs::create_directories(path("stores"));
  fs::create_directories(path("work"));
  const fs::path db = path("stores/q.db"), log = path("log.txt");
  ASSERT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log,
                           path("work")),
            0)
      << read_text(log);
  const std::string key = expand_grid(load_sweep_spec(config)).at(0).key;
  const auto files = recorded_checkpoints(db, path("work"));
  ASSERT_EQ(files.size(), 2u);
  for (const auto& f : files) {
    EXPECT_EQ(f.parent_path(), fs::weakly_canonical(path("work/ckpt-rel") / key));
  }
  EXPECT_FALSE(fs::exists(path("stores/q-checkpoints")));
}

TEST_F(TrainCliTest, SigkillAfterACheckpointThenResumeIsBitIdentical) {
  TinySweep s;
  s.steps = 240;
  s.d_model = 32;
  s.n_ctx = 32;
  s.eval_interval = 40;
  s.checkpoint_interval = 30;
  s.checkpoint_dir = path("ckpt-ref").string();
  const fs::path ref_config = write_sweep(s, dir_.path(), "ref.toml");
  s.checkpoint_dir = path("ckpt-kill").string();
  const fs::path kill_config = write_sweep(s, dir_.path(), "kill.toml");
  const fs::path ref_db = path("ref.db"), kill_db = path("kill.db"), log = path("log.txt");

  ASSERT_EQ(run_scalesweep(
                {"train", ref_config.string(), "--point", "0", "--store", ref_db.string()}, log),
            0)
      << read_text(log);

  // Kill -9 while the run holds after its checkpoint of step 60 (hold_sweep). The lease is long
  // (600 s): the re-run must see that its holder's process is gone and take it back at once
  // (runner/lease_owner.h).
  const pid_t pid = spawn_held_train(
      {kill_config.string(), "--point", "0", "--store", kill_db.string(), "--lease-seconds", "600"},
      60, log);
  ASSERT_GT(pid, 0) << read_text(log);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  {
    store::Store store = open_read_only(kill_db);
    const auto run = store.list_runs()[0];
    ASSERT_EQ(run.status, store::kStatusRunning);  // killed mid-run
    const auto checkpoints = store.latest_checkpoints(run.id, 1);
    ASSERT_EQ(checkpoints.size(), 1u);
    EXPECT_EQ(checkpoints[0].step, 60);
    EXPECT_EQ(store.run_metrics(run.id).size(), 60u);  // flushed up to the checkpoint
  }
  ASSERT_EQ(run_scalesweep(
                {"train", kill_config.string(), "--point", "0", "--store", kill_db.string()}, log),
            0)
      << read_text(log);
  EXPECT_NE(read_text(log).find("resuming from step"), std::string::npos);

  store::Store ref = open_read_only(ref_db), resumed = open_read_only(kill_db);
  const auto ref_run = ref.list_runs()[0], resumed_run = resumed.list_runs()[0];
  EXPECT_EQ(resumed_run.status, store::kStatusDone);
  EXPECT_EQ(resumed_run.attempts, 2);
  const auto ref_metrics = ref.run_metrics(ref_run.id);
  const auto got = resumed.run_metrics(resumed_run.id);
  ASSERT_EQ(ref_metrics.size(), 240u);
  ASSERT_EQ(got.size(), 240u);  // exactly one row per step, no gaps
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].step, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(*got[i].train_loss, *ref_metrics[i].train_loss) << "step " << i + 1;  // bitwise
    EXPECT_EQ(got[i].val_loss, ref_metrics[i].val_loss) << "step " << i + 1;
    EXPECT_EQ(got[i].tokens, ref_metrics[i].tokens);
  }
  EXPECT_EQ(*resumed_run.final_val_loss, *ref_run.final_val_loss);
}

TEST_F(TrainCliTest, SigtermCheckpointsReleasesAndExitsThree) {
  TinySweep s;
  s.steps = 200;
  s.d_model = 32;
  s.n_ctx = 32;
  s.eval_interval = 10;
  s.checkpoint_interval = 100000;  // the only checkpoint is the stop's
  const fs::path config = write_sweep(s, dir_.path(), "long.toml");
  const fs::path db = path("q.db"), log = path("log.txt");
  // hold_sweep holds after step 25 until the signal: it always lands mid-run.
  const pid_t pid =
      spawn_held_train({config.string(), "--point", "0", "--store", db.string()}, 25, log);
  ASSERT_GT(pid, 0) << read_text(log);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_EQ(wait_exit(pid), 3) << read_text(log);
  store::Store store = open_read_only(db);
  const auto run = store.list_runs().at(0);
  EXPECT_EQ(run.status, store::kStatusPending);  // released, not failed
  const auto checkpoints = store.latest_checkpoints(run.id);
  ASSERT_EQ(checkpoints.size(), 1u);  // written by the stop, at the step it stopped
  EXPECT_EQ(checkpoints[0].step, 25);
  const auto metrics = store.run_metrics(run.id);
  ASSERT_EQ(metrics.size(), static_cast<std::size_t>(checkpoints[0].step));  // flushed up to it
}

TEST_F(TrainCliTest, HugeLearningRateEndsDivergedWithTheStep) {
  TinySweep s;
  s.steps = 40;
  s.lr = "1e3";
  const fs::path config = write_sweep(s, dir_.path(), "lr.toml");
  const fs::path db = path("q.db"), log = path("log.txt");
  ASSERT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log),
            0)
      << read_text(log);
  store::Store store = open_read_only(db);
  const auto run = store.list_runs().at(0);
  EXPECT_EQ(run.status, store::kStatusDiverged);
  ASSERT_TRUE(run.diverged_step);
  EXPECT_GT(*run.diverged_step, 1);
  EXPECT_EQ(store.run_metrics(run.id).size(), static_cast<std::size_t>(*run.diverged_step - 1));
}

TEST_F(TrainCliTest, UnknownPointExitsTwoAndCreatesNoStore) {
  const fs::path config = write_sweep(TinySweep{}, dir_.path(), "tiny.toml");
  const fs::path db = path("q.db"), log = path("log.txt");
  EXPECT_EQ(run_scalesweep({"train", config.string(), "--point", "7", "--store", db.string()}, log),
            2);
  EXPECT_NE(read_text(log).find("--point 7"), std::string::npos) << read_text(log);
  EXPECT_EQ(
      run_scalesweep(
          {"train", config.string(), "--point", "deadbeefdeadbeef", "--store", db.string()}, log),
      2);
  EXPECT_FALSE(fs::exists(db));
}

TEST_F(TrainCliTest, MissingShardExitsTwoAndCreatesNoStore) {
  TinySweep s;
  s.val = path("data/missing-val.bin").string();
  const fs::path config = write_sweep(s, dir_.path(), "tiny.toml");
  const fs::path db = path("q.db"), log = path("log.txt");
  EXPECT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log),
            2);
  EXPECT_NE(read_text(log).find("missing-val.bin"), std::string::npos) << read_text(log);
  EXPECT_FALSE(fs::exists(db));
}

TEST_F(TrainCliTest, CorruptShardExitsTwoAndCreatesNoStore) {
  TinySweep s;
  s.train = path("data/corrupt.bin").string();
  std::ofstream(s.train) << "SSTOK but then nothing valid";
  const fs::path config = write_sweep(s, dir_.path(), "tiny.toml");
  const fs::path db = path("q.db"), log = path("log.txt");
  EXPECT_EQ(run_scalesweep({"train", config.string(), "--point", "0", "--store", db.string()}, log),
            2)
      << read_text(log);
  EXPECT_NE(read_text(log).find("corrupt.bin"), std::string::npos) << read_text(log);
  EXPECT_FALSE(fs::exists(db));
}

}  // namespace
}  // namespace ss::runner::testing
