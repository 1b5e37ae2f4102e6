// Loaders: windows are real slices of the shard with targets shifted by one, the same
// seed gives the same batches, different coordinates give different windows, dp=1 B=8 is
// the union (in order) of dp=2 B=4, and the validation windows are fixed and spread.
#include <gtest/gtest.h>

#include <set>

#include "model/io/loader.h"
#include "ss/error.h"
#include "tests/support/temp_dir.h"

namespace ss::io {
namespace {

using testing::TempDir;

// Tokens i % 65521 (< vocab 65536), so a window's content reveals its start position.
std::filesystem::path make_counting_shard(const TempDir& dir, size_t n) {
  std::vector<uint16_t> tokens(n);
  for (size_t i = 0; i < n; ++i) tokens[i] = static_cast<uint16_t>(i % 65521);
  write_shard(dir / "train.bin", 65536, tokens);
  return dir / "train.bin";
}

TEST(TrainLoader, WindowsAreShardSlicesWithShiftedTargets) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 5000));
  const int T = 16, B = 4;
  TrainLoader loader(shard, T, 1234);
  std::vector<int32_t> in(B * T), tg(B * T);
  loader.next_batch(3, 0, 0, 1, B, in.data(), tg.data());
  for (int b = 0; b < B; ++b) {
    const uint64_t start = loader.window_start(3, b);
    ASSERT_LE(start + T + 1, shard.size());
    for (int t = 0; t < T; ++t) {
      EXPECT_EQ(in[b * T + t], static_cast<int32_t>(start + t));
      EXPECT_EQ(tg[b * T + t], static_cast<int32_t>(start + t + 1));
    }
  }
}

TEST(TrainLoader, SameSeedSameBatchesOtherSeedOrStepDiffers) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 100000));
  const int T = 8, B = 8;
  TrainLoader a(shard, T, 7), b(shard, T, 7), c(shard, T, 8);
  std::vector<int32_t> ia(B * T), ta(B * T), ib(B * T), tb(B * T);
  a.next_batch(10, 1, 0, 1, B, ia.data(), ta.data());
  b.next_batch(10, 1, 0, 1, B, ib.data(), tb.data());
  EXPECT_EQ(ia, ib);
  EXPECT_EQ(ta, tb);
  c.next_batch(10, 1, 0, 1, B, ib.data(), tb.data());
  EXPECT_NE(ia, ib);
  a.next_batch(11, 1, 0, 1, B, ib.data(), tb.data());
  EXPECT_NE(ia, ib);
  a.next_batch(10, 0, 0, 1, B, ib.data(), tb.data());
  EXPECT_NE(ia, ib);
}

TEST(TrainLoader, DataParallelRanksAreDisjointSlicesOfTheGlobalBatch) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 100000));
  const int T = 8;
  TrainLoader loader(shard, T, 99);
  std::vector<int32_t> full_in(8 * T), full_tg(8 * T);
  loader.next_batch(5, 2, 0, 1, 8, full_in.data(), full_tg.data());
  std::vector<int32_t> r0_in(4 * T), r0_tg(4 * T), r1_in(4 * T), r1_tg(4 * T);
  loader.next_batch(5, 2, 0, 2, 4, r0_in.data(), r0_tg.data());
  loader.next_batch(5, 2, 1, 2, 4, r1_in.data(), r1_tg.data());
  std::vector<int32_t> joined_in(r0_in), joined_tg(r0_tg);
  joined_in.insert(joined_in.end(), r1_in.begin(), r1_in.end());
  joined_tg.insert(joined_tg.end(), r1_tg.begin(), r1_tg.end());
  EXPECT_EQ(joined_in, full_in);
  EXPECT_EQ(joined_tg, full_tg);
  // Disjoint: the 8 sequences come from 8 distinct start positions (a collision among 8
  // draws from ~1e5 positions has probability ~3e-4 for an arbitrary seed; seed 99 has none).
  std::set<int32_t> starts;
  for (int b = 0; b < 8; ++b) starts.insert(full_in[b * T]);
  EXPECT_EQ(starts.size(), 8u);
}

TEST(TrainLoader, AccumulationOverMicroStepsSeesTheSameDataAsDataParallelRanks) {
  // dp=1 with 2 micro steps of B=4 must train on the same 8 sequences as dp=2 with one micro
  // step of B=4 per rank (same global batch), so a point's losses do not depend on dp.
  TempDir dir;
  Shard shard(make_counting_shard(dir, 100000));
  const int T = 8, B = 4;
  TrainLoader loader(shard, T, 31);
  std::vector<int32_t> m0_in(B * T), m0_tg(B * T), m1_in(B * T), m1_tg(B * T);
  loader.next_batch(7, 0, 0, 1, B, m0_in.data(), m0_tg.data());
  loader.next_batch(7, 1, 0, 1, B, m1_in.data(), m1_tg.data());
  std::vector<int32_t> r0_in(B * T), r0_tg(B * T), r1_in(B * T), r1_tg(B * T);
  loader.next_batch(7, 0, 0, 2, B, r0_in.data(), r0_tg.data());
  loader.next_batch(7, 0, 1, 2, B, r1_in.data(), r1_tg.data());
  EXPECT_EQ(m0_in, r0_in);
  EXPECT_EQ(m0_tg, r0_tg);
  EXPECT_EQ(m1_in, r1_in);
  EXPECT_EQ(m1_tg, r1_tg);
  EXPECT_NE(m0_in, m1_in);
}

TEST(TrainLoader, StartsCoverTheShardUniformly) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 1000));
  TrainLoader loader(shard, 10, 5);
  // 990 possible starts in 10 buckets of 99; 20000 draws -> 2000 expected per bucket.
  std::vector<int> buckets(10);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t s = loader.window_start(i, 0);
    ASSERT_LT(s, 990u);
    ++buckets[s / 99];
  }
  for (int n : buckets) EXPECT_NEAR(n, 2000, 200);  // ~4.7 sigma
}

TEST(TrainLoader, StateRoundTripAndMismatch) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 1000));
  TrainLoader a(shard, 10, 5), other_seed(shard, 10, 6), other_len(shard, 12, 5);
  EXPECT_NO_THROW(a.check_state(a.state(), "ck"));
  EXPECT_THROW(a.check_state(other_seed.state(), "ck"), ss::InputError);
  EXPECT_THROW(a.check_state(other_len.state(), "ck"), ss::InputError);
  EXPECT_THROW(a.check_state(std::vector<uint64_t>{9}, "ck"), ss::InputError);
}

TEST(Loaders, ShardShorterThanOneWindowIsAnInputError) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 10));
  EXPECT_THROW(TrainLoader(shard, 10, 1), ss::InputError);  // needs 11 tokens
  EXPECT_NO_THROW(TrainLoader(shard, 9, 1));
  EXPECT_THROW(ValLoader(shard, 10, 4), ss::InputError);
  EXPECT_THROW(ValLoader(shard, 4, 0), ss::InputError);
}

TEST(ValLoader, FixedEvenlySpacedWindows) {
  TempDir dir;
  Shard shard(make_counting_shard(dir, 1001));
  const int T = 10;
  ValLoader val(shard, T, 5);
  // last start = 1001 - 11 = 990, so starts 0, 247, 495, 742, 990 (floor(990*k/4)).
  const std::vector<uint64_t> expected = {0, 247, 495, 742, 990};
  for (int k = 0; k < 5; ++k) EXPECT_EQ(val.window_start(k), expected[k]);
  std::vector<int32_t> in(2 * T), tg(2 * T);
  val.windows(3, 2, in.data(), tg.data());
  EXPECT_EQ(in[0], 742);
  EXPECT_EQ(tg[0], 743);
  EXPECT_EQ(in[T], 990);
  EXPECT_EQ(tg[2 * T - 1], 1000);  // last token of the shard
  EXPECT_THROW(val.windows(4, 2, in.data(), tg.data()), std::out_of_range);
}

}  // namespace
}  // namespace ss::io
