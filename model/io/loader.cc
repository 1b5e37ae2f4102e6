// TrainLoader / ValLoader: see loader.h. The index arithmetic is all 64-bit unsigned so
// results are identical on every platform.
#include "model/io/loader.h"

#include <stdexcept>

#include <fmt/core.h>

#include "ss/error.h"

namespace ss::io {

namespace {

constexpr uint64_t kLoaderStateVersion = 2;  // 2: sequences numbered across micro steps

void check_length(const Shard& shard, int seq_len, const char* what) {
  if (seq_len < 1) {
    throw ss::InputError(fmt::format("{} loader: seq_len {} must be >= 1", what, seq_len));
  }
  if (shard.size() < static_cast<uint64_t>(seq_len) + 1) {
    throw ss::InputError(fmt::format(
        "{} loader: token shard {} has {} tokens, fewer than seq_len+1 = {}; use a larger "
        "corpus or a shorter seq_len",
        what, shard.path().string(), shard.size(), seq_len + 1));
  }
}

void copy_window(const uint16_t* tok, int seq_len, int32_t* inputs, int32_t* targets) {
  for (int t = 0; t < seq_len; ++t) {
    inputs[t] = tok[t];
    targets[t] = tok[t + 1];
  }
}

}  // namespace

uint64_t splitmix64_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

TrainLoader::TrainLoader(const Shard& shard, int seq_len, uint64_t seed)
    : shard_(&shard), seq_len_(seq_len), seed_(seed) {
  check_length(shard, seq_len, "train");
  num_starts_ = shard.size() - static_cast<uint64_t>(seq_len);
}

uint64_t TrainLoader::window_start(int64_t global_step, int64_t global_index) const {
  // Chained mixing: each coordinate goes through the bijection, so distinct coordinate
  // tuples give independent-looking 64-bit values.
  uint64_t h = splitmix64_mix(seed_);
  h = splitmix64_mix(h ^ static_cast<uint64_t>(global_step));
  h = splitmix64_mix(h ^ static_cast<uint64_t>(global_index));
  // Lemire's multiply-shift maps h uniformly onto [0, num_starts) (bias < num_starts/2^64).
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * num_starts_) >> 64);
}

void TrainLoader::next_batch(int64_t global_step, int micro_step, int dp_rank, int dp_size,
                             int batch, int32_t* inputs, int32_t* targets) const {
  if (dp_size < 1 || dp_rank < 0 || dp_rank >= dp_size || batch < 1) {
    throw std::invalid_argument(
        fmt::format("TrainLoader::next_batch: bad dp_rank {} / dp_size {} / batch {}", dp_rank,
                    dp_size, batch));
  }
  const uint16_t* tok = shard_->tokens().data();
  for (int b = 0; b < batch; ++b) {
    // Sequences of a step are numbered micro step by micro step, rank by rank, so a batch
    // depends only on the global batch: (dp=1, k micro steps) and (dp=k, 1 micro step) with
    // the same B see the same sequences.
    const int64_t global_index =
        (static_cast<int64_t>(micro_step) * dp_size + dp_rank) * batch + b;
    const uint64_t start = window_start(global_step, global_index);
    copy_window(tok + start, seq_len_, inputs + static_cast<size_t>(b) * seq_len_,
                targets + static_cast<size_t>(b) * seq_len_);
  }
}

std::vector<uint64_t> TrainLoader::state() const {
  return {kLoaderStateVersion, seed_, shard_->size(), static_cast<uint64_t>(seq_len_)};
}

void TrainLoader::check_state(std::span<const uint64_t> saved, const std::string& where) const {
  const auto now = state();
  if (saved.size() != now.size() || saved[0] != kLoaderStateVersion) {
    throw ss::InputError(fmt::format(
        "{}: loader state has an unknown layout ({} values); resume from a checkpoint written "
        "by this version or start the point afresh",
        where, saved.size()));
  }
  if (saved[1] != now[1] || saved[2] != now[2] || saved[3] != now[3]) {
    throw ss::InputError(fmt::format(
        "{}: loader state (seed {}, shard of {} tokens, seq_len {}) differs from this run "
        "(seed {}, shard {} of {} tokens, seq_len {}); resume with the same data and config",
        where, saved[1], saved[2], saved[3], now[1], shard_->path().string(), now[2], now[3]));
  }
}

ValLoader::ValLoader(const Shard& shard, int seq_len, int64_t num_windows)
    : shard_(&shard), seq_len_(seq_len), num_windows_(num_windows) {
  check_length(shard, seq_len, "validation");
  if (num_windows < 1) {
    throw ss::InputError(
        fmt::format("validation loader: num_windows {} must be >= 1", num_windows));
  }
}

uint64_t ValLoader::window_start(int64_t k) const {
  if (k < 0 || k >= num_windows_) {
    throw std::out_of_range(fmt::format("ValLoader: window {} of {}", k, num_windows_));
  }
  if (num_windows_ == 1) return 0;
  const uint64_t last_start = shard_->size() - static_cast<uint64_t>(seq_len_) - 1;
  return static_cast<uint64_t>(
      (static_cast<unsigned __int128>(last_start) * static_cast<uint64_t>(k)) /
      static_cast<uint64_t>(num_windows_ - 1));
}

void ValLoader::windows(int64_t first, int count, int32_t* inputs, int32_t* targets) const {
  if (first < 0 || count < 0 || first + count > num_windows_) {
    throw std::out_of_range(fmt::format("ValLoader::windows: [{}, {}) outside [0, {})", first,
                                        first + count, num_windows_));
  }
  const uint16_t* tok = shard_->tokens().data();
  for (int i = 0; i < count; ++i) {
    copy_window(tok + window_start(first + i), seq_len_, inputs + static_cast<size_t>(i) * seq_len_,
                targets + static_cast<size_t>(i) * seq_len_);
  }
}

}  // namespace ss::io
