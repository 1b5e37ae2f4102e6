// Fault family "the scripts' own arguments": scripts/quickstart.sh checks its arguments before
// it installs, builds or fetches anything (a bad NP used to be found by mpirun after the whole
// setup), and scripts/sweep-mpirun checks the program it is to start (its `mpirun -q` hid
// mpirun's "could not access or execute" block: exit 132 or 134 and no output at all). Each
// case runs the real script and checks exit 2, one line, and that nothing was written.
#include <gtest/gtest.h>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

#ifndef SS_SCRIPTS_DIR
#error "SS_SCRIPTS_DIR must name the repository's scripts/ directory"
#endif

namespace ss::faults {
namespace {

class ScriptFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    // A copy of quickstart.sh in a repository of its own whose setup and fetch steps only leave
    // a mark: any mark means the script went past its argument check.
    fs::create_directories(repo() / "scripts");
    fs::copy_file(fs::path(SS_SCRIPTS_DIR) / "quickstart.sh", repo() / "scripts" / "quickstart.sh");
    for (const char* step : {"setup.sh", "fetch-corpus.sh"}) {
      write_text(repo() / "scripts" / step, std::string("#!/bin/sh\ntouch ran-") + step + "\n");
      fs::permissions(repo() / "scripts" / step, fs::perms::owner_exec, fs::perm_options::add);
    }
    write_sweep(repo());
  }
  fs::path repo() const { return dir_ / "repo"; }
  Outcome sh(const std::string& cmd) { return run_command(cmd, repo(), dir_ / "scratch"); }
  void expect_refused(const std::string& cmd, const std::vector<std::string>& needles) {
    const Listing before = listing(repo());
    const Outcome o = sh(cmd);
    expect_one_line(o, 2, needles);
    EXPECT_EQ(listing_diff(before, listing(repo())), "") << cmd;
  }
  TempDir dir_;
};

TEST_F(ScriptFaults, QuickstartRefusesBadArgumentsBeforeAnySetup) {
  for (const std::string args : {"abc", "1", "--quick x", "3 4", "--bogus", "--quick 0"})
    expect_refused("bash scripts/quickstart.sh " + args,
                   {"quickstart.sh: error: bad arguments", "NP must be a whole number >= 2",
                    "usage: scripts/quickstart.sh [--quick] [NP]"});
  const Outcome help = sh("bash scripts/quickstart.sh --help");
  EXPECT_EQ(help.rc, 0) << help.all();
  EXPECT_NE(help.out.find("usage: scripts/quickstart.sh"), std::string::npos) << help.out;
  EXPECT_FALSE(fs::exists(repo() / "ran-setup.sh"));
}

TEST_F(ScriptFaults, SweepMpirunRefusesAProgramItCannotStart) {
  const std::string script = std::string(SS_SCRIPTS_DIR) + "/sweep-mpirun";
  expect_refused(script + " --oversubscribe -np 2 -x OMP_NUM_THREADS buld/scalesweep run "
                          "sweep.toml --store s.db",
                 {"sweep-mpirun: error: program buld/scalesweep", "not an executable file"});
  expect_refused(script + " -np 2 --mca btl self,vader no-such-program run sweep.toml",
                 {"program no-such-program", "not an executable file"});
  // The check lets a real program through: scalesweep's own error, exit 2, no store.
  expect_refused(script + " --oversubscribe -np 2 " + scalesweep() +
                     " run missing.toml --store s.db",
                 {"missing.toml", "cannot read the sweep file"});
}

}  // namespace
}  // namespace ss::faults
