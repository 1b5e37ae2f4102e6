// `scalesweep prepare-data --input DIR_OR_FILES... --tokenizer bytes|gpt2 --out DIR
// [--val-fraction F] [--gpt2-dir DIR]`: tokenizes a text corpus into token shards
// (out/train.bin, out/val.bin, out/meta.json) with model/io's prepare_data.
#pragma once

#include <CLI/CLI.hpp>

namespace ss::runner {

// Adds the `prepare-data` subcommand to the scalesweep app.
void add_prepare_data_command(CLI::App& app);

}  // namespace ss::runner
