// The scheduling policy (runner/scheduler.h) on hand-built cases whose right answer is worked
// out in the comments, and the simulator's makespan on cases with a known optimum.
#include <gtest/gtest.h>

#include "runner/scheduler.h"

namespace ss::runner {
namespace {

TEST(Scheduler, LongestFirstOnSingleRankPoints) {
  Scheduler s({1, 2});
  s.add_point({10, 5.0, 1});
  s.add_point({11, 9.0, 1});
  s.add_point({12, 7.0, 1});
  auto a = s.next_assignment();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 11);  // cost 9
  EXPECT_EQ(a->ranks, std::vector<int>{1});
  auto b = s.next_assignment();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, 12);  // cost 7
  EXPECT_EQ(b->ranks, std::vector<int>{2});
  EXPECT_FALSE(s.next_assignment());  // no free rank
  s.finish(11);
  auto c = s.next_assignment();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, 10);
  EXPECT_EQ(c->ranks, std::vector<int>{1});  // rank 1 was freed
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.running(), 2u);
}

TEST(Scheduler, GroupsFromLowestFreeRanksAndBackfill) {
  Scheduler s({1, 2, 3, 4});
  s.add_point({1, 100.0, 4});
  s.add_point({2, 50.0, 2});
  s.add_point({3, 10.0, 1});
  auto big = s.next_assignment();
  ASSERT_TRUE(big);
  EXPECT_EQ(big->id, 1);
  EXPECT_EQ(big->ranks, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_FALSE(s.next_assignment());
  s.finish(1);
  auto two = s.next_assignment();
  auto one = s.next_assignment();
  ASSERT_TRUE(two && one);
  EXPECT_EQ(two->ranks, (std::vector<int>{1, 2}));
  EXPECT_EQ(one->ranks, (std::vector<int>{3}));
  EXPECT_EQ(s.free_ranks(), 1u);
}

TEST(Scheduler, BackfillsSmallerPointsWhenTheLargestDoesNotFit) {
  Scheduler s({1, 2, 3});
  s.add_point({1, 10.0, 1});
  ASSERT_TRUE(s.next_assignment());  // rank 1 busy
  s.add_point({2, 100.0, 3});        // needs all three
  s.add_point({3, 5.0, 2});
  auto a = s.next_assignment();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 3);  // the 3-rank point cannot start; ranks 2,3 are not left idle
  EXPECT_EQ(a->ranks, (std::vector<int>{2, 3}));
}

TEST(Scheduler, RemoveAndDuplicates) {
  Scheduler s({1});
  s.add_point({1, 1.0, 1});
  s.add_point({1, 1.0, 1});  // ignored
  EXPECT_EQ(s.pending(), 1u);
  EXPECT_TRUE(s.remove_pending(1));
  EXPECT_FALSE(s.remove_pending(1));
  EXPECT_FALSE(s.next_assignment());
  EXPECT_THROW(s.add_point({2, 1.0, 2}), std::invalid_argument);  // more ranks than workers
  EXPECT_THROW(s.finish(5), std::logic_error);
}

TEST(Scheduler, PeekThenTakeMatchesNextAssignment) {
  Scheduler s({1, 2});
  s.add_point({1, 3.0, 2});
  s.add_point({2, 4.0, 1});
  const auto peek = s.peek_next();
  ASSERT_TRUE(peek);
  EXPECT_EQ(peek->id, 2);
  EXPECT_EQ(s.take(2).ranks, std::vector<int>{1});
  EXPECT_FALSE(s.peek_next());  // the 2-rank point needs both
}

TEST(SchedulerSimulation, LptOnKnownInstances) {
  // 2 workers, durations 3,3,2,2,2 (LPT's classic bad case): both take a 3; at t=3 both take a
  // 2; at t=5 one takes the last 2, ending at 7. Ideal 12/2 = 6 (the optimum 3+3 | 2+2+2 = 6).
  std::vector<SimulatedPoint> pts;
  std::int64_t id = 0;
  for (double d : {3.0, 3.0, 2.0, 2.0, 2.0}) pts.push_back({{id++, d, 1}, d});
  const auto r = simulate_schedule(pts, 2);
  EXPECT_DOUBLE_EQ(r.makespan, 7.0);
  EXPECT_DOUBLE_EQ(r.ideal, 6.0);
  EXPECT_EQ(r.assignments, 5u);
  // Equal jobs that divide evenly: makespan == ideal.
  std::vector<SimulatedPoint> even;
  for (int i = 0; i < 12; ++i) even.push_back({{i, 1.0, 1}, 1.0});
  const auto e = simulate_schedule(even, 4);
  EXPECT_DOUBLE_EQ(e.makespan, 3.0);
  EXPECT_DOUBLE_EQ(e.ideal, 3.0);
}

TEST(SchedulerSimulation, MixedGroupSizes) {
  // 4 workers: one 4-rank point of 2 s, then four 1-rank points of 1 s: 2 + 1 = 3 = ideal.
  std::vector<SimulatedPoint> pts = {{{0, 8.0, 4}, 2.0}};
  for (int i = 1; i <= 4; ++i) pts.push_back({{i, 1.0, 1}, 1.0});
  const auto r = simulate_schedule(pts, 4);
  EXPECT_DOUBLE_EQ(r.makespan, 3.0);
  EXPECT_DOUBLE_EQ(r.ideal, 3.0);
}

}  // namespace
}  // namespace ss::runner
