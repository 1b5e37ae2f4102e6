// Chinchilla approaches 1 and 2 and compute-optimal allocation: exponents on synthetic isoFLOP
// grids generated here from known chinchilla-3 truths, skipped budgets, refusals, and
// allocation rows checked against a brute-force minimisation done in the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "analysis/laws/laws.h"
#include "ss/error.h"
#include "synthetic.h"

namespace ss::laws {
namespace {

using Truth = testing::ChinchillaTruth;

FitOptions no_bootstrap() {
  FitOptions options;
  options.bootstrap = 0;
  return options;
}

// Per budget C, `per_budget` runs with N log-spaced over +-1 decade around the true N_opt
// (shifted by `offset` decades so the grid is not centred on the optimum), D = C/(6N).
LawInput isoflop_input(const Truth& truth, const std::vector<double>& budgets, int per_budget,
                       double offset) {
  LawInput input;
  for (double c : budgets) {
    const double centre = truth.n_opt_by_search(c) * std::pow(10.0, offset);
    for (double n : testing::log_space(centre / 10, centre * 10, per_budget)) {
      FinalPoint p;
      p.run = static_cast<std::int64_t>(input.points.size());
      p.n = n;
      p.d = c / (6 * n);
      p.c = c;
      p.loss = truth(n, p.d);
      input.points.push_back(p);
    }
  }
  return input;
}

const std::vector<double> kBudgets{1e18, 1e19, 1e20, 1e21, 1e22};

TEST(Chinchilla2, ExponentsExactOnNoiseFreeIsoflops) {
  for (const Truth& truth : {testing::kHoffmann2022, Truth{2.0, 800, 2000, 0.5, 0.3}}) {
    const LawFit fit =
        fit_law("chinchilla-2", isoflop_input(truth, kBudgets, 9, 0.2), no_bootstrap());
    // L - E = C^-g f(ln N - ln N_opt(C)) with the same f at every budget, so the parabola's
    // vertex is off N_opt by the same factor at every budget and the exponent is exact.
    EXPECT_NEAR(fit.param("a"), truth.a(), 1e-6);
    EXPECT_NEAR(fit.param("b"), 1 - truth.a(), 1e-6);
    EXPECT_NEAR(fit.param("a") + fit.param("b"), 1.0, 1e-9);  // D_opt = C/(6 N_opt)
    EXPECT_EQ(fit.n_points, 5);
    ASSERT_EQ(isoflop_profiles(fit).size(), 5u);
  }
}

TEST(Chinchilla2, NoisyIsoflopsAndSkippedBudget) {
  const Truth truth{1.8, 480, 2100, 0.35, 0.37};
  LawInput input = isoflop_input(truth, kBudgets, 9, 0.0);
  testing::add_log_noise(input.points, 0.003, 17);
  // A sixth budget with only 2 runs: skipped with a note, not fitted.
  for (double n : {1e9, 2e9}) {
    FinalPoint p;
    p.n = n;
    p.c = 1e24;
    p.d = p.c / (6 * n);
    p.loss = truth(n, p.d);
    input.points.push_back(p);
  }
  const LawFit fit = fit_law("chinchilla-2", input, no_bootstrap());
  // sigma 0.003 on losses ~2-3 moves each parabola vertex by ~0.05 in ln N (curvature of the
  // 9-point +-1 decade parabola); over 4 decades of C (ln span 9.2) the slope error is ~0.01,
  // so 0.03 is a 3-sigma bound.
  EXPECT_NEAR(fit.param("a"), truth.a(), 0.03);
  EXPECT_EQ(fit.n_points, 5);
  EXPECT_EQ(fit.details["notes"].size(), 1u);
}

TEST(Chinchilla2, PlannedBudgetsGroupRuns) {
  const Truth truth = testing::kHoffmann2022;
  LawInput input = isoflop_input(truth, kBudgets, 7, 0.1);
  // Planned budgets given: runs' actual C scattered by up to 20% (0.08 decade, more than the
  // 0.05 window) but grouped by the budget they were planned for.
  for (std::size_t i = 0; i < input.points.size(); ++i) {
    input.points[i].budget = input.points[i].c;
    input.points[i].c *= 1.0 + 0.2 * static_cast<double>(i % 3) / 2;
  }
  const LawFit fit = fit_law("chinchilla-2", input, no_bootstrap());
  EXPECT_EQ(fit.n_points, 5);
  EXPECT_NE(fit.points_used.find("by planned budget"), std::string::npos) << fit.points_used;
  const auto profiles = isoflop_profiles(fit);
  ASSERT_EQ(profiles.size(), 5u);
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(profiles[k].planned_budget, kBudgets[k]);
    EXPECT_EQ(profiles[k].runs.size(), 7u);
  }
  // Without the planned budgets the same runs fall into more, smaller windows.
  for (FinalPoint& p : input.points) p.budget.reset();
  const LawFit windows = fit_law("chinchilla-2", input, no_bootstrap());
  EXPECT_GT(isoflop_profiles(windows).size(), 5u);
  input.points[0].budget = -1;
  EXPECT_THROW(fit_law("chinchilla-2", input, no_bootstrap()), InputError);
}

// The window rule (runs without planned budgets): a budget spans isoflop_tolerance decades from
// its smallest C, so evenly spread C (0.02 decade apart over 0.2 decades) splits into windows
// of 0.05 decade (3 runs each, 0.00-0.04, 0.06-0.10, ...) instead of chaining into one budget.
TEST(Chinchilla2, WindowsStartAtTheSmallestC) {
  const Truth truth = testing::kHoffmann2022;
  LawInput input;
  for (int k = 0; k < 12; ++k) {
    FinalPoint p;
    p.run = k;
    p.c = 1e20 * std::pow(10.0, 0.02 * k);
    p.n = truth.n_opt_by_search(1e20) * std::pow(10.0, 0.3 * ((k % 3) - 1));
    p.d = p.c / (6 * p.n);
    p.loss = truth(p.n, p.d);
    input.points.push_back(p);
  }
  const auto profiles = isoflop_profiles(fit_law("chinchilla-2", input, no_bootstrap()));
  ASSERT_EQ(profiles.size(), 4u);
  for (std::size_t g = 0; g < 4; ++g)
    EXPECT_EQ(profiles[g].runs, (std::vector<std::int64_t>{static_cast<std::int64_t>(3 * g),
                                                           static_cast<std::int64_t>(3 * g + 1),
                                                           static_cast<std::int64_t>(3 * g + 2)}));
}

// The window width is checked in one place (isoflop_profiles), for the fit and the plot alike.
TEST(Chinchilla2, RefusesANonPositiveWindow) {
  const Truth truth = testing::kHoffmann2022;
  const LawInput input = isoflop_input(truth, kBudgets, 7, 0.1);
  for (double tolerance : {0.0, -0.05, std::nan("")}) {
    FitOptions options = no_bootstrap();
    options.isoflop_tolerance = tolerance;
    for (const auto& attempt :
         std::vector<std::function<void()>>{[&] { fit_law("chinchilla-2", input, options); },
                                            [&] { isoflop_profiles(input, tolerance); }}) {
      try {
        attempt();
        ADD_FAILURE() << "isoflop_tolerance " << tolerance << " accepted";
      } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("isoflop_tolerance"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(Chinchilla2, RefusesOneBudget) {
  const Truth truth = testing::kHoffmann2022;
  EXPECT_THROW(fit_law("chinchilla-2", isoflop_input(truth, {1e20}, 9, 0), no_bootstrap()),
               InputError);
}

TEST(Chinchilla1, FinalPointEnvelopeRecoversExponent) {
  const Truth truth = testing::kHoffmann2022;
  FitOptions options = no_bootstrap();
  options.approach1_budgets = 5;  // one per isoFLOP budget of the data
  const LawFit fit = fit_law("chinchilla-1", isoflop_input(truth, kBudgets, 17, 0.05), options);
  // N_opt per budget is the best of 17 sizes 1/8 decade apart: off by at most 1/16 decade
  // (0.144 in ln N); over 4 decades of C (ln span 9.2) that bounds the slope error by
  // 2 * 0.144 / 9.2 ~ 0.03.
  EXPECT_NEAR(fit.param("a"), truth.a(), 0.035);
  EXPECT_EQ(fit.n_points, 5);
}

// One run of size n whose schedule ends at FLOPs c_end, its curve logged at `points` steps
// (log-spaced from c_end / 1000, or evenly spaced in steps when `linear`) with loss
// loss_at(tokens, fraction of the schedule done).
void add_curve_run(LawInput& input, double n, double c_end, int points, bool linear,
                   const std::function<double(double, double)>& loss_at) {
  const auto run = static_cast<std::int64_t>(input.points.size());
  const double d_end = c_end / (6 * n);
  const std::vector<double> tokens =
      linear ? [&] {
        std::vector<double> t;
        for (int k = 1; k <= points; ++k) t.push_back(d_end * k / points);
        return t;
      }()
             : testing::log_space(d_end / 1000, d_end, points);
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    CurveStep s;
    s.run = run;
    s.n = n;
    s.step = static_cast<double>(k + 1);
    s.tokens = tokens[k];
    s.loss = loss_at(tokens[k], tokens[k] / d_end);
    input.curves.push_back(s);
  }
  FinalPoint p;
  p.run = run;
  p.n = n;
  p.d = d_end;
  p.loss = loss_at(d_end, 1.0);
  input.points.push_back(p);
}

// The isoFLOP grid with curves: 17 sizes over +-1 decade around each budget's N_opt (1/8 decade
// apart), each run's schedule ending at its budget. Plus runs that end far past the grid (D =
// 1e4 N, so a larger N ends later, as the quickstart's long runs do) whose loss before their
// schedule's end is 0.1 worse than an annealed run's (a cosine not yet decayed): approach 1
// must not read those. Each budget's minimum is then picked among its 17 runs (|ln N error| <=
// ln(10)/16 = 0.144), and over 4 decades of C (ln range 9.2) the slope is within 0.035; the
// budgets above the grid are not used (no run ends near them with others bracketing it).
TEST(Chinchilla1, CurvesIgnoreUnannealedPointsOfLongerRuns) {
  const Truth truth = testing::kHoffmann2022;
  LawInput input;
  for (double c : kBudgets)
    for (double n : testing::log_space(truth.n_opt(c) / 10, truth.n_opt(c) * 10, 17))
      add_curve_run(input, n, c, 80, false, [&](double d, double) { return truth(n, d); });
  const std::size_t grid_runs = input.points.size();
  for (double n : testing::log_space(truth.n_opt(kBudgets.front()), truth.n_opt(1e24), 9))
    add_curve_run(input, n, 6 * n * 1e4 * n, 80, false,
                  [&](double d, double done) { return truth(n, d) + 0.1 * (1 - done); });
  const LawFit fit = fit_law("chinchilla-1", input, no_bootstrap());
  EXPECT_NEAR(fit.param("a"), truth.a(), 0.035);
  double top = 0;
  for (const auto& row : fit.details.at("budget_minima"))
    top = std::max(top, row.at("C").get<double>());
  EXPECT_LE(top, kBudgets.back() * (1 + 1e-9));
  EXPECT_NE(fit.points_used.find("loss curves"), std::string::npos);
  // The long runs alone end at 9 different budgets, none bracketed: refused with the reason.
  LawInput long_only;
  long_only.points.assign(input.points.begin() + static_cast<std::ptrdiff_t>(grid_runs),
                          input.points.end());
  for (const CurveStep& s : input.curves)
    if (s.run >= static_cast<std::int64_t>(grid_runs)) long_only.curves.push_back(s);
  try {
    fit_law("chinchilla-1", long_only, no_bootstrap());
    ADD_FAILURE() << "long runs alone accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("needs at least 2 usable FLOP budgets, got 0"),
              std::string::npos)
        << e.what();
  }
}

// Per-step losses are single batches: with 3% log-normal noise per step (2000 steps a run) the
// lowest raw value near a budget is a lucky batch several % below the run's loss. The smoothed
// curve (a line over +-5% of C, ~100 steps: noise ~0.3%) gives each budget's minimum within 1%
// of the truth at the chosen size.
TEST(Chinchilla1, CurvesAreSmoothedBeforeTheMinimum) {
  const Truth truth = testing::kHoffmann2022;
  std::mt19937_64 generator(7);
  std::normal_distribution<double> z(0.0, 1.0);
  LawInput input;
  for (double c : kBudgets)
    for (double n : testing::log_space(truth.n_opt(c) / 10, truth.n_opt(c) * 10, 9))
      add_curve_run(input, n, c, 2000, true,
                    [&](double d, double) { return truth(n, d) * std::exp(0.03 * z(generator)); });
  const LawFit fit = fit_law("chinchilla-1", input, no_bootstrap());
  ASSERT_GE(fit.details.at("budget_minima").size(), 5u);
  for (const auto& row : fit.details.at("budget_minima")) {
    const double c = row.at("C").get<double>(), n = row.at("n_opt").get<double>();
    EXPECT_NEAR(row.at("loss").get<double>() / truth(n, c / (6 * n)), 1.0, 0.01) << "C " << c;
  }
  EXPECT_NEAR(fit.param("a"), truth.a(), 0.1);
}

TEST(Allocation, RowsMatchBruteForceMinimisation) {
  const Truth truth = testing::kHoffmann2022;
  LawFit c3;
  c3.law = "chinchilla-3";
  const double G =
      std::pow(truth.alpha * truth.A / (truth.beta * truth.B), 1 / (truth.alpha + truth.beta));
  c3.params = {{"E", truth.E},       {"A", truth.A},   {"B", truth.B},       {"alpha", truth.alpha},
               {"beta", truth.beta}, {"a", truth.a()}, {"b", 1 - truth.a()}, {"G", G}};
  LawFit c2;
  c2.law = "chinchilla-2";
  c2.params = {{"a", 0.5}, {"b", 0.5}, {"k_N", 0.1}, {"k_D", 1.6}};
  LawFit nd;
  nd.law = "kaplan-nd";
  nd.params = {{"Nc", 8.8e13}, {"Dc", 5.4e13}, {"alpha_N", 0.076}, {"alpha_D", 0.095}};
  LawFit kn;
  kn.law = "kaplan-n";
  kn.params = {{"Nc", 8.8e13}, {"alpha_N", 0.076}};
  const double c = 5.76e23;  // Chinchilla's budget
  const auto rows = allocate_compute({c3, c2, nd, kn}, c);
  ASSERT_EQ(rows.size(), 3u);  // kaplan-n cannot allocate
  EXPECT_EQ(rows[0].law, "chinchilla-3");
  EXPECT_NEAR(rows[0].n_opt / truth.n_opt_by_search(c), 1.0, 1e-6);
  EXPECT_NEAR(rows[0].d_opt, c / (6 * rows[0].n_opt), 1e-6 * rows[0].d_opt);
  EXPECT_NEAR(*rows[0].loss, truth(rows[0].n_opt, rows[0].d_opt), 1e-12);
  EXPECT_NEAR(rows[0].tokens_per_param, rows[0].d_opt / rows[0].n_opt, 1e-9);
  EXPECT_NEAR(rows[1].n_opt, 0.1 * std::sqrt(c), 1e-6 * rows[1].n_opt);
  ASSERT_TRUE(rows[1].loss.has_value());  // from chinchilla-3
  EXPECT_NEAR(*rows[1].loss, truth(rows[1].n_opt, rows[1].d_opt), 1e-12);
  // kaplan-nd: brute force over ln N.
  double best_n = 0, best_loss = INFINITY;
  for (double ln = std::log(1e6); ln < std::log(1e13); ln += 1e-4) {
    const double n = std::exp(ln);
    const double loss = *predict_loss(nd, n, c / (6 * n));
    if (loss < best_loss) best_loss = loss, best_n = n;
  }
  EXPECT_NEAR(rows[2].n_opt / best_n, 1.0, 1e-3);
  EXPECT_NEAR(*rows[2].loss, best_loss, 1e-9);
  EXPECT_TRUE(allocate_compute({c2}, c)[0].loss == std::nullopt);  // no chinchilla-3: no loss
  EXPECT_THROW(allocate_compute({c3}, -1), InputError);
}

TEST(LawNames, TableAndJson) {
  EXPECT_EQ(law_names().size(), 8u);
  EXPECT_EQ(find_law("chinchilla-3").min_points, 8);
  EXPECT_THROW(find_law("kaplan-x"), InputError);
  LawFit fit;
  fit.law = "kaplan-n";
  fit.params = {{"Nc", 1e13}, {"alpha_N", 0.07}};
  fit.ci = {{"Nc", {1e12, 1e14}}, {"alpha_N", {0.06, 0.08}}};
  const nlohmann::json j = to_json(fit);
  EXPECT_EQ(j["alpha_N"], 0.07);
  EXPECT_EQ(j["ci"]["alpha_N"][1], 0.08);
  EXPECT_EQ(j["param_order"][0], "Nc");
  EXPECT_EQ(params_json(fit), (nlohmann::json{{"Nc", 1e13}, {"alpha_N", 0.07}}));
  // Parameters sit beside the fit's other keys: no law may have a parameter named like one.
  for (const LawSpec& spec : law_table()) {
    LawFit named;
    named.law = spec.name;
    for (std::size_t i = 0; i < spec.params.size(); ++i)
      named.params.emplace_back(spec.params[i], 1.5 + static_cast<double>(i));
    const nlohmann::json all = to_json(named);
    EXPECT_EQ(all.size(), spec.params.size() + 12) << spec.name;  // + law ... r2, quality
    for (const auto& [name, value] : named.params) EXPECT_EQ(all[name], value) << spec.name;
  }
}

// Every row of the law table, fitted to one isoFLOP grid (with S and two B for kaplan-ns, and the
// largest model at two more D for kaplan-d): the fit
// has the row's parameter names in its order, and predicts / allocates exactly when the row
// says it can.
TEST(LawTable, EveryLawKeepsItsRowsPromises) {
  const Truth truth = testing::kHoffmann2022;
  LawInput input = isoflop_input(truth, kBudgets, 9, 0.1);
  // kaplan-d reads the largest model's runs: give it two more token counts.
  const FinalPoint largest = *std::max_element(
      input.points.begin(), input.points.end(),
      [](const FinalPoint& a, const FinalPoint& b) { return a.n < b.n; });
  for (double factor : {3.0, 10.0}) {
    FinalPoint p = largest;
    p.run = static_cast<std::int64_t>(input.points.size());
    p.d *= factor;
    p.c = 6 * p.n * p.d;
    p.budget.reset();
    p.loss = truth(p.n, p.d);
    input.points.push_back(p);
  }
  for (FinalPoint& p : input.points) {  // two batch sizes: kaplan-ns needs B to vary
    p.batch_tokens = p.run % 2 == 0 ? 5e5 : 1e6;
    p.steps = std::ceil(p.d / *p.batch_tokens);
  }
  for (const LawSpec& spec : law_table()) {
    const LawFit fit = fit_law(std::string(spec.name), input, no_bootstrap());
    ASSERT_EQ(fit.params.size(), spec.params.size()) << spec.name;
    for (std::size_t i = 0; i < spec.params.size(); ++i)
      EXPECT_EQ(fit.params[i].first, spec.params[i]) << spec.name;
    EXPECT_EQ(predict_loss(fit, 1e9, 2e10).has_value(), spec.loss != nullptr) << spec.name;
    EXPECT_EQ(allocate_compute({fit}, 1e21).size(), spec.optimal_n ? 1u : 0u) << spec.name;
  }
}

}  // namespace
}  // namespace ss::laws
