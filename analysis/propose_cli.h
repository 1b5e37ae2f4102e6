// `scalefit propose`: the subcommand (CLI11), the printed table and TOML, and the --out
// directory (report.md, fits.json, propose-NN.toml). Invariant: every input is read, the fit
// done and the design chosen before anything is written; bad input is ss::InputError (one
// line, exit 2, nothing written).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "analysis/fit_input.h"
#include "analysis/propose.h"

namespace ss::analysis {

struct ProposeArgs {
  InputRequest input;
  ProposeOptions design;
  std::string law = "chinchilla-3";
  std::string config;  // sweep template; empty: the store's latest sweep
  int bootstrap = 400;
  std::uint64_t seed = 0;
  int threads = 0;
  int grid = 16;
  std::string out;
  bool quiet = false;
};

// Adds the `propose` subcommand to `app`; its options land in `a`.
CLI::App* add_propose_command(CLI::App& app, ProposeArgs& a);

// Runs it. Throws ss::InputError on bad input.
int run_propose(const ProposeArgs& a, const std::string& command_line);

}  // namespace ss::analysis
