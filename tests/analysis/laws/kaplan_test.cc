// Kaplan laws (kaplan-n, -d, -c, -nd, -ns): recovery of known truths from synthetic runs
// generated here, the points each law selects, thread-independent bootstrap, and refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/laws/laws.h"
#include "ss/error.h"
#include "synthetic.h"

namespace ss::laws {
namespace {

struct KaplanNd {
  double nc, dc, alpha_n, alpha_d;
  double operator()(double n, double d) const {
    return std::pow(std::pow(nc / n, alpha_n / alpha_d) + dc / d, alpha_d);
  }
};

FitOptions no_bootstrap() {
  FitOptions options;
  options.bootstrap = 0;
  return options;
}

// Per size, runs at D = 1e9, 1e11 and 1e16: the 1e16 run is converged, the others are
// data-limited and must be ignored by kaplan-n (using them would bias alpha_N visibly).
TEST(KaplanN, RecoversAlphaFromTheLargestDRunPerSize) {
  for (const KaplanNd truth :
       {KaplanNd{8.8e13, 5.4e13, 0.076, 0.095}, KaplanNd{1e12, 1e12, 0.2, 0.3}}) {
    LawInput input;
    input.points = testing::grid_points(testing::log_space(1e6, 1e10, 8), {1e9, 1e11, 1e16}, truth);
    testing::add_log_noise(input.points, 0.01, 2);
    const LawFit fit = fit_law("kaplan-n", input, no_bootstrap());
    // 8 sizes over 4 decades (sd of ln N ~ 3.0), sigma 0.01: the slope's standard error is
    // 0.01 / (sqrt(8) * 3.0) ~ 0.0012, so 0.005 is a 4-sigma bound.
    EXPECT_NEAR(fit.param("alpha_N"), truth.alpha_n, 0.005);
    EXPECT_EQ(fit.n_points, 8);
    EXPECT_NE(fit.points_used.find("largest D"), std::string::npos);
    for (double n : {1e6, 1e8, 1e10})
      EXPECT_NEAR(*predict_loss(fit, n, 0), std::pow(truth.nc / n, truth.alpha_n),
                  0.02 * std::pow(truth.nc / n, truth.alpha_n));
  }
}

TEST(KaplanD, RecoversAlphaFromTheLargestModelsRuns) {
  const KaplanNd truth{8.8e13, 5.4e13, 0.076, 0.095};
  LawInput input;
  input.points = testing::grid_points({1e7, 1e9, 1e17}, testing::log_space(1e8, 1e12, 8), truth);
  testing::add_log_noise(input.points, 0.01, 3);
  const LawFit fit = fit_law("kaplan-d", input, no_bootstrap());
  // Same 4-sigma argument as kaplan-n (8 token counts over 4 decades, sigma 0.01).
  EXPECT_NEAR(fit.param("alpha_D"), truth.alpha_d, 0.005);
  EXPECT_EQ(fit.n_points, 8);
}

// An isoFLOP-like design: the largest model (N = 1e17, data-limited: its loss is L(D)) at 6 token
// counts 1e8..1e10, and smaller models at larger D where N limits them (loss above L(D)). Each
// run has its own D, so "per D, the largest N" took one run per D (9) and bent the line;
// Kaplan's L(D) is the largest model's runs alone: exact on these noise-free points. Repeats
// (seeds) of a D keep the lowest loss.
TEST(KaplanD, UsesTheLargestModelsRunsOnly) {
  const KaplanNd truth{8.8e13, 5.4e13, 0.076, 0.095};
  LawInput input;
  input.points = testing::grid_points({1e17}, testing::log_space(1e8, 1e10, 6), truth);
  const auto small = testing::grid_points({1e6, 1e7, 1e8}, {3e10, 1e11, 1e12}, truth);
  for (std::size_t i = 0; i < small.size(); i += 4) input.points.push_back(small[i]);
  FinalPoint repeat = input.points.front();  // a worse seed of the first D
  repeat.loss *= 1.05;
  input.points.push_back(repeat);
  for (std::size_t i = 0; i < input.points.size(); ++i)
    input.points[i].run = static_cast<std::int64_t>(i);
  const LawFit fit = fit_law("kaplan-d", input, no_bootstrap());
  // (Nc/N)^(alpha_N/alpha_D) = 0.0036 beside Dc/D >= 5400 moves ln L by < 1e-7.
  EXPECT_NEAR(fit.param("alpha_D"), truth.alpha_d, 1e-6);
  EXPECT_NEAR(fit.param("Dc") / truth.dc, 1.0, 1e-4);
  EXPECT_EQ(fit.n_points, 6);
  EXPECT_NE(fit.points_used.find("the largest model (N = 1e+17)"), std::string::npos)
      << fit.points_used;
  // Two token counts of the largest model are too few: refused with what to add.
  LawInput two;
  for (const FinalPoint& p : input.points)
    if (p.n < 1e17 || p.d < 3e8) two.points.push_back(p);
  try {
    fit_law("kaplan-d", two, no_bootstrap());
    ADD_FAILURE() << "two token counts accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("needs the largest model (N = 1e+17) at >= 3 token "
                                         "counts D, got 2"),
              std::string::npos)
        << e.what();
  }
}

TEST(KaplanC, FinalPointEnvelopeIgnoresDominatedRuns) {
  // Frontier runs exactly on L = (Cc/C)^alpha_C, plus runs 10% above it (dominated): the
  // envelope must keep exactly the frontier, so the fit is exact.
  const double cc = 2.3e8 * 8.64e19, alpha_c = 0.05;
  LawInput input;
  for (int i = 0; i < 8; ++i) {
    const double c = 1e17 * std::pow(10.0, 0.5 * i);
    for (double excess : {1.0, 1.1}) {
      FinalPoint p;
      p.run = static_cast<std::int64_t>(input.points.size());
      p.n = 1e8;
      p.d = c / 6e8;
      p.c = c * (excess > 1 ? 1.2 : 1.0);  // dominated: more compute, higher loss
      p.loss = excess * std::pow(cc / c, alpha_c);
      input.points.push_back(p);
    }
  }
  const LawFit fit = fit_law("kaplan-c", input, no_bootstrap());
  EXPECT_NEAR(fit.param("alpha_C"), alpha_c, 1e-9);
  EXPECT_NEAR(fit.param("Cc") / cc, 1.0, 1e-6);
  EXPECT_EQ(fit.n_points, 8);
  EXPECT_NE(fit.points_used.find("final points only"), std::string::npos);
}

TEST(KaplanC, CurveEnvelopeRecoversTheFrontier) {
  // Run j's curve spans half a decade of C up to its last point C_j, where it touches the
  // frontier, and lies above it before: L = (Cc/C)^alpha_C (1 + 0.02 ln(C_j/C)^2) (at most 2.6%
  // above). Runs end every half decade, so the envelope's excess over the truth repeats
  // identically per run: it shifts Cc but hardly the slope; alpha_C within 5%.
  const double cc = 1e30, alpha_c = 0.05;
  LawInput input;
  for (int j = 0; j < 10; ++j) {
    const double c_end = 1e16 * std::pow(10.0, 0.5 * j);
    FinalPoint p;
    p.run = j;
    p.n = 1e7 * std::pow(2.0, j);
    p.c = c_end;
    p.d = c_end / (6 * p.n);
    p.loss = std::pow(cc / c_end, alpha_c);
    input.points.push_back(p);
    for (int k = 1; k <= 40; ++k) {
      CurveStep s;
      s.run = j;
      s.n = p.n;
      s.step = k;
      s.flops = c_end * std::pow(10.0, -0.5 * (40 - k) / 39.0);
      s.tokens = s.flops / (6 * p.n);
      const double l = std::log(c_end / s.flops);
      s.loss = std::pow(cc / s.flops, alpha_c) * (1 + 0.02 * l * l);
      input.curves.push_back(s);
    }
  }
  const LawFit fit = fit_law("kaplan-c", input, no_bootstrap());
  EXPECT_NEAR(fit.param("alpha_C"), alpha_c, 0.05 * alpha_c);
  EXPECT_NE(fit.points_used.find("loss curves"), std::string::npos);
  EXPECT_TRUE(fit.details.contains("points"));
}

TEST(KaplanNd, RecoversBothExponentsUnderNoise) {
  for (const KaplanNd truth :
       {KaplanNd{8.8e13, 5.4e13, 0.076, 0.095}, KaplanNd{3e11, 1e12, 0.3, 0.2}}) {
    LawInput input;
    input.points = testing::grid_points(testing::log_space(1e6, 1e10, 7),
                                        testing::log_space(1e8, 1e12, 7), truth);
    testing::add_log_noise(input.points, 0.005, 9);
    const LawFit fit = fit_law("kaplan-nd", input, no_bootstrap());
    // 49 runs, sigma 0.005 on ln L; the exponents are set by 4 decades of N and D each, so
    // their errors are ~1e-3; 10% of the exponent (>= 0.0076) is a wide margin.
    EXPECT_NEAR(fit.param("alpha_N"), truth.alpha_n, 0.1 * truth.alpha_n);
    EXPECT_NEAR(fit.param("alpha_D"), truth.alpha_d, 0.1 * truth.alpha_d);
    for (double n : {1e6, 1e8, 1e10})
      for (double d : {1e8, 1e12})
        EXPECT_NEAR(*predict_loss(fit, n, d), truth(n, d), 0.01 * truth(n, d));
  }
}

TEST(KaplanNd, BootstrapIsSeededAndThreadIndependent) {
  const KaplanNd truth{1e13, 1e13, 0.1, 0.12};
  LawInput input;
  input.points = testing::grid_points(testing::log_space(1e6, 1e9, 5),
                                      testing::log_space(1e8, 1e11, 5), truth);
  testing::add_log_noise(input.points, 0.01, 4);
  FitOptions options;
  options.bootstrap = 60;
  options.seed = 42;
  options.threads = 1;
  const LawFit one = fit_law("kaplan-nd", input, options);
  options.threads = 2;
  std::size_t calls = 0;
  options.progress = [&](const std::string&, std::size_t, std::size_t) { ++calls; };
  const LawFit two = fit_law("kaplan-nd", input, options);
  ASSERT_EQ(one.ci.size(), 4u);
  for (std::size_t i = 0; i < one.ci.size(); ++i) EXPECT_EQ(one.ci[i], two.ci[i]);
  EXPECT_GT(calls, 0u);
  options.seed = 43;
  const LawFit other = fit_law("kaplan-nd", input, options);
  EXPECT_NE(other.ci[2], one.ci[2]);  // another seed, other resamples
  EXPECT_LE(one.ci[2].second.first, truth.alpha_n);
  EXPECT_GE(one.ci[2].second.second, truth.alpha_n);
}

// L = (Nc/N)^aN + (Sc/S_min)^aS with S_min = S / (1 + B*/(L^(1/aB) B)), solved for L by
// fixed-point iteration here (independent of the library's predict_loss_ns).
double kaplan_ns_truth(double n, double s, double b) {
  const double nc = 8.8e13, an = 0.076, sc = 2.1e3, as = 0.76, b_star = 2e8, ab = 0.21;
  double loss = 3;
  for (int i = 0; i < 500; ++i) {
    const double s_min = s / (1 + b_star / (std::pow(loss, 1 / ab) * b));
    loss = 0.5 * loss + 0.5 * (std::pow(nc / n, an) + std::pow(sc / s_min, as));
  }
  return loss;
}

TEST(KaplanNs, RecoversExponentsFromFinalPointsWithStepsAndBatch) {
  LawInput input;
  for (double n : testing::log_space(1e6, 1e9, 5))
    for (double s : testing::log_space(1e3, 1e5, 5))
      for (double b : {3e4, 3e5, 3e6}) {
        FinalPoint p;
        p.run = static_cast<std::int64_t>(input.points.size());
        p.n = n;
        p.steps = s;
        p.batch_tokens = b;
        p.d = s * b;
        p.loss = kaplan_ns_truth(n, s, b);
        input.points.push_back(p);
      }
  const LawFit fit = fit_law("kaplan-ns", input, no_bootstrap());
  // Noise-free data from the exact model: only the optimiser's tolerance limits the match.
  EXPECT_NEAR(fit.param("alpha_N"), 0.076, 2e-3);
  EXPECT_NEAR(fit.param("alpha_S"), 0.76, 2e-2);
  EXPECT_NEAR(fit.param("alpha_B"), 0.21, 1e-12);  // fixed by default
  EXPECT_NEAR(predict_loss_ns(fit, 1e8, 1e4, 3e5), kaplan_ns_truth(1e8, 1e4, 3e5),
              1e-3 * kaplan_ns_truth(1e8, 1e4, 3e5));
}

TEST(KaplanNs, RefusesRunsWithoutStepsOrBatch) {
  LawInput input;
  input.points = testing::grid_points(testing::log_space(1e6, 1e9, 3), {1e9, 1e10, 1e11},
                                      KaplanNd{1e13, 1e13, 0.1, 0.1});
  try {
    fit_law("kaplan-ns", input, no_bootstrap());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("needs optimizer steps S and batch tokens B"),
              std::string::npos);
  }
}

// One batch size: B_crit(L) (so B* and S_min) is not identifiable, so the law is refused with the
// reason and what to add, not fitted into a degenerate B*. The same grid at two batch sizes fits.
TEST(KaplanNs, RefusesOneBatchSize) {
  LawInput input;
  for (double n : testing::log_space(1e6, 1e9, 4))
    for (double s : testing::log_space(1e3, 1e5, 4)) {
      FinalPoint p;
      p.run = static_cast<std::int64_t>(input.points.size());
      p.n = n;
      p.steps = s;
      p.batch_tokens = 3e5;
      p.d = s * 3e5;
      p.loss = kaplan_ns_truth(n, s, 3e5);
      input.points.push_back(p);
    }
  try {
    fit_law("kaplan-ns", input, no_bootstrap());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("kaplan-ns: needs runs at >= 2 batch sizes: every run uses B = 300000"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("add batch_tokens = [150000, 300000, 600000]"), std::string::npos) << what;
  }
  for (std::size_t i = 0; i < input.points.size(); i += 2) {  // every other run at 3e6
    FinalPoint& p = input.points[i];
    p.batch_tokens = 3e6;
    p.d = *p.steps * 3e6;
    p.loss = kaplan_ns_truth(p.n, *p.steps, 3e6);
  }
  EXPECT_NO_THROW(fit_law("kaplan-ns", input, no_bootstrap()));
}

TEST(KaplanLaws, RefuseTooFewPointsAndFlatData) {
  LawInput input;
  input.points = testing::grid_points({1e8, 1e9}, {1e10}, KaplanNd{1e13, 1e13, 0.1, 0.1});
  EXPECT_THROW(fit_law("kaplan-n", input, no_bootstrap()), InputError);  // 2 sizes < 3
  input.points = testing::grid_points({1e8}, {1e9, 1e10, 1e11}, KaplanNd{1e13, 1e13, 0.1, 0.1});
  EXPECT_THROW(fit_law("kaplan-n", input, no_bootstrap()), InputError);   // one size
  EXPECT_THROW(fit_law("kaplan-nd", input, no_bootstrap()), InputError);  // 3 < 5 points
  input.points = testing::grid_points({1e8, 1e9, 1e10}, {1e10}, [](double, double) { return 2.0; });
  input.points[0].n = 0;
  EXPECT_THROW(fit_law("kaplan-n", input, no_bootstrap()), InputError);  // N = 0
  input.points[0].n = 1e8;
  input.points[1].loss = 2.5;  // loss rising with N: no power law
  input.points[2].loss = 3;
  EXPECT_THROW(fit_law("kaplan-n", input, no_bootstrap()), InputError);
  input.points[0].loss = 4;  // falling again: fits, but a negative bootstrap count is refused
  EXPECT_NO_THROW(fit_law("kaplan-n", input, no_bootstrap()));
  FitOptions negative;
  negative.bootstrap = -1;
  EXPECT_THROW(fit_law("kaplan-n", input, negative), InputError);
}

}  // namespace
}  // namespace ss::laws
