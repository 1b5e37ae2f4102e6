// Test helpers: synthetic runs generated from known law parameters with seeded log-normal noise,
// the one Chinchilla "truth" type every test generates data from (and the two published
// parameter sets), and a tiny reader of Epoch's Chinchilla CSV (independent of scalefit's CSV
// reader). Invariant: nothing here calls the library under test (analysis/laws).
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/laws/laws.h"

namespace ss::laws::testing {

// A chinchilla-3 truth L(N, D) = E + A / N^alpha + B / D^beta, with its compute-optimal
// allocation worked out here (not by the library): a = beta / (alpha + beta), G, and N_opt(C)
// in closed form (Hoffmann et al. 2022, eq. 4) or by a golden-section search on ln N.
struct ChinchillaTruth {
  double E, A, B, alpha, beta;
  double operator()(double n, double d) const {
    return E + A / std::pow(n, alpha) + B / std::pow(d, beta);
  }
  double loss(double n, double d) const { return (*this)(n, d); }
  double a() const { return beta / (alpha + beta); }
  double G() const { return std::pow(alpha * A / (beta * B), 1 / (alpha + beta)); }
  // N_opt at budget C = 6 N D, closed form.
  double n_opt(double c) const { return G() * std::pow(c / 6, a()); }
  // N_opt at budget C by golden-section search of L(N, C / 6N) on ln N (no closed form).
  double n_opt_by_search(double c) const {
    double lo = std::log(1e3), hi = std::log(c / 6 / 1e3);
    for (int i = 0; i < 200; ++i) {
      const double m1 = lo + 0.382 * (hi - lo), m2 = lo + 0.618 * (hi - lo);
      const double l1 = (*this)(std::exp(m1), c / (6 * std::exp(m1)));
      const double l2 = (*this)(std::exp(m2), c / (6 * std::exp(m2)));
      (l1 < l2 ? hi : lo) = l1 < l2 ? m2 : m1;
    }
    return std::exp(0.5 * (lo + hi));
  }
};

// Hoffmann et al. 2022's approach-3 fit (eq. 10): the default truth of the synthetic tests.
inline constexpr ChinchillaTruth kHoffmann2022{1.69, 406.4, 410.7, 0.34, 0.28};
// Epoch AI's refit of the same data (Besiroglu et al. 2024, Table 1 point estimates).
inline constexpr ChinchillaTruth kEpoch2024{1.817, 482.0, 2085.0, 0.348, 0.366};

// Multiplies each loss by exp(sigma * z), z ~ N(0, 1), from a fixed seed.
inline void add_log_noise(std::vector<FinalPoint>& points, double sigma, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  for (FinalPoint& p : points) p.loss *= std::exp(sigma * z(generator));
}

// One run per (N, D) of the grids, loss from `law`, C = 6ND.
inline std::vector<FinalPoint> grid_points(const std::vector<double>& sizes,
                                           const std::vector<double>& tokens,
                                           const std::function<double(double, double)>& law) {
  std::vector<FinalPoint> points;
  for (double n : sizes)
    for (double d : tokens) {
      FinalPoint p;
      p.run = static_cast<std::int64_t>(points.size());
      p.n = n;
      p.d = d;
      p.loss = law(n, d);
      points.push_back(p);
    }
  return points;
}

// count values log-spaced from lo to hi inclusive.
inline std::vector<double> log_space(double lo, double hi, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i)
    out.push_back(lo * std::pow(hi / lo, static_cast<double>(i) / (count - 1)));
  return out;
}

// Epoch's Chinchilla CSV: N = "Model Size", C = "Training FLOP", D = C / (6N), loss; the
// `drop_highest` highest-loss rows removed (Epoch drops 5).
inline std::vector<FinalPoint> read_chinchilla_csv(const std::string& path, int drop_highest) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) header.push_back(cell);
  }
  auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::size_t n_col = column("Model Size"), c_col = column("Training FLOP"),
                    l_col = column("loss");
  std::vector<FinalPoint> points;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    FinalPoint p;
    p.run = static_cast<std::int64_t>(points.size());
    p.n = std::stod(cells.at(n_col));
    p.c = std::stod(cells.at(c_col));
    p.d = p.c / (6.0 * p.n);
    p.loss = std::stod(cells.at(l_col));
    points.push_back(p);
  }
  std::sort(points.begin(), points.end(),
            [](const FinalPoint& a, const FinalPoint& b) { return a.loss < b.loss; });
  points.resize(points.size() - static_cast<std::size_t>(drop_highest));
  return points;
}

}  // namespace ss::laws::testing
