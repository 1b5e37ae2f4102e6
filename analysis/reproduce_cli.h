// `scalefit reproduce chinchilla`: the subcommand (CLI11), where the Chinchilla CSV is found,
// and the run: read, fit approaches 1-3 with bootstrap, compare with the published numbers
// (reproduce_chinchilla.h), print, and write the report directory when --out is given.
// Invariant: as for scalefit's main command, everything is read and fitted before anything is
// written; bad input (no CSV found, a CSV without Epoch's columns, a bad --out) is
// ss::InputError, one line, exit 2, nothing written.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace ss::analysis {

struct ReproduceOptions {
  std::string dataset;  // "chinchilla" (the only one so far)
  std::string csv;      // empty: the first of the default places that exists
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string out;
  bool quiet = false;
};

// Adds the `reproduce` subcommand to `app`; its options land in `o`.
CLI::App* add_reproduce_command(CLI::App& app, ReproduceOptions& o);

// Runs it. Throws ss::InputError on bad input.
int run_reproduce(const ReproduceOptions& o, const std::string& command_line);

}  // namespace ss::analysis
