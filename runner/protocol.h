// The messages between rank 0 (scheduler, only store writer) and the worker ranks of
// `scalesweep run`, and their binary encoding.
//
// Each message type lists its fields ONCE, in describe(message, visitor): the encoder, the
// bounds-checked decoder and the minimum-size computation all walk that list, so a field cannot
// be written and not read (or read in another order). A new field is one line there.
//
// Wire format (little-endian, every rank of one job runs the same binary):
//   header  u32 magic 'SSWP' | u16 version | u16 type | u32 payload length
//   payload the described fields, in order: integers and enums fixed width, doubles as IEEE-754
//           bits, bools a u8 0/1, strings/vectors u32 count + items, optionals a u8 flag (0/1) +
//           the value, records their own described fields.
// Invariant: decode_message() either returns a message whose every field was read inside the
// buffer, or throws ProtocolError. It never reads out of bounds, never allocates more than the
// buffer could describe (counts are checked against the bytes left), and rejects a wrong magic,
// version, unknown type, length mismatch, trailing bytes, bad flags, out-of-range enums and
// oversize strings.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "runner/train_result.h"
#include "store/records.h"

namespace ss::runner::protocol {

inline constexpr std::uint32_t kMagic = 0x50575353;  // "SSWP" as little-endian bytes
// 2: Ended replaces Done/Diverged/Stopped. 3: Ready carries host and pid; Fatal.
inline constexpr std::uint16_t kVersion = 3;
inline constexpr std::size_t kHeaderBytes = 12;
// Upper bounds that no valid message reaches (a point key is 16 hex digits, an error message a
// line or a few): anything larger is corruption, rejected before allocating.
inline constexpr std::uint32_t kMaxStringBytes = 1u << 16;
inline constexpr std::uint32_t kMaxPayloadBytes = 64u << 20;

enum class MessageType : std::uint16_t {
  kReady = 1,       // worker -> 0: started (host, pid), give me work
  kAssign = 2,      // 0 -> every rank of a group: train this point
  kMetrics = 3,     // group leader -> 0: a batch of metric rows
  kCheckpoint = 4,  // group leader -> 0: a checkpoint file was written
  kEnded = 5,       // group leader -> 0: the run returned (done, stopped or diverged)
  kFailed = 6,      // every rank of a group -> 0: the run threw on this rank; error text
  kHeartbeat = 7,   // group leader -> 0: alive, at step (also during long evals)
  kStop = 8,        // 0 -> group leader: checkpoint at the next step and stop
  kShutdown = 9,    // 0 -> worker: leave the worker loop
  kFatal = 10,      // worker -> 0: this rank cannot go on (outside a run's training); error text
};

// A malformed, truncated or foreign message.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Ready {
  std::string host;  // the worker's host name and process id, for rank 0's messages
  std::int64_t pid = 0;
  bool operator==(const Ready&) const = default;
};

struct Assign {
  std::uint64_t assignment = 0;  // unique per job; also the tag of the group's communicator
  std::int64_t run_id = 0;
  std::string point_key;  // Point::key, looked up in the worker's own copy of the grid
  std::int64_t attempt = 1;
  std::vector<std::int32_t> group_ranks;  // world ranks of the group, in group-rank order
  std::optional<store::CheckpointRecord> resume;
  bool operator==(const Assign&) const = default;
};

struct Metrics {
  std::uint64_t assignment = 0;
  std::vector<store::MetricRow> rows;
  bool operator==(const Metrics&) const = default;
};

struct Checkpoint {
  std::uint64_t assignment = 0;
  store::CheckpointRecord record;
  bool operator==(const Checkpoint&) const = default;
};

// The training function returned: its result, unchanged.
struct Ended {
  std::uint64_t assignment = 0;
  TrainResult result;
  bool operator==(const Ended&) const = default;
};

struct Failed {
  std::uint64_t assignment = 0;
  std::string error;
  bool operator==(const Failed&) const = default;
};

struct Heartbeat {
  std::uint64_t assignment = 0;
  std::int64_t step = 0;
  bool operator==(const Heartbeat&) const = default;
};

struct Stop {
  bool operator==(const Stop&) const = default;
};
struct Shutdown {
  bool operator==(const Shutdown&) const = default;
};

// The worker cannot go on (a transport or protocol error, a failure outside a run): rank 0
// prints `error` once and ends the job; the worker waits for that instead of printing.
struct Fatal {
  std::string error;
  bool operator==(const Fatal&) const = default;
};

// The variant's alternatives are in MessageType order, starting at 1.
using Message = std::variant<Ready, Assign, Metrics, Checkpoint, Ended, Failed, Heartbeat, Stop,
                             Shutdown, Fatal>;
static_assert(static_cast<std::size_t>(MessageType::kFatal) == std::variant_size_v<Message>);

// ---- the field lists (one per message and per record a message carries) -----------------------
// `v(name, field)` for each field in wire order; S is the type, const or not.
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, store::CheckpointRecord>
void describe(S& c, V& v) {
  v("checkpoint.run", c.run);
  v("checkpoint.step", c.step);
  v("checkpoint.path", c.path);
  v("checkpoint.bytes", c.bytes);
  v("checkpoint.sha256", c.sha256);
  v("checkpoint.created", c.created);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, store::MetricRow>
void describe(S& m, V& v) {
  v("metric.run", m.run);
  v("metric.step", m.step);
  v("metric.tokens", m.tokens);
  v("metric.flops", m.flops);
  v("metric.train_loss", m.train_loss);
  v("metric.val_loss", m.val_loss);
  v("metric.lr", m.lr);
  v("metric.grad_norm", m.grad_norm);
  v("metric.tokens_per_s", m.tokens_per_s);
  v("metric.wall", m.wall);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, store::RunOutcome>
void describe(S& o, V& v) {
  v("outcome.step", o.step);
  v("outcome.tokens_seen", o.tokens_seen);
  v("outcome.final_train_loss", o.final_train_loss);
  v("outcome.final_val_loss", o.final_val_loss);
  v("outcome.best_train_loss", o.best_train_loss);
  v("outcome.best_val_loss", o.best_val_loss);
  v("outcome.wall_seconds", o.wall_seconds);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, TrainResult>
void describe(S& r, V& v) {
  v("result.end", r.end);
  v("result.outcome", r.outcome);
  v("result.diverged_step", r.diverged_step);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Assign>
void describe(S& a, V& v) {
  v("assign.assignment", a.assignment);
  v("assign.run_id", a.run_id);
  v("assign.point_key", a.point_key);
  v("assign.attempt", a.attempt);
  v("assign.group_ranks", a.group_ranks);
  v("assign.resume", a.resume);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Metrics>
void describe(S& m, V& v) {
  v("metrics.assignment", m.assignment);
  v("metrics.rows", m.rows);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Checkpoint>
void describe(S& c, V& v) {
  v("checkpoint.assignment", c.assignment);
  v("checkpoint.record", c.record);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Ended>
void describe(S& e, V& v) {
  v("ended.assignment", e.assignment);
  v("ended.result", e.result);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Failed>
void describe(S& f, V& v) {
  v("failed.assignment", f.assignment);
  v("failed.error", f.error);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Ready>
void describe(S& r, V& v) {
  v("ready.host", r.host);
  v("ready.pid", r.pid);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Fatal>
void describe(S& f, V& v) {
  v("fatal.error", f.error);
}
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Heartbeat>
void describe(S& h, V& v) {
  v("heartbeat.assignment", h.assignment);
  v("heartbeat.step", h.step);
}
// Messages without fields.
template <typename S, typename V>
  requires std::same_as<std::remove_const_t<S>, Stop> ||
           std::same_as<std::remove_const_t<S>, Shutdown>
void describe(S&, V&) {}

MessageType message_type(const Message& message);
const char* message_type_name(MessageType type);

// Header + payload. Throws ProtocolError when a string or the payload exceeds the limits.
std::vector<std::byte> encode_message(const Message& message);
// Throws ProtocolError (one line saying what is wrong and at which byte offset).
Message decode_message(std::span<const std::byte> bytes);

}  // namespace ss::runner::protocol
