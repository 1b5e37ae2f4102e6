// One builder for the hand-made scalefit points of tests/analysis (analysis::FitPoint, which
// extends laws::FinalPoint and so cannot be brace-initialised field by field).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "analysis/fit_data.h"

namespace ss::testing {

// A point of run `run`: N, D, C, final loss and where that loss came from ("val", "train", "csv").
inline analysis::FitPoint fit_point(std::int64_t run, double n, double d, double c, double loss,
                                    std::string loss_kind) {
  analysis::FitPoint p;
  p.run = run;
  p.n = n;
  p.d = d;
  p.c = c;
  p.loss = loss;
  p.loss_kind = std::move(loss_kind);
  return p;
}

}  // namespace ss::testing
