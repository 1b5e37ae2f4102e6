// Training and validation batches from a token shard.
//
// TrainLoader draws windows of T+1 tokens at positions given by a counter-based hash
// (splitmix64 finaliser) of (seed, global_step, global sequence index in the step).
// So a batch is a pure function of its coordinates: there is no hidden cursor, the
// resume state is only (seed, step), and the same seed gives the same batches on any
// machine. Data parallelism: in micro step m, rank r of D with B sequences each takes
// global sequence indices (m*D + r)*B .. (m*D + r)*B + B-1, so ranks get disjoint slices,
// (dp=1, B=8) is exactly the union of (dp=2, B=4), and (dp=1, 2 micro steps of B) sees
// the same sequences as (dp=2, 1 micro step of B): data parallelism does not change the
// data a point is trained on. Windows are drawn with replacement
// (uniform over all T+1-token windows); over a short run this is close to an epoch's
// coverage and avoids a permutation table.
//
// ValLoader: a fixed set of K windows evenly spaced over the shard, so validation loss
// is comparable across steps and runs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/io/shard.h"

namespace ss::io {

// Mixes a 64-bit value (splitmix64's finaliser; a bijection on u64).
uint64_t splitmix64_mix(uint64_t x);

class TrainLoader {
 public:
  // Throws ss::InputError if the shard is shorter than seq_len + 1 tokens or seq_len < 1.
  TrainLoader(const Shard& shard, int seq_len, uint64_t seed);

  // Start token of global sequence `global_index` of step `global_step` (numbered across
  // micro steps and ranks, see above): uniform in [0, shard.size() - seq_len - 1].
  uint64_t window_start(int64_t global_step, int64_t global_index) const;

  // Fills inputs[b*T + t] = tok[start_b + t], targets[b*T + t] = tok[start_b + t + 1] for
  // this rank's B sequences (global indices (micro_step*dp_size + dp_rank)*B + b). Buffers hold B*T int32 each.
  void next_batch(int64_t global_step, int micro_step, int dp_rank, int dp_size, int batch,
                  int32_t* inputs, int32_t* targets) const;

  int seq_len() const { return seq_len_; }
  uint64_t seed() const { return seed_; }

  // Checkpoint state: {format version, seed, shard token count, seq_len}. The position is
  // the step, which the checkpoint stores on its own.
  std::vector<uint64_t> state() const;
  // Throws ss::InputError (naming `where`, e.g. the checkpoint path) if a saved state does
  // not match this loader (different seed, shard or seq_len would change the batches).
  void check_state(std::span<const uint64_t> saved, const std::string& where) const;

 private:
  const Shard* shard_;
  int seq_len_;
  uint64_t seed_;
  uint64_t num_starts_;  // shard.size() - seq_len
};

class ValLoader {
 public:
  // num_windows windows of seq_len+1 tokens; start k = floor(k * (N - T - 1) / (K - 1))
  // (k = 0 only when K = 1). Throws ss::InputError if the shard is too short.
  ValLoader(const Shard& shard, int seq_len, int64_t num_windows);

  int64_t num_windows() const { return num_windows_; }
  uint64_t window_start(int64_t k) const;
  // Fills `count` windows first, first+1, ... (each seq_len inputs/targets); requires
  // first + count <= num_windows().
  void windows(int64_t first, int count, int32_t* inputs, int32_t* targets) const;

 private:
  const Shard* shard_;
  int seq_len_;
  int64_t num_windows_;
};

}  // namespace ss::io
