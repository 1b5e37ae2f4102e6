// Inference-aware allocation against independent references: Sardana et al. 2024's published
// example (Figure 1: a Chinchilla-optimal 13B model serving 2T tokens -> about 7B, 1.7e22 FLOPs
// or 17% saved) and their repository's README example (loss 1.947, 2T tokens -> 2.418e10
// parameters, 2.657e12 tokens, 95.22% of the Chinchilla model's FLOPs), both with the law
// constants they used, read from analysis/data/chinchilla_published.json; a case solved by hand
// (alpha = beta = 1: a quadratic in D); T = 0 against the closed-form Chinchilla optimum; and
// every bad input refused with ss::InputError.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/inference_budget.h"
#include "analysis/published_data.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

// A chinchilla-3 fit holding published constants. a, b, G: Hoffmann et al.'s closed form
// (minimising L on 6ND = C gives N_opt = G (C/6)^a, G = (alpha A / (beta B))^(1/(alpha+beta))).
laws::LawFit fit_from(const nlohmann::json& law) {
  const double e = law.at("E"), a_coef = law.at("A"), b_coef = law.at("B");
  const double alpha = law.at("alpha"), beta = law.at("beta");
  laws::LawFit f;
  f.law = "chinchilla-3";
  f.params = {{"E", e},
              {"A", a_coef},
              {"B", b_coef},
              {"alpha", alpha},
              {"beta", beta},
              {"a", beta / (alpha + beta)},
              {"b", alpha / (alpha + beta)},
              {"G", std::pow(alpha * a_coef / (beta * b_coef), 1.0 / (alpha + beta))}};
  return f;
}

const nlohmann::json& sardana() { return chinchilla_published().at("sardana2024"); }

TEST(InferenceBudget, SardanaFigure1ThirteenBillionServingTwoTrillionTokens) {
  const laws::LawFit fit = fit_from(sardana().at("law"));
  const auto& ex = sardana().at("figure1");
  const double n13 = ex.at("chinchilla_params");
  // The budget whose Chinchilla-optimal model has 13B parameters: invert N = G (C/6)^a.
  const double c = 6.0 * std::pow(n13 / fit.param("G"), 1.0 / fit.param("a"));
  const auto rows = inference_allocations(fit, {c}, {ex.at("inference_tokens").get<double>()});
  ASSERT_EQ(rows.size(), 1u);
  const InferenceAllocation& r = rows[0];
  EXPECT_NEAR(r.chinchilla.n, n13, 1e-6 * n13);
  // The published values are rounded to 1 or 2 digits (7B, 1.7e22, 17%): within half a unit of
  // the last printed digit.
  EXPECT_NEAR(r.optimal.n, ex.at("optimal_params").get<double>(), 0.5e9);
  EXPECT_NEAR(r.flops_saved(), ex.at("flops_saved").get<double>(), 0.05e22);
  EXPECT_NEAR(r.saving(), ex.at("saving_fraction").get<double>(), 0.005);
  EXPECT_NEAR(r.optimal.n / 7e9, 1.0, 0.03);  // "about 7B", within a few percent
}

TEST(InferenceBudget, SardanaReadmeExampleToFourDigits) {
  const LossSurface s = loss_surface_of(fit_from(sardana().at("law")));
  const auto& ex = sardana().at("readme_example");
  const double loss = ex.at("loss"), t = ex.at("inference_tokens");
  const LifetimePlan opt = inference_optimal(s, loss, t);
  const LifetimePlan chin = inference_optimal(s, loss, 0.0);
  const double chin_total = chin.train_flops + 2.0 * chin.n * t;
  // Printed with 4 significant digits.
  EXPECT_NEAR(opt.n / ex.at("optimal_params").get<double>(), 1.0, 5e-4);
  EXPECT_NEAR(opt.d / ex.at("optimal_tokens").get<double>(), 1.0, 5e-4);
  EXPECT_NEAR(opt.n / chin.n, ex.at("params_vs_chinchilla").get<double>(), 5e-5);
  EXPECT_NEAR(opt.d / chin.d, ex.at("tokens_vs_chinchilla").get<double>(), 5e-5);
  EXPECT_NEAR(opt.total_flops / chin_total, ex.at("total_flops_vs_chinchilla").get<double>(),
              5e-5);
}

// T = 0: the Chinchilla optimum of a loss, solved by hand from alpha A N^-alpha = beta B D^-beta
// and A N^-alpha + B D^-beta = L - E: A N^-alpha = (L - E) beta / (alpha + beta).
TEST(InferenceBudget, NoInferenceIsTheChinchillaOptimum) {
  const laws::LawFit fit = fit_from(chinchilla_published().at("hoffmann2022").at("approach3_law"));
  const LossSurface s = loss_surface_of(fit);
  const double loss = 2.1, k = loss - s.e;
  const LifetimePlan p = inference_optimal(s, loss, 0.0);
  EXPECT_NEAR(p.n / std::pow(s.a * (s.alpha + s.beta) / (k * s.beta), 1.0 / s.alpha), 1.0, 1e-10);
  EXPECT_NEAR(p.d / std::pow(s.b * (s.alpha + s.beta) / (k * s.alpha), 1.0 / s.beta), 1.0, 1e-10);
  // and at a budget: the law table's N_opt(C), with nothing saved.
  const auto rows = inference_allocations(fit, {1e21, 1e24}, {0.0});
  for (const auto& r : rows) {
    EXPECT_NEAR(r.optimal.n / r.chinchilla.n, 1.0, 1e-9);
    EXPECT_NEAR(r.optimal.train_flops / r.budget, 1.0, 1e-9);
    EXPECT_NEAR(r.saving(), 0.0, 1e-9);
  }
}

// alpha = beta = 1: the condition (6D + 2T) B / D^2 = 6 A / N with A/N = K - B/D gives
// K D^2 - 2 B D - T B / 3 = 0, so D = (B + sqrt(B^2 + K T B / 3)) / K and N = A / (K - B/D).
TEST(InferenceBudget, HandSolvedEqualExponents) {
  const LossSurface s{.e = 1.5, .a = 300.0, .b = 500.0, .alpha = 1.0, .beta = 1.0};
  for (double t : {0.0, 1e3, 1e6, 1e9}) {
    const double loss = 1.6, k = loss - s.e;
    const double d = (s.b + std::sqrt(s.b * s.b + k * t * s.b / 3.0)) / k;
    const double n = s.a / (k - s.b / d);
    const LifetimePlan p = inference_optimal(s, loss, t);
    EXPECT_NEAR(p.d / d, 1.0, 1e-11) << t;
    EXPECT_NEAR(p.n / n, 1.0, 1e-11) << t;
    EXPECT_NEAR(p.total_flops / (6 * n * d + 2 * n * t), 1.0, 1e-11) << t;
  }
}

// Every answer is on the iso-loss curve, satisfies the optimum's condition, and is cheaper over
// the lifetime than its neighbours on the curve; more inference -> a smaller model trained longer.
TEST(InferenceBudget, OnTheCurveAtTheConditionAndMonotoneInT) {
  const LossSurface s = loss_surface_of(fit_from(chinchilla_published().at("epoch2024").at("estimates")));
  const double loss = 2.05;
  double previous_n = INFINITY, previous_d = 0;
  for (double t : {0.0, 1e10, 1e12, 1e13, 1e15, 1e18}) {
    const LifetimePlan p = inference_optimal(s, loss, t);
    EXPECT_NEAR(s.loss(p.n, p.d), loss, 1e-12) << t;
    const double lhs = (6 * p.d + 2 * t) * s.beta * s.b * std::pow(p.d, -s.beta - 1);
    const double rhs = 6 * s.alpha * s.a * std::pow(p.n, -s.alpha);
    EXPECT_NEAR(lhs / rhs, 1.0, 1e-9) << t;
    for (double f : {0.98, 1.02}) {  // a neighbour on the curve costs more
      const double n = p.n * f;
      const double d = std::pow(s.b / (loss - s.e - s.a / std::pow(n, s.alpha)), 1 / s.beta);
      EXPECT_GT(6 * n * d + 2 * n * t, p.total_flops) << t << " " << f;
    }
    EXPECT_LT(p.n, previous_n) << t;
    EXPECT_GT(p.d, previous_d) << t;
    previous_n = p.n;
    previous_d = p.d;
  }
}

TEST(InferenceBudget, BadInputIsRefused) {
  const LossSurface s{.e = 1.7, .a = 400, .b = 400, .alpha = 0.34, .beta = 0.28};
  EXPECT_THROW(inference_optimal(s, 1.7, 1e12), InputError);   // loss = E: unreachable
  EXPECT_THROW(inference_optimal(s, 1.5, 1e12), InputError);   // below E
  EXPECT_THROW(inference_optimal(s, 2.0, -1.0), InputError);   // negative T
  EXPECT_THROW(inference_optimal(s, NAN, 1e12), InputError);
  EXPECT_THROW(inference_optimal(s, 2.0, INFINITY), InputError);
  LossSurface bad = s;
  bad.beta = 0;
  EXPECT_THROW(inference_optimal(bad, 2.0, 1e12), InputError);
  laws::LawFit other;
  other.law = "chinchilla-2";
  EXPECT_THROW(loss_surface_of(other), InputError);
}

}  // namespace
}  // namespace ss::analysis
