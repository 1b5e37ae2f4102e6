// prepare_data on a small real corpus written by the test: the shards hold exactly the
// documents' bytes split per document, meta.json records counts and sha256 (checked with
// sha256sum), a re-run replaces the output; every bad input is an ss::InputError that
// leaves nothing written; and the real `scalesweep prepare-data` binary exits 2 on them.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "model/io/prepare_data.h"
#include "model/io/shard.h"
#include "ss/error.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ss::io {
namespace {

using testing::list_dir;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;
namespace fs = std::filesystem;

std::string shard_as_text(const fs::path& p) {
  Shard s(p);
  std::string text;
  for (uint16_t t : s.tokens()) text.push_back(static_cast<char>(t));
  return text;
}

// The shared runner (tests/support/process.h), in the (command, output) -> exit code form used
// here; stderr joins stdout.
int run_command(const std::string& cmd, std::string& output) {
  const auto result = ss::testing::run_command(cmd + " 2>&1");
  output = result.out;
  return result.rc;
}

// Corpus: two 200-byte documents in a directory (plus a hidden file that is skipped).
struct Corpus {
  TempDir dir;
  std::string a, b;
  Corpus() {
    fs::create_directories(dir / "raw" / "sub");
    for (int i = 0; i < 200; ++i) a.push_back(static_cast<char>('a' + i % 26));
    for (int i = 0; i < 200; ++i) b.push_back(static_cast<char>('0' + i % 10));
    write_bytes(dir / "raw" / "a.txt", a);
    write_bytes(dir / "raw" / "sub" / "b.txt", b);
    write_bytes(dir / "raw" / ".complete-marker", "hidden, skipped");
  }
};

TEST(PrepareData, SplitsTheEndOfEachDocumentIntoVal) {
  Corpus c;
  PrepareDataOptions opt;
  opt.inputs = {c.dir / "raw"};
  opt.out_dir = c.dir / "out";
  opt.val_fraction = 0.1;
  uint64_t last_done = 0, calls = 0;
  const auto r = prepare_data(opt, [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, 400u);
    last_done = done;
    ++calls;
  });
  EXPECT_EQ(calls, 2u);
  EXPECT_EQ(last_done, 400u);
  EXPECT_EQ(r.documents, 2u);
  EXPECT_EQ(r.train_tokens, 360u);
  EXPECT_EQ(r.val_tokens, 40u);
  // Sorted paths: raw/a.txt before raw/sub/b.txt; the last 20 bytes of each go to val.
  EXPECT_EQ(shard_as_text(c.dir / "out" / "train.bin"), c.a.substr(0, 180) + c.b.substr(0, 180));
  EXPECT_EQ(shard_as_text(c.dir / "out" / "val.bin"), c.a.substr(180) + c.b.substr(180));
  EXPECT_EQ(Shard(c.dir / "out" / "train.bin").vocab(), 256u);
  EXPECT_EQ(list_dir(c.dir / "out"),
            (std::vector<std::string>{"meta.json", "train.bin", "val.bin"}));
  EXPECT_EQ(list_dir(c.dir.path()), (std::vector<std::string>{"out", "raw"}));  // no temp

  const auto meta = nlohmann::json::parse(read_bytes(c.dir / "out" / "meta.json"));
  EXPECT_EQ(meta["tokenizer"], "bytes");
  EXPECT_EQ(meta["train_tokens"], 360);
  ASSERT_EQ(meta["sources"].size(), 2u);
  std::string sha;
  ASSERT_EQ(run_command("sha256sum '" + (c.dir / "raw" / "a.txt").string() + "'", sha), 0);
  EXPECT_EQ(meta["sources"][0]["sha256"], sha.substr(0, 64));

  // A re-run with other options replaces the earlier output.
  opt.val_fraction = 0.0;
  opt.inputs = {c.dir / "raw" / "a.txt"};
  prepare_data(opt);
  EXPECT_EQ(shard_as_text(c.dir / "out" / "train.bin"), c.a);
  EXPECT_EQ(Shard(c.dir / "out" / "val.bin").size(), 0u);
  EXPECT_EQ(list_dir(c.dir.path()), (std::vector<std::string>{"out", "raw"}));
}

void expect_input_error_writes_nothing(const PrepareDataOptions& opt, const TempDir& dir,
                                       const std::string& fragment) {
  const auto before = list_dir(dir.path());
  try {
    prepare_data(opt);
    FAIL() << "no error; expected: " << fragment;
  } catch (const ss::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
  EXPECT_EQ(list_dir(dir.path()), before);
}

TEST(PrepareData, BadInputsAreInputErrorsAndWriteNothing) {
  Corpus c;
  fs::create_directories(c.dir / "empty_dir");
  write_bytes(c.dir / "empty.txt", "");
  write_bytes(c.dir / "not_a_dir", "x");
  PrepareDataOptions opt;
  opt.out_dir = c.dir / "out";

  opt.inputs = {};
  expect_input_error_writes_nothing(opt, c.dir, "no input");
  opt.inputs = {c.dir / "missing"};
  expect_input_error_writes_nothing(opt, c.dir, "does not exist");
  opt.inputs = {c.dir / "empty_dir"};
  expect_input_error_writes_nothing(opt, c.dir, "holds no files");
  opt.inputs = {c.dir / "empty.txt"};
  expect_input_error_writes_nothing(opt, c.dir, "corpus is empty");
  opt.inputs = {c.dir / "raw"};
  opt.val_fraction = 0.9;
  expect_input_error_writes_nothing(opt, c.dir, "--val-fraction");
  opt.val_fraction = 0.005;
  opt.tokenizer = "words";
  expect_input_error_writes_nothing(opt, c.dir, "unknown");
  opt.tokenizer = "gpt2";
  opt.gpt2_dir = c.dir / "no_vocab_here";
  expect_input_error_writes_nothing(opt, c.dir, "fetch-gpt2-vocab.sh");
  opt.tokenizer = "bytes";
  opt.out_dir = c.dir / "not_a_dir";
  expect_input_error_writes_nothing(opt, c.dir, "existing file");
  opt.out_dir = c.dir / "raw";  // the input itself
  expect_input_error_writes_nothing(opt, c.dir, "holds the input");
  fs::create_directories(c.dir / "other");
  write_bytes(c.dir / "other" / "mine.txt", "x");
  opt.out_dir = c.dir / "other";  // non-empty, not an earlier output
  expect_input_error_writes_nothing(opt, c.dir, "not an earlier prepare-data output");
  if (::geteuid() != 0) {  // root reads any file
    write_bytes(c.dir / "raw" / "locked.txt", "secret");
    fs::permissions(c.dir / "raw" / "locked.txt", fs::perms::none);
    opt.out_dir = c.dir / "out";
    expect_input_error_writes_nothing(opt, c.dir, "not readable");
  }
}

#ifdef SS_TEST_SCALESWEEP
// The real binary: exit 0 and shards on good input, exit 2 and nothing written on bad.
TEST(PrepareDataCli, ExitCodesAndNothingWrittenOnBadInput) {
  Corpus c;
  const std::string bin = SS_TEST_SCALESWEEP;
  std::string out;
  const std::string raw = (c.dir / "raw").string();
  EXPECT_EQ(run_command(bin + " prepare-data --input '" + raw + "' --tokenizer bytes --out '" +
                            (c.dir / "ok").string() + "' --val-fraction 0.1",
                        out),
            0)
      << out;
  EXPECT_EQ(Shard(c.dir / "ok" / "val.bin").size(), 40u);
  const std::vector<std::string> bad = {
      " prepare-data --input '" + (c.dir / "missing").string() + "' --out '" +
          (c.dir / "o").string() + "'",
      " prepare-data --input '" + raw + "' --tokenizer words --out '" + (c.dir / "o").string() +
          "'",
      " prepare-data --input '" + raw + "' --out '" + (c.dir / "o").string() + "' --val-fraction 2",
      " prepare-data --input '" + raw + "' --tokenizer gpt2 --gpt2-dir '" +
          (c.dir / "none").string() + "' --out '" + (c.dir / "o").string() + "'",
      " prepare-data --out '" + (c.dir / "o").string() + "'"};
  for (const auto& args : bad) {
    EXPECT_EQ(run_command(bin + args, out), 2) << args << "\n" << out;
    EXPECT_FALSE(out.empty()) << "a one-line reason is printed: " << args;
    EXPECT_EQ(list_dir(c.dir.path()), (std::vector<std::string>{"ok", "raw"})) << args;
  }
}
#endif

}  // namespace
}  // namespace ss::io
