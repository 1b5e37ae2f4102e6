// scalefit propose (analysis/propose.h) against independent references: the variance update
// recomputed here by hand from the draws, hand-built ensembles whose best point is known, the
// compute cap, and the statistical claim on synthetic truths: adding the proposed points
// (simulated from the truth plus noise) narrows the refitted 95% interval of N_opt(C) more than
// adding as many random candidates, over a fixed set of seeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include <fmt/core.h>

#include "analysis/law_runner.h"
#include "analysis/propose.h"
#include "ss/error.h"

namespace ss::analysis {
namespace {

using Truth = std::function<double(double, double)>;

Candidate candidate(double n, double d, double flops) {
  Candidate c;
  c.n = n, c.d = d, c.flops = flops;
  return c;
}

ProposeOptions design(double budget, int count, std::optional<double> cap = std::nullopt) {
  ProposeOptions o;
  o.budget = budget, o.count = count, o.compute_cap = cap;
  return o;
}

// A chinchilla-3 fit whose bootstrap draws are given (params E, A, B, alpha, beta, a, b, G).
laws::LawFit chinchilla_fit(const std::vector<std::array<double, 5>>& draws) {
  laws::LawFit fit;
  fit.law = "chinchilla-3";
  auto params = [](const std::array<double, 5>& x) {
    const double a = x[4] / (x[3] + x[4]), b = x[3] / (x[3] + x[4]);
    const double g = std::pow(x[3] * x[1] / (x[4] * x[2]), 1.0 / (x[3] + x[4]));
    return std::vector<double>{x[0], x[1], x[2], x[3], x[4], a, b, g};
  };
  const auto full = params(draws.front());
  for (const char* name : {"E", "A", "B", "alpha", "beta", "a", "b", "G"})
    fit.params.push_back({name, full[fit.params.size()]});
  for (const auto& d : draws) fit.bootstrap_params.push_back(params(d));
  return fit;
}

// Draws that differ only in A (so in N_opt) or only in B, on a fixed seed.
std::vector<std::array<double, 5>> draws_varying(int index, double sd) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, sd);
  std::vector<std::array<double, 5>> out;
  for (int i = 0; i < 200; ++i) {
    std::array<double, 5> x{1.7, 400, 410, 0.34, 0.28};
    x[index] *= std::exp(noise(rng));
    out.push_back(x);
  }
  return out;
}

TEST(Propose, OneStepMatchesTheVarianceUpdateComputedByHand) {
  const laws::LawFit fit = chinchilla_fit(draws_varying(1, 0.3));
  const std::vector<Candidate> candidates{candidate(1e7, 1e12, 6e19), candidate(1e9, 1e9, 6e18)};
  const double sd = 0.01, budget = 1e21;
  const Proposal p = propose_points(fit, candidates, design(budget, 1), sd);
  ASSERT_EQ(p.points.size(), 1u);
  // By hand: q = ln N_opt = ln G + a ln(C/6) per draw; f = ln L at each candidate.
  double best_ratio = 1;
  for (const Candidate& c : candidates) {
    std::vector<double> q, f;
    for (const auto& v : fit.bootstrap_params) {
      q.push_back(std::log(v[7]) + v[5] * std::log(budget / 6));
      f.push_back(std::log(v[0] + v[1] / std::pow(c.n, v[3]) + v[2] / std::pow(c.d, v[4])));
    }
    const double nb = static_cast<double>(q.size());
    double mq = 0, mf = 0;
    for (std::size_t i = 0; i < q.size(); ++i) mq += q[i] / nb, mf += f[i] / nb;
    double vq = 0, vf = 0, cqf = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
      vq += (q[i] - mq) * (q[i] - mq) / (nb - 1);
      vf += (f[i] - mf) * (f[i] - mf) / (nb - 1);
      cqf += (q[i] - mq) * (f[i] - mf) / (nb - 1);
    }
    best_ratio = std::min(best_ratio, std::sqrt(1 - cqf * cqf / (vf + sd * sd) / vq));
  }
  EXPECT_NEAR(1 - p.points[0].total_reduction, best_ratio, 1e-9);
  // Only A varies, and the small model (N = 1e7) sees A far more than the large one.
  EXPECT_EQ(p.points[0].candidate.n, 1e7);
}

TEST(Propose, PrefersThePointThatSeesTheUncertainParameter) {
  // Only B varies: N_opt depends on B, and ln L depends on B only through B / D^beta, which is
  // largest at small D. The small-D candidate must win although it is not the cheapest.
  const laws::LawFit fit = chinchilla_fit(draws_varying(2, 0.3));
  const std::vector<Candidate> candidates{candidate(1e12, 1e7, 6e19), candidate(1e7, 1e12, 6e19),
                                          candidate(1e7, 1e7, 6e14)};
  const Proposal p = propose_points(fit, candidates, design(1e21, 1), 0.01);
  ASSERT_EQ(p.points.size(), 1u);
  EXPECT_EQ(p.points[0].candidate.d, 1e7);
  EXPECT_GT(p.points[0].total_reduction, 0.5);
}

TEST(Propose, NeverExceedsTheCapAndNeverRepeatsACandidate) {
  const laws::LawFit fit = chinchilla_fit(draws_varying(1, 0.3));
  std::vector<Candidate> candidates;
  for (double n : {1e6, 1e7, 1e8, 1e9})
    for (double d : {1e8, 1e9, 1e10}) candidates.push_back(candidate(n, d, 6 * n * d));
  const double cap = 1e18;
  const Proposal p = propose_points(fit, candidates, design(1e21, 12, cap), 0.01);
  double total = 0;
  std::vector<std::pair<double, double>> seen;
  for (const auto& q : p.points) {
    total += q.candidate.flops;
    seen.push_back({q.candidate.n, q.candidate.d});
  }
  EXPECT_LE(total, cap);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
  EXPECT_LT(p.points.size(), 12u);  // 1e9 x 1e10 alone costs 6e19 > cap
  ASSERT_FALSE(p.notes.empty());
  EXPECT_NE(p.notes.back().find("compute cap"), std::string::npos);
  // Widths never grow as points are added.
  for (std::size_t i = 1; i < p.points.size(); ++i)
    EXPECT_LE(p.points[i].width_after, p.points[i - 1].width_after + 1e-12);
}

TEST(Propose, RefusesTooFewDrawsAndLawsWithoutLossOrAllocation) {
  laws::LawFit fit = chinchilla_fit(draws_varying(1, 0.3));
  fit.bootstrap_params.resize(10);
  const std::vector<Candidate> one{candidate(1e7, 1e9, 6e16)};
  EXPECT_THROW(propose_points(fit, one, design(1e21, 1), 0.01), InputError);
  fit.law = "chinchilla-2";
  EXPECT_THROW(propose_points(fit, one, design(1e21, 1), 0.01), InputError);
  const std::vector<std::string> laws = proposable_laws();
  EXPECT_EQ(laws, (std::vector<std::string>{"kaplan-nd", "chinchilla-3"}));
}

// ---- the statistical claim ---------------------------------------------------------------

FitData simulate(const Truth& truth, const std::vector<std::pair<double, double>>& nd, double sd,
                 std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0.0, sd);
  FitData data;
  data.source = "synthetic";
  for (const auto& [n, d] : nd) {
    FitPoint& p = data.points.emplace_back();
    p.run = static_cast<std::int64_t>(data.points.size());
    p.n = n, p.d = d, p.c = 6 * n * d, p.loss = truth(n, d) * std::exp(noise(rng));
    p.loss_kind = "csv";
  }
  return data;
}

laws::LawFit fit_with_bootstrap(const FitData& data, const std::string& law, int bootstrap,
                                std::uint64_t seed) {
  laws::FitOptions options;
  options.bootstrap = bootstrap;
  options.seed = seed;
  options.threads = 2;
  return laws::fit_law(law, to_law_input(data), options);
}

// 95% bootstrap width of ln N_opt(C).
double width_of(const laws::LawFit& fit, double budget) {
  const laws::LawSpec& spec = laws::find_law(fit.law);
  std::vector<double> q;
  for (const auto& v : fit.bootstrap_params) {
    laws::LawFit draw = fit;
    for (std::size_t i = 0; i < v.size(); ++i) draw.params[i].second = v[i];
    q.push_back(std::log(spec.optimal_n(draw, budget)));
  }
  std::sort(q.begin(), q.end());
  return laws::percentile(q, 0.975) - laws::percentile(q, 0.025);
}

struct Trial {
  std::string law;
  Truth truth;
  std::vector<double> sizes, tokens;  // the initial grid
  double sd = 0.01, budget = 0, cap = 0;
  int count = 4, bootstrap = 100;
};

// ln(width with the proposed points / width with random candidates) for one seed.
double log_width_ratio(const Trial& t, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<double, double>> grid;
  for (double n : t.sizes)
    for (double d : t.tokens) grid.push_back({n, d});
  const FitData data = simulate(t.truth, grid, t.sd, rng);
  const laws::LawFit fit = fit_with_bootstrap(data, t.law, t.bootstrap, seed);
  const double limit = std::min(t.budget, t.cap);
  const std::vector<Candidate> candidates = candidate_grid(fit, data, t.budget, limit, 12);
  const Proposal p = propose_points(fit, candidates, design(t.budget, t.count, t.cap), t.sd);
  // The random design: candidates in a random order, each taken while the cap allows.
  std::vector<std::size_t> order(candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::pair<double, double>> chosen, random_pick;
  for (const auto& q : p.points) chosen.push_back({q.candidate.n, q.candidate.d});
  double left = t.cap;
  for (std::size_t i : order)
    if (random_pick.size() < chosen.size() && candidates[i].flops <= left) {
      random_pick.push_back({candidates[i].n, candidates[i].d});
      left -= candidates[i].flops;
    }
  auto width_with = [&](const std::vector<std::pair<double, double>>& added) {
    FitData more = data;
    const FitData extra = simulate(t.truth, added, t.sd, rng);
    more.points.insert(more.points.end(), extra.points.begin(), extra.points.end());
    return width_of(fit_with_bootstrap(more, t.law, t.bootstrap, seed + 1000), t.budget);
  };
  return std::log(width_with(chosen) / width_with(random_pick));
}

// Over the fixed seeds: the proposed design must be narrower in at least `min_wins` of them (a
// sign test: under "no better than random" P(wins >= min_wins) is stated per trial) and its
// median log width ratio below ln(1 - margin).
void expect_proposals_beat_random(const Trial& t, int seeds, int min_wins, double margin) {
  std::vector<double> ratios;
  for (int s = 1; s <= seeds; ++s)
    ratios.push_back(log_width_ratio(t, static_cast<std::uint64_t>(s)));
  const auto wins = std::count_if(ratios.begin(), ratios.end(), [](double r) { return r < 0; });
  std::vector<double> sorted = ratios;
  std::sort(sorted.begin(), sorted.end());
  const double median = laws::percentile(sorted, 0.5);
  std::string all;
  for (double r : ratios) all += fmt::format(" {:.2f}", std::exp(r));
  fmt::print("{}: {} of {} seeds narrower, median width ratio {:.3f}; ratios:{}\n", t.law, wins,
             seeds, std::exp(median), all);
  EXPECT_GE(wins, min_wins);
  EXPECT_LT(median, std::log(1 - margin));
}

TEST(ProposeStatistics, KaplanNdProposalsNarrowTheIntervalMoreThanRandomPoints) {
  const Trial t{.law = "kaplan-nd",
                .truth =
                    [](double n, double d) {
                      return std::pow(std::pow(8.8e13 / n, 0.076 / 0.095) + 5.4e13 / d, 0.095);
                    },
                .sizes = {1e6, 4e6, 1.6e7, 6.4e7},
                .tokens = {1e8, 1e9, 1e10},
                .sd = 0.01,
                .budget = 1e21,
                .cap = 1e20,
                .count = 4,
                .bootstrap = 100};
  // 24 seeds; P(>= 18 wins | p = 1/2) = 0.011.
  expect_proposals_beat_random(t, 24, 18, 0.2);
}

// chinchilla-3 is not in the suite: three fits of 4,500 starts per seed take ~40 s of CPU
// (380 s wall on the shared 2-core box for 10 seeds). Measured once with 10 seeds, 60 draws, the
// trial of the kaplan-nd test's shape (Hoffmann's law, 4 x 4 grid, C = 1e21, cap 3e20): 8 of 10
// seeds narrower, median width ratio 0.82 (docs/scalefit.md).

}  // namespace
}  // namespace ss::analysis
