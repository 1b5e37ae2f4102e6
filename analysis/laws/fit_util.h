// Internal to ss_laws: the per-law fit functions named by the law table, input checks,
// log-space least squares and a deterministic parallel loop. Invariant: a fit function either
// returns a complete LawFit (params in its spec's order) or throws ss::InputError (one line); it
// never returns a partial result.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "analysis/laws/laws.h"

namespace ss::laws::detail {

// The fit functions of the law table (laws.cc), one per law.
LawFit fit_kaplan_n(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_kaplan_d(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_kaplan_c(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_kaplan_nd(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_kaplan_ns(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_chinchilla1(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_chinchilla2(const LawInput&, const FitOptions&, const LawFit*, int);
LawFit fit_chinchilla3(const LawInput&, const FitOptions&, const LawFit*, int);

// chinchilla-2's isoFLOP budgets (chinchilla12.cc): runs with a planned budget group by it, the
// others by a window of `tolerance` decades from the group's smallest C; groups in order of C.
std::vector<std::vector<std::size_t>> isoflop_groups(const LawInput& input, double tolerance);
// One budget's profile: members, C (geometric mean) and, with >= 3 distinct N and a parabola in
// log10 N opening upwards, its vertex.
IsoFlopProfile profile_of(const LawInput& input, const std::vector<std::size_t>& group);

// Throws ss::InputError unless every point/curve step is finite and positive where it must be.
void check_input(const LawInput& input);

// Throws ss::InputError "<law>: needs at least <min> <what>, got <got>; ..." when got < min.
void require_count(const std::string& law, std::size_t got, std::size_t min,
                   const std::string& what);

// C of a point or curve step: the given flops, or 6 N D when 0 (the 6ND convention).
double flops_of(const FinalPoint& point);
double flops_of(const CurveStep& step);

// y = intercept + slope x by ordinary least squares; rms of the residuals. Throws
// ss::InputError (naming `law`) when x has no spread.
struct LineFit {
  double intercept = 0;
  double slope = 0;
  double rms = 0;
  double r2 = 1;  // 1 - SS_res / SS_tot (1 when y has no spread)
};
// 1 - ss_res / SS_tot of y (the R^2 of a fit whose squared residuals sum to ss_res); 1 when y
// has no spread.
double r_squared(const std::vector<double>& y, double ss_res);
LineFit fit_line(const std::string& law, const std::vector<double>& x,
                 const std::vector<double>& y);

// Curve steps grouped by run id, each run's steps sorted by flops (steps with flops <= 0, e.g.
// step 0, are dropped: they have no place on a log axis).
std::map<std::int64_t, std::vector<CurveStep>> curves_by_run(const LawInput& input);

// The loss curves as the laws with LawSpec::smooth_curves read them (fit_law applies it once,
// before the fit and its bootstrap: each run's curve is smoothed on its own, so this equals
// smoothing every resample). A per-step train loss is one batch (noise ~0.05 nats at 1,024
// tokens), too noisy to take a minimum or an envelope over: per run, a least-squares line in
// ln C through the steps within kSmoothHalfWidth of C, read at C on the grid C = 10^(k / 40)
// (the same grid for every run, so readings of different runs at one budget share C exactly)
// within the curve's span, and at the curve's last step; with fewer than 3 steps within reach
// (a sparse curve), linear interpolation between the neighbouring steps. Each reading's tokens
// and step are the last step's scaled by C / C_end (both grow in proportion to C in one run).
inline constexpr double kSmoothHalfWidth = 0.05;   // ln C: +-5%
inline constexpr double kCurveGridPerDecade = 40;  // readings per decade of C
std::vector<CurveStep> smooth_curves(const LawInput& input);

// Runs body(i) for i in [0, count) on `threads` threads (work-stealing by an atomic counter).
// Results must be written to slot i by the body, so the outcome does not depend on threads.
inline void parallel_for(std::size_t count, int threads,
                         const std::function<void(std::size_t)>& body) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) body(i);
  };
  const int used = std::max(1, std::min<int>(threads, static_cast<int>(count)));
  std::vector<std::jthread> pool;
  for (int t = 1; t < used; ++t) pool.emplace_back(worker);
  worker();
}

}  // namespace ss::laws::detail
