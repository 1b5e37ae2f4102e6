// Black-box helpers for the ss_laws cross-check tests: synthetic data from known truths and the
// expected scatter of a least-squares fit. Invariant: nothing here calls ss_laws, so expected
// values and tolerances never come from the code under test.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "tests/analysis/laws/synthetic.h"

namespace xcheck {

// Standard errors of theta for y = f(theta, x_i) + eps, eps ~ N(0, sigma^2), at theta = truth:
// sqrt(diag(sigma^2 (J^T J)^-1)), J by central differences of f. This is the linearised spread
// of a least-squares estimate; a Huber fit with delta << sigma behaves like least absolute
// deviations, whose spread is sqrt(pi/2) = 1.25 times larger.
inline std::vector<std::vector<double>> covariance(
    const std::function<double(const std::vector<double>&, std::size_t)>& f,
    const std::vector<double>& truth, std::size_t points, double sigma) {
  const std::size_t p = truth.size();
  std::vector<std::vector<double>> jac(points, std::vector<double>(p));
  for (std::size_t k = 0; k < p; ++k) {
    const double h = 1e-6 * std::max(1.0, std::abs(truth[k]));
    auto up = truth, down = truth;
    up[k] += h, down[k] -= h;
    for (std::size_t i = 0; i < points; ++i) jac[i][k] = (f(up, i) - f(down, i)) / (2 * h);
  }
  // M = J^T J, then Gauss-Jordan with partial pivoting on [M | I].
  std::vector<std::vector<double>> m(p, std::vector<double>(2 * p, 0));
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = 0; b < p; ++b)
      for (std::size_t i = 0; i < points; ++i) m[a][b] += jac[i][a] * jac[i][b];
    m[a][p + a] = 1;
  }
  for (std::size_t c = 0; c < p; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < p; ++r)
      if (std::abs(m[r][c]) > std::abs(m[pivot][c])) pivot = r;
    std::swap(m[c], m[pivot]);
    const double d = m[c][c];
    for (auto& v : m[c]) v /= d;
    for (std::size_t r = 0; r < p; ++r)
      if (r != c) {
        const double factor = m[r][c];
        for (std::size_t k = 0; k < 2 * p; ++k) m[r][k] -= factor * m[c][k];
      }
  }
  std::vector<std::vector<double>> cov(p, std::vector<double>(p));
  for (std::size_t a = 0; a < p; ++a)
    for (std::size_t b = 0; b < p; ++b) cov[a][b] = sigma * sigma * m[a][p + b];
  return cov;
}

inline std::vector<double> standard_errors(
    const std::function<double(const std::vector<double>&, std::size_t)>& f,
    const std::vector<double>& truth, std::size_t points, double sigma) {
  const auto cov = covariance(f, truth, points, sigma);
  std::vector<double> se;
  for (std::size_t k = 0; k < cov.size(); ++k) se.push_back(std::sqrt(cov[k][k]));
  return se;
}

// Standard error of a derived quantity g(theta) by the delta method: sqrt(grad^T cov grad).
inline double derived_se(const std::function<double(const std::vector<double>&)>& g,
                         const std::vector<std::vector<double>>& cov,
                         const std::vector<double>& truth) {
  std::vector<double> grad(truth.size());
  for (std::size_t k = 0; k < truth.size(); ++k) {
    const double h = 1e-6 * std::max(1.0, std::abs(truth[k]));
    auto up = truth, down = truth;
    up[k] += h, down[k] -= h;
    grad[k] = (g(up) - g(down)) / (2 * h);
  }
  double var = 0;
  for (std::size_t a = 0; a < truth.size(); ++a)
    for (std::size_t b = 0; b < truth.size(); ++b) var += grad[a] * cov[a][b] * grad[b];
  return std::sqrt(var);
}

// Log-spaced values lo .. hi (count >= 2), inclusive.
inline std::vector<double> log_space(double lo, double hi, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i)
    out.push_back(std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * i / (count - 1)));
  return out;
}

// Chinchilla-3 truth: the tests' one type (tests/analysis/laws/synthetic.h).
using Chinchilla = ss::laws::testing::ChinchillaTruth;

}  // namespace xcheck
