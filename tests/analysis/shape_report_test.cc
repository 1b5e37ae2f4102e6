// The shape report (analysis/shape_report.h) on hand-built runs: grouping by N, an exact
// quadratic in ln(aspect) recovered, spreads computed by hand, the verdict's categories and the
// refusal when no N has two aspect ratios.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/shape_report.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

ShapeRun run_of(std::int64_t layers, std::int64_t width, std::int64_t heads, double loss) {
  ShapeRun r;
  r.point.n = 12.0 * static_cast<double>(layers * width * width);
  r.point.d = 3e5;
  r.point.c = 6 * r.point.n * r.point.d;
  r.point.loss = loss;
  r.n_layer = layers, r.d_model = width, r.n_head = heads;
  return r;
}

// ln L = ln 3 + c2 (ln a - ln a0)^2 exactly: the fit must return c2 and a0.
double bowl(double aspect, double c2, double a0) {
  return 3.0 * std::exp(c2 * std::pow(std::log(aspect / a0), 2));
}

TEST(ShapeReport, RecoversAnExactQuadraticAndGroupsByN) {
  std::vector<ShapeRun> runs;
  // N ~ 38K (37632 and 38400: 2% apart), aspects 56, 20, 7, 2.5, two head counts each.
  for (auto [l, d] : {std::pair{1, 56}, {2, 40}, {4, 28}, {8, 20}})
    for (int h : {1, 4}) runs.push_back(run_of(l, d, h, bowl(double(d) / l, 0.02, 8.0)));
  runs.push_back(run_of(1, 80, 1, 2.0));  // N 76800 alone: one aspect ratio, left out
  const ShapeReport r = shape_report(runs, 0.05);
  ASSERT_EQ(r.groups.size(), 1u);
  const ShapeGroup& g = r.groups[0];
  EXPECT_EQ(g.runs.size(), 8u);
  EXPECT_EQ(g.aspects, 4u);
  EXPECT_NEAR(g.n_mismatch, 38400.0 / 37632.0 - 1, 1e-12);
  ASSERT_TRUE(g.fit);
  EXPECT_NEAR(g.fit->c2, 0.02, 1e-10);
  ASSERT_TRUE(g.fit->best_aspect);
  EXPECT_NEAR(*g.fit->best_aspect, 8.0, 1e-8);
  EXPECT_NEAR(g.fit->rms, 0.0, 1e-10);
  EXPECT_NEAR(g.fit->penalty_40x, std::exp(0.02 * std::pow(std::log(40.0) / 2, 2)) - 1, 1e-10);
  // By hand: the best run is aspect 7 (closest to 8 in log), the worst aspect 56.
  EXPECT_NEAR(g.spread, bowl(56, 0.02, 8) / bowl(7, 0.02, 8) - 1, 1e-12);
  EXPECT_EQ(g.head_spread, 0.0);
  EXPECT_EQ(r.notes.size(), 1u);
  EXPECT_FALSE(r.loss_slope);  // one group
  // 7.8% between aspect 56 and aspect 7: above 5%, so not "nearly shape-independent".
  EXPECT_NE(r.verdict.find("weakly shape-dependent"), std::string::npos) << r.verdict;
}

TEST(ShapeReport, HeadSpreadAndVerdictCategories) {
  std::vector<ShapeRun> runs{run_of(1, 40, 1, 3.0), run_of(1, 40, 4, 3.24), run_of(4, 20, 1, 3.06),
                             run_of(4, 20, 4, 3.03)};
  const ShapeReport r = shape_report(runs, 0.05);
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_NEAR(r.groups[0].head_spread, 0.08, 1e-12);  // 3.24 / 3.0 - 1
  EXPECT_NEAR(r.groups[0].spread, 0.08, 1e-12);
  EXPECT_FALSE(r.groups[0].fit);  // two aspect ratios: no quadratic
  EXPECT_NE(r.verdict.find("weakly shape-dependent"), std::string::npos) << r.verdict;
  runs[1].point.loss = 3.6;
  EXPECT_NE(shape_report(runs, 0.05).verdict.find("clearly shape-dependent"), std::string::npos);
}

TEST(ShapeReport, LossSlopeAcrossGroups) {
  // Two groups, best losses 3 and 3 * 2^-0.1 at N 19200 and 76800 (4x): slope -0.1 / ln 4 * ln 2.
  std::vector<ShapeRun> runs{run_of(1, 40, 1, 3.0), run_of(4, 20, 1, 3.1),
                             run_of(1, 80, 1, 3.0 * std::pow(2, -0.1)), run_of(4, 40, 1, 3.2)};
  const ShapeReport r = shape_report(runs, 0.05);
  ASSERT_EQ(r.groups.size(), 2u);
  ASSERT_TRUE(r.loss_slope);
  EXPECT_NEAR(*r.loss_slope, -0.1 * std::log(2) / std::log(4), 1e-12);
}

TEST(ShapeReport, RefusesWhenNoSizeHasTwoAspectRatios) {
  EXPECT_THROW(
      shape_report({run_of(1, 40, 1, 3.0), run_of(1, 40, 4, 3.1), run_of(1, 80, 1, 2.9)}, 0.05),
      InputError);
}

}  // namespace
}  // namespace ss::analysis
