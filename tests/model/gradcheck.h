// Finite-difference helpers for the gradient tests. Invariant: numeric gradients
// are central differences (f(x+h) - f(x-h)) / 2h in double precision, and errors
// are compared norm-wise per tensor so tiny entries do not dominate.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <random>
#include <vector>

namespace ss::model::testing {

// d fn / d x[i] for every i, perturbing x in place (restored afterwards).
inline std::vector<double> numeric_grad(const std::function<double()>& fn, double* x, std::size_t n,
                                        double h = 1e-5) {
  std::vector<double> g(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = fn();
    x[i] = saved - h;
    const double down = fn();
    x[i] = saved;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// ||a - b|| / max(||a||, ||b||); 0 when both are 0.
inline double relative_error(const double* a, const double* b, std::size_t n) {
  double diff = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const double denom = std::sqrt(std::max(na, nb));
  return denom == 0 ? 0 : std::sqrt(diff) / denom;
}

inline std::vector<double> random_vector(std::size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

}  // namespace ss::model::testing
