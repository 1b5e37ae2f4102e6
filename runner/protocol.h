// The messages between rank 0 (scheduler, only store writer) and the worker ranks of
// `scalesweep run`, and their binary encoding.
//
// Wire format (little-endian, every rank of one job runs the same binary):
//   header  u32 magic 'SSWP' | u16 version | u16 type | u32 payload length
//   payload the fields of the message type, in declaration order:
//           integers fixed width, doubles as IEEE-754 bits, strings/vectors u32 count + items,
//           optionals a u8 flag (0/1) + the value.
// Invariant: decode_message() either returns a message whose every field was read inside the
// buffer, or throws ProtocolError. It never reads out of bounds, never allocates more than the
// buffer could describe (counts are checked against the bytes left), and rejects a wrong magic,
// version, unknown type, length mismatch, trailing bytes, bad flags and oversize strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "store/records.h"

namespace ss::runner::protocol {

inline constexpr std::uint32_t kMagic = 0x50575353;  // "SSWP" as little-endian bytes
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 12;
// Upper bounds that no valid message reaches (a point key is 16 hex digits, an error message a
// line or a few): anything larger is corruption, rejected before allocating.
inline constexpr std::uint32_t kMaxStringBytes = 1u << 16;
inline constexpr std::uint32_t kMaxPayloadBytes = 64u << 20;

enum class MessageType : std::uint16_t {
  kReady = 1,       // worker -> 0: idle, give me work
  kAssign = 2,      // 0 -> every rank of a group: train this point
  kMetrics = 3,     // group leader -> 0: a batch of metric rows
  kCheckpoint = 4,  // group leader -> 0: a checkpoint file was written
  kDone = 5,        // group leader -> 0: all steps trained
  kFailed = 6,      // group leader -> 0: the run threw; error text
  kDiverged = 7,    // group leader -> 0: NaN/Inf at a step
  kStopped = 8,     // group leader -> 0: stopped on request after a checkpoint
  kHeartbeat = 9,   // group leader -> 0: alive, at step
  kStop = 10,       // 0 -> group leader: checkpoint at the next step and stop
  kShutdown = 11,   // 0 -> worker: leave the worker loop
};

// A malformed, truncated or foreign message.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Ready {};

struct Assign {
  std::uint64_t assignment = 0;  // unique per job; also the tag of the group's communicator
  std::int64_t run_id = 0;
  std::string point_key;  // Point::key, looked up in the worker's own copy of the grid
  std::int64_t attempt = 1;
  std::vector<std::int32_t> group_ranks;  // world ranks of the group, in group-rank order
  std::optional<store::CheckpointRecord> resume;
};

struct Metrics {
  std::uint64_t assignment = 0;
  std::vector<store::MetricRow> rows;
};

struct Checkpoint {
  std::uint64_t assignment = 0;
  store::CheckpointRecord record;
};

// Payload of Done, Diverged and Stopped: the run's final state.
struct RunEnd {
  std::uint64_t assignment = 0;
  std::int64_t step = 0;
  std::int64_t tokens_seen = 0;
  std::optional<std::int64_t> diverged_step;
  std::optional<double> final_train_loss, final_val_loss, best_train_loss, best_val_loss;
  double wall_seconds = 0;  // of this attempt
};
struct Done : RunEnd {};
struct Diverged : RunEnd {};
struct Stopped : RunEnd {};

struct Failed {
  std::uint64_t assignment = 0;
  std::string error;
};

struct Heartbeat {
  std::uint64_t assignment = 0;
  std::int64_t step = 0;
};

struct Stop {};
struct Shutdown {};

using Message = std::variant<Ready, Assign, Metrics, Checkpoint, Done, Failed, Diverged, Stopped,
                             Heartbeat, Stop, Shutdown>;

MessageType message_type(const Message& message);
const char* message_type_name(MessageType type);

// Header + payload. Throws ProtocolError when a string or the payload exceeds the limits.
std::vector<std::byte> encode_message(const Message& message);
// Throws ProtocolError (one line saying what is wrong and at which byte offset).
Message decode_message(std::span<const std::byte> bytes);

}  // namespace ss::runner::protocol
