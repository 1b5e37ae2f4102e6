// The data scalefit fits: one final point per run (N, D, C, loss) and, for a store, each run's
// loss curve from `metrics`. Invariant: every FitPoint held here has N, D, C and loss finite and
// > 0 (the readers in csv_input.h / store_input.h reject anything else with ss::InputError).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ss::analysis {

// One training run's final result: what the laws are fitted to.
struct FitPoint {
  std::int64_t run = -1;        // store run id, or the CSV row's `run` column / row number
  double n = 0;                 // non-embedding parameters N
  double d = 0;                 // training tokens D
  double c = 0;                 // training FLOPs C
  double loss = 0;              // final loss (val when known, else train; see docs/scalefit.md)
  std::string loss_kind;        // "val", "train" or "csv"
  std::optional<double> steps;  // optimizer steps S (store input; kaplan-ns needs it)
  std::optional<double> batch_tokens;  // tokens per step B (store input; kaplan-ns needs it)
  std::optional<double> budget;  // the isoFLOP budget the run was planned for (store v3 input)
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
