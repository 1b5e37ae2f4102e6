// Checkpoint files: round trip of every field, the reported size and sha256 (checked
// against OpenSSL's command line tool), atomic writes, every corruption (truncate, flip a
// byte, wrong config hash, wrong magic, other version, trailing bytes, missing file) as an
// ss::InputError naming the file, and keep-last-K pruning.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "model/io/checkpoint_file.h"
#include "ss/error.h"
#include "temp_dir.h"

namespace ss::io {
namespace {

using testing::list_dir;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

CheckpointState sample_state() {
  CheckpointState s;
  s.config_hash = "cfg-3f2a";
  s.step = 1234;
  s.tokens_seen = 987654321012LL;
  for (int i = 0; i < 1000; ++i) {
    s.params.push_back(0.001f * i - 0.3f);
    s.adam_m.push_back(-0.5f * i);
    s.adam_v.push_back(1e-8f * i);
  }
  s.rng = {1, 2, 3, 250, 0};
  s.loader = {1, 42, 0xffffffffffffffffULL};
  return s;
}

void expect_bad_checkpoint(const std::filesystem::path& p, std::optional<std::string_view> hash,
                           const std::string& fragment) {
  try {
    read_checkpoint(p, hash);
    FAIL() << "no error for " << p;
  } catch (const ss::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// sha256 by an independent implementation: the openssl / sha256sum command line tool.
std::string sha256sum_cli(const std::filesystem::path& p) {
  const std::string cmd = "sha256sum '" + p.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  char buf[65] = {};
  if (!pipe || std::fread(buf, 1, 64, pipe.get()) != 64) return "sha256sum failed";
  return std::string(buf, 64);
}

TEST(CheckpointFile, RoundTripsEveryFieldAndReportsSizeAndSha256) {
  TempDir dir;
  const CheckpointState s = sample_state();
  const auto path = dir / checkpoint_file_name(s.step);
  const CheckpointInfo info = write_checkpoint(path, s);
  EXPECT_EQ(info.path, path);
  EXPECT_EQ(info.bytes, std::filesystem::file_size(path));
  // header 8+4+4+8+8(hash) + 7*8 counts + 3000 floats + 5 + 24 + 32 trailer
  EXPECT_EQ(info.bytes, 8u + 4 + 4 + 8 + 8 + 56 + 12000 + 5 + 24 + 32);
  EXPECT_EQ(info.sha256, sha256sum_cli(path));
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"step_000001234.ckpt"});

  const CheckpointState r = read_checkpoint(path, "cfg-3f2a");
  EXPECT_EQ(r.config_hash, s.config_hash);
  EXPECT_EQ(r.step, s.step);
  EXPECT_EQ(r.tokens_seen, s.tokens_seen);
  EXPECT_EQ(r.params, s.params);
  EXPECT_EQ(r.adam_m, s.adam_m);
  EXPECT_EQ(r.adam_v, s.adam_v);
  EXPECT_EQ(r.rng, s.rng);
  EXPECT_EQ(r.loader, s.loader);
}

TEST(CheckpointFile, EmptyAdamStateAndOverwrite) {
  TempDir dir;
  CheckpointState s = sample_state();
  s.adam_m.clear();
  s.adam_v.clear();
  const auto path = dir / "c.ckpt";
  write_checkpoint(path, s);
  s.step = 2000;
  write_checkpoint(path, s);  // atomic replace of an existing file
  const CheckpointState r = read_checkpoint(path, std::nullopt);
  EXPECT_EQ(r.step, 2000);
  EXPECT_TRUE(r.adam_m.empty());
  EXPECT_EQ(r.params, s.params);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"c.ckpt"});
}

TEST(CheckpointFile, MismatchedAdamSizesAreRefusedAndWriteNothing) {
  TempDir dir;
  CheckpointState s = sample_state();
  s.adam_m.pop_back();
  EXPECT_THROW(write_checkpoint(dir / "c.ckpt", s), std::invalid_argument);
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(CheckpointFile, EveryCorruptionIsAnInputErrorNamingTheFile) {
  TempDir dir;
  const auto good_path = dir / "good.ckpt";
  write_checkpoint(good_path, sample_state());
  const std::string good = read_bytes(good_path);

  expect_bad_checkpoint(dir / "missing.ckpt", std::nullopt, "cannot be read");
  expect_bad_checkpoint(good_path, "other-config", "config hash mismatch");

  for (size_t cut : {size_t{0}, size_t{5}, size_t{40}, good.size() / 2, good.size() - 1}) {
    write_bytes(dir / "cut.ckpt", good.substr(0, cut));
    expect_bad_checkpoint(dir / "cut.ckpt", std::nullopt, "truncated");
  }

  std::string magic = good;
  magic[1] = 'X';
  write_bytes(dir / "magic.ckpt", magic);
  expect_bad_checkpoint(dir / "magic.ckpt", std::nullopt, "bad magic");

  std::string version = good;
  version[8] = 9;
  write_bytes(dir / "version.ckpt", version);
  expect_bad_checkpoint(dir / "version.ckpt", std::nullopt, "format version 9");

  // One flipped bit in the parameters, in the loader state, and in the trailer itself.
  for (size_t pos : {size_t{200}, good.size() - 40, good.size() - 1}) {
    std::string flipped = good;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x10);
    write_bytes(dir / "flip.ckpt", flipped);
    expect_bad_checkpoint(dir / "flip.ckpt", std::nullopt, "bad checksum");
  }

  // A corrupt count in the header (params count high byte) is caught before allocating.
  std::string count = good;
  count[8 + 4 + 4 + 8 + 8 + 16 + 7] = 0x7f;
  write_bytes(dir / "count.ckpt", count);
  expect_bad_checkpoint(dir / "count.ckpt", std::nullopt, "truncated");

  write_bytes(dir / "long.ckpt", good + "extra");
  expect_bad_checkpoint(dir / "long.ckpt", std::nullopt, "trailing garbage");
}

TEST(CheckpointFile, PruneKeepsTheLastKByStep) {
  TempDir dir;
  CheckpointState s = sample_state();
  for (int64_t step : {100, 20, 300, 1000, 40}) {
    s.step = step;
    write_checkpoint(dir / checkpoint_file_name(step), s);
  }
  write_bytes(dir / "notes.txt", "not a checkpoint");
  write_bytes(dir / "step_000000005.ckpt.tmp-abc123", "a stale temp file");
  const auto deleted = prune_checkpoints(dir.path(), 2);
  ASSERT_EQ(deleted.size(), 3u);
  EXPECT_EQ(deleted[0].filename(), "step_000000020.ckpt");
  EXPECT_EQ(deleted[1].filename(), "step_000000040.ckpt");
  EXPECT_EQ(deleted[2].filename(), "step_000000100.ckpt");
  EXPECT_EQ(list_dir(dir.path()),
            (std::vector<std::string>{"notes.txt", "step_000000005.ckpt.tmp-abc123",
                                      "step_000000300.ckpt", "step_000001000.ckpt"}));
  EXPECT_TRUE(prune_checkpoints(dir.path(), 2).empty());
  EXPECT_THROW(prune_checkpoints(dir.path(), 0), std::invalid_argument);
}

}  // namespace
}  // namespace ss::io
