// One builder for the `metrics` rows the tests write by hand (store::MetricRow): the fields a
// step always has, and the losses when the step logged them. The remaining optionals (lr,
// grad_norm, tokens_per_s, wall) stay empty unless a test sets them.
#pragma once

#include <cstdint>
#include <optional>

#include "store/records.h"

namespace ss::testing {

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
