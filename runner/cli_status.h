// `scalesweep status DB`: runs by status, progress, best/final losses, and a summary. Opens the
// store read-only, so it works while a job is writing (WAL) and never creates a file.
#pragma once

#include <CLI/CLI.hpp>

namespace ss::runner {

// Adds the `status` subcommand to the scalesweep app.
void add_status_command(CLI::App& app);

}  // namespace ss::runner
