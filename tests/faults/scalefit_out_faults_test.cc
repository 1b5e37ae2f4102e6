// Fault family 3: `scalefit --out DIR` never deletes or replaces anything it did not write.
// Each case runs the real scalefit on a real CSV (a hand-made Kaplan L(N) grid) or a real store
// and checks the exit code, the one error line, and that the listing of the whole test
// directory (and the store's row counts) is exactly as before.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/faults/fault_harness.h"

#ifndef SCALEFIT_BIN
#error "SCALEFIT_BIN must name the scalefit binary"
#endif

namespace ss::faults {
namespace {

class ScalefitOut : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work());
    // L(N) = (N / 8.8e13)^-0.076 (Kaplan's published constants) at 6 sizes: fits in ms.
    std::string csv = "N,D,loss\n";
    for (double n : {1e6, 3e6, 1e7, 3e7, 1e8, 3e8})
      csv += std::to_string(n) + ",1e10," + std::to_string(std::pow(n / 8.8e13, -0.076)) + "\n";
    write_text(work() / "runs.csv", csv);
  }
  fs::path work() const { return dir_ / "work"; }
  // scalefit on runs.csv with `out_arg` (shell-quoted here), run in work().
  Outcome scalefit(const std::string& out_arg, const std::string& input = "runs.csv") {
    return run_command(std::string(SCALEFIT_BIN) + " " + sh_quote(input) +
                           " --columns N=N,D=D,loss=loss --law kaplan-n --bootstrap 0 -q"
                           " --out " +
                           sh_quote(out_arg),
                       work(), dir_ / "scratch");
  }
  // Refused: exit 2, one line naming the place and the needle, nothing in work() changed.
  void expect_refused(const std::string& out_arg, const std::string& needle,
                      const std::string& input = "runs.csv") {
    const Listing before = listing(work());
    const Outcome o = scalefit(out_arg, input);
    expect_one_line(o, 2, {"--out " + out_arg, needle});
    EXPECT_EQ(listing_diff(before, listing(work())), "") << out_arg;
  }
  TempDir dir_;
};

TEST_F(ScalefitOut, RefusesAnExistingFile) {
  write_text(work() / "notes.txt", "mine");
  expect_refused("notes.txt", "is an existing file");
}

TEST_F(ScalefitOut, RefusesTheInputFileItself) {
  expect_refused("runs.csv", "is an existing file");
}

TEST_F(ScalefitOut, RefusesADirectoryWithTheUsersFiles) {
  fs::create_directories(work() / "mine" / "sub");
  write_text(work() / "mine" / "sub" / "thesis.tex", "x");
  expect_refused("mine", "not an earlier scalefit report");
}

TEST_F(ScalefitOut, RefusesADirectoryHoldingTheInput) {
  fs::create_directories(work() / "data");
  fs::rename(work() / "runs.csv", work() / "data" / "runs.csv");
  expect_refused("data", "holds the input", "data/runs.csv");
  expect_refused(".", "holds the input", "data/runs.csv");
  expect_refused("data/", "holds the input", "data/runs.csv");
}

TEST_F(ScalefitOut, RefusesASymlinkAndAPathBelowAFile) {
  fs::create_directories(work() / "real");
  fs::create_directory_symlink("real", work() / "link");
  expect_refused("link", "symbolic link");
  write_text(work() / "plain", "x");
  expect_refused("plain/report", "is a file, so no directory");
}

TEST_F(ScalefitOut, RefusesAnEarlierReportTheUserAddedTo) {
  ASSERT_EQ(scalefit("report").rc, 0);
  EXPECT_TRUE(fs::exists(work() / "report" / ".scalefit-report"));
  write_text(work() / "report" / "my-notes.md", "mine");
  expect_refused("report", "my-notes.md");
}

TEST_F(ScalefitOut, RelativePathsAreShownResolved) {
  write_text(work() / "notes.txt", "mine");
  const Outcome o = scalefit("notes.txt");
  EXPECT_NE(o.err.find((work() / "notes.txt").string()), std::string::npos) << o.err;
}

TEST_F(ScalefitOut, ReplacesOnlyAnEarlierReportAndLeavesNoSibling) {
  ASSERT_EQ(scalefit("report").rc, 0);
  const Listing first = listing(work());
  fs::create_directories(work() / "empty");
  ASSERT_EQ(scalefit("empty").rc, 0);  // an empty directory is fine too
  fs::remove_all(work() / "empty");
  ASSERT_EQ(scalefit("report").rc, 0);
  EXPECT_EQ(listing_diff(first, listing(work())), "");  // same files, same bytes, no .tmp/.old
  ASSERT_EQ(scalefit("report/").rc, 0);                 // the same place
  const Listing again = listing(work());
  EXPECT_EQ(again.size(), first.size());
  for (const auto& [name, e] : first) EXPECT_TRUE(again.contains(name)) << name;
}

TEST_F(ScalefitOut, RefusesAStoreDirectoryAndKeepsTheStore) {
  // A store that is not ours to delete: scalefit's input, inside the --out directory.
  fs::create_directories(work() / "results");
  const std::string make_db =
      "/usr/bin/python3 -c \"import sqlite3; "
      "c = sqlite3.connect('results/sweep.db'); "
      "c.execute('create table t(x)'); c.commit()\"";
  ASSERT_EQ(run_command(make_db, work(), dir_ / "scratch").rc, 0);
  const auto rows = row_counts(work() / "results" / "sweep.db");
  const Listing before = listing(work());
  const Outcome o = run_command(std::string(SCALEFIT_BIN) + " results/sweep.db -q --out results",
                                work(), dir_ / "scratch");
  expect_one_line(o, 2, {"--out results", "holds the input"});
  EXPECT_EQ(listing_diff(before, listing(work())), "");
  EXPECT_EQ(row_counts(work() / "results" / "sweep.db"), rows);
}

TEST_F(ScalefitOut, ReadOnlyParentIsRefusedUpFront) {
  fs::create_directories(work() / "ro");
  if (auto why = make_read_only(work() / "ro")) GTEST_SKIP() << *why;
  expect_refused("ro/report", "not writable");
}

// A place where access() says "writable" (always, to root) but no directory can be made: /proc.
// It used to fit, then end with exit 1 and a raw filesystem_error line.
TEST_F(ScalefitOut, APlaceNoDirectoryCanBeMadeInIsRefusedUpFront) {
  ASSERT_TRUE(fs::is_directory("/proc"));
  expect_refused("/proc/scalefit-report", "no directory can be made in /proc");
}

TEST_F(ScalefitOut, DiskFullLeavesTheEarlierReportWhole) {
  fs::create_directories(work() / "small");
  if (auto why = mount_small_fs(work() / "small", 64)) GTEST_SKIP() << *why;
  ASSERT_EQ(scalefit("small/report").rc, 0);
  // Fill the file system, then ask for a new report: the write fails, the old one stays.
  const Outcome fill =
      run_command("dd if=/dev/zero of=small/fill bs=1k count=1000", work(), dir_ / "scratch");
  ASSERT_NE(fill.rc, 0) << "the 64 KiB tmpfs did not fill up";
  const Listing before = listing(work());
  const Outcome o = scalefit("small/report");
  expect_one_line(o, 1, {"No space left on device"});
  EXPECT_EQ(listing_diff(before, listing(work())), "");
}

// `--out .` in an empty working directory (or an earlier report there) used to rename the report
// onto the working directory, leaving the user's shell in a deleted directory; `--out ..` from
// inside would move the working directory away too.
TEST_F(ScalefitOut, RefusesTheWorkingDirectoryAndItsAncestors) {
  fs::create_directories(work() / "empty" / "sub");
  const Listing before = listing(work());
  for (const auto& [cwd, out] : {std::pair{"empty/sub", "."}, {"empty/sub", ".."}}) {
    const Outcome o = run_command(std::string(SCALEFIT_BIN) + " ../../runs.csv --columns "
                                  "N=N,D=D,loss=loss --law kaplan-n --bootstrap 0 -q --out " + out,
                                  work() / cwd, dir_ / "scratch");
    expect_one_line(o, 2, {std::string("--out ") + out, "is the working directory or holds it",
                           "--out report"});
  }
  EXPECT_EQ(listing_diff(before, listing(work())), "");
}

// Non-finite numbers (nan, inf) are refused by every numeric scalefit option; --min-tokens nan
// and --overfit-gap inf used to be accepted (exit 0), shape --n-tolerance nan too.
TEST_F(ScalefitOut, RefusesNonFiniteNumbers) {
  const Listing before = listing(work());
  const std::string fit = std::string(SCALEFIT_BIN) +
                          " runs.csv --columns N=N,D=D,loss=loss --law kaplan-n --bootstrap 0 -q ";
  for (const auto& [args, needle] :
       {std::pair{fit + "--min-tokens nan", "--min-tokens: nan is not a number"},
        {fit + "--overfit-gap inf", "--overfit-gap: inf is not a number"},
        {fit + "--budget nan", "--budget: nan is not a positive FLOP count"},
        {std::string(SCALEFIT_BIN) + " shape runs.csv --n-tolerance nan",
         "--n-tolerance: nan is not a number"},
        // An integer option given text or a fraction said "Could not convert: --seed = abc".
        {fit + "--seed abc", "--seed: abc is not a whole number"},
        {fit + "--drop-highest 1.5", "--drop-highest: 1.5 is not a whole number"}}) {
    const Outcome o = run_command(args, work(), dir_ / "scratch");
    expect_one_line(o, 2, {needle});
  }
  EXPECT_EQ(listing_diff(before, listing(work())), "");
}

}  // namespace
}  // namespace ss::faults
