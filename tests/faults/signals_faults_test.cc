// Fault family 6: signals. A stop signal ends a `scalesweep run` job with exit 3 ("checkpointed,
// run again") however early it comes, and however the job was started:
//  - SIGUSR1 in every rank's first instants (sent by an LD_PRELOAD constructor, before main()
//    and MPI_Init; it used to end the ranks with 138) -> `mpirun -q` exits 3;
//  - SIGTERM or SIGINT to scripts/sweep-mpirun (Open MPI's mpirun alone exits 1 on them) ->
//    exit 3, a checkpoint saved, and the resumed run ends with one metric row per step.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

#ifndef EARLY_SIGNAL_PRELOAD
#error "EARLY_SIGNAL_PRELOAD must name the preload library"
#endif
#ifndef SWEEP_MPIRUN
#error "SWEEP_MPIRUN must name scripts/sweep-mpirun"
#endif

extern char** environ;

namespace ss::faults {
namespace {

class Signals : public ::testing::Test {
 protected:
  // Two points of `steps` steps each (64 tokens a step).
  void write(std::int64_t steps) {
    fs::create_directories(work());
    write_sweep(work(), {.tokens = "[" + std::to_string(64 * steps) + "]"});
  }
  fs::path work() const { return dir_ / "work"; }
  Outcome sh(const std::string& cmd) { return run_command(cmd, work(), dir_ / "scratch"); }
  std::int64_t count(const std::string& sql) { return query_int(work() / "s.db", sql); }
  // Checkpoint rows of the running sweep, 0 before the store and its tables exist.
  std::int64_t live_checkpoints() {
    return query_live(work() / "s.db", "select count(*) from checkpoints").value_or(0);
  }
  // Resumes the stopped sweep to done: one metric row per step of each run, none doubled.
  void expect_resumes_to_done(std::int64_t steps) {
    const Outcome again = sh(mpirun_run("sweep.toml --store s.db", 3));
    ASSERT_EQ(again.rc, 0) << again.all();
    EXPECT_EQ(count("select count(*) from runs where status = 'done'"), 2);
    EXPECT_EQ(count("select count(*) from metrics"), 2 * steps);
    EXPECT_EQ(count("select count(distinct run * 100000 + step) from metrics"), 2 * steps);
  }
  // Defined below, after stop_wrapper_with.
  void expect_wrapper_stops_and_resumes(int sig);
  TempDir dir_;
};

TEST_F(Signals, Sigusr1InEveryRanksFirstInstantsEndsWithExit3) {
  write(4);
  const Outcome o =
      sh("timeout 120 mpirun -q --oversubscribe -np 3 -x OMP_NUM_THREADS -x "
         "LD_PRELOAD=" EARLY_SIGNAL_PRELOAD " " +
         scalesweep() + " run sweep.toml --store s.db --summary-seconds 1000");
  EXPECT_EQ(o.rc, 3) << o.all();
  EXPECT_NE(o.out.find("stopped on signal 10"), std::string::npos) << o.all();
  expect_resumes_to_done(4);
}

// Starts `scripts/sweep-mpirun -np 3 scalesweep run ...` in work(), sends `sig` to the script
// once a checkpoint of the sweep is in the store, and returns the script's exit code (-2 when
// it ended before any checkpoint).
int stop_wrapper_with(int sig, const fs::path& work, const fs::path& scratch,
                      const std::function<std::int64_t()>& checkpoints) {
  const std::string cmd = "cd " + sh_quote(work.string()) +
                          " && exec " SWEEP_MPIRUN " --oversubscribe -np 3 -x OMP_NUM_THREADS " +
                          scalesweep() + " run sweep.toml --store s.db --summary-seconds 1000 > " +
                          sh_quote((scratch / "out.txt").string()) + " 2>&1 < /dev/null";
  fs::create_directories(scratch);
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
  int status = 0;
  while (checkpoints() == 0 && std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return -2;  // ended before any checkpoint
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, sig);
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `sig` to scripts/sweep-mpirun once the sweep has checkpointed: the wrapper turns it into
// SIGUSR1 for the ranks, the job ends with exit 3 before both runs are done, with its
// checkpoints in the store, and a re-run resumes to done.
void Signals::expect_wrapper_stops_and_resumes(int sig) {
  constexpr std::int64_t kSteps = 3000;
  write(kSteps);
  const auto checkpoints = [this] { return live_checkpoints(); };
  const int rc = stop_wrapper_with(sig, work(), dir_ / "scratch", checkpoints);
  const std::string out = slurp(dir_ / "scratch" / "out.txt");
  ASSERT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("stopped on signal 10"), std::string::npos) << out;
  EXPECT_LT(count("select count(*) from runs where status = 'done'"), 2) << out;
  EXPECT_GT(count("select count(*) from checkpoints"), 0);
  expect_resumes_to_done(kSteps);
}

TEST_F(Signals, SigtermToSweepMpirunEndsWithExit3AndResumes) {
  expect_wrapper_stops_and_resumes(SIGTERM);
}

TEST_F(Signals, SigintToSweepMpirunEndsWithExit3AndResumes) {
  expect_wrapper_stops_and_resumes(SIGINT);
}

}  // namespace
}  // namespace ss::faults
