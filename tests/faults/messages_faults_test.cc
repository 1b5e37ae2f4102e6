// Fault family 7: under mpirun an error is one short line, printed once (by rank 0), whatever
// the number of ranks: CLI errors (found before MPI is up, in every rank), a value CLI11 used
// to answer with a 309-digit range, config errors and a too-small job. Nothing is written.
#include <gtest/gtest.h>

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

TEST_F(Messages, ConfigErrorIsOneLineFromRankZero) {
  write_text(work() / "sweep.toml", "name = \"x\"\n[model\n");
  expect_one_short_line("sweep.toml --store s.db", 3, "sweep.toml:2");
}

TEST_F(Messages, OneRankIsOneLine) {
  expect_one_short_line("sweep.toml --store s.db", 1, "mpirun -np 2");
}

}  // namespace
}  // namespace ss::faults
