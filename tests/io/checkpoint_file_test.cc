// Checkpoint files: round trip of every field, the reported size and sha256 (checked
// against OpenSSL's command line tool), atomic writes, every corruption (truncate, flip a
// byte, wrong identity, wrong magic, other version, trailing bytes, missing file) as an
// ss::InputError naming the file, and keep-last-K pruning.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>
#include <memory>

#include "model/io/checkpoint_file.h"
#include "ss/error.h"
#include "tests/support/temp_dir.h"

namespace ss::io {
namespace {

using testing::list_dir;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

CheckpointState sample_state() {
  CheckpointState s;
  s.identity = "cfg-3f2a";
  s.step = 1234;
  s.tokens_seen = 987654321012LL;
  for (int i = 0; i < 1000; ++i) {
    s.params.push_back(0.001f * i - 0.3f);
    s.adam_m.push_back(-0.5f * i);
    s.adam_v.push_back(1e-8f * i);
  }
  s.loop_state = {1, 2, 3, 250, 0};
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
  EXPECT_EQ(r.identity, s.identity);
  EXPECT_EQ(r.step, s.step);
  EXPECT_EQ(r.tokens_seen, s.tokens_seen);
  EXPECT_EQ(r.params, s.params);
  EXPECT_EQ(r.adam_m, s.adam_m);
  EXPECT_EQ(r.adam_v, s.adam_v);
  EXPECT_EQ(r.loop_state, s.loop_state);
  EXPECT_EQ(r.loader, s.loader);
}

// A version-1 file (fields then named "config hash" and "rng") written by write_checkpoint
// at commit e2fb372, before the rename, with the values checked here (265 bytes). Version 2
// has the same bytes: re-writing it changes only the version word and the trailer.
TEST(CheckpointFile, ReadsVersionOneFiles) {
  const std::filesystem::path v1 =
      std::filesystem::path(SS_TEST_REPO_ROOT) / "tests/io/data/checkpoint_v1.ckpt";
  const std::string v1_bytes = read_bytes(v1);
  ASSERT_EQ(v1_bytes.size(), 265u);
  ASSERT_EQ(v1_bytes[8], 1);
  const CheckpointState s = read_checkpoint(v1, "point=0123456789abcdef tp=0/1 n=6");
  EXPECT_EQ(s.identity, "point=0123456789abcdef tp=0/1 n=6");
  EXPECT_EQ(s.step, 7);
  EXPECT_EQ(s.tokens_seen, 14336);
  EXPECT_EQ(s.params, (std::vector<float>{0.5f, -1.25f, 3.0f, 0.125f, -0.0625f, 2.5f}));
  EXPECT_EQ(s.adam_m, (std::vector<float>{0.01f, 0.02f, -0.03f, 0.04f, -0.05f, 0.06f}));
  EXPECT_EQ(s.adam_v, (std::vector<float>{1e-4f, 2e-4f, 3e-4f, 4e-4f, 5e-4f, 6e-4f}));
  ASSERT_EQ(s.loop_state.size(), 24u);  // the trainer's best train, best val, wall seconds
  double loop[3];
  std::memcpy(loop, s.loop_state.data(), sizeof(loop));
  EXPECT_EQ(loop[0], 2.75);
  EXPECT_EQ(loop[1], 2.5);
  EXPECT_EQ(loop[2], 12.5);
  EXPECT_EQ(s.loader, (std::vector<uint64_t>{1, 1000000, 64}));
  expect_bad_checkpoint(v1, "point=0123456789abcdef tp=1/2 n=6", "identity mismatch");

  TempDir dir;
  write_checkpoint(dir / "v2.ckpt", s);
  const std::string v2_bytes = read_bytes(dir / "v2.ckpt");
  ASSERT_EQ(v2_bytes.size(), v1_bytes.size());
  EXPECT_EQ(v2_bytes[8], 2);
  EXPECT_EQ(v2_bytes.substr(0, 8), v1_bytes.substr(0, 8));
  EXPECT_EQ(v2_bytes.substr(9, v2_bytes.size() - 9 - 32), v1_bytes.substr(9, v1_bytes.size() - 9 - 32));
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
  expect_bad_checkpoint(good_path, "other-config", "identity mismatch");

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
  version[8] = 0;
  write_bytes(dir / "version0.ckpt", version);
  expect_bad_checkpoint(dir / "version0.ckpt", std::nullopt, "format version 0");

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
