// Encoding and bounds-checked decoding of the runner's messages (format in protocol.h).
// Invariant: the Reader checks every read against the bytes left before touching memory, and
// every count before allocating, so arbitrary input can only end in a ProtocolError.
#include "runner/protocol.h"

#include <fmt/core.h>

#include <bit>
#include <cstring>
#include <type_traits>

namespace ss::runner::protocol {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the wire format is little-endian and written with memcpy");

class Writer {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));
  }
  void put_string(const std::string& s) {
    if (s.size() > kMaxStringBytes) {
      throw ProtocolError(fmt::format("protocol: string of {} bytes exceeds the {} byte limit",
                                      s.size(), kMaxStringBytes));
    }
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    const auto at = bytes_.size();
    bytes_.resize(at + s.size());
    if (!s.empty()) std::memcpy(bytes_.data() + at, s.data(), s.size());
  }
  template <typename T>
  void put_optional(const std::optional<T>& v) {
    put<std::uint8_t>(v ? 1 : 0);
    if (v) put<T>(*v);
  }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

class Reader {
 public:
  Reader(std::span<const std::byte> bytes, std::size_t base) : bytes_(bytes), base_(base) {}

  template <typename T>
  T get(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  std::string get_string(const char* what) {
    const auto n = get<std::uint32_t>(what);
    if (n > kMaxStringBytes) fail(fmt::format("{}: string length {} over the limit", what, n));
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return s;
  }
  template <typename T>
  std::optional<T> get_optional(const char* what) {
    const auto flag = get<std::uint8_t>(what);
    if (flag > 1) fail(fmt::format("{}: optional flag {} is not 0 or 1", what, flag));
    if (flag == 0) return std::nullopt;
    return get<T>(what);
  }
  // A vector count whose items take at least min_item_bytes each: a count the remaining bytes
  // cannot hold is rejected before anything is allocated.
  std::uint32_t get_count(const char* what, std::size_t min_item_bytes) {
    const auto n = get<std::uint32_t>(what);
    if (static_cast<std::uint64_t>(n) * min_item_bytes > bytes_.size() - at_) {
      fail(fmt::format("{}: count {} does not fit in the {} bytes left", what, n,
                       bytes_.size() - at_));
    }
    return n;
  }
  void expect_end() {
    if (at_ != bytes_.size()) {
      fail(fmt::format("{} trailing bytes after the payload", bytes_.size() - at_));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw ProtocolError(
        fmt::format("protocol: malformed message at byte {}: {}", base_ + at_, what));
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > bytes_.size() - at_) {
      fail(fmt::format("{}: needs {} bytes, {} left (truncated)", what, n, bytes_.size() - at_));
    }
  }
  std::span<const std::byte> bytes_;
  std::size_t base_;
  std::size_t at_ = 0;
};

// ---- per-type payloads ------------------------------------------------------------------------

void write_checkpoint_record(Writer& w, const store::CheckpointRecord& c) {
  w.put<std::int64_t>(c.run);
  w.put<std::int64_t>(c.step);
  w.put_string(c.path);
  w.put<std::int64_t>(c.bytes);
  w.put_string(c.sha256);
  w.put<double>(c.created);
}
store::CheckpointRecord read_checkpoint_record(Reader& r) {
  store::CheckpointRecord c;
  c.run = r.get<std::int64_t>("checkpoint.run");
  c.step = r.get<std::int64_t>("checkpoint.step");
  c.path = r.get_string("checkpoint.path");
  c.bytes = r.get<std::int64_t>("checkpoint.bytes");
  c.sha256 = r.get_string("checkpoint.sha256");
  c.created = r.get<double>("checkpoint.created");
  return c;
}

// Fixed part of a metric row: run, step, tokens, flops + 6 optional flags.
constexpr std::size_t kMinMetricRowBytes = 8 * 4 + 6;

void write_metric_row(Writer& w, const store::MetricRow& m) {
  w.put<std::int64_t>(m.run);
  w.put<std::int64_t>(m.step);
  w.put<std::int64_t>(m.tokens);
  w.put<double>(m.flops);
  w.put_optional(m.train_loss);
  w.put_optional(m.val_loss);
  w.put_optional(m.lr);
  w.put_optional(m.grad_norm);
  w.put_optional(m.tokens_per_s);
  w.put_optional(m.wall);
}
store::MetricRow read_metric_row(Reader& r) {
  store::MetricRow m;
  m.run = r.get<std::int64_t>("metric.run");
  m.step = r.get<std::int64_t>("metric.step");
  m.tokens = r.get<std::int64_t>("metric.tokens");
  m.flops = r.get<double>("metric.flops");
  m.train_loss = r.get_optional<double>("metric.train_loss");
  m.val_loss = r.get_optional<double>("metric.val_loss");
  m.lr = r.get_optional<double>("metric.lr");
  m.grad_norm = r.get_optional<double>("metric.grad_norm");
  m.tokens_per_s = r.get_optional<double>("metric.tokens_per_s");
  m.wall = r.get_optional<double>("metric.wall");
  return m;
}

void write_run_end(Writer& w, const RunEnd& e) {
  w.put<std::uint64_t>(e.assignment);
  w.put<std::int64_t>(e.step);
  w.put<std::int64_t>(e.tokens_seen);
  w.put_optional(e.diverged_step);
  w.put_optional(e.final_train_loss);
  w.put_optional(e.final_val_loss);
  w.put_optional(e.best_train_loss);
  w.put_optional(e.best_val_loss);
  w.put<double>(e.wall_seconds);
}
RunEnd read_run_end(Reader& r) {
  RunEnd e;
  e.assignment = r.get<std::uint64_t>("end.assignment");
  e.step = r.get<std::int64_t>("end.step");
  e.tokens_seen = r.get<std::int64_t>("end.tokens_seen");
  e.diverged_step = r.get_optional<std::int64_t>("end.diverged_step");
  e.final_train_loss = r.get_optional<double>("end.final_train_loss");
  e.final_val_loss = r.get_optional<double>("end.final_val_loss");
  e.best_train_loss = r.get_optional<double>("end.best_train_loss");
  e.best_val_loss = r.get_optional<double>("end.best_val_loss");
  e.wall_seconds = r.get<double>("end.wall_seconds");
  return e;
}

struct PayloadWriter {
  Writer& w;
  void operator()(const Ready&) const {}
  void operator()(const Stop&) const {}
  void operator()(const Shutdown&) const {}
  void operator()(const Assign& a) const {
    w.put<std::uint64_t>(a.assignment);
    w.put<std::int64_t>(a.run_id);
    w.put_string(a.point_key);
    w.put<std::int64_t>(a.attempt);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(a.group_ranks.size()));
    for (const auto rank : a.group_ranks) w.put<std::int32_t>(rank);
    w.put<std::uint8_t>(a.resume ? 1 : 0);
    if (a.resume) write_checkpoint_record(w, *a.resume);
  }
  void operator()(const Metrics& m) const {
    w.put<std::uint64_t>(m.assignment);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(m.rows.size()));
    for (const auto& row : m.rows) write_metric_row(w, row);
  }
  void operator()(const Checkpoint& c) const {
    w.put<std::uint64_t>(c.assignment);
    write_checkpoint_record(w, c.record);
  }
  void operator()(const Done& d) const { write_run_end(w, d); }
  void operator()(const Diverged& d) const { write_run_end(w, d); }
  void operator()(const Stopped& d) const { write_run_end(w, d); }
  void operator()(const Failed& f) const {
    w.put<std::uint64_t>(f.assignment);
    w.put_string(f.error);
  }
  void operator()(const Heartbeat& h) const {
    w.put<std::uint64_t>(h.assignment);
    w.put<std::int64_t>(h.step);
  }
};

Message read_payload(MessageType type, Reader& r) {
  switch (type) {
    case MessageType::kReady:
      return Ready{};
    case MessageType::kStop:
      return Stop{};
    case MessageType::kShutdown:
      return Shutdown{};
    case MessageType::kAssign: {
      Assign a;
      a.assignment = r.get<std::uint64_t>("assign.assignment");
      a.run_id = r.get<std::int64_t>("assign.run_id");
      a.point_key = r.get_string("assign.point_key");
      a.attempt = r.get<std::int64_t>("assign.attempt");
      const auto n = r.get_count("assign.group_ranks", sizeof(std::int32_t));
      if (n == 0) r.fail("assign.group_ranks: empty group");
      a.group_ranks.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) {
        const auto rank = r.get<std::int32_t>("assign.group_rank");
        if (rank < 0) r.fail(fmt::format("assign.group_rank: negative rank {}", rank));
        a.group_ranks.push_back(rank);
      }
      const auto has_resume = r.get<std::uint8_t>("assign.resume");
      if (has_resume > 1) r.fail("assign.resume: flag is not 0 or 1");
      if (has_resume) a.resume = read_checkpoint_record(r);
      return a;
    }
    case MessageType::kMetrics: {
      Metrics m;
      m.assignment = r.get<std::uint64_t>("metrics.assignment");
      const auto n = r.get_count("metrics.rows", kMinMetricRowBytes);
      m.rows.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) m.rows.push_back(read_metric_row(r));
      return m;
    }
    case MessageType::kCheckpoint: {
      Checkpoint c;
      c.assignment = r.get<std::uint64_t>("checkpoint.assignment");
      c.record = read_checkpoint_record(r);
      return c;
    }
    case MessageType::kDone:
      return Done{read_run_end(r)};
    case MessageType::kDiverged:
      return Diverged{read_run_end(r)};
    case MessageType::kStopped:
      return Stopped{read_run_end(r)};
    case MessageType::kFailed: {
      Failed f;
      f.assignment = r.get<std::uint64_t>("failed.assignment");
      f.error = r.get_string("failed.error");
      return f;
    }
    case MessageType::kHeartbeat: {
      Heartbeat h;
      h.assignment = r.get<std::uint64_t>("heartbeat.assignment");
      h.step = r.get<std::int64_t>("heartbeat.step");
      return h;
    }
  }
  r.fail(fmt::format("unknown message type {}", static_cast<unsigned>(type)));
}

}  // namespace

MessageType message_type(const Message& message) {
  // The variant's alternatives are declared in MessageType order, starting at 1.
  return static_cast<MessageType>(message.index() + 1);
}

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::kReady:
      return "ready";
    case MessageType::kAssign:
      return "assign";
    case MessageType::kMetrics:
      return "metrics";
    case MessageType::kCheckpoint:
      return "checkpoint";
    case MessageType::kDone:
      return "done";
    case MessageType::kFailed:
      return "failed";
    case MessageType::kDiverged:
      return "diverged";
    case MessageType::kStopped:
      return "stopped";
    case MessageType::kHeartbeat:
      return "heartbeat";
    case MessageType::kStop:
      return "stop";
    case MessageType::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

std::vector<std::byte> encode_message(const Message& message) {
  Writer w;
  w.put<std::uint32_t>(kMagic);
  w.put<std::uint16_t>(kVersion);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(message_type(message)));
  w.put<std::uint32_t>(0);  // payload length, patched below
  std::visit(PayloadWriter{w}, message);
  auto& bytes = w.bytes();
  const std::size_t payload = bytes.size() - kHeaderBytes;
  if (payload > kMaxPayloadBytes) {
    throw ProtocolError(fmt::format("protocol: payload of {} bytes exceeds the {} byte limit",
                                    payload, kMaxPayloadBytes));
  }
  const auto length = static_cast<std::uint32_t>(payload);
  std::memcpy(bytes.data() + 8, &length, sizeof(length));
  return std::move(bytes);
}

Message decode_message(std::span<const std::byte> bytes) {
  Reader header(bytes, 0);
  const auto magic = header.get<std::uint32_t>("header.magic");
  if (magic != kMagic) header.fail(fmt::format("bad magic 0x{:08x}", magic));
  const auto version = header.get<std::uint16_t>("header.version");
  if (version != kVersion) {
    header.fail(fmt::format("version {} (this build speaks {})", version, kVersion));
  }
  const auto type = header.get<std::uint16_t>("header.type");
  if (type < static_cast<std::uint16_t>(MessageType::kReady) ||
      type > static_cast<std::uint16_t>(MessageType::kShutdown)) {
    header.fail(fmt::format("unknown message type {}", type));
  }
  const auto length = header.get<std::uint32_t>("header.length");
  if (length > kMaxPayloadBytes || length != bytes.size() - kHeaderBytes) {
    header.fail(fmt::format("payload length {} but {} bytes follow the header", length,
                            bytes.size() - kHeaderBytes));
  }
  Reader payload(bytes.subspan(kHeaderBytes), kHeaderBytes);
  Message message = read_payload(static_cast<MessageType>(type), payload);
  payload.expect_end();
  return message;
}

}  // namespace ss::runner::protocol
