// Overfitting flags per run: Kaplan et al.'s indicator r = D / (5e3 * N^0.74) (r < 1: the run
// is expected to overfit) and what the loss curve shows (val rising while train falls, or a
// final val - train gap above a threshold). Invariant: pure functions of FitData, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/fit_data.h"
#include "store/records.h"

namespace ss::analysis {

struct OverfitOptions {
  double gap_threshold = 0.1;    // --overfit-gap: final val - train above this flags the run
  double rise_threshold = 0.01;  // val at the last eval above its minimum by more than this
};

// A run's flags are the store's run_flags row (one type: run, Kaplan ratio and flag, the
// measured val - train gap, val turn step and flag; `updated` is set when written) plus the run's
// N and D for the report.
struct RunOverfit : store::RunFlagsRecord {
  double n = 0;
  double d = 0;
};

// D / (5e3 * N^0.74).
double kaplan_overfit_ratio(double n, double d);

// The D at which r = 1 for this N (the line on the overfitting map).
double kaplan_overfit_tokens(double n);

// Val turned up: among the evals (steps with val_loss), the last val exceeds the minimum val by
// more than rise_threshold, and train loss at the last eval is below train at the minimum
// (train kept falling over the same span). Returns the step of the minimum, or nullopt.
std::optional<std::int64_t> find_val_turn(const LossCurve& curve, double rise_threshold);

// One entry per point of data.points (runs without a curve get only the Kaplan indicator and,
// for a CSV, no measured gap).
std::vector<RunOverfit> compute_overfit_flags(const FitData& data, const OverfitOptions& options);

}  // namespace ss::analysis
