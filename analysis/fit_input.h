// Reading scalefit's input: a ScaleSweep store (recognised by the SQLite header) or a CSV whose
// columns are named by --columns. Shared by `scalefit` and its subcommands. Invariant: every
// problem with the input is one ss::InputError line (what, where, how to fix); nothing is
// written here.
#pragma once

#include <string>

#include "analysis/fit_data.h"

namespace ss::analysis {

// What the command line says about the input.
struct InputRequest {
  std::string path;                   // store or CSV
  std::string columns;                // CSV only: ROLE=HEADER list (csv_input.h)
  std::string where = "status=done";  // store only: which runs (store_input.h)
  double min_tokens = 0;              // leave out points with D below this
};

// The points (and, for a store, the loss curves) of the input.
FitData read_fit_input(const InputRequest& request);

}  // namespace ss::analysis
