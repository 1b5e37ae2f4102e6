// `scalesweep prepare-data --input DIR_OR_FILES... --tokenizer bytes|gpt2 --out DIR
// [--val-fraction F] [--gpt2-dir DIR]`: tokenizes a text corpus into token shards
// (out/train.bin, out/val.bin, out/meta.json) with model/io's prepare_data. SIGINT, SIGTERM,
// SIGHUP or SIGUSR1 stop it after the document being tokenized: the temporary output is removed,
// an earlier output stays as it was, and the exit code is 3 ("stopped, run again").
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace ss::runner {

// Adds the `prepare-data` subcommand to the scalesweep app. The int it returns is the
// subcommand's exit code once it ran: 0, or ss::kExitRequeue after a stop signal.
std::shared_ptr<int> add_prepare_data_command(CLI::App& app);

}  // namespace ss::runner
