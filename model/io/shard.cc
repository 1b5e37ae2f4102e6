// ShardWriter / Shard: see shard.h for the format. Validation is complete on open so the
// loader can index tokens without checks (an out-of-range id would index past the
// embedding table).
#include "model/io/shard.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/core.h>

#include "ss/error.h"

namespace ss::io {

static_assert(std::endian::native == std::endian::little,
              "shards and checkpoints are little-endian; a big-endian host needs byte swaps");

namespace {

struct ShardHeader {
  char magic[8];
  uint32_t version;
  uint32_t vocab;
  uint64_t token_count;
  uint64_t reserved;
};
static_assert(sizeof(ShardHeader) == kShardHeaderBytes);

void check_vocab(uint32_t vocab, const std::filesystem::path& path) {
  if (vocab == 0 || vocab > kShardMaxVocab) {
    throw ss::InputError(fmt::format(
        "token shard {}: vocab size {} does not fit uint16 tokens (1..{}); use a tokenizer "
        "with at most {} ids",
        path.string(), vocab, kShardMaxVocab, kShardMaxVocab));
  }
}

}  // namespace

ShardWriter::ShardWriter(const std::filesystem::path& path, uint32_t vocab)
    : file_((check_vocab(vocab, path), path)), vocab_(vocab) {
  ShardHeader h{};
  std::memcpy(h.magic, kShardMagic, sizeof(h.magic));
  h.version = kShardVersion;
  h.vocab = vocab_;
  file_.write(&h, sizeof(h));  // token count patched in commit()
}

void ShardWriter::append(std::span<const uint16_t> tokens) {
  file_.write(tokens.data(), tokens.size_bytes());
  token_count_ += tokens.size();
}

void ShardWriter::commit() {
  file_.pwrite_at(offsetof(ShardHeader, token_count), &token_count_, sizeof(token_count_));
  file_.commit();
}

void write_shard(const std::filesystem::path& path, uint32_t vocab,
                 std::span<const uint16_t> tokens) {
  ShardWriter w(path, vocab);
  w.append(tokens);
  w.commit();
}

Shard::Shard(const std::filesystem::path& path)
    : path_(path), map_([&] {
        if (!std::filesystem::is_regular_file(path)) {
          const bool there = std::filesystem::exists(path);
          throw ss::InputError(fmt::format(
              "token shard {}: {}; create it with `scalesweep prepare-data`", path.string(),
              there ? "not a regular file (a directory?), so not a shard" : "no such file"));
        }
        return MappedFile(path);
      }()) {
  const auto bytes = map_.bytes();
  const std::string where = fmt::format("token shard {}", path.string());
  if (bytes.size() < kShardHeaderBytes) {
    throw ss::InputError(fmt::format(
        "{}: truncated ({} bytes, header alone is {}); re-run `scalesweep prepare-data`", where,
        bytes.size(), kShardHeaderBytes));
  }
  ShardHeader h{};
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, kShardMagic, sizeof(h.magic)) != 0) {
    throw ss::InputError(fmt::format(
        "{}: bad magic (not a ScaleSweep token shard); re-run `scalesweep prepare-data`", where));
  }
  if (h.version != kShardVersion) {
    throw ss::InputError(fmt::format(
        "{}: format version {} but this build reads version {}; re-run `scalesweep prepare-data`",
        where, h.version, kShardVersion));
  }
  check_vocab(h.vocab, path);
  const uint64_t payload = bytes.size() - kShardHeaderBytes;
  if (payload % 2 != 0 || h.token_count > payload / 2 || payload / 2 != h.token_count) {
    throw ss::InputError(fmt::format(
        "{}: header says {} tokens ({} bytes) but the file holds {} bytes after the header "
        "(truncated or corrupt); re-run `scalesweep prepare-data`",
        where, h.token_count, h.token_count * 2, payload));
  }
  vocab_ = h.vocab;
  // mmap is page aligned and the header is 32 bytes, so the u16 view is aligned.
  tokens_ = {reinterpret_cast<const uint16_t*>(bytes.data() + kShardHeaderBytes),
             static_cast<size_t>(h.token_count)};
  const auto bad =
      std::find_if(tokens_.begin(), tokens_.end(), [&](uint16_t t) { return t >= vocab_; });
  if (bad != tokens_.end()) {
    throw ss::InputError(
        fmt::format("{}: token {} at index {} is >= vocab size {} (corrupt); re-run `scalesweep "
                    "prepare-data`",
                    where, *bad, bad - tokens_.begin(), vocab_));
  }
}

}  // namespace ss::io
