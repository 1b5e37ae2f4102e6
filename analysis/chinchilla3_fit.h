// Chinchilla approach 3 in scalefit's own fallback fitter (used while analysis/laws/ — the
// project's designated ss_laws library — is absent): L(N, D) = E + A/N^alpha + B/D^beta in
// Epoch/Hoffmann's parameterisation x = (a, b, e, alpha, beta), A = e^a, B = e^b, E = e^e,
// log L_pred = LSE(a - alpha log N, b - beta log D, e), Huber loss (delta = 1e-3) on
// log L_pred - log L_obs, minimised by Ceres' L-BFGS (GradientProblem, analytic gradient) from
// every start of a grid. Invariant: returns the start with the lowest objective; ties keep the
// earlier start, so the result does not depend on the number of threads.
#pragma once

#include <array>
#include <functional>
#include <vector>

namespace ss::analysis {

using Chinchilla3Params = std::array<double, 5>;  // a, b, e, alpha, beta

struct Chinchilla3Result {
  Chinchilla3Params x{};
  double objective = 0;  // sum of Huber losses at x
  bool converged = false;
};

// Epoch's grid: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}
// (5 * 5 * 5 * 6 * 6 = 4,500 starts).
std::vector<Chinchilla3Params> chinchilla3_start_grid();

// Fits from each start on `threads` threads (0: hardware concurrency); progress(done, total)
// is called from the workers. Points: log N, log D, log L.
Chinchilla3Result fit_chinchilla3(const std::vector<double>& log_n,
                                  const std::vector<double>& log_d,
                                  const std::vector<double>& log_loss,
                                  const std::vector<Chinchilla3Params>& starts, int threads,
                                  const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace ss::analysis
