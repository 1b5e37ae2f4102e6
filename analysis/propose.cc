// The greedy ensemble design of `scalefit propose` (propose.h). The ensemble is the fit's
// bootstrap draws (LawFit::bootstrap_params); each draw's ln N_opt(C) and ln L at every
// candidate form the columns of Z, whose sample covariance S is conditioned on one observation
// at a time: S <- S - S[:, j] S[j, :] / (S[j, j] + sd^2).
#include "analysis/propose.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "ss/error.h"

namespace ss::analysis {
namespace {

// A draw as a fit: the full fit with the draw's parameters (same names, same order).
laws::LawFit draw_fit(const laws::LawFit& fit, const std::vector<double>& values) {
  laws::LawFit out = fit;
  out.bootstrap_params.clear();
  for (std::size_t i = 0; i < values.size(); ++i) out.params[i].second = values[i];
  return out;
}

// Rows: 0 = ln N_opt(C), 1 + j = ln L at candidate j; columns: the draws whose values are all
// finite, centred.
std::vector<std::vector<double>> centred_ensemble(const laws::LawFit& fit,
                                                  const std::vector<Candidate>& candidates,
                                                  double budget) {
  const laws::LawSpec& spec = laws::find_law(fit.law);
  std::vector<std::vector<double>> rows(1 + candidates.size());
  for (const auto& values : fit.bootstrap_params) {
    const laws::LawFit draw = draw_fit(fit, values);
    std::vector<double> column{std::log(spec.optimal_n(draw, budget))};
    for (const Candidate& c : candidates) column.push_back(std::log(spec.loss(draw, c.n, c.d)));
    if (!std::all_of(column.begin(), column.end(), [](double v) { return std::isfinite(v); }))
      continue;
    for (std::size_t r = 0; r < column.size(); ++r) rows[r].push_back(column[r]);
  }
  for (auto& row : rows) {
    double mean = 0;
    for (double v : row) mean += v;
    mean /= static_cast<double>(std::max<std::size_t>(row.size(), 1));
    for (double& v : row) v -= mean;
  }
  return rows;
}

std::vector<std::vector<double>> covariance(const std::vector<std::vector<double>>& rows) {
  const std::size_t m = rows.size(), b = rows.front().size();
  std::vector<std::vector<double>> s(m, std::vector<double>(m, 0.0));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = i; j < m; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < b; ++k) sum += rows[i][k] * rows[j][k];
      s[i][j] = s[j][i] = sum / static_cast<double>(b - 1);
    }
  return s;
}

// The 2.5 / 97.5 percentiles of N_opt(C) over the draws, and the full fit's N_opt(C).
void fill_interval(const laws::LawFit& fit, double budget, Proposal& out) {
  const laws::LawSpec& spec = laws::find_law(fit.law);
  std::vector<double> values;
  for (const auto& params : fit.bootstrap_params) {
    const double n = spec.optimal_n(draw_fit(fit, params), budget);
    if (std::isfinite(n) && n > 0) values.push_back(n);
  }
  std::sort(values.begin(), values.end());
  out.n_opt = spec.optimal_n(fit, budget);
  out.n_lo = laws::percentile(values, 0.025);
  out.n_hi = laws::percentile(values, 0.975);
  out.width_now = std::log(out.n_hi / out.n_lo);
}

}  // namespace

std::vector<std::string> proposable_laws() {
  std::vector<std::string> out;
  for (const laws::LawSpec& spec : laws::law_table())
    if (spec.loss && spec.optimal_n) out.emplace_back(spec.name);
  return out;
}

double log_loss_rms(const laws::LawFit& fit, const FitData& data) {
  double sum = 0;
  for (const FitPoint& p : data.points) {
    const double r = std::log(*laws::predict_loss(fit, p.n, p.d)) - std::log(p.loss);
    sum += r * r;
  }
  return std::sqrt(sum / static_cast<double>(std::max<std::size_t>(data.points.size(), 1)));
}

std::vector<Candidate> candidate_grid(const laws::LawFit& fit, const FitData& data, double budget,
                                      double per_point_limit, int steps) {
  Proposal interval;
  fill_interval(fit, budget, interval);
  double n_lo = INFINITY, n_hi = 0, d_lo = INFINITY, d_hi = 0;
  for (const FitPoint& p : data.points) {
    n_lo = std::min(n_lo, p.n), n_hi = std::max(n_hi, p.n);
    d_lo = std::min(d_lo, p.d), d_hi = std::max(d_hi, p.d);
  }
  n_hi = std::max(n_hi, interval.n_hi);
  d_hi = std::max(d_hi, budget / (6.0 * interval.n_lo));  // the largest D_opt of the draws
  auto grid = [steps](double lo, double hi, int i) {
    return lo * std::pow(hi / lo, static_cast<double>(i) / (steps - 1));
  };
  std::vector<Candidate> out;
  for (int i = 0; i < steps; ++i)
    for (int j = 0; j < steps; ++j) {
      Candidate c;
      c.n = grid(n_lo, n_hi, i), c.d = grid(d_lo, d_hi, j), c.flops = 6.0 * c.n * c.d;
      const bool known =
          std::any_of(data.points.begin(), data.points.end(), [&](const FitPoint& p) {
            return std::abs(std::log(p.n / c.n)) < 0.02 && std::abs(std::log(p.d / c.d)) < 0.02;
          });
      if (c.flops <= per_point_limit && !known) out.push_back(c);
    }
  return out;
}

// One screen: the ensemble, then K greedy picks with the rank-1 update of S.
Proposal propose_points(const laws::LawFit& fit, const std::vector<Candidate>& candidates,
                        const ProposeOptions& options, double noise_sd) {
  const laws::LawSpec& spec = laws::find_law(fit.law);
  if (!spec.loss || !spec.optimal_n)
    throw InputError(
        fmt::format("propose: law {} has no loss L(N, D) and optimal N(C) both; use "
                    "one of the proposable laws",
                    fit.law));
  if (candidates.empty())
    throw InputError("propose: no candidate point fits the compute cap; raise --compute-cap");
  Proposal out;
  out.law = fit.law, out.budget = options.budget, out.noise_sd = noise_sd;
  out.compute_cap = options.compute_cap;
  out.candidates = candidates.size();
  const auto rows = centred_ensemble(fit, candidates, options.budget);
  out.draws = rows.front().size();
  if (out.draws < 20)
    throw InputError(
        fmt::format("propose: {} usable bootstrap draws of {}; raise --bootstrap "
                    "(at least 20 are needed, 200 or more advised)",
                    out.draws, fit.law));
  fill_interval(fit, options.budget, out);
  auto s = covariance(rows);
  const double var_now = s[0][0], noise = noise_sd * noise_sd;
  double remaining = options.compute_cap.value_or(INFINITY), spent = 0, width = out.width_now;
  std::vector<bool> taken(candidates.size(), false);
  for (int k = 0; k < options.count; ++k) {
    std::optional<std::size_t> best;
    double best_gain = -1;
    for (std::size_t j = 0; j < candidates.size(); ++j) {
      if (taken[j] || candidates[j].flops > remaining) continue;
      const double gain = s[0][j + 1] * s[0][j + 1] / (s[j + 1][j + 1] + noise);
      if (gain > best_gain || (gain == best_gain && candidates[j].flops < candidates[*best].flops))
        best = j, best_gain = gain;
    }
    if (!best) {
      out.notes.push_back(fmt::format("the compute cap leaves room for {} of the {} points asked",
                                      k, options.count));
      break;
    }
    const std::size_t c = *best + 1;
    const std::vector<double> column = s[c];
    const double denominator = s[c][c] + noise;
    for (std::size_t a = 0; a < s.size(); ++a)
      for (std::size_t b = 0; b < s.size(); ++b) s[a][b] -= column[a] * column[b] / denominator;
    taken[*best] = true;
    remaining -= candidates[*best].flops;
    spent += candidates[*best].flops;
    const double width_after = out.width_now * std::sqrt(std::max(s[0][0], 0.0) / var_now);
    ProposedPoint& point = out.points.emplace_back();
    point.rank = k + 1;
    point.candidate = candidates[*best];
    point.step_reduction = (width - width_after) / out.width_now;
    point.width_after = width_after;
    point.total_reduction = 1.0 - width_after / out.width_now;
    point.cumulative_flops = spent;
    width = width_after;
  }
  return out;
}

}  // namespace ss::analysis
