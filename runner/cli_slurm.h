// `scalesweep slurm CONFIG --store DB`: the sbatch script (slurm/sweep.sbatch) sized from the
// sweep's plan, printed (--dry-run) or submitted (--submit). See docs/slurm.md.
#pragma once

#include <CLI/CLI.hpp>

namespace ss::runner {

// Adds the `slurm` subcommand to the scalesweep app.
void add_slurm_command(CLI::App& app);

}  // namespace ss::runner
