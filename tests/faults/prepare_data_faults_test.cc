// Fault family 3 for `scalesweep prepare-data --out DIR`: it never deletes or replaces anything
// it did not write, never reads its own output as text, and a stop signal leaves nothing
// behind. Each case runs the real scalesweep on real text files and checks the exit code, the
// one error line, and that the listing of the whole test directory is exactly as before (or,
// for the accepted spellings, that only the output appeared).
#include <gtest/gtest.h>

#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

class PrepareDataOut : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work() / "corpus");
    write_text(work() / "corpus" / "a.txt", std::string(3000, 'a') + " the end\n");
    write_text(work() / "corpus" / "b.txt", "the cat sat on the mat.\n");
  }
  fs::path work() const { return dir_ / "work"; }
  Outcome prepare(const std::string& args, const fs::path& cwd = {}) {
    return run_command(scalesweep() + " prepare-data " + args, cwd.empty() ? work() : cwd,
                       dir_ / "scratch");
  }
  // An earlier output in work()/tok (train.bin, val.bin, meta.json).
  void earlier_output() {
    ASSERT_EQ(prepare("--input corpus --out tok").rc, 0);
  }
  // Refused: exit 2, one line with every needle, nothing in work() changed.
  void expect_refused(const std::string& args, const std::vector<std::string>& needles,
                      const fs::path& cwd = {}) {
    const Listing before = listing(work());
    const Outcome o = prepare(args, cwd);
    expect_one_line(o, 2, needles);
    EXPECT_EQ(listing_diff(before, listing(work())), "") << args;
  }
  TempDir dir_;
};

TEST_F(PrepareDataOut, RefusesAnEarlierOutputHoldingTheUsersFile) {
  earlier_output();
  write_text(work() / "tok" / "NOTES.txt", "mine");  // it used to be deleted with the old output
  expect_refused("--input corpus --out tok",
                 {"--out", "tok", "earlier prepare-data output but also holds NOTES.txt"});
}

TEST_F(PrepareDataOut, RefusesAnOutInsideAnInputDirectory) {
  // The second run used to read corpus/tok's shards and meta.json as three more documents.
  expect_refused("--input corpus --out corpus/tok",
                 {"corpus/tok", "lies inside the input directory corpus"});
}

TEST_F(PrepareDataOut, RefusesAnOutThatHoldsAnInput) {
  earlier_output();
  expect_refused("--input tok/train.bin --out tok", {"holds the input tok/train.bin"});
}

TEST_F(PrepareDataOut, RefusesASymbolicLink) {
  earlier_output();
  fs::create_directory_symlink("tok", work() / "link");  // it used to be replaced by a directory
  expect_refused("--input corpus --out link", {"link", "is a symbolic link"});
}

TEST_F(PrepareDataOut, RefusesAPathBelowAFile) {
  write_text(work() / "f", "x");  // it used to end with exit 1 and a filesystem_error
  expect_refused("--input corpus --out f/tok", {"f/tok", "lies below", "which is a file"});
}

TEST_F(PrepareDataOut, RefusesTheWorkingDirectory) {
  fs::create_directories(work() / "empty");  // `--out .` used to fail renaming it into itself
  expect_refused("--input ../corpus --out .", {"holds the working directory"}, work() / "empty");
}

TEST_F(PrepareDataOut, RefusesAFileGivenTwice) {
  expect_refused("--input corpus --input corpus/b.txt --out tok", {"corpus/b.txt", "given twice"});
}

// "tok/" is "tok": a new one is made, an earlier one replaced (both used to fail with exit 1
// "cannot rename: Invalid argument", the first leaving an empty tok/ behind).
TEST_F(PrepareDataOut, ATrailingSlashNamesTheSameDirectory) {
  const Outcome first = prepare("--input corpus --out tok/");
  ASSERT_EQ(first.rc, 0) << first.all();
  const Listing after_first = listing(work());
  for (const char* name : {"tok", "tok/train.bin", "tok/val.bin", "tok/meta.json"})
    EXPECT_TRUE(after_first.contains(name)) << name;
  const Outcome second = prepare("--input corpus --out tok/");
  ASSERT_EQ(second.rc, 0) << second.all();
  EXPECT_EQ(listing_diff(after_first, listing(work())), "");  // same bytes, nothing else
}

// SIGINT while a document is tokenized: exit 3, one line, the temporary directory removed and
// the earlier output byte for byte as it was (it used to leave tok.tmp-XXXXXX behind).
TEST_F(PrepareDataOut, AStopSignalLeavesNothingBehind) {
  earlier_output();
  fs::create_directories(work() / "big");
  const std::string text = [] {
    std::string line = "the quick brown fox jumps over the lazy dog, again and again.\n";
    std::string t;
    while (t.size() < (6u << 20)) t += line;
    return t;
  }();
  for (int i = 0; i < 4; ++i) write_text(work() / "big" / ("part" + std::to_string(i)), text);
  const Listing before = listing(work());
  // The signal goes once the temporary directory exists (the checks are done, tokenizing began).
  const std::string cmd = scalesweep() +
                          " prepare-data --input big --out tok & p=$!; "
                          "until ls -d tok.tmp-* >/dev/null 2>&1 || ! kill -0 $p 2>/dev/null; do sleep 0.01; done; "
                          "kill -INT $p; wait $p";
  const Outcome o = run_command(cmd, work(), dir_ / "scratch");
  EXPECT_EQ(o.rc, 3) << o.all();
  EXPECT_TRUE(error_lines(o.all()).empty()) << o.all();
  int stop_lines = 0;
  for (const auto& line : lines_of(o.all()))
    stop_lines += line.find("stopped on signal 2") != std::string::npos &&
                  line.find("nothing written") != std::string::npos;
  EXPECT_EQ(stop_lines, 1) << o.all();
  EXPECT_EQ(listing_diff(before, listing(work())), "");
}

}  // namespace
}  // namespace ss::faults
