// Fault family 1: `scalesweep run` checks everything a point will need before it opens the
// store. Each case breaks one thing (a shard, the tokenizer, the checkpoint directory, the
// memory a model needs), runs the real binary under real mpirun (2 ranks), and checks exit 2,
// one error line (from rank 0, once) naming the file, and that the working directory is
// exactly as before: no store, no checkpoint directory.
#include <gtest/gtest.h>

#include "tests/faults/fault_harness.h"
#include "tests/faults/sweep_fixture.h"

namespace ss::faults {
namespace {

class RunPreflight : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work());
    write_sweep(work());
  }
  fs::path work() const { return dir_ / "work"; }
  // `run` from `cwd` (default work()) must refuse with exit 2 and one line holding `needles`.
  void expect_refused(const std::vector<std::string>& needles, const fs::path& cwd = {},
                      const std::string& config = "sweep.toml") {
    const Listing before = listing(work());
    const Outcome o = run_command(mpirun_run(config + " --store s.db"), cwd.empty() ? work() : cwd,
                                  dir_ / "scratch");
    expect_one_line(o, 2, needles);
    EXPECT_EQ(listing_diff(before, listing(work())), "");
  }
  void toml(const SweepToml& t) { write_text(work() / "sweep.toml", t.text()); }
  TempDir dir_;
};

TEST_F(RunPreflight, MissingShardIsNamedResolvedWithTheWorkingDirectory) {
  fs::remove(work() / "train.bin");
  expect_refused({"[data] train = \"train.bin\"", (work() / "train.bin").string(),
                  "working directory " + work().string(), "no such file"});
}

TEST_F(RunPreflight, RelativeShardPathsFromAnotherWorkingDirectory) {
  fs::create_directories(work() / "elsewhere");
  expect_refused({"no such file", (work() / "elsewhere" / "train.bin").string()},
                 work() / "elsewhere", "../sweep.toml");
}

TEST_F(RunPreflight, ZeroByteShard) {
  write_text(work() / "val.bin", "");
  expect_refused({"val.bin", "truncated"});
}

TEST_F(RunPreflight, TruncatedShard) {
  write_shard(work() / "train.bin", text_tokens(1000), 256, 4000);  // header says 4000
  expect_refused({"train.bin", "header says 4000 tokens"});
}

TEST_F(RunPreflight, TokenAtOrAboveVocab) {
  auto tokens = text_tokens(4000);
  tokens[1234] = 300;
  write_shard(work() / "train.bin", tokens);
  expect_refused({"train.bin", "token 300 at index 1234"});
}

TEST_F(RunPreflight, Gpt2VocabShardUnderABytesConfig) {
  write_shard(work() / "train.bin", text_tokens(4000), 50257);
  expect_refused({"train.bin", "vocabulary of 50257", "tokenizer = \"bytes\""});
}

TEST_F(RunPreflight, Gpt2TokenizerOnByteShards) {
  toml({.data = "tokenizer = \"gpt2\"\ntrain = \"train.bin\"\nval = \"val.bin\"\n"});
  expect_refused({"train.bin", "vocabulary of 256", "tokenizer = \"gpt2\" has 50257"});
}

TEST_F(RunPreflight, TooFewTokensForAnEval) {
  write_shard(work() / "val.bin", text_tokens(10));
  expect_refused({"val.bin", "holds 10 tokens", "n_ctx = 16"});
}

// The eval reads eval_tokens / n_ctx windows of n_ctx + 1 tokens; a 600-token val shard holds
// (600 - 1) / 16 = 37 disjoint ones, so eval_tokens may be at most 37 * 16 = 592.
TEST_F(RunPreflight, EvalTokensFarAboveTheValShard) {
  std::string text = SweepToml{}.text();
  text.replace(text.find("eval_tokens = 32"), 16, "eval_tokens = 100000000");
  write_text(work() / "sweep.toml", text);
  expect_refused({"eval_tokens = 100000000", "6250000 validation windows", "val.bin",
                  "holds 600 tokens", "eval_tokens <= 592"});
}

TEST_F(RunPreflight, EvalTokensOneWindowAboveTheValShard) {
  std::string text = SweepToml{}.text();
  text.replace(text.find("eval_tokens = 32"), 16, "eval_tokens = 608");
  write_text(work() / "sweep.toml", text);
  expect_refused({"eval_tokens = 608", "38 validation windows", "37 windows without overlap"});
}

// The largest eval_tokens that still asks for 37 windows trains: the rule refuses no more than
// it must.
TEST_F(RunPreflight, EvalTokensThatTheValShardHoldsTrains) {
  std::string text = SweepToml{}.text();
  text.replace(text.find("eval_tokens = 32"), 16, "eval_tokens = 607");
  write_text(work() / "sweep.toml", text);
  const Outcome o = run_command(mpirun_run("sweep.toml --store s.db"), work(), dir_ / "scratch");
  ASSERT_EQ(o.rc, 0) << o.all();
  EXPECT_EQ(query_int(work() / "s.db", "select count(*) from runs where status = 'done'"), 2);
}

TEST_F(RunPreflight, ADirectoryAsShard) {
  fs::create_directories(work() / "shards");
  toml({.data = "tokenizer = \"bytes\"\ntrain = \"shards\"\nval = \"val.bin\"\n"});
  expect_refused({"shards", "not a regular file"});
}

TEST_F(RunPreflight, ShardThatIsNotAShard) {
  write_text(work() / "val.bin", "plain text, not tokens: long enough for a 32-byte header\n");
  expect_refused({"val.bin", "not a ScaleSweep token shard"});
}

TEST_F(RunPreflight, CheckpointDirBelowAFile) {
  write_text(work() / "plain", "x");
  toml({.schedule = "checkpoint_dir = \"plain/ckpt\"\n"});
  expect_refused({"checkpoint_dir = \"plain/ckpt\"", "not a directory"});
}

TEST_F(RunPreflight, CheckpointDirInAReadOnlyPlace) {
  fs::create_directories(work() / "ro");
  toml({.schedule = "checkpoint_dir = \"ro/ckpt\"\n"});
  if (auto why = make_read_only(work() / "ro")) GTEST_SKIP() << *why;
  expect_refused({"checkpoint_dir = \"ro/ckpt\"", "not writable"});
}

// A shard its user may not read (mode 000; as root the job runs as `nobody`, since root reads
// anything): it used to end in exit 1 "fatal ... posix_file.cc" from the shard reader.
TEST_F(RunPreflight, AShardTheUserCannotRead) {
  if (::geteuid() == 0 && run_command("command -v setpriv", work(), dir_ / "scratch").rc != 0)
    GTEST_SKIP() << "root without setpriv: mode 000 is readable for root";
  fs::permissions(dir_.path(), fs::perms::all, fs::perm_options::replace);  // nobody may enter
  fs::permissions(work(), fs::perms::all, fs::perm_options::replace);
  for (const char* f : {"sweep.toml", "val.bin"})
    fs::permissions(work() / f, fs::perms::all, fs::perm_options::replace);
  fs::permissions(work() / "train.bin", fs::perms::none, fs::perm_options::replace);
  const Listing before = listing(work());
  const Outcome o = run_command(as_unprivileged("HOME=/tmp " + mpirun_run("sweep.toml --store "
                                                                          "s.db")),
                                work(), dir_ / "scratch");
  expect_one_line(o, 2, {"[data] train = \"train.bin\"", (work() / "train.bin").string(),
                         "cannot be read (Permission denied)", "chmod a+r"});
  EXPECT_EQ(listing_diff(before, listing(work())), "");
}

TEST_F(RunPreflight, AModelThatCannotFitInTheRanksMemory) {
  // n_layer 96, d_model 12288 (GPT-3 175B's shape): about 2.8 TB of fp32 weights + AdamW state.
  toml({.n_layer = "[96]", .d_model = "[12288]"});
  expect_refused({"needs about", "TiB per rank", "MemAvailable"});
}

}  // namespace
}  // namespace ss::faults
