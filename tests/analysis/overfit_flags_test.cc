// Overfitting flags as pure functions: Kaplan's ratio against hand-computed values, the val
// turn detector on curves built by hand (turn, no turn, val and train both rising, noise
// below the threshold), and the gap threshold.
#include "analysis/overfit_flags.h"
#include "tests/analysis/fit_points.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ss::analysis {
namespace {

TEST(KaplanRatio, MatchesTheFormula) {
  // N = 1e6: 5e3 * (1e6)^0.74 = 5e3 * 10^4.44 = 1.3772e8 tokens.
  EXPECT_NEAR(kaplan_overfit_tokens(1e6), 5e3 * std::pow(10.0, 4.44), 1.0);
  EXPECT_NEAR(kaplan_overfit_ratio(1e6, 1.3772e8), 1.0, 1e-3);
  EXPECT_LT(kaplan_overfit_ratio(1e6, 1e7), 1.0);
  EXPECT_GT(kaplan_overfit_ratio(1e6, 1e9), 1.0);
}

LossCurve curve_from(const std::vector<double>& train, const std::vector<double>& val) {
  LossCurve c;
  c.run = 1;
  for (std::size_t i = 0; i < train.size(); ++i) {
    CurvePoint p;
    p.step = static_cast<std::int64_t>(100 * (i + 1));
    p.train_loss = train[i];
    if (i < val.size() && val[i] > 0) p.val_loss = val[i];
    c.steps.push_back(p);
  }
  return c;
}

TEST(ValTurn, FindsTheStepWhereValTurnedUp) {
  const auto c = curve_from({4.0, 3.5, 3.0, 2.6, 2.3, 2.0}, {4.1, 3.7, 3.4, 3.45, 3.6, 3.8});
  const auto turn = find_val_turn(c, 0.01);
  ASSERT_TRUE(turn.has_value());
  EXPECT_EQ(*turn, 300);  // the val minimum (3.4) is at the 3rd eval
}

TEST(ValTurn, NoTurnWhenValKeepsFalling) {
  EXPECT_FALSE(find_val_turn(curve_from({4, 3.5, 3, 2.6}, {4.1, 3.6, 3.1, 2.7}), 0.01));
}

TEST(ValTurn, NoTurnWhenTrainRisesToo) {
  // Both rise: an optimisation problem (lr too high), not overfitting.
  EXPECT_FALSE(find_val_turn(curve_from({4, 3, 3.2, 3.4}, {4.1, 3.1, 3.3, 3.5}), 0.01));
}

TEST(ValTurn, RiseBelowThresholdIsNoise) {
  EXPECT_FALSE(find_val_turn(curve_from({4, 3, 2.9, 2.8}, {4.1, 3.1, 3.105, 3.108}), 0.01));
}

TEST(ValTurn, UsesTheLatestTrainLossWhenValIsSparse) {
  // Val every other step; train logged every step.
  const auto c = curve_from({4, 3.6, 3.2, 3.0, 2.8, 2.6}, {4.1, 0, 3.3, 0, 3.5, 0});
  const auto turn = find_val_turn(c, 0.01);
  ASSERT_TRUE(turn.has_value());
  EXPECT_EQ(*turn, 300);
}

TEST(Flags, GapAndKaplanFlags) {
  FitData data;
  data.from_store = true;
  data.points = {testing::fit_point(1, 1e6, 1e7, 6e13, 3.0, "val"),
                 testing::fit_point(2, 1e6, 1e9, 6e15, 2.5, "val")};
  data.curves.push_back(curve_from({3.5, 2.8}, {3.6, 3.0}));  // run 1: gap 0.2
  data.curves[0].run = 1;
  data.curves.push_back(curve_from({3.0, 2.45}, {3.05, 2.5}));  // run 2: gap 0.05
  data.curves[1].run = 2;
  const auto flags = compute_overfit_flags(data, {.gap_threshold = 0.1, .rise_threshold = 0.01});
  ASSERT_EQ(flags.size(), 2u);
  EXPECT_TRUE(flags[0].kaplan_flag);
  EXPECT_TRUE(flags[0].measured_flag);
  EXPECT_NEAR(*flags[0].val_train_gap, 0.2, 1e-12);
  EXPECT_FALSE(flags[1].kaplan_flag);
  EXPECT_FALSE(flags[1].measured_flag);
  EXPECT_NEAR(*flags[1].val_train_gap, 0.05, 1e-12);
}

}  // namespace
}  // namespace ss::analysis
