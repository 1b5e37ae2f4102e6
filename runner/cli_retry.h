// `scalesweep retry DB [--status failed,diverged] [--point KEY ...]`: sets failed (or diverged)
// runs back to pending so that the next `scalesweep run` trains them again, e.g. after the data
// was fixed. Invariant: everything is checked (store, statuses, point keys) before the one
// transaction that resets the runs; a bad argument changes nothing (exit 2).
#pragma once

#include <CLI/CLI.hpp>

namespace ss::runner {

// Adds the `retry` subcommand to the scalesweep app.
void add_retry_command(CLI::App& app);

}  // namespace ss::runner
