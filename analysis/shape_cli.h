// `scalefit shape`: the subcommand (CLI11) of the shape report (shape_report.h). Invariant: the
// store is read and the report computed before anything is written; bad input is
// ss::InputError (one line, exit 2, nothing written).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace ss::analysis {

struct ShapeArgs {
  std::string store;
  std::string where = "status=done";
  double n_tolerance = 0.05;
  std::string out;
};

// Adds the `shape` subcommand to `app`; its options land in `a`.
CLI::App* add_shape_command(CLI::App& app, ShapeArgs& a);

// Runs it. Throws ss::InputError on bad input.
int run_shape(const ShapeArgs& a, const std::string& command_line);

}  // namespace ss::analysis
