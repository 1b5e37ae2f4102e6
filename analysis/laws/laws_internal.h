// Internal to ss_laws: the per-law estimators and shared helpers. Invariant: an estimator sees
// input already validated by fit_law (all values finite and > 0, C filled in) and throws
// ss::InputError when the points it selects are too few; it never computes CIs (fit_law does,
// by calling the same estimator on resampled runs).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "analysis/laws/laws.h"

namespace ss::laws::detail {

// y = intercept + slope x by least squares; rms of the residuals. Needs >= 2 distinct x.
struct Line {
  double intercept = 0, slope = 0, rms = 0;
};
Line fit_line(const std::vector<double>& x, const std::vector<double>& y, const std::string& law);

// Throws InputError "<law>: needs at least <min> <what> (<have> available); <fix>".
void require_points(const std::string& law, std::size_t have, std::size_t min,
                    const std::string& what, const std::string& fix);

// chinchilla-3 parameter vector (a, b, e, alpha, beta).
using C3Params = std::array<double, 5>;

// How an estimator should run: the chinchilla-3 starts to use (empty: Epoch's full grid),
// threads for multi-starts, and progress (empty in bootstrap refits).
struct EstimatorContext {
  std::vector<C3Params> c3_starts;
  int threads = 1;
  ProgressFn progress;
};

LawFit estimate_kaplan_n(const LawInput& in);
LawFit estimate_kaplan_d(const LawInput& in);
LawFit estimate_kaplan_c(const LawInput& in);
LawFit estimate_chinchilla_1(const LawInput& in, const FitOptions& options);
LawFit estimate_chinchilla_2(const LawInput& in, const FitOptions& options);
LawFit estimate_kaplan_nd(const LawInput& in);
LawFit estimate_kaplan_ns(const LawInput& in, const FitOptions& options);
LawFit estimate_chinchilla_3(const LawInput& in, const EstimatorContext& context);

// Epoch's 4,500-start grid, and the bootstrap refit starts around a full-data optimum.
std::vector<C3Params> chinchilla3_grid();
std::vector<C3Params> chinchilla3_bootstrap_starts(const LawFit& full);

// kaplan-ns's alpha_B when not fitted (Kaplan et al. 2020, eq. 5.3).
inline constexpr double kKaplanAlphaB = 0.21;

}  // namespace ss::laws::detail
