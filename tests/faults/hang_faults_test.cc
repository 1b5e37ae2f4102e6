// Fault family "hangs": a worker group that stops answering. Real mpirun -np 3, real
// scalesweep, real store:
//  - SIGSTOP of one worker rank once both runs have a checkpoint in the store, --hang-seconds 3:
//    rank 0 prints one line naming the run, the point and the stopped rank with its pid, releases
//    the point (pending, no lease), stops the other run (checkpoint, pending) and the job exits
//    4 (MPI_Abort); after the leftovers are killed, a re-run finishes both points with one
//    metric row per step.
//  - a healthy run whose evaluation takes longer than --hang-seconds is not declared hung: the
//    leader sends heartbeats between eval batches (a tenth of --hang-seconds apart).
// Every wait is on the store or on a process, never a sleep whose length decides the outcome.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

using Clock = std::chrono::steady_clock;

// The parent pid of `pid` (0 when it cannot be read).
pid_t parent_of(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  char state = 0;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

// Whether `pid` is alive: it exists and is not a zombie.
bool alive(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// The pid of MPI world rank `rank` among the descendants of `root` (0 while there is none).
pid_t rank_pid(pid_t root, int rank) {
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    bool below = false;
    for (pid_t p = parent_of(pid); p > 1 && !below; p = parent_of(p)) below = p == root;
    if (!below || slurp(entry.path() / "comm") != "scalesweep\n") continue;
    const std::string env = slurp(entry.path() / "environ");
    for (std::size_t at = 0; at < env.size(); at = env.find('\0', at) + 1) {
      if (env.compare(at, wanted.size() + 1, wanted + '\0') == 0) return pid;
      if (env.find('\0', at) == std::string::npos) break;
    }
  }
  return 0;
}

class Hangs : public ::testing::Test {
 protected:
  // Two points of `steps` steps each (64 tokens a step), checkpoints every 2 steps.
  void write(std::int64_t steps) {
    fs::create_directories(work());
    write_sweep(work(), {.tokens = "[" + std::to_string(64 * steps) + "]"});
  }
  fs::path work() const { return dir_ / "work"; }
  std::int64_t count(const std::string& sql) { return query_int(work() / "s.db", sql); }
  // Runs with a checkpoint in the live store; 0 before the store and its tables exist.
  std::int64_t runs_checkpointed() {
    return query_live(work() / "s.db", "select count(distinct run) from checkpoints").value_or(0);
  }
  TempDir dir_;
};

std::string run_cmd(const std::string& extra) {
  return "timeout 120 mpirun --oversubscribe -np 3 -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS " +
         scalesweep() + " run sweep.toml --store s.db --summary-seconds 1000 " + extra;
}

TEST_F(Hangs, AStoppedWorkerIsDeclaredHungOnceAndTheRerunFinishes) {
  constexpr std::int64_t kSteps = 3000;
  write(kSteps);
  const pid_t job = spawn_command(run_cmd("--hang-seconds 3"), work(), dir_ / "scratch");
  ASSERT_GT(job, 0);
  // Both runs are mid-way (a checkpoint each, thousands of steps to go): stop worker rank 2.
  const auto deadline = Clock::now() + std::chrono::seconds(100);
  while (runs_checkpointed() < 2 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(runs_checkpointed(), 2) << slurp(dir_ / "scratch" / "err.txt");
  const pid_t stopped = rank_pid(job, 2);
  ASSERT_GT(stopped, 0);
  ASSERT_EQ(::kill(stopped, SIGSTOP), 0);
  const Outcome o = spawned_outcome(wait_exit(job), dir_ / "scratch");
  // Leftovers: the stopped rank, if mpirun did not end it.
  ::kill(stopped, SIGCONT);
  ::kill(stopped, SIGKILL);
  const auto gone = Clock::now() + std::chrono::seconds(20);
  while (alive(stopped) && Clock::now() < gone)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(alive(stopped));

  expect_one_line(o, 4,
                  {"hung", "--hang-seconds 3", "rank 2 (", "pid " + std::to_string(stopped),
                   "released (pending; the next run resumes it from its checkpoint of step",
                   "exit 4", "run the same command again"});
  EXPECT_LT(count("select count(*) from runs where status = 'done'"), 2) << o.all();
  EXPECT_EQ(count("select count(*) from runs where status in ('running', 'failed')"), 0);
  EXPECT_EQ(count("select count(*) from runs where lease_owner is not null"), 0);
  EXPECT_EQ(count("select count(*) from events where kind = 'run_hung'"), 1);
  EXPECT_EQ(count("select count(distinct run) from checkpoints"), 2);

  const Outcome again = run_command(run_cmd(""), work(), dir_ / "scratch");
  ASSERT_EQ(again.rc, 0) << again.all();
  EXPECT_EQ(count("select count(*) from runs where status = 'done'"), 2);
  EXPECT_EQ(count("select count(*) from metrics"), 2 * kSteps);
  EXPECT_EQ(count("select count(distinct run * 100000 + step) from metrics"), 2 * kSteps);
}

// The eval of this sweep (d_model 128, eval_tokens 600000 = 37500 windows of 16 tokens, at the
// last of its 4 steps; about 6 s on the 2-core test machine) takes longer than --hang-seconds 2;
// the leader's heartbeats between eval batches keep the group alive. The test checks that an eval really outlasted --hang-seconds (from the
// rows' wall clock), so it cannot pass without exercising the heartbeat inside the eval.
TEST_F(Hangs, AHealthyRunWithALongEvalIsNotDeclaredHung) {
  fs::create_directories(work());
  SweepToml toml;
  toml.seeds = "[1]";
  toml.d_model = "[128]";
  std::string text = toml.text();
  text.replace(text.find("eval_tokens = 32"), 16, "eval_tokens = 600000");
  text.replace(text.find("eval_interval = 2"), 17, "eval_interval = 10");
  write_sweep(work());
  write_shard(work() / "val.bin", text_tokens(700000));
  write_text(work() / "sweep.toml", text);
  const Outcome o = run_command(run_cmd("--hang-seconds 2"), work(), dir_ / "scratch");
  ASSERT_EQ(o.rc, 0) << o.all();
  EXPECT_EQ(error_lines(o.all()).size(), 0u) << o.all();
  EXPECT_EQ(count("select count(*) from runs where status = 'done'"), 1);
  EXPECT_EQ(count("select count(*) from events where kind = 'run_hung'"), 0);
  // The longest step with an eval, by the rows' wall clock (wall of a row minus the previous).
  const double longest = [&] {
    SQLite::Database db = open_immutable(work() / "s.db");
    return db
        .execAndGet(
            "select max(m.wall - p.wall) from metrics m join metrics p on p.run = m.run and "
            "p.step = m.step - 1 where m.val_loss is not null")
        .getDouble();
  }();
  EXPECT_GT(longest, 2.0) << "the eval must outlast --hang-seconds for this test to mean "
                             "anything: enlarge eval_tokens and the val shard";
}

}  // namespace
}  // namespace ss::faults
