// Tests of the fit-quality rules (assess_quality, laws.h): clean fits of synthetic truths are
// identifiable with no reason; one hand-made change per rule (a parameter on its bound, E at
// 1e-300, a CI spanning 1e116, R^2 0.5, too few budgets or sizes, N spanning half a decade) fails
// exactly that rule, with its numbers in the evidence. Epoch's Chinchilla CSV stays identifiable
// (chinchilla3_test's refit checks it there, with the bootstrap it already runs).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "analysis/laws/laws.h"
#include "synthetic.h"

namespace ss::laws {
namespace {

using testing::kHoffmann2022;

// The rules that failed, in order.
std::vector<std::string> failed_rules(const FitQuality& q) {
  std::vector<std::string> rules;
  for (const QualityReason& r : q.reasons) rules.push_back(r.rule);
  return rules;
}

void set_param(LawFit& fit, const std::string& name, double value) {
  for (auto& [key, v] : fit.params)
    if (key == name) v = value;
}

// Hoffmann's law on 6 sizes (3 decades of N) x 6 token counts, 0.5% log-normal noise.
LawInput chinchilla_grid(double n_lo, double n_hi, int sizes) {
  LawInput input;
  input.points = testing::grid_points(testing::log_space(n_lo, n_hi, sizes),
                                      testing::log_space(1e9, 1e12, 6), kHoffmann2022);
  testing::add_log_noise(input.points, 0.005, 7);
  return input;
}

FitOptions few_resamples() {
  FitOptions options;
  options.bootstrap = 24;  // enough for a CI the rules can judge; keeps the test fast
  options.seed = 3;
  return options;
}

const LawFit& clean_chinchilla3() {
  static const LawFit fit = fit_law("chinchilla-3", chinchilla_grid(1e7, 1e10, 6), few_resamples());
  return fit;
}

TEST(Quality, RuleNamesInOrder) {
  EXPECT_EQ(quality_rule_names(),
            (std::vector<std::string>{"bound", "floor", "ci", "r2", "budgets", "range"}));
}

TEST(Quality, CleanChinchilla3IsIdentifiable) {
  const LawFit& fit = clean_chinchilla3();
  EXPECT_TRUE(fit.quality.identifiable);
  EXPECT_EQ(failed_rules(fit.quality), std::vector<std::string>{});
  EXPECT_GT(fit.r2, 0.99);
  const nlohmann::json j = to_json(fit);
  EXPECT_EQ(j["quality"]["identifiable"], true);
  EXPECT_TRUE(j["quality"]["reasons"].empty());
}

TEST(Quality, FloorRuleFlagsCollapsedE) {
  LawFit fit = clean_chinchilla3();
  set_param(fit, "E", 1.8e-297);
  const FitQuality q = assess_quality(fit, chinchilla_grid(1e7, 1e10, 6));
  EXPECT_FALSE(q.identifiable);
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"floor"});
  EXPECT_NE(q.reasons[0].evidence.find("E = 1.8e-297"), std::string::npos) << q.reasons[0].evidence;
  EXPECT_NE(q.reasons[0].advice.find("larger D"), std::string::npos);
}

TEST(Quality, CiRuleFlagsScaleSpanningMoreThan100xAndWideExponents) {
  LawFit fit = clean_chinchilla3();
  for (auto& [name, range] : fit.ci)
    if (name == "A") range = {3.0, 1e116};
  FitQuality q = assess_quality(fit, chinchilla_grid(1e7, 1e10, 6));
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"ci"});
  EXPECT_NE(q.reasons[0].evidence.find("A's 95% CI [3, 1e+116]"), std::string::npos)
      << q.reasons[0].evidence;
  // Just under / over the 100x limit.
  for (auto& [name, range] : fit.ci)
    if (name == "A") range = {10.0, 999.0};
  EXPECT_TRUE(assess_quality(fit, chinchilla_grid(1e7, 1e10, 6)).identifiable);
  for (auto& [name, range] : fit.ci)
    if (name == "A") range = {10.0, 1001.0};
  EXPECT_FALSE(assess_quality(fit, chinchilla_grid(1e7, 1e10, 6)).identifiable);
  // An exponent's CI wider than 0.5.
  fit = clean_chinchilla3();
  for (auto& [name, range] : fit.ci)
    if (name == "alpha") range = {0.04, 3116.0};
  q = assess_quality(fit, chinchilla_grid(1e7, 1e10, 6));
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"ci"});
  EXPECT_NE(q.reasons[0].evidence.find("alpha's 95% CI"), std::string::npos);
  // Most resamples failing is a ci failure too.
  fit = clean_chinchilla3();
  fit.bootstrap_failed = 3 * static_cast<std::int64_t>(fit.bootstrap_params.size());
  q = assess_quality(fit, chinchilla_grid(1e7, 1e10, 6));
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"ci"});
  EXPECT_NE(q.reasons[0].evidence.find("could not be fitted"), std::string::npos);
}

TEST(Quality, R2RuleFlagsPoorFit) {
  LawFit fit = clean_chinchilla3();
  fit.r2 = 0.5;
  const FitQuality q = assess_quality(fit, chinchilla_grid(1e7, 1e10, 6));
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"r2"});
  EXPECT_NE(q.reasons[0].evidence.find("0.500"), std::string::npos) << q.reasons[0].evidence;
}

TEST(Quality, RangeRuleFlagsHalfADecadeOfN) {
  // A real fit on 6 sizes within half a decade of N.
  const LawInput narrow = chinchilla_grid(1e8, 1e8 * std::sqrt(10.0), 6);
  const FitQuality q = assess_quality(clean_chinchilla3(), narrow);
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"range"});
  EXPECT_NE(q.reasons[0].evidence.find("N spans 0.50 decades"), std::string::npos)
      << q.reasons[0].evidence;
  EXPECT_NE(q.reasons[0].advice.find("model sizes"), std::string::npos);
}

TEST(Quality, BudgetsRuleFlagsTooFewSizes) {
  // Three sizes over three decades: enough spread, too few sizes (the rule wants 4).
  const FitQuality q = assess_quality(clean_chinchilla3(), chinchilla_grid(1e7, 1e10, 3));
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"budgets"});
  EXPECT_NE(q.reasons[0].evidence.find("3 distinct N values"), std::string::npos)
      << q.reasons[0].evidence;
}

// chinchilla-2 on 2 isoFLOP budgets (5 sizes each, +-1 decade around Hoffmann's N_opt).
TEST(Quality, BudgetsRuleFlagsTwoIsoFlopBudgets) {
  LawInput input;
  for (double c : {1e19, 1e21})
    for (double n :
         testing::log_space(kHoffmann2022.n_opt(c) / 10, kHoffmann2022.n_opt(c) * 10, 5)) {
      FinalPoint p;
      p.run = static_cast<std::int64_t>(input.points.size());
      p.n = n;
      p.d = c / (6 * n);
      p.loss = kHoffmann2022(p.n, p.d);
      p.budget = c;
      input.points.push_back(p);
    }
  FitOptions options;
  options.bootstrap = 0;
  const LawFit fit = fit_law("chinchilla-2", input, options);
  ASSERT_EQ(failed_rules(fit.quality), std::vector<std::string>{"budgets"});
  EXPECT_NE(fit.quality.reasons[0].evidence.find("2 of 2 FLOP budgets usable"), std::string::npos)
      << fit.quality.reasons[0].evidence;
  EXPECT_NE(fit.quality.reasons[0].advice.find("isoFLOP budgets"), std::string::npos);
}

// kaplan-nd: a clean fit of Kaplan's law is identifiable; alpha_N on its upper bound 5 (the old
// quickstart's) fails the bound rule, and the fit's own bounds are the table's.
TEST(Quality, BoundRuleFlagsExponentOnItsBound) {
  const auto kaplan = [](double n, double d) {
    return std::pow(std::pow(8.8e13 / n, 0.076 / 0.103) + 5.4e13 / d, 0.103);
  };
  LawInput input;
  input.points = testing::grid_points(testing::log_space(1e6, 1e9, 5),
                                      testing::log_space(1e8, 1e11, 5), kaplan);
  FitOptions options;
  options.bootstrap = 0;
  LawFit fit = fit_law("kaplan-nd", input, options);
  EXPECT_TRUE(fit.quality.identifiable) << to_json(fit)["quality"].dump();
  const ParamBound& bound = bound_of(find_law("kaplan-nd"), "alpha_N");
  EXPECT_EQ(bound.hi, 5.0);
  set_param(fit, "alpha_N", 4.99);
  const FitQuality q = assess_quality(fit, input);
  ASSERT_EQ(failed_rules(q), std::vector<std::string>{"bound"});
  EXPECT_NE(q.reasons[0].evidence.find("alpha_N = 4.99 sits on its fit bound 5"), std::string::npos)
      << q.reasons[0].evidence;
  set_param(fit, "alpha_N", 4.9);  // 2% inside: not on the bound
  EXPECT_TRUE(assess_quality(fit, input).identifiable);
}

}  // namespace
}  // namespace ss::laws
