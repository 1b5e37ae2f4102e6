// Token shards: round trip, the exact byte layout of the header, and every bad-shard case
// (missing, truncated header, bad magic, other version, length mismatch, token >= vocab,
// vocab that does not fit uint16), each an ss::InputError naming the file.
#include <gtest/gtest.h>

#include <cstring>

#include "model/io/shard.h"
#include "ss/error.h"
#include "tests/support/temp_dir.h"

namespace ss::io {
namespace {

using testing::list_dir;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

// Expects an InputError whose message contains the file's path and `fragment`.
void expect_bad_shard(const std::filesystem::path& p, const std::string& fragment) {
  try {
    Shard s(p);
    FAIL() << "no error for " << p;
  } catch (const ss::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

TEST(Shard, RoundTripAndHeaderLayout) {
  TempDir dir;
  const std::vector<uint16_t> tokens = {0, 1, 255, 7, 42};
  write_shard(dir / "a.bin", 256, tokens);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"a.bin"});  // no temp left

  const std::string raw = read_bytes(dir / "a.bin");
  ASSERT_EQ(raw.size(), 32u + 2 * tokens.size());
  EXPECT_EQ(raw.substr(0, 8), std::string("SSTOK\0\0\0", 8));
  // version 1, vocab 256, count 5, little-endian, written out by hand.
  EXPECT_EQ(raw.substr(8, 4), std::string("\x01\x00\x00\x00", 4));
  EXPECT_EQ(raw.substr(12, 4), std::string("\x00\x01\x00\x00", 4));
  EXPECT_EQ(raw.substr(16, 8), std::string("\x05\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(raw.substr(32, 6), std::string("\x00\x00\x01\x00\xff\x00", 6));

  Shard s(dir / "a.bin");
  EXPECT_EQ(s.vocab(), 256u);
  ASSERT_EQ(s.size(), tokens.size());
  EXPECT_TRUE(std::equal(tokens.begin(), tokens.end(), s.tokens().begin()));
}

TEST(Shard, StreamingWriterAppendsAndUncommittedLeavesNothing) {
  TempDir dir;
  {
    ShardWriter w(dir / "s.bin", 50257);
    const std::vector<uint16_t> a = {1, 2}, b = {50256};
    w.append(a);
    w.append(b);
    w.commit();
  }
  Shard s(dir / "s.bin");
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.tokens()[2], 50256);
  {
    ShardWriter w(dir / "never.bin", 256);
    const std::vector<uint16_t> a = {1, 2};
    w.append(a);
  }  // destroyed without commit
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"s.bin"});
}

TEST(Shard, EmptyShardIsValid) {
  TempDir dir;
  write_shard(dir / "e.bin", 256, {});
  EXPECT_EQ(Shard(dir / "e.bin").size(), 0u);
}

TEST(Shard, VocabAboveUint16IsRefusedAndWritesNothing) {
  TempDir dir;
  EXPECT_THROW(ShardWriter(dir / "big.bin", 65537), ss::InputError);
  EXPECT_THROW(ShardWriter(dir / "zero.bin", 0), ss::InputError);
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(Shard, BadShardsNameTheFile) {
  TempDir dir;
  const std::vector<uint16_t> tokens = {3, 4, 5, 6};
  write_shard(dir / "good.bin", 256, tokens);
  const std::string good = read_bytes(dir / "good.bin");

  expect_bad_shard(dir / "missing.bin", "no such file");

  write_bytes(dir / "short.bin", good.substr(0, 20));
  expect_bad_shard(dir / "short.bin", "truncated");

  std::string magic = good;
  magic[0] = 'X';
  write_bytes(dir / "magic.bin", magic);
  expect_bad_shard(dir / "magic.bin", "bad magic");

  std::string version = good;
  version[8] = 2;
  write_bytes(dir / "version.bin", version);
  expect_bad_shard(dir / "version.bin", "version 2");

  write_bytes(dir / "cut.bin", good.substr(0, good.size() - 2));
  expect_bad_shard(dir / "cut.bin", "truncated or corrupt");

  write_bytes(dir / "odd.bin", good + "x");
  expect_bad_shard(dir / "odd.bin", "truncated or corrupt");

  std::string token = good;
  token[32 + 2 * 2 + 1] = 1;  // token 2 becomes 5 + 256 = 261 >= 256
  write_bytes(dir / "token.bin", token);
  expect_bad_shard(dir / "token.bin", "token 261 at index 2");

  std::string vocab = good;
  vocab[14] = 2;  // vocab 256 + 0x20000 > 65536
  write_bytes(dir / "vocab.bin", vocab);
  expect_bad_shard(dir / "vocab.bin", "does not fit uint16");
}

}  // namespace
}  // namespace ss::io
