// The data scalefit fits: one final point per run (N, D, C, loss) and, for a store, each run's
// loss curve from `metrics`. Invariant: every FitPoint held here has N, D, C and loss finite and
// > 0 (the readers in csv_input.h / store_input.h reject anything else with ss::InputError).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/laws/laws.h"

namespace ss::analysis {

// One training run's final result: what the laws are fitted to (laws::FinalPoint: run, N, D,
// C, loss, S, B, planned budget; C is always filled here, never 0) plus where the loss came from.
struct FitPoint : laws::FinalPoint {
  std::string loss_kind;  // "val", "train" or "csv" (final loss: val when known, else train)
};

// One logged step of a run (a `metrics` row).
struct CurvePoint {
  std::int64_t step = 0;
  double tokens = 0;
  double flops = 0;
  std::optional<double> train_loss;
  std::optional<double> val_loss;
};

// A run's loss curve, ordered by step.
struct LossCurve {
  std::int64_t run = 0;
  double n = 0;
  double d = 0;  // tokens the run was trained on (target D)
  std::vector<CurvePoint> steps;
};

// Everything read from one input.
struct FitData {
  std::string source;       // the input path as given
  bool from_store = false;  // true: a ScaleSweep store, false: a CSV
  std::vector<FitPoint> points;
  std::vector<LossCurve> curves;   // empty for a CSV
  std::vector<std::string> notes;  // what was dropped / assumed, one line each, for the report
};

// Drops the `count` points with the highest loss (Epoch's refit drops the 5 highest). Throws
// ss::InputError when count is negative or not smaller than the number of points.
void drop_highest_loss(FitData& data, int count);

}  // namespace ss::analysis
