// Fault family 1 for the sweep file itself: a shape the model cannot be built with (a dimension
// beyond the model's int, a vocabulary beyond the uint16 shards) and a sweep name that is not a
// plain directory name, a range longer than 10000 values and --gpus-per-node on the CPU-only
// trainer and a token count beyond 2^53 are refused before anything starts, so `plan` prints no table with
// negative sizes and `run` (real mpirun) exits 2 with one line instead of starting every point
// and marking it failed with exit 0; nothing is written, nothing outside the store's directory.
#include <gtest/gtest.h>

#include <tuple>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

class ConfigFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work());
    write_sweep(work());
  }
  fs::path work() const { return dir_ / "work"; }
  // sweep.toml with the first `from` replaced by `to`.
  void edit(const std::string& from, const std::string& to) {
    std::string text = slurp(work() / "sweep.toml");
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    write_text(work() / "sweep.toml", text.replace(at, from.size(), to));
  }
  // `command` in work() must refuse: exit 2, one line with `needles`, nothing under dir_
  // (work() and its parent, where a "../" name would have put checkpoints) changed.
  void expect_refused(const std::string& command, const std::vector<std::string>& needles) {
    const Listing before = listing(work());
    const auto parent_before = lines_of(slurp_listing());
    const Outcome o = run_command(command, work(), dir_ / "scratch");
    expect_one_line(o, 2, needles);
    EXPECT_EQ(listing_diff(before, listing(work())), "");
    EXPECT_EQ(lines_of(slurp_listing()), parent_before);
  }
  // The names directly in dir_ other than the scratch directory the harness writes.
  std::string slurp_listing() const {
    std::string names;
    for (const auto& e : fs::directory_iterator(dir_.path()))
      if (e.path().filename() != "scratch") names += e.path().filename().string() + "\n";
    return names;
  }
  std::string plan() const { return scalesweep() + " plan sweep.toml"; }
  TempDir dir_;
};

TEST_F(ConfigFaults, PlanRefusesALayerCountBeyondTheModelsInt) {
  edit("n_layer = [1]", "n_layer = [3000000000]");  // was planned with N = -3.98T, exit 0
  expect_refused(plan(), {"sweep.toml:", "n_layer = 3000000000 is larger than 2147483647"});
}

TEST_F(ConfigFaults, PlanRefusesAWidthBeyondTheModelsInt) {
  edit("d_model = [16]", "d_model = [4294967296]");  // was planned with N = 0
  expect_refused(plan(), {"d_model = 4294967296 is larger than 2147483647"});
}

// vocab 70000 passed plan and preflight; every point then failed max_attempts times in the
// workers ("exceeds 65536") and `run` exited 0 with a store of failed runs.
TEST_F(ConfigFaults, RunRefusesAVocabularyBeyondTheShardsBeforeTheStore) {
  edit("n_ctx = 16", "n_ctx = 16\nvocab = 70000");
  expect_refused(mpirun_run("sweep.toml --store s.db", 3),
                 {"sweep.toml:", "vocab = 70000 exceeds 65536"});
}

// name = "../escape" put the default checkpoint directory outside <store>-checkpoints/.
TEST_F(ConfigFaults, RunRefusesANameThatLeavesTheCheckpointDirectory) {
  edit("checkpoint_dir = \"ckpt\"\n", "");
  edit("name = \"faults\"", "name = \"../escape\"");
  expect_refused(mpirun_run("sweep.toml --store s.db", 3),
                 {"sweep.toml:1: name = \"../escape\" is not a plain name"});
}

// A control character in the name is shown escaped: the error stays one line.
TEST_F(ConfigFaults, ANameWithANewlineIsOneLine) {
  edit("name = \"faults\"", "name = \"a\\nb\"");
  expect_refused(plan(), {"name = \"a\\x0ab\" is not a plain name"});
}

// --gpus-per-node on this CPU-only trainer: every point used to fail max_attempts times in the
// workers ("CUDA device 0 requested but the trainer has only the CPU backend") and `run` exited
// 0 (probe C3.14). Rank 0 refuses it before the store exists.
TEST_F(ConfigFaults, RunRefusesGpusOnTheCpuOnlyTrainer) {
  expect_refused(mpirun_run("sweep.toml --store s.db --gpus-per-node 1", 3),
                 {"--gpus-per-node 1", "CPU only"});
}

// A range longer than a grid axis takes used to be cut to 10000 values with exit 0 (C1.20).
TEST_F(ConfigFaults, PlanRefusesARangeOfMoreThanTenThousandValues) {
  edit("n_layer = [1]", "n_layer = {from = 1, to = 1000000000, step = 1}");
  expect_refused(plan(), {"sweep.toml:", "more than 10000 values"});
}

// tokens.absolute = [1e30] used to say "D = ... < 1 token" (llround of 1e30 is undefined).
TEST_F(ConfigFaults, PlanRefusesATokenCountBeyondTheLimitAsTooLarge) {
  edit("absolute = [256]", "absolute = [1e30]");
  expect_refused(plan(), {"sweep.toml:", "tokens = 1e+30", "more than the limit of "
                          "9007199254740992 (2^53)"});
}

// nan and inf are "not a finite number" (they were "out of range; it must be > 0"), and an integer
// key given 1e30 is "too large" (it was "not an integer").
TEST_F(ConfigFaults, NonFiniteAndHugeNumbersAreNamedForWhatTheyAre) {
  const std::string text = slurp(work() / "sweep.toml");
  for (const auto& [from, to, needle] :
       {std::tuple{"lr = [1e-2]", "lr = [nan]", "train.lr = nan is not a finite number"},
        {"absolute = [256]", "absolute = [inf]", "tokens.absolute = inf is not a finite number"},
        {"batch_tokens = 64", "batch_tokens = 1e30",
         "train.batch_tokens = 1e+30 is too large; it must be <= "}}) {
    write_text(work() / "sweep.toml", text);
    edit(from, to);
    expect_refused(plan(), {"sweep.toml:", needle});
  }
}

// An unknown table, or a table given as a number, used to print the whole table's contents in
// the error line: now only the key path and "(a table)".
TEST_F(ConfigFaults, AnUnknownTablePrintsItsNameNotItsContents) {
  edit("[train]", "[extra]\nfirst = \"a long value the error line must not repeat\"\n[train]");
  const Outcome o = run_command(plan(), work(), dir_ / "scratch");
  expect_one_line(o, 2, {"sweep.toml:", "[extra] is not a known table", "allowed here: name"});
  EXPECT_EQ(o.all().find("a long value"), std::string::npos) << o.all();
}

TEST_F(ConfigFaults, ATableWhereAValueBelongsIsShortToo) {
  edit("d_model = [16]", "d_model = {x = \"a long value the error line must not repeat\"}");
  const Outcome o = run_command(plan(), work(), dir_ / "scratch");
  expect_one_line(o, 2, {"model.d_model = (a table) has a range key 'x'"});
  EXPECT_EQ(o.all().find("a long value"), std::string::npos) << o.all();
}

}  // namespace
}  // namespace ss::faults
