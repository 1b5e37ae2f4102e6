// Checkpoint files: one file holds everything needed to resume a training run.
//
// Format (little-endian, version kCheckpointVersion = 2):
//   char[8]  magic "SSCKPT\0\0"
//   u32      version
//   u32      reserved (0)
//   u64      identity length L, then L bytes of identity (which run and shard wrote it, e.g.
//            "point=<key> tp=0/1 n=<params>"; a reader states the one it expects)
//   i64      step (optimizer steps completed)
//   i64      tokens seen
//   u64      number of params P, Adam m values M, Adam v values V (M, V are 0 or P)
//   u64      loop state bytes S, loader state values U
//   f32[P]   params, f32[M] adam_m, f32[V] adam_v, u8[S] loop_state, u64[U] loader
//   u8[32]   SHA-256 of every byte above
// Version 1 has the same bytes; it named the identity "config hash" and the loop state
// (the caller's own bytes, e.g. the trainer's best losses and wall time) "rng". Both are read.
// Invariants: files are written atomically (temp in the same directory, fsync, rename,
// fsync of the directory), so a crash leaves the previous checkpoint intact; a read
// returns only a file whose sizes, checksum and identity all match, anything else is
// an ss::InputError naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ss::io {

inline constexpr char kCheckpointMagic[8] = {'S', 'S', 'C', 'K', 'P', 'T', '\0', '\0'};
inline constexpr uint32_t kCheckpointVersion = 2;
inline constexpr uint32_t kCheckpointOldestReadable = 1;  // same layout, older field names

// What a reader gets back (owning).
struct CheckpointState {
  std::string identity;
  int64_t step = 0;
  int64_t tokens_seen = 0;
  std::vector<float> params, adam_m, adam_v;
  std::vector<uint8_t> loop_state;
  std::vector<uint64_t> loader;
};

// What a writer takes (views, so large parameter buffers are not copied).
struct CheckpointView {
  std::string_view identity;
  int64_t step = 0;
  int64_t tokens_seen = 0;
  std::span<const float> params, adam_m, adam_v;
  std::span<const uint8_t> loop_state;
  std::span<const uint64_t> loader;
};
CheckpointView view_of(const CheckpointState& state);

// Where a checkpoint went: for the store's checkpoints table.
struct CheckpointInfo {
  std::filesystem::path path;
  uint64_t bytes = 0;
  std::string sha256;  // hex SHA-256 of the whole file (trailer included)
};

// Writes atomically; the parent directory must exist. Throws std::invalid_argument if
// adam_m / adam_v sizes are neither 0 nor params.size(), std::runtime_error on I/O errors.
CheckpointInfo write_checkpoint(const std::filesystem::path& path, const CheckpointView& data);
inline CheckpointInfo write_checkpoint(const std::filesystem::path& path,
                                       const CheckpointState& state) {
  return write_checkpoint(path, view_of(state));
}

// Reads and validates (versions kCheckpointOldestReadable..kCheckpointVersion). Throws
// ss::InputError naming the file for: missing file, bad magic, other version,
// truncated/oversized, bad checksum, identity != expected. Pass std::nullopt to accept any
// identity (inspection tools).
CheckpointState read_checkpoint(const std::filesystem::path& path,
                                std::optional<std::string_view> expected_identity);

// Naming convention for a run's checkpoint directory: "step_000001234.ckpt".
std::string checkpoint_file_name(int64_t step);
// Checkpoints in `dir` following the convention, as (step, path), sorted by step.
std::vector<std::pair<int64_t, std::filesystem::path>> list_checkpoints(
    const std::filesystem::path& dir);
// Deletes all but the `keep_last` highest-step checkpoints in `dir` (keep_last >= 1);
// returns the deleted paths so the caller can drop their store rows.
std::vector<std::filesystem::path> prune_checkpoints(const std::filesystem::path& dir,
                                                     int keep_last);

}  // namespace ss::io
