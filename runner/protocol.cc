// Encoding and bounds-checked decoding of the runner's messages (format in protocol.h): three
// walks over each message's describe() list (minimum size, write, read).
// Invariant: the Reader checks every read against the bytes left before touching memory, and
// every count before allocating, so arbitrary input can only end in a ProtocolError.
#include "runner/protocol.h"

#include <fmt/core.h>

#include <bit>
#include <cstring>
#include <iterator>
#include <type_traits>
#include <utility>

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

// ---- the three walks over describe(): size bound, write, read -------------------------------

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

// The fewest bytes a value of a type takes on the wire (optionals empty, vectors and strings
// empty): the decoder rejects a count of items that the remaining bytes cannot hold.
struct MinBytes {
  std::size_t total = 0;
  template <typename T>
  void operator()(const char*, const T& value) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      total += sizeof(T);
    } else if constexpr (std::is_same_v<T, std::string> || IsVector<T>::value) {
      total += sizeof(std::uint32_t);
    } else if constexpr (IsOptional<T>::value) {
      total += sizeof(std::uint8_t);
    } else {
      describe(value, *this);
    }
  }
};
template <typename T>
std::size_t min_bytes() {
  MinBytes sum;
  sum("", T{});
  return sum.total;
}

struct FieldWriter {
  Writer& w;
  template <typename T>
  void operator()(const char* name, const T& value) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      w.put<T>(value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      w.put_string(value);
    } else if constexpr (IsOptional<T>::value) {
      w.put<std::uint8_t>(value ? 1 : 0);
      if (value) (*this)(name, *value);
    } else if constexpr (IsVector<T>::value) {
      w.put<std::uint32_t>(static_cast<std::uint32_t>(value.size()));
      for (const auto& item : value) (*this)(name, item);
    } else {
      describe(value, *this);
    }
  }
};

struct FieldReader {
  Reader& r;
  template <typename T>
  void operator()(const char* name, T& value) {
    if constexpr (std::is_same_v<T, TrainEnd>) {
      const auto raw = r.get<std::uint8_t>(name);
      if (raw > static_cast<std::uint8_t>(TrainEnd::kDiverged)) {
        r.fail(fmt::format("{}: {} is not a TrainEnd", name, raw));
      }
      value = static_cast<TrainEnd>(raw);
    } else if constexpr (std::is_arithmetic_v<T>) {
      value = r.get<T>(name);
    } else if constexpr (std::is_same_v<T, std::string>) {
      value = r.get_string(name);
    } else if constexpr (IsOptional<T>::value) {
      const auto flag = r.get<std::uint8_t>(name);
      if (flag > 1) r.fail(fmt::format("{}: optional flag {} is not 0 or 1", name, flag));
      value.reset();
      if (flag == 1) {
        typename T::value_type item{};
        (*this)(name, item);
        value = std::move(item);
      }
    } else if constexpr (IsVector<T>::value) {
      const auto n = r.get_count(name, min_bytes<typename T::value_type>());
      value.clear();
      value.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) (*this)(name, value.emplace_back());
    } else {
      static_assert(!std::is_enum_v<T>, "an enum field needs its range check here");
      describe(value, *this);
    }
  }
};

// Checks beyond the wire format, per message type.
template <typename M>
void check(const M&, Reader&) {}
void check(const Assign& a, Reader& r) {
  if (a.group_ranks.empty()) r.fail("assign.group_ranks: empty group");
  for (const auto rank : a.group_ranks) {
    if (rank < 0) r.fail(fmt::format("assign.group_rank: negative rank {}", rank));
  }
}

template <typename M>
Message read_as(Reader& r) {
  M message;
  FieldReader read{r};
  describe(message, read);
  check(message, r);
  return Message(std::in_place_type<M>, std::move(message));
}

// Reads the payload of variant alternative `index` (= message type - 1).
template <std::size_t... I>
Message read_payload(std::size_t index, Reader& r, std::index_sequence<I...>) {
  using Read = Message (*)(Reader&);
  static constexpr Read kRead[] = {&read_as<std::variant_alternative_t<I, Message>>...};
  return kRead[index](r);
}

constexpr const char* kTypeNames[] = {"ready",     "assign", "metrics",  "checkpoint",
                                      "ended",     "failed", "heartbeat", "stop",
                                      "shutdown",  "fatal"};
static_assert(std::size(kTypeNames) == std::variant_size_v<Message>);

}  // namespace

MessageType message_type(const Message& message) {
  // The variant's alternatives are declared in MessageType order, starting at 1.
  return static_cast<MessageType>(message.index() + 1);
}

const char* message_type_name(MessageType type) {
  const auto index = static_cast<std::size_t>(type) - 1;
  return index < std::size(kTypeNames) ? kTypeNames[index] : "unknown";
}

std::vector<std::byte> encode_message(const Message& message) {
  Writer w;
  w.put<std::uint32_t>(kMagic);
  w.put<std::uint16_t>(kVersion);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(message_type(message)));
  w.put<std::uint32_t>(0);  // payload length, patched below
  std::visit(
      [&w](const auto& m) {
        FieldWriter write{w};
        describe(m, write);
      },
      message);
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
      type > static_cast<std::uint16_t>(MessageType::kFatal)) {
    header.fail(fmt::format("unknown message type {}", type));
  }
  const auto length = header.get<std::uint32_t>("header.length");
  if (length > kMaxPayloadBytes || length != bytes.size() - kHeaderBytes) {
    header.fail(fmt::format("payload length {} but {} bytes follow the header", length,
                            bytes.size() - kHeaderBytes));
  }
  Reader payload(bytes.subspan(kHeaderBytes), kHeaderBytes);
  Message message = read_payload(type - 1u, payload,
                                 std::make_index_sequence<std::variant_size_v<Message>>{});
  payload.expect_end();
  return message;
}

}  // namespace ss::runner::protocol
