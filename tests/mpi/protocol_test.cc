// Protocol round trips of every message type, and the rejection of malformed input: hand-made
// corruptions (bad magic/version/type/length, trailing bytes, oversize counts and strings, bad
// flags) plus a fuzz loop of 100k cases (random bytes, every truncation, bit flips and random
// header-preserving garbage) that must each decode or throw ProtocolError, never crash.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "runner/protocol.h"
#include "tests/support/store_rows.h"

namespace ss::runner::protocol {
namespace {

// Every field of every sample holds a value other than its default, so a field that the codec
// drops (written and read by neither side) comes back different and fails the round trip.
store::MetricRow sample_row(std::int64_t step) {
  store::MetricRow row =
      ss::testing::metric_row(7, step, step * 2048, 1.5e12 * static_cast<double>(step),
                              3.25 - 0.01 * static_cast<double>(step), 3.5);
  row.lr = 1e-3;
  row.grad_norm = 0.75;
  row.tokens_per_s = 12345.5;
  row.wall = 0.5 * static_cast<double>(step);
  return row;
}

TrainResult sample_result(TrainEnd end) {
  TrainResult r;
  r.end = end;
  r.outcome.step = 100;
  r.outcome.tokens_seen = 204800;
  r.outcome.final_train_loss = 2.5;
  r.outcome.final_val_loss = 2.625;
  r.outcome.best_train_loss = 2.4375;
  r.outcome.best_val_loss = 2.6;
  r.outcome.wall_seconds = 12.5;
  r.diverged_step = 101;
  return r;
}

std::vector<Message> sample_messages() {
  Assign assign;
  assign.assignment = 42;
  assign.run_id = 9;
  assign.point_key = "0123456789abcdef";
  assign.attempt = 2;
  assign.group_ranks = {3, 4};
  assign.resume =
      store::CheckpointRecord{9, 100, "ckpt/a/step-100.ckpt", 4096, std::string(64, 'f'), 1.7e9};
  Assign plain = assign;
  plain.resume.reset();
  plain.group_ranks = {1};
  Metrics metrics;
  metrics.assignment = 42;
  for (int s = 1; s <= 5; ++s) metrics.rows.push_back(sample_row(s));
  store::MetricRow bare;  // every optional empty
  bare.run = 7;
  bare.step = 1;
  bare.tokens = 2048;
  bare.flops = 3e9;
  const Metrics sparse{43, {bare}};
  return {Ready{"node7", 4242},
          assign,
          plain,
          metrics,
          Metrics{5, {}},
          sparse,
          Checkpoint{42, *assign.resume},
          Ended{42, sample_result(TrainEnd::kDone)},
          Ended{43, sample_result(TrainEnd::kDiverged)},
          Ended{44, sample_result(TrainEnd::kStopped)},
          Ended{45, TrainResult{}},  // every optional empty
          Failed{42, "bad data file: x.bin"},
          Heartbeat{42, 77},
          Stop{},
          Shutdown{},
          Fatal{"rank 2 (node7, pid 4242): MPI_Send failed"}};
}

TEST(Protocol, EveryMessageRoundTrips) {
  for (const Message& m : sample_messages()) {
    const Message back = decode_message(encode_message(m));
    // Field by field (the structs' defaulted ==): every field survived, and a field missing from
    // the codec would come back as its default, which no sample holds.
    EXPECT_EQ(back, m) << message_type_name(message_type(m));
  }
}

TEST(Protocol, FieldsSurviveExactly) {
  const auto messages = sample_messages();
  const Message m1 = decode_message(encode_message(messages[1]));
  const auto& assign = std::get<Assign>(m1);
  EXPECT_EQ(assign.assignment, 42u);
  EXPECT_EQ(assign.point_key, "0123456789abcdef");
  EXPECT_EQ(assign.group_ranks, (std::vector<std::int32_t>{3, 4}));
  ASSERT_TRUE(assign.resume);
  EXPECT_EQ(assign.resume->path, "ckpt/a/step-100.ckpt");
  EXPECT_EQ(assign.resume->bytes, 4096);
  const Message m3 = decode_message(encode_message(messages[3]));
  const auto& metrics = std::get<Metrics>(m3);
  ASSERT_EQ(metrics.rows.size(), 5u);
  EXPECT_EQ(metrics.rows[1].step, 2);
  EXPECT_EQ(metrics.rows[1].val_loss, 3.5);
  EXPECT_EQ(metrics.rows[4].train_loss, 3.25 - 0.05);
  const Message m5 = decode_message(encode_message(messages[5]));
  EXPECT_FALSE(std::get<Metrics>(m5).rows.at(0).val_loss.has_value());
  const Message m8 = decode_message(encode_message(messages[8]));
  EXPECT_EQ(std::get<Ended>(m8).result.end, TrainEnd::kDiverged);
  EXPECT_EQ(std::get<Ended>(m8).result.outcome.wall_seconds, 12.5);
  const Message m11 = decode_message(encode_message(messages[11]));
  const auto& failed = std::get<Failed>(m11);
  EXPECT_EQ(failed.error, "bad data file: x.bin");
}

std::vector<std::byte> assign_bytes() {
  return encode_message(sample_messages()[1]);
}

void put_u32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
  std::memcpy(b.data() + at, &v, 4);
}
void put_u16(std::vector<std::byte>& b, std::size_t at, std::uint16_t v) {
  std::memcpy(b.data() + at, &v, 2);
}

TEST(Protocol, RejectsBadHeaders) {
  auto b = assign_bytes();
  put_u32(b, 0, 0xdeadbeef);
  EXPECT_THROW(decode_message(b), ProtocolError);
  b = assign_bytes();
  put_u16(b, 4, kVersion + 1);
  EXPECT_THROW(decode_message(b), ProtocolError);
  b = assign_bytes();
  put_u16(b, 6, 0);
  EXPECT_THROW(decode_message(b), ProtocolError);
  put_u16(b, 6, 99);
  EXPECT_THROW(decode_message(b), ProtocolError);
  b = assign_bytes();
  put_u32(b, 8, static_cast<std::uint32_t>(b.size()));  // claims more than follows
  EXPECT_THROW(decode_message(b), ProtocolError);
  EXPECT_THROW(decode_message({}), ProtocolError);
  EXPECT_THROW(decode_message(std::span(b).first(5)), ProtocolError);
}

TEST(Protocol, RejectsTrailingBytesAndTypeMismatch) {
  auto b = encode_message(Heartbeat{1, 2});
  b.push_back(std::byte{0});
  put_u32(b, 8, static_cast<std::uint32_t>(b.size() - kHeaderBytes));  // consistent length
  EXPECT_THROW(decode_message(b), ProtocolError);
  // A Shutdown header on a Heartbeat payload: the payload is not empty.
  b = encode_message(Heartbeat{1, 2});
  put_u16(b, 6, static_cast<std::uint16_t>(MessageType::kShutdown));
  EXPECT_THROW(decode_message(b), ProtocolError);
}

TEST(Protocol, RejectsOversizeCountsBeforeAllocating) {
  // Metrics with a row count of 2^32-1 in a short buffer.
  auto b = encode_message(Metrics{1, {}});
  put_u32(b, kHeaderBytes + 8, 0xffffffffu);
  EXPECT_THROW(decode_message(b), ProtocolError);
  // A Failed message whose string length exceeds the limit.
  b = encode_message(Failed{1, "x"});
  put_u32(b, kHeaderBytes + 8, kMaxStringBytes + 1);
  EXPECT_THROW(decode_message(b), ProtocolError);
  // Ended payload: assignment u64 | end u8 | step i64 | tokens i64 | final_train_loss flag ...
  const auto ended = encode_message(Ended{1, TrainResult{}});
  ASSERT_NO_THROW(decode_message(ended));
  b = ended;
  b[kHeaderBytes + 25] = std::byte{2};  // an optional flag of 2
  EXPECT_THROW(decode_message(b), ProtocolError);
  b = ended;
  b[kHeaderBytes + 8] = std::byte{3};  // no such TrainEnd
  EXPECT_THROW(decode_message(b), ProtocolError);
  // An empty group and a negative rank in Assign.
  Assign a = std::get<Assign>(sample_messages()[2]);
  a.group_ranks = {-1};
  EXPECT_THROW(decode_message(encode_message(a)), ProtocolError);
  a.group_ranks = {};
  EXPECT_THROW(decode_message(encode_message(a)), ProtocolError);
}

TEST(Protocol, EncodeRefusesOversizeStrings) {
  EXPECT_THROW(encode_message(Failed{1, std::string(kMaxStringBytes + 1, 'x')}), ProtocolError);
}

// Decodes or throws ProtocolError; anything else (another exception, a crash) fails the test.
// Returns whether it decoded.
bool decode_or_reject(std::span<const std::byte> bytes) {
  try {
    decode_message(bytes);
    return true;
  } catch (const ProtocolError&) {
    return false;
  }
}

TEST(ProtocolFuzz, HundredThousandCorruptionsNeverCrash) {
  std::mt19937_64 rng(20261123);
  const auto messages = sample_messages();
  std::vector<std::vector<std::byte>> valid;
  for (const auto& m : messages) valid.push_back(encode_message(m));
  std::size_t cases = 0, rejected = 0;
  // 1. Every proper prefix (truncation) of every valid message is rejected.
  for (const auto& v : valid) {
    for (std::size_t n = 0; n < v.size(); ++n, ++cases) {
      ASSERT_FALSE(decode_or_reject(std::span(v).first(n))) << "truncated to " << n;
      ++rejected;
    }
  }
  // 2. Random bytes: rejected (a random 4-byte magic matches with p = 2^-32).
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 30000; ++i, ++cases) {
    std::vector<std::byte> b(static_cast<std::size_t>(rng() % 200));
    for (auto& x : b) x = std::byte(byte(rng));
    if (!decode_or_reject(b)) ++rejected;
  }
  // 3. Bit flips of valid messages: each decodes to something or is rejected; flips in the
  //    header's magic/version/length are always rejected.
  for (int i = 0; i < 40000; ++i, ++cases) {
    auto b = valid[rng() % valid.size()];
    const std::size_t bit = rng() % (b.size() * 8);
    b[bit / 8] ^= std::byte(1u << (bit % 8));
    const bool decoded = decode_or_reject(b);
    const std::size_t at = bit / 8;
    if (at < 6 || (at >= 8 && at < 12)) {
      ASSERT_FALSE(decoded) << "flip in header byte " << at;
    }
    if (!decoded) ++rejected;
  }
  // 4. Valid header, random payload of the declared length, random type.
  for (int i = 0; cases < 100000; ++i, ++cases) {
    std::vector<std::byte> b(kHeaderBytes + rng() % 120);
    for (auto& x : b) x = std::byte(byte(rng));
    put_u32(b, 0, kMagic);
    put_u16(b, 4, kVersion);
    put_u16(b, 6, static_cast<std::uint16_t>(1 + rng() % (std::variant_size_v<Message> + 2)));
    put_u32(b, 8, static_cast<std::uint32_t>(b.size() - kHeaderBytes));
    if (!decode_or_reject(b)) ++rejected;
  }
  EXPECT_EQ(cases, 100000u);
  // Most garbage must be rejected; some random payloads are legitimately valid (e.g. a Stop
  // with no payload, a Heartbeat of any 16 bytes).
  EXPECT_GT(rejected, cases / 2);
}

}  // namespace
}  // namespace ss::runner::protocol
