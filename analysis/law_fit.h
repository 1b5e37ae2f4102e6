// What scalefit knows about one fitted law, independent of how analysis/laws computed it: the
// parameters under their usual names, bootstrap CIs, the points used, the residual, and two
// callables (the law's prediction and its compute-optimal allocation) for plots and tables.
// Invariant: params and ci use the same names; a callable may be empty when the law does not
// define it (e.g. kaplan-n has no D term, so no allocation).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ss::analysis {

// Compute-optimal allocation for one FLOP budget.
struct Allocation {
  double budget = 0;  // C (FLOPs)
  double n_opt = 0;
  double d_opt = 0;
  std::optional<double> loss;  // predicted loss at (n_opt, d_opt), when the law predicts it
};

struct LawFit {
  std::string law;                                     // e.g. "chinchilla-3"
  std::vector<std::pair<std::string, double>> params;  // usual names, in display order
  std::vector<std::pair<std::string, std::pair<double, double>>> ci;  // name -> 95% [lo, hi]
  std::int64_t n_points = 0;
  std::optional<double> residual;  // the law's own objective at the optimum (documented there)
  std::string residual_kind;       // what `residual` is, e.g. "RMS of log-loss residuals"
  std::string points_used;         // which points the law was fitted to, one line
  // Predicted loss at (N, D) (a law without a D term ignores D); empty if not a loss law.
  std::function<double(double n, double d)> predict_loss;
  // Compute-optimal N, D (and loss) for a budget C; empty when the law does not define it.
  std::function<Allocation(double c)> allocate;
  std::vector<Allocation> allocations;  // for the --budget values
};

// A law that could not be fitted to this data, with the reason (one line).
struct LawSkip {
  std::string law;
  std::string reason;
};

}  // namespace ss::analysis
