// Token shards: the on-disk form of a tokenized corpus (train.bin / val.bin).
//
// Format (little-endian), 32-byte header then the tokens:
//   offset  0  char[8]  magic "SSTOK\0\0\0"
//   offset  8  u32      version (kShardVersion = 1)
//   offset 12  u32      vocab size (every token < vocab; at most 65536 since tokens are u16)
//   offset 16  u64      token count N
//   offset 24  u64      reserved, 0
//   offset 32  u16[N]   tokens
// Invariant: a Shard that constructs is fully valid (magic, version, file length ==
// 32 + 2N, every token < vocab); anything else is an ss::InputError naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "model/io/posix_file.h"

namespace ss::io {

inline constexpr char kShardMagic[8] = {'S', 'S', 'T', 'O', 'K', '\0', '\0', '\0'};
inline constexpr uint32_t kShardVersion = 1;
inline constexpr uint64_t kShardHeaderBytes = 32;
inline constexpr uint32_t kShardMaxVocab = 65536;  // ids 0..65535 fit in uint16

// Streams tokens into a new shard, written atomically: nothing appears at `path`
// until commit(); destroying an uncommitted writer removes its temp file.
class ShardWriter {
 public:
  // Throws ss::InputError if vocab is 0 or > kShardMaxVocab.
  ShardWriter(const std::filesystem::path& path, uint32_t vocab);
  void append(std::span<const uint16_t> tokens);
  uint64_t token_count() const { return token_count_; }
  void commit();  // patches the header's token count, fsyncs, renames

 private:
  AtomicFile file_;
  uint32_t vocab_;
  uint64_t token_count_ = 0;
};

// One-shot helper: write_shard(path, vocab, tokens).
void write_shard(const std::filesystem::path& path, uint32_t vocab,
                 std::span<const uint16_t> tokens);

// A validated, memory-mapped shard. Movable, not copyable; tokens() stays valid while
// the Shard lives.
class Shard {
 public:
  explicit Shard(const std::filesystem::path& path);

  uint32_t vocab() const { return vocab_; }
  uint64_t size() const { return tokens_.size(); }
  std::span<const uint16_t> tokens() const { return tokens_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  MappedFile map_;
  uint32_t vocab_ = 0;
  std::span<const uint16_t> tokens_;
};

}  // namespace ss::io
