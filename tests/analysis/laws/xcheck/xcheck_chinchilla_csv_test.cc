// Black-box check of ss_laws' chinchilla-3 on the real Chinchilla data (Epoch AI's refit of
// Hoffmann et al.'s extracted points): N = "Model Size", C = "Training FLOP", D = C / (6 N),
// the 5 highest-loss rows dropped -> 240 points. The fit must land inside Epoch's 95% CIs and
// near their point estimates; the bootstrap CIs (100 resamples here, for test time; the CLI default
// is 1000) must overlap Epoch's.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <string>

#include "analysis/laws/laws.h"
#include "tests/analysis/laws/synthetic.h"

namespace {

// Epoch's 240 points (5 highest-loss rows dropped), read by the laws tests' one CSV reader.
ss::laws::LawInput read_chinchilla_csv(const std::string& path) {
  ss::laws::LawInput in;
  in.points = ss::laws::testing::read_chinchilla_csv(path, 5);
  return in;
}

struct Epoch {
  const char* name;
  double estimate, lo, hi, near;  // near: allowed |fit - estimate|
};
// Epoch AI, "Chinchilla scaling: a replication attempt" (2024). `near` is ~1/4 of the CI
// half-width for E, alpha, beta and ~1/5 of the estimate for A, B (the CIs are wide in A, B).
constexpr Epoch kEpoch[] = {{"A", 482.0, 285, 744, 100},
                            {"B", 2085, 1042, 5810, 420},
                            {"E", 1.817, 1.769, 1.871, 0.015},
                            {"alpha", 0.348, 0.317, 0.373, 0.008},
                            {"beta", 0.366, 0.331, 0.415, 0.012}};

TEST(XcheckChinchillaCsv, Approach3ReproducesEpochRefitAndCis) {
  const auto in = read_chinchilla_csv(CHINCHILLA_CSV);
  ASSERT_EQ(in.points.size(), 240u);
  ss::laws::FitOptions o;
  o.bootstrap = 100;  // ~3 s of CPU; the CLI's default 1,000 is timed in bench_laws
  o.seed = 42;
  o.threads = 2;
  const auto fit = ss::laws::fit_law("chinchilla-3", in, o);
  EXPECT_EQ(fit.n_points, 240);
  for (const auto& e : kEpoch) {
    const double v = fit.param(e.name);
    EXPECT_GE(v, e.lo) << e.name;
    EXPECT_LE(v, e.hi) << e.name;
    EXPECT_NEAR(v, e.estimate, e.near) << e.name;
    bool found = false;
    for (const auto& [name, range] : fit.ci)
      if (name == e.name) {
        found = true;
        EXPECT_LT(range.first, range.second) << e.name;
        // Overlap with Epoch's interval, and the point estimate inside our interval.
        EXPECT_LT(range.first, e.hi) << e.name;
        EXPECT_GT(range.second, e.lo) << e.name;
        EXPECT_LE(range.first, v) << e.name;
        EXPECT_GE(range.second, v) << e.name;
      }
    EXPECT_TRUE(found) << "no CI for " << e.name;
  }
  // Shown in the test log so a reader can compare with Epoch's numbers by eye.
  for (const auto& [name, value] : fit.params) {
    std::cout << "[ chinchilla-3 ] " << name << " = " << value;
    for (const auto& [ci_name, range] : fit.ci)
      if (ci_name == name) std::cout << "  CI [" << range.first << ", " << range.second << "]";
    std::cout << "\n";
  }
  EXPECT_GE(fit.param("a"), 0.46);
  EXPECT_LE(fit.param("a"), 0.53);
  EXPECT_LE(fit.bootstrap_failed, 2);
  const auto json = ss::laws::to_json(fit);
  EXPECT_EQ(json.at("n_points").get<int>(), 240);
}

}  // namespace
