// Kaplan's single-variable power laws, fitted by ordinary least squares on logs (exact, no start
// dependence): ln L = alpha ln X_c - alpha ln X. Which points each uses:
// - kaplan-n: per model size N, the run with the largest D (closest to convergence);
// - kaplan-d: Kaplan's protocol for L(D) (their section 3.3: one model, n_layer 36 and d_model
//   1280, trained on subsets of the data, each until the test loss stopped falling): the runs
//   of the largest N, per D the lowest loss (repeats of a D: seeds). "Per D, the run with the
//   largest N", the rule before, took every run of a design whose D values differ (an isoFLOP
//   grid: small models at large D), mixing N-limited runs into L(D);
// - kaplan-c: the compute frontier, the lower envelope of loss vs C over all runs' loss curves,
//   smoothed by fit_law first (LawSpec::smooth_curves: readings on a grid 1/40 decade apart; an
//   envelope of raw per-step losses follows the luckiest batches); with no curves, the lower
//   envelope of the final points.
//   C is the plain 6ND (or logged) FLOPs, not Kaplan's batch-adjusted C_min.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/laws/fit_util.h"
#include "ss/error.h"

namespace ss::laws::detail {
namespace {

// L = (X_c / X)^alpha on (X, L) pairs.
LawFit fit_power(const std::string& law, const std::vector<std::pair<double, double>>& xl,
                  const std::string& xc_name, const std::string& alpha_name) {
  require_count(law, xl.size(), static_cast<std::size_t>(find_law(law).min_points), "selected points");
  std::vector<double> x, y;
  for (const auto& [v, loss] : xl) {
    x.push_back(std::log(v));
    y.push_back(std::log(loss));
  }
  const LineFit line = fit_line(law, x, y);
  if (line.slope >= 0)
    throw InputError(fmt::format(
        "{}: loss does not fall as {} grows on these points (slope {:.3g}); a power law "
        "(X_c/X)^alpha needs a falling loss",
        law, xc_name.substr(0, 1), line.slope));
  const double alpha = -line.slope;
  LawFit fit;
  fit.params = {{xc_name, std::exp(line.intercept / alpha)}, {alpha_name, alpha}};
  fit.n_points = static_cast<std::int64_t>(xl.size());
  fit.residual = line.rms;
  fit.r2 = line.r2;
  fit.residual_kind = "RMS of ln L residuals (least squares in log space)";
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& [v, loss] : xl) pts.push_back({v, loss});
  fit.details["points"] = pts;
  return fit;
}

// Groups points by a key that is equal across runs of one size (exact match: sizes come from the
// same config, so equal sizes are bit-equal), keeping per group the point maximising `better`.
template <typename Key, typename Better>
std::vector<const FinalPoint*> best_per_group(const LawInput& input, Key key, Better better) {
  std::map<double, const FinalPoint*> best;
  for (const FinalPoint& p : input.points) {
    auto [it, inserted] = best.try_emplace(key(p), &p);
    if (!inserted && better(p, *it->second)) it->second = &p;
  }
  std::vector<const FinalPoint*> out;
  for (const auto& [k, p] : best) out.push_back(p);
  return out;
}

}  // namespace

LawFit fit_kaplan_n(const LawInput& input, const FitOptions&, const LawFit*, int) {
  const auto chosen = best_per_group(
      input, [](const FinalPoint& p) { return p.n; },
      [](const FinalPoint& a, const FinalPoint& b) { return a.d > b.d; });
  std::vector<std::pair<double, double>> xl;
  for (const FinalPoint* p : chosen) xl.emplace_back(p->n, p->loss);
  LawFit fit = fit_power("kaplan-n", xl, "Nc", "alpha_N");
  fit.points_used = fmt::format(
      "per model size N, the run with the largest D (closest to convergence): {} of {} runs",
      xl.size(), input.points.size());
  fit.description = "L(N) = (Nc/N)^alpha_N, least squares on ln L vs ln N";
  return fit;
}

LawFit fit_kaplan_d(const LawInput& input, const FitOptions&, const LawFit*, int) {
  double n_max = 0;
  for (const FinalPoint& p : input.points) n_max = std::max(n_max, p.n);
  LawInput largest;
  for (const FinalPoint& p : input.points)
    if (p.n == n_max) largest.points.push_back(p);  // one size: bit-equal N from one config
  const auto chosen = best_per_group(
      largest, [](const FinalPoint& p) { return p.d; },
      [](const FinalPoint& a, const FinalPoint& b) { return a.loss < b.loss; });
  if (chosen.size() < static_cast<std::size_t>(find_law("kaplan-d").min_points))
    throw InputError(fmt::format(
        "kaplan-d: needs the largest model (N = {:g}) at >= {} token counts D, got {}; Kaplan's "
        "L(D) is one large model trained on several dataset sizes: add runs of that size at "
        "more D",
        n_max, find_law("kaplan-d").min_points, chosen.size()));
  std::vector<std::pair<double, double>> xl;
  for (const FinalPoint* p : chosen) xl.emplace_back(p->d, p->loss);
  LawFit fit = fit_power("kaplan-d", xl, "Dc", "alpha_D");
  fit.points_used = fmt::format(
      "the largest model (N = {:g}), per token count D its lowest loss: {} of {} runs", n_max,
      xl.size(), input.points.size());
  fit.description = "L(D) = (Dc/D)^alpha_D, least squares on ln L vs ln D";
  return fit;
}

LawFit fit_kaplan_c(const LawInput& input, const FitOptions&, const LawFit*, int) {
  std::vector<std::pair<double, double>> cl;  // (C, loss) candidates
  const auto runs = curves_by_run(input);
  const bool from_curves = !runs.empty();
  if (from_curves) {
    for (const auto& [run, steps] : runs)
      for (const CurveStep& s : steps) cl.emplace_back(flops_of(s), s.loss);
  } else {
    for (const FinalPoint& p : input.points) cl.emplace_back(flops_of(p), p.loss);
  }
  // Lower envelope: walking up in C, keep each point that beats every cheaper one.
  std::sort(cl.begin(), cl.end());
  std::vector<std::pair<double, double>> frontier;
  for (const auto& point : cl)
    if (frontier.empty() || point.second < frontier.back().second) frontier.push_back(point);
  LawFit fit = fit_power("kaplan-c", frontier, "Cc", "alpha_C");
  fit.points_used =
      from_curves ? fmt::format(
                        "compute frontier: lower envelope of loss vs C over {} runs' smoothed "
                        "loss curves ({} frontier points of {} readings)",
                        runs.size(), frontier.size(), cl.size())
                  : fmt::format(
                        "compute frontier from final points only (no loss curves): lower "
                        "envelope of {} runs' final loss vs C ({} frontier points)",
                        input.points.size(), frontier.size());
  fit.description =
      "L(C) = (Cc/C)^alpha_C on the compute frontier (C = 6ND or logged FLOPs, not Kaplan's "
      "batch-adjusted C_min), least squares on ln L vs ln C";
  return fit;
}

}  // namespace ss::laws::detail
