// `scalefit propose`: which K new (N, D) runs, within a compute cap, shrink the 95% interval of
// the compute-optimal N at a budget C the most. Criterion (docs/scalefit.md, "propose"): the
// bootstrap fits are an ensemble for the law's parameters; a new run at x observes
// y = ln L(x) + noise (sd = the fit's RMS ln-loss residual), and conditioning the ensemble's
// joint covariance of (ln N_opt(C), ln L(x_1..x_M)) on y (a linear-Gaussian / ensemble-Kalman
// update, i.e. c-optimal design for the scalar ln N_opt) lowers Var ln N_opt by
// Cov(q, f_x)^2 / (Var f_x + sd^2). K points are picked greedily, each conditioned on the
// earlier picks, the cheapest on ties. Invariant: propose_points reads its inputs only; a
// proposal never exceeds the cap and never repeats a candidate.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "analysis/fit_data.h"
#include "analysis/laws/laws.h"

namespace ss::analysis {

// A run that could be added: its (N, D), its cost and, with a sweep template, the sweep file
// that runs exactly it (propose_sweep.h).
struct Candidate {
  double n = 0;
  double d = 0;
  double flops = 0;   // training FLOPs: the grid's formula with a template, else 6 N D
  std::string shape;  // "n_layer 2, d_model 24, n_head 2" with a template, else empty
  std::string toml;   // the sweep file, with a template, else empty
};

struct ProposeOptions {
  double budget = 0;                  // C whose N_opt interval should shrink
  int count = 1;                      // K points to propose
  std::optional<double> compute_cap;  // total FLOPs of the K points; none: no cap
  std::optional<double> noise_sd;     // sd of a new run's ln loss; none: the fit's RMS residual
};

// One proposed run, in the order picked.
struct ProposedPoint {
  int rank = 0;  // 1 = picked first
  Candidate candidate;
  double step_reduction = 0;   // the interval's width lost by adding this point, / width now
  double width_after = 0;      // expected 95% width of ln N_opt after points 1..rank
  double total_reduction = 0;  // 1 - width_after / width now
  double cumulative_flops = 0;
};

struct Proposal {
  std::string law;
  double budget = 0;
  double n_opt = 0;            // the full-data fit's N_opt(C)
  double n_lo = 0, n_hi = 0;   // 95% bootstrap percentiles of N_opt(C)
  double width_now = 0;        // ln(n_hi / n_lo)
  double noise_sd = 0;         // used in the update
  std::size_t draws = 0;       // bootstrap draws used
  std::size_t candidates = 0;  // candidates within the per-point cost limit
  std::optional<double> compute_cap;
  std::vector<ProposedPoint> points;
  std::vector<std::string> notes;  // e.g. the cap stopped the greedy search early
};

// Laws that can propose: their table row has both a loss L(N, D) and an optimal N(C).
std::vector<std::string> proposable_laws();

// RMS of ln L_obs - ln L_pred over the points: the noise of one run's ln loss.
double log_loss_rms(const laws::LawFit& fit, const FitData& data);

// The candidate grid without a sweep template: `steps` log-spaced N from the data's smallest N
// to max(largest N, the bootstrap's largest N_opt(C)), the same for D, a point kept when its
// 6 N D <= per_point_limit and no data point lies within 2% of it in both N and D.
std::vector<Candidate> candidate_grid(const laws::LawFit& fit, const FitData& data, double budget,
                                      double per_point_limit, int steps = 16);

// The greedy design. Throws ss::InputError when the fit has fewer than 20 usable bootstrap
// draws, the law cannot propose, or no candidate fits the cap.
Proposal propose_points(const laws::LawFit& fit, const std::vector<Candidate>& candidates,
                        const ProposeOptions& options, double noise_sd);

}  // namespace ss::analysis
