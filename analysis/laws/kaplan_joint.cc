// Kaplan's joint laws, fitted with a Ceres Problem (autodiff, Levenberg-Marquardt, trivial
// loss) on natural-log loss residuals from a small grid of starts (these laws are not linear
// in log space):
//   kaplan-nd: L(N, D) = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D (all final points);
//   kaplan-ns: L(N, S) = (Nc/N)^alpha_N + (Sc/Smin)^alpha_S, Smin = S/(1 + Bcrit/B),
//              Bcrit = B_star / L^(1/alpha_B), with the observed L in Bcrit (as Kaplan did).
// Invariant: the lowest-cost start wins; ties keep the earlier start.
#include <ceres/ceres.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/laws/laws_internal.h"
#include "ss/error.h"

namespace ss::laws::detail {
namespace {

// log(exp(u) + exp(v)) without overflow, for doubles and Jets.
template <typename T>
T log_add_exp(const T& u, const T& v) {
  using std::exp, std::log;
  return u > v ? u + log(T(1) + exp(v - u)) : v + log(T(1) + exp(u - v));
}

// x = (log Nc, log Dc, alpha_N, alpha_D).
struct NdResidual {
  double log_n, log_d, log_loss;
  template <typename T>
  bool operator()(const T* x, T* r) const {
    const T t1 = (x[2] / x[3]) * (x[0] - log_n);
    const T t2 = x[1] - log_d;
    r[0] = x[3] * log_add_exp(t1, t2) - log_loss;
    return true;
  }
};

// x = (log Nc, alpha_N, log Sc, alpha_S, log B_star, alpha_B).
struct NsResidual {
  double log_n, log_s, log_b, log_loss;
  template <typename T>
  bool operator()(const T* x, T* r) const {
    using std::exp, std::log;
    const T log_bcrit = x[4] - T(log_loss) / x[5];  // log(B*/L^(1/alpha_B)), L observed
    const T log_smin = log_s - log_add_exp(T(0), log_bcrit - log_b);
    const T t1 = x[1] * (x[0] - log_n);
    const T t2 = x[3] * (x[2] - log_smin);
    r[0] = log_add_exp(t1, t2) - log_loss;
    return true;
  }
};

template <typename Residual, int kParams>
std::pair<std::array<double, kParams>, double> solve_multistart(
    const std::vector<Residual>& residuals, const std::vector<std::array<double, kParams>>& starts,
    const std::vector<int>& fixed, const std::vector<std::pair<int, double>>& lower) {
  std::array<double, kParams> best{};
  double best_cost = INFINITY;
  for (const auto& start : starts) {
    std::array<double, kParams> x = start;
    ceres::Problem problem;
    for (const auto& r : residuals)
      problem.AddResidualBlock(
          new ceres::AutoDiffCostFunction<Residual, 1, kParams>(new Residual(r)), nullptr,
          x.data());  // Ceres' Problem owns the cost functions (its API)
    for (const auto& [index, bound] : lower) problem.SetParameterLowerBound(x.data(), index, bound);
    if (!fixed.empty())
      problem.SetManifold(x.data(), new ceres::SubsetManifold(kParams, fixed));
    ceres::Solver::Options options;
    options.max_num_iterations = 200;
    options.logging_type = ceres::SILENT;
    options.function_tolerance = 1e-12;
    options.parameter_tolerance = 1e-12;
    ceres::Solver::Summary summary;
    ceres::Solve(options, &problem, &summary);
    if (summary.IsSolutionUsable() && summary.final_cost < best_cost) {
      best_cost = summary.final_cost;
      best = x;
    }
  }
  return {best, best_cost};
}

}  // namespace

LawFit estimate_kaplan_nd(const LawInput& in) {
  std::map<double, int> ns, ds;
  for (const auto& p : in.points) ++ns[p.n], ++ds[p.d];
  require_points("kaplan-nd", in.points.size(), 6, "points", "4 parameters need more runs");
  require_points("kaplan-nd", std::min(ns.size(), ds.size()), 2, "distinct N and distinct D",
                 "vary both model size and tokens");
  std::vector<NdResidual> residuals;
  double max_ln = -INFINITY, max_ld = -INFINITY;
  for (const auto& p : in.points) {
    residuals.push_back({std::log(p.n), std::log(p.d), std::log(p.loss)});
    max_ln = std::max(max_ln, std::log(p.n)), max_ld = std::max(max_ld, std::log(p.d));
  }
  std::vector<std::array<double, 4>> starts;
  for (double oc : {2.0, 10.0, 25.0})
    for (double od : {2.0, 10.0, 25.0})
      for (double an : {0.05, 0.3})
        for (double ad : {0.05, 0.3}) starts.push_back({max_ln + oc, max_ld + od, an, ad});
  const auto [x, cost] = solve_multistart<NdResidual, 4>(residuals, starts, {}, {{2, 1e-4},
                                                                                 {3, 1e-4}});
  if (!std::isfinite(cost))
    throw InputError("kaplan-nd: no start converged; check that loss falls with N and D");
  LawFit fit;
  fit.law = "kaplan-nd";
  fit.params = {{"Nc", std::exp(x[0])}, {"Dc", std::exp(x[1])}, {"alpha_N", x[2]},
                {"alpha_D", x[3]}};
  fit.n_points = static_cast<std::int64_t>(in.points.size());
  fit.residual = std::sqrt(2 * cost / static_cast<double>(in.points.size()));
  fit.residual_kind = "RMS of natural-log loss residuals";
  fit.points_used = "every run's final point";
  fit.description = "L(N,D) = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D, least squares on log "
                    "loss (Ceres, Levenberg-Marquardt, 36 starts)";
  return fit;
}

LawFit estimate_kaplan_ns(const LawInput& in, const FitOptions& options) {
  std::vector<NsResidual> residuals;
  std::size_t missing = 0;
  std::vector<double> log_b, log_l;
  double max_ln = -INFINITY, max_ls = -INFINITY;
  std::map<double, int> batch_sizes;
  for (const auto& p : in.points) {
    if (!p.steps || !p.batch_tokens) {
      ++missing;
      continue;
    }
    residuals.push_back(
        {std::log(p.n), std::log(*p.steps), std::log(*p.batch_tokens), std::log(p.loss)});
    log_b.push_back(std::log(*p.batch_tokens)), log_l.push_back(std::log(p.loss));
    max_ln = std::max(max_ln, std::log(p.n)), max_ls = std::max(max_ls, std::log(*p.steps));
    ++batch_sizes[*p.batch_tokens];
  }
  if (residuals.empty())
    throw InputError("kaplan-ns: no point has steps S and batch tokens B; give S and B per run "
                     "(the store's runs have them) or drop kaplan-ns from the law list");
  require_points("kaplan-ns", residuals.size(), 8, "points with S and B",
                 "add runs (points without S or B are ignored)");
  std::sort(log_b.begin(), log_b.end());
  std::sort(log_l.begin(), log_l.end());
  const double med_b = log_b[log_b.size() / 2], med_l = log_l[log_l.size() / 2];
  const double alpha_b = kKaplanAlphaB;
  std::vector<std::array<double, 6>> starts;
  for (double oc : {3.0, 15.0})
    for (double an : {0.05, 0.3})
      for (double os : {-3.0, 3.0})
        for (double as : {0.1, 0.5})
          for (double ob : {-3.0, 0.0, 3.0})
            starts.push_back({max_ln + oc, an, max_ls + os, as, med_b + med_l / alpha_b + ob,
                              alpha_b});
  // alpha_B fixed (index 5) unless asked to fit it; with one batch size B* is not identifiable
  // either, so it is fixed at its start and the note says so.
  std::vector<int> fixed;
  if (!options.fit_alpha_b) fixed.push_back(5);
  const bool one_batch = batch_sizes.size() < 2;
  if (one_batch) fixed.push_back(4), fixed.push_back(5);
  std::sort(fixed.begin(), fixed.end());
  fixed.erase(std::unique(fixed.begin(), fixed.end()), fixed.end());
  const auto [x, cost] = solve_multistart<NsResidual, 6>(
      residuals, starts, fixed, {{1, 1e-4}, {3, 1e-4}, {5, 0.02}});
  if (!std::isfinite(cost))
    throw InputError("kaplan-ns: no start converged; check that loss falls with N and S");
  LawFit fit;
  fit.law = "kaplan-ns";
  fit.params = {{"Nc", std::exp(x[0])},     {"alpha_N", x[1]}, {"Sc", std::exp(x[2])},
                {"alpha_S", x[3]},          {"B_star", std::exp(x[4])},
                {"alpha_B", x[5]}};
  fit.n_points = static_cast<std::int64_t>(residuals.size());
  fit.residual = std::sqrt(2 * cost / static_cast<double>(residuals.size()));
  fit.residual_kind = "RMS of natural-log loss residuals";
  fit.points_used = fmt::format("final points with S and B ({} used, {} without S/B ignored)",
                                residuals.size(), missing);
  fit.description = fmt::format(
      "L(N,S) = (Nc/N)^alpha_N + (Sc/Smin)^alpha_S, Smin = S/(1+Bcrit/B), Bcrit = B*/L^(1/alpha_B) "
      "with observed L; alpha_B {}{}",
      options.fit_alpha_b && !one_batch ? "fitted" : "fixed at 0.21 (Kaplan)",
      one_batch ? "; one batch size only, so B_star is not identifiable and is held at its start"
                : "");
  return fit;
}

}  // namespace ss::laws::detail
