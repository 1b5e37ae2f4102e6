// One builder per store row the tests write by hand: run_plan (a `runs` row's plan, for
// register_points) and metric_row (a `metrics` row). Each fills what a real row always has and
// leaves the rest at its default; a test sets any field it checks after the call.
// (analysis::FitPoint, scalefit's in-memory point, has its own builder in
// tests/analysis/fit_points.h: a different concept.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/records.h"

namespace ss::testing {

// Point `index` of sweep `sweep_id`: key "point-<index>", a 2-layer, d_model 64 byte-level shape,
// N = n (all of it non-embedding), D = d tokens in 10 steps, lr 1e-3, C = 6 N D.
inline store::RunPlan run_plan(std::int64_t sweep_id, std::int64_t index, double n = 1e5,
                               double d = 1e6) {
  store::RunPlan p;
  p.sweep_id = sweep_id;
  p.point = "point-" + std::to_string(index);
  p.point_index = index;
  p.n_layer = 2;
  p.d_model = 64;
  p.n_head = 2;
  p.d_ff = 256;
  p.n_ctx = 64;
  p.vocab = 256;
  p.n_params = static_cast<std::int64_t>(n);
  p.n_params_total = p.n_params;
  p.tokens = static_cast<std::int64_t>(d);
  p.steps = 10;
  p.batch_tokens = p.tokens / p.steps;
  p.lr = 1e-3;
  p.flops = 6 * n * d;
  return p;
}

inline store::MetricRow metric_row(std::int64_t run, std::int64_t step, std::int64_t tokens,
                                   double flops, std::optional<double> train_loss,
                                   std::optional<double> val_loss = std::nullopt) {
  store::MetricRow row;
  row.run = run;
  row.step = step;
  row.tokens = tokens;
  row.flops = flops;
  row.train_loss = train_loss;
  row.val_loss = val_loss;
  return row;
}

}  // namespace ss::testing
