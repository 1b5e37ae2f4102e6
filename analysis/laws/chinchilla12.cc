// Chinchilla approaches 1 and 2 (Hoffmann et al. 2022): per FLOP budget, the loss-minimising N,
// then N_opt = k_N C^a and D_opt = k_D C^b by least squares on logs.
// - Approach 1 with loss curves (Hoffmann et al. 2022, section 3.1 and appendix B): fit_law
//   smooths each run's curve and reads it at FLOP budgets 1/40 decade apart (smooth_curves in
//   fit_util.h: a line in ln C over +-5%; a per-step train loss is one batch, too noisy to take
//   a minimum over; Hoffmann smoothed too, and used 1500 log-spaced budgets). A run counts at
//   budget C only if its learning-rate schedule ends within 25% past C (C <= C_end <= 1.25 C):
//   Hoffmann found a cosine cycle more than ~25% longer than the steps trained noticeably worse
//   (their Fig. A1), so a point earlier in a longer run's schedule is not that size's loss at C; they
//   trained each size to several horizons so that every budget has runs ending near it. A
//   budget is used only when such runs bracket its lowest-loss size (a smaller and a larger N
//   among them); that size is N_opt, D_opt = C/(6 N). A run's curve is taken to end where its
//   schedule ends (true of finished runs; scalefit fits status=done by default).
// - Approach 1 with final points only (a CSV): log-spaced budgets over the runs' final C; each
//   takes the final points within half a budget step (in log10 C) and the lowest-loss one gives
//   N_opt = its N, D_opt = its D. A budget with fewer than 2 candidate runs is skipped.
// - Approach 2: runs grouped into isoFLOP budgets by isoflop_groups (their planned budget, or a
//   window of FitOptions::isoflop_tolerance decades of C); per budget a parabola of loss in
//   log10 N (>= 3 distinct N, opening upwards, else skipped with a note); its vertex gives N_opt,
//   D_opt = C/(6 N_opt) with C the budget's geometric-mean FLOPs. Every budget's profile
//   (members, parabola, vertex) is kept in LawFit::details (isoflop_profiles()): the report's
//   isoFLOP plot draws exactly these.
#include <fmt/core.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
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
  fit.r2 = n_line.r2;
  fit.residual_kind = "RMS of ln N_opt residuals of N_opt = k_N C^a (one per budget)";
  nlohmann::json rows = nlohmann::json::array();
  for (const BudgetMinimum& m : minima)
    rows.push_back({{"C", m.c}, {"n_opt", m.n_opt}, {"d_opt", m.d_opt}, {"loss", m.loss}});
  fit.details["budget_minima"] = rows;
  return fit;
}

// Approach 1 with curves: a run counts at budget C when C <= C_end <= kMaxOvershoot C (the file
// comment says why).
constexpr double kMaxOvershoot = 1.25;

// Approach 1's budget minima from smoothed curves (smooth_curves: readings on the grid
// C = 10^(k / 40), the same C in every run): per grid budget, the runs whose schedules end within
// kMaxOvershoot past it, their reading there, and the lowest one when runs on both sides of it
// in N bracket it. `grid`: the number of budgets looked at.
std::vector<BudgetMinimum> curve_minima(const std::map<std::int64_t, std::vector<CurveStep>>& runs,
                                        int& grid) {
  long first = LONG_MAX, last = LONG_MIN;
  for (const auto& [run, readings] : runs) {
    first = std::min(first, std::lround(std::log10(flops_of(readings.front())) *
                                        kCurveGridPerDecade));
    last = std::max(last, std::lround(std::log10(flops_of(readings.back())) *
                                      kCurveGridPerDecade));
  }
  grid = static_cast<int>(last - first + 1);
  std::vector<BudgetMinimum> minima;
  for (long k = first; k <= last; ++k) {
    const double c = std::pow(10.0, static_cast<double>(k) / kCurveGridPerDecade);
    BudgetMinimum best;
    best.loss = INFINITY;
    double n_min = INFINITY, n_max = 0;
    for (const auto& [run, readings] : runs) {
      const double c_end = flops_of(readings.back());
      if (c_end < c || c_end > kMaxOvershoot * c) continue;
      const auto at = std::lower_bound(
          readings.begin(), readings.end(), c,
          [](const CurveStep& s, double v) { return flops_of(s) < v; });
      if (at == readings.end() || flops_of(*at) != c) continue;  // no reading at this budget
      n_min = std::min(n_min, at->n);
      n_max = std::max(n_max, at->n);
      if (at->loss < best.loss) best = {c, at->n, c / (6.0 * at->n), at->loss};
    }
    if (n_min < best.n_opt && best.n_opt < n_max) minima.push_back(best);
  }
  return minima;
}

// Approach 1's budget minima from final points alone: `count` log-spaced budgets over the runs'
// final C, each the lowest-loss final point within half a budget step; fewer than 2: skipped.
std::vector<BudgetMinimum> final_point_minima(const LawInput& input, int count) {
  double lo = INFINITY, hi = 0;
  for (const FinalPoint& p : input.points) {
    lo = std::min(lo, flops_of(p));
    hi = std::max(hi, flops_of(p));
  }
  if (!(hi > lo))
    throw InputError("chinchilla-1: all runs have the same FLOPs; approach 1 needs a span");
  const double step = (std::log10(hi) - std::log10(lo)) / (count - 1);
  std::vector<BudgetMinimum> minima;
  for (int k = 0; k < count; ++k) {
    const double log_c = std::log10(lo) + step * k;
    BudgetMinimum best;
    best.loss = INFINITY;
    int candidates = 0;
    for (const FinalPoint& p : input.points) {
      if (std::abs(std::log10(flops_of(p)) - log_c) > 0.5 * step) continue;
      ++candidates;
      if (p.loss < best.loss) best = {flops_of(p), p.n, p.d, p.loss};
    }
    if (candidates >= 2) minima.push_back(best);
  }
  return minima;
}

}  // namespace

// Runs with a planned budget (FinalPoint::budget) group by it; runs without one (a CSV, a store
// written before schema v3) group by a window of `tolerance` decades from the smallest C of the
// group: a window, not a chain of neighbours, so C spread evenly over a range (not an isoFLOP
// design) does not collapse into one giant group. Groups are ordered by their members' log10 C.
std::vector<std::vector<std::size_t>> isoflop_groups(const LawInput& input, double tolerance) {
  std::map<double, std::vector<std::size_t>> planned;
  std::vector<std::size_t> unplanned;
  for (std::size_t i = 0; i < input.points.size(); ++i) {
    if (input.points[i].budget)
      planned[*input.points[i].budget].push_back(i);
    else
      unplanned.push_back(i);
  }
  std::vector<std::vector<std::size_t>> groups;
  for (auto& [budget, members] : planned) groups.push_back(std::move(members));
  auto log_c = [&](std::size_t i) { return std::log10(flops_of(input.points[i])); };
  std::stable_sort(unplanned.begin(), unplanned.end(),
                   [&](std::size_t a, std::size_t b) { return log_c(a) < log_c(b); });
  const std::size_t first_unplanned = groups.size();
  for (std::size_t i : unplanned) {
    if (groups.size() == first_unplanned || log_c(i) - log_c(groups.back().front()) > tolerance)
      groups.emplace_back();
    groups.back().push_back(i);
  }
  auto mean_log_c = [&](const std::vector<std::size_t>& g) {
    double sum = 0;
    for (std::size_t i : g) sum += log_c(i);
    return sum / static_cast<double>(g.size());
  };
  std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) {
    return mean_log_c(a) < mean_log_c(b);
  });
  return groups;
}

namespace {

// Least-squares parabola loss = p0 + p1 u + p2 u^2 in u = log10 N - mx, mx the mean log10 N
// (centred for conditioning; normal equations solved by Cramer's rule).
struct Parabola {
  double p0 = 0, p1 = 0, p2 = 0, mx = 0;
  // The same parabola in absolute x = log10 N: loss = q0 + q1 x + q2 x^2.
  std::vector<double> absolute() const { return {p0 - p1 * mx + p2 * mx * mx, p1 - 2 * p2 * mx, p2}; }
};

Parabola fit_parabola(const std::vector<double>& log10_n, const std::vector<double>& loss) {
  Parabola q;
  for (double x : log10_n) q.mx += x;
  q.mx /= static_cast<double>(log10_n.size());
  double s[5] = {0, 0, 0, 0, 0}, t[3] = {0, 0, 0};
  for (std::size_t i = 0; i < log10_n.size(); ++i) {
    const double x = log10_n[i] - q.mx, y = loss[i];
    double xp = 1;
    for (int k = 0; k < 5; ++k, xp *= x) {
      s[k] += xp;
      if (k < 3) t[k] += xp * y;
    }
  }
  auto det3 = [](double a, double b, double c, double d, double e, double f, double g, double h,
                 double i) { return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g); };
  const double det = det3(s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]);
  q.p1 = det3(s[0], t[0], s[2], s[1], t[1], s[3], s[2], t[2], s[4]) / det;
  q.p2 = det3(s[0], s[1], t[0], s[1], s[2], t[1], s[2], s[3], t[2]) / det;
  q.p0 = det3(t[0], s[1], s[2], t[1], s[2], s[3], t[2], s[3], s[4]) / det;
  return q;
}

}  // namespace

// One group's profile: members, C (geometric mean of their FLOPs) and, with >= 3 distinct N and
// a parabola opening upwards, its vertex.
IsoFlopProfile profile_of(const LawInput& input, const std::vector<std::size_t>& group) {
  IsoFlopProfile profile;
  double log_c = 0;
  std::vector<double> log10_n;
  for (std::size_t i : group) {
    const FinalPoint& p = input.points[i];
    log_c += std::log10(flops_of(p));
    profile.runs.push_back(p.run);
    profile.n.push_back(p.n);
    profile.loss.push_back(p.loss);
    log10_n.push_back(std::log10(p.n));
  }
  profile.c = std::pow(10.0, log_c / static_cast<double>(group.size()));
  profile.planned_budget = input.points[group.front()].budget.value_or(0.0);
  const std::set<double> sizes(profile.n.begin(), profile.n.end());
  if (sizes.size() < 3) {
    profile.note = fmt::format("budget {:.3g}: {} distinct N (< 3), skipped", profile.c,
                               sizes.size());
    return profile;
  }
  const Parabola q = fit_parabola(log10_n, profile.loss);
  if (!(q.p2 > 0) || !std::isfinite(q.p2)) {
    profile.note = fmt::format("budget {:.3g}: parabola opens downwards, skipped", profile.c);
    return profile;
  }
  const double x_min = -q.p1 / (2 * q.p2);
  profile.fitted = true;
  profile.parabola_log10n = q.absolute();
  profile.n_opt = std::pow(10.0, x_min + q.mx);
  profile.loss_min = q.p0 - q.p1 * q.p1 / (4 * q.p2);
  profile.inside_range = profile.n_opt >= *sizes.begin() && profile.n_opt <= *sizes.rbegin();
  if (!profile.inside_range)
    profile.note =
        fmt::format("budget {:.3g}: minimum outside the sizes run (extrapolated)", profile.c);
  return profile;
}


LawFit fit_chinchilla1(const LawInput& input, const FitOptions& options, const LawFit*, int) {
  const std::string law = "chinchilla-1";
  require_count(law, input.points.size(), static_cast<std::size_t>(find_law(law).min_points),
                "runs (final points)");
  if (options.approach1_budgets < 2)
    throw InputError(
        fmt::format("{}: approach1_budgets = {}; use 2 or more", law, options.approach1_budgets));
  std::map<std::int64_t, std::vector<CurveStep>> runs = curves_by_run(input);
  std::erase_if(runs, [&](const auto& run) {  // curves of runs among the points only
    return std::none_of(input.points.begin(), input.points.end(),
                        [&](const FinalPoint& p) { return p.run == run.first; });
  });
  int grid = options.approach1_budgets;
  const std::vector<BudgetMinimum> minima =
      runs.empty() ? final_point_minima(input, grid) : curve_minima(runs, grid);
  if (minima.size() < 2)
    throw InputError(fmt::format(
        "{}: needs at least 2 usable FLOP budgets, got {} of {}; {}", law, minima.size(), grid,
        runs.empty() ? "add runs at more FLOP budgets"
                     : "add runs whose schedules end at the same budgets (an isoFLOP grid), "
                       ">= 3 sizes around each budget's best"));
  LawFit fit = fit_allocation_laws(law, minima);
  fit.points_used =
      runs.empty()
          ? fmt::format("final points only (envelope of final points within half a budget "
                        "step): per budget (of {} log-spaced, {} skipped with < 2 runs), the "
                        "lowest-loss run",
                        grid, grid - static_cast<int>(minima.size()))
          : fmt::format("loss curves of {} runs, smoothed (a line in ln C over +-5%) and read at "
                        "budgets 1/40 decade apart; a budget is used where runs whose schedules "
                        "end within 25% past it bracket the lowest-loss size: {} of {} budgets",
                        runs.size(), minima.size(), grid);
  fit.description =
      "Hoffmann approach 1: minimum of the loss envelope per FLOP budget; N_opt = k_N C^a, "
      "D_opt = k_D C^b by least squares in log space";
  return fit;
}

LawFit fit_chinchilla2(const LawInput& input, const FitOptions& options, const LawFit*, int) {
  const std::string law = "chinchilla-2";
  require_count(law, input.points.size(), static_cast<std::size_t>(find_law(law).min_points),
                "runs (final points)");
  // isoflop_profiles checks the input and the tolerance (one place for the fit and the plot).
  const std::vector<IsoFlopProfile> profiles = isoflop_profiles(input, options.isoflop_tolerance);
  std::vector<BudgetMinimum> minima;
  std::vector<std::string> notes;
  std::size_t planned = 0;
  for (const IsoFlopProfile& p : profiles) {
    if (p.planned_budget > 0) ++planned;
    if (!p.note.empty()) notes.push_back(p.note);
    if (p.fitted) minima.push_back({p.c, p.n_opt, p.c / (6.0 * p.n_opt), p.loss_min});
  }
  if (minima.size() < 2)
    throw InputError(fmt::format(
        "{}: needs at least 2 isoFLOP budgets with >= 3 distinct N and a parabola opening "
        "upwards, got {} of {} budgets; add isoFLOP runs or widen isoflop_tolerance",
        law, minima.size(), profiles.size()));
  LawFit fit = fit_allocation_laws(law, minima);
  fit.details["profiles"] = profiles;
  fit.details["notes"] = notes;
  const std::string window =
      fmt::format("log10 C within {} of the group's smallest C", options.isoflop_tolerance);
  fit.points_used = fmt::format(
      "all {} runs grouped into {} isoFLOP budgets ({}), {} used; parabola minimum per budget",
      input.points.size(), profiles.size(),
      planned == profiles.size() ? std::string("by planned budget")
      : planned == 0           ? window
                               : fmt::format("{} by planned budget, the others by {}", planned, window),
      minima.size());
  fit.description =
      "Hoffmann approach 2: isoFLOP parabolas of loss in log10 N, vertices -> N_opt = k_N C^a, "
      "D_opt = k_D C^b by least squares in log space";
  return fit;
}

}  // namespace ss::laws::detail

namespace ss::laws {

std::vector<IsoFlopProfile> isoflop_profiles(const LawInput& input, double isoflop_tolerance) {
  detail::check_input(input);
  if (!(isoflop_tolerance > 0))
    throw InputError(fmt::format("chinchilla-2 isoFLOP budgets: isoflop_tolerance = {}; use a "
                                 "positive log10 width (decades of C)",
                                 isoflop_tolerance));
  std::vector<IsoFlopProfile> profiles;
  for (const auto& group : detail::isoflop_groups(input, isoflop_tolerance))
    profiles.push_back(detail::profile_of(input, group));
  return profiles;
}

std::vector<IsoFlopProfile> isoflop_profiles(const LawFit& fit) {
  if (fit.law != "chinchilla-2" || !fit.details.contains("profiles")) return {};
  return fit.details.at("profiles").get<std::vector<IsoFlopProfile>>();
}

}  // namespace ss::laws
