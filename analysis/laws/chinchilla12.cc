// Chinchilla approaches 1 and 2 (Hoffmann et al. 2022): per FLOP budget, the loss-minimising N,
// then N_opt = k_N C^a and D_opt = k_D C^b by least squares on logs.
// - Approach 1: log-spaced budgets over the runs' final C. With loss curves, each run's loss at
//   budget C is interpolated (linearly in ln C) along its curve when the curve spans C, and the
//   run with the lowest loss gives N_opt = its N, D_opt = C/(6 N). With final points only, each
//   budget takes the final points within half a budget step (in log10 C) and the lowest-loss one
//   gives N_opt = its N, D_opt = its D. A budget with fewer than 2 candidate runs is skipped.
// - Approach 2: runs grouped into isoFLOP budgets (given labels, or clusters of log10 C within
//   FitOptions::isoflop_tolerance of the cluster mean); per budget a parabola of loss in log10 N
//   (>= 3 distinct N, opening upwards, else skipped with a note); its vertex gives N_opt,
//   D_opt = C/(6 N_opt) with C the budget's geometric-mean FLOPs.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/laws/fit_util.h"
#include "ss/error.h"

namespace ss::laws::detail {
namespace {

struct BudgetMinimum {
  double c = 0, n_opt = 0, d_opt = 0, loss = 0;
};

// Fits the two power laws to per-budget minima; needs >= min_budgets budgets.
LawFit fit_allocation_laws(const std::string& law, const std::vector<BudgetMinimum>& minima) {
  require_count(law, minima.size(), 2, "usable FLOP budgets");
  std::vector<double> lc, ln, ld;
  for (const BudgetMinimum& m : minima) {
    lc.push_back(std::log(m.c));
    ln.push_back(std::log(m.n_opt));
    ld.push_back(std::log(m.d_opt));
  }
  const LineFit n_line = fit_line(law, lc, ln);
  const LineFit d_line = fit_line(law, lc, ld);
  LawFit fit;
  fit.params = {{"a", n_line.slope},
                {"b", d_line.slope},
                {"k_N", std::exp(n_line.intercept)},
                {"k_D", std::exp(d_line.intercept)}};
  fit.n_points = static_cast<std::int64_t>(minima.size());
  fit.residual = n_line.rms;
  fit.residual_kind = "RMS of ln N_opt residuals of N_opt = k_N C^a (one per budget)";
  nlohmann::json rows = nlohmann::json::array();
  for (const BudgetMinimum& m : minima)
    rows.push_back({{"C", m.c}, {"n_opt", m.n_opt}, {"d_opt", m.d_opt}, {"loss", m.loss}});
  fit.details["budget_minima"] = rows;
  return fit;
}

// Loss of a curve at flops c by linear interpolation in ln C; nullopt outside the curve.
std::optional<double> loss_at(const std::vector<CurveStep>& steps, double c) {
  if (steps.empty() || c < flops_of(steps.front()) || c > flops_of(steps.back()))
    return std::nullopt;
  auto it = std::lower_bound(steps.begin(), steps.end(), c,
                             [](const CurveStep& s, double v) { return flops_of(s) < v; });
  if (it == steps.begin()) return it->loss;
  const CurveStep& hi = *it;
  const CurveStep& lo = *(it - 1);
  const double x0 = std::log(flops_of(lo)), x1 = std::log(flops_of(hi));
  if (x1 <= x0) return std::min(lo.loss, hi.loss);
  const double t = (std::log(c) - x0) / (x1 - x0);
  return lo.loss + t * (hi.loss - lo.loss);
}

}  // namespace

LawFit fit_chinchilla1(const LawInput& input, const FitOptions& options, const LawFit*, int) {
  const std::string law = "chinchilla-1";
  require_count(law, input.points.size(), static_cast<std::size_t>(find_law(law).min_points),
                "runs (final points)");
  if (options.approach1_budgets < 2)
    throw InputError(
        fmt::format("{}: approach1_budgets = {}; use 2 or more", law, options.approach1_budgets));
  double lo = INFINITY, hi = 0;
  for (const FinalPoint& p : input.points) {
    lo = std::min(lo, flops_of(p));
    hi = std::max(hi, flops_of(p));
  }
  if (!(hi > lo))
    throw InputError(fmt::format("{}: all runs have the same FLOPs; approach 1 needs a span", law));
  const int count = options.approach1_budgets;
  const double step = (std::log10(hi) - std::log10(lo)) / (count - 1);
  const auto runs = curves_by_run(input);
  std::vector<BudgetMinimum> minima;
  int skipped = 0;
  for (int k = 0; k < count; ++k) {
    const double log_c = std::log10(lo) + step * k;
    const double c = std::pow(10.0, log_c);
    BudgetMinimum best;
    best.loss = INFINITY;
    int candidates = 0;
    if (!runs.empty()) {
      for (const FinalPoint& p : input.points) {
        auto it = runs.find(p.run);
        if (it == runs.end()) continue;
        const auto loss = loss_at(it->second, c);
        if (!loss) continue;
        ++candidates;
        if (*loss < best.loss) best = {c, p.n, c / (6.0 * p.n), *loss};
      }
    } else {
      for (const FinalPoint& p : input.points) {
        if (std::abs(std::log10(flops_of(p)) - log_c) > 0.5 * step) continue;
        ++candidates;
        if (p.loss < best.loss) best = {flops_of(p), p.n, p.d, p.loss};
      }
    }
    if (candidates >= 2)
      minima.push_back(best);
    else
      ++skipped;
  }
  LawFit fit = fit_allocation_laws(law, minima);
  fit.points_used = fmt::format(
      "{}: per budget (of {} log-spaced, {} skipped with < 2 runs), the lowest-loss run",
      runs.empty() ? "final points only (envelope of final points within half a budget step)"
                   : "loss curves interpolated at each budget",
      count, skipped);
  fit.description =
      "Hoffmann approach 1: minimum of the loss envelope per FLOP budget; N_opt = k_N C^a, "
      "D_opt = k_D C^b by least squares in log space";
  return fit;
}

LawFit fit_chinchilla2(const LawInput& input, const FitOptions& options, const LawFit*, int) {
  const std::string law = "chinchilla-2";
  require_count(law, input.points.size(), static_cast<std::size_t>(find_law(law).min_points),
                "runs (final points)");
  if (!(options.isoflop_tolerance > 0))
    throw InputError(fmt::format("{}: isoflop_tolerance = {}; use a positive log10 width", law,
                                 options.isoflop_tolerance));
  // Groups of point indices, one per budget.
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::size_t> order(input.points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const bool labelled = !input.budget_labels.empty();
  auto key = [&](std::size_t i) {
    return std::log10(labelled ? input.budget_labels[i] : flops_of(input.points[i]));
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  double centre = 0;
  for (std::size_t i : order) {
    const bool join = !groups.empty() && (labelled ? key(i) == key(groups.back().front())
                                                   : key(i) - centre <= options.isoflop_tolerance);
    if (!join) groups.emplace_back();
    groups.back().push_back(i);
    centre = 0;
    for (std::size_t j : groups.back()) centre += key(j);
    centre /= static_cast<double>(groups.back().size());
  }
  std::vector<BudgetMinimum> minima;
  nlohmann::json budgets = nlohmann::json::array();
  std::vector<std::string> notes;
  for (const auto& group : groups) {
    double log_c = 0;
    std::set<double> sizes;
    for (std::size_t i : group) {
      log_c += std::log10(flops_of(input.points[i]));
      sizes.insert(input.points[i].n);
    }
    const double c = std::pow(10.0, log_c / static_cast<double>(group.size()));
    if (sizes.size() < 3) {
      notes.push_back(fmt::format("budget {:.3g}: {} distinct N (< 3), skipped", c, sizes.size()));
      continue;
    }
    // Least-squares parabola loss = p0 + p1 x + p2 x^2 in x = log10 N (normal equations, centred
    // on the mean x for conditioning).
    double mx = 0;
    for (std::size_t i : group) mx += std::log10(input.points[i].n);
    mx /= static_cast<double>(group.size());
    double s[5] = {0, 0, 0, 0, 0}, t[3] = {0, 0, 0};
    for (std::size_t i : group) {
      const double x = std::log10(input.points[i].n) - mx, y = input.points[i].loss;
      double xp = 1;
      for (int k = 0; k < 5; ++k, xp *= x) {
        s[k] += xp;
        if (k < 3) t[k] += xp * y;
      }
    }
    // Solve [[s0 s1 s2][s1 s2 s3][s2 s3 s4]] p = t by Cramer's rule (3x3).
    auto det3 = [](double a, double b, double c2, double d, double e, double f, double g, double h,
                   double i) {
      return a * (e * i - f * h) - b * (d * i - f * g) + c2 * (d * h - e * g);
    };
    const double det = det3(s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]);
    const double p1 = det3(s[0], t[0], s[2], s[1], t[1], s[3], s[2], t[2], s[4]) / det;
    const double p2 = det3(s[0], s[1], t[0], s[1], s[2], t[1], s[2], s[3], t[2]) / det;
    const double p0 = det3(t[0], s[1], s[2], t[1], s[2], s[3], t[2], s[3], s[4]) / det;
    if (!(p2 > 0) || !std::isfinite(p2)) {
      notes.push_back(fmt::format("budget {:.3g}: parabola opens downwards, skipped", c));
      continue;
    }
    const double x_min = -p1 / (2 * p2);
    const double n_opt = std::pow(10.0, x_min + mx);
    const double loss_min = p0 - p1 * p1 / (4 * p2);
    const bool inside = n_opt >= *sizes.begin() && n_opt <= *sizes.rbegin();
    if (!inside)
      notes.push_back(
          fmt::format("budget {:.3g}: minimum outside the sizes run (extrapolated)", c));
    minima.push_back({c, n_opt, c / (6.0 * n_opt), loss_min});
    // Coefficients in absolute log10 N: loss = q0 + q1 x + q2 x^2.
    budgets.push_back({{"C", c},
                       {"points", group.size()},
                       {"parabola_log10N", {p0 - p1 * mx + p2 * mx * mx, p1 - 2 * p2 * mx, p2}},
                       {"n_opt", n_opt},
                       {"loss_min", loss_min},
                       {"inside_range", inside}});
  }
  if (minima.size() < 2)
    throw InputError(fmt::format(
        "{}: needs at least 2 isoFLOP budgets with >= 3 distinct N and a parabola opening "
        "upwards, got {} of {} budgets; add isoFLOP runs or widen isoflop_tolerance",
        law, minima.size(), groups.size()));
  LawFit fit = fit_allocation_laws(law, minima);
  fit.details["budgets"] = budgets;
  fit.details["notes"] = notes;
  fit.points_used = fmt::format(
      "all {} runs grouped into {} isoFLOP budgets ({}), {} used; parabola minimum per budget",
      input.points.size(), groups.size(),
      labelled ? "given labels"
               : fmt::format("log10 C within {} of the group mean", options.isoflop_tolerance),
      minima.size());
  fit.description =
      "Hoffmann approach 2: isoFLOP parabolas of loss in log10 N, vertices -> N_opt = k_N C^a, "
      "D_opt = k_D C^b by least squares in log space";
  return fit;
}

}  // namespace ss::laws::detail
