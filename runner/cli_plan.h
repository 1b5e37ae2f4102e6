// `scalesweep plan CONFIG [--format table|csv|json] [--store DB] [--store-journal wal|delete]`:
// prints every grid point and optionally registers the sweep and its points as pending.
#pragma once

#include <CLI/CLI.hpp>

namespace ss::runner {

// Adds the `plan` subcommand to the scalesweep app.
void add_plan_command(CLI::App& app);

}  // namespace ss::runner
