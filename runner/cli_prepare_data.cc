// The prepare-data subcommand: parses options, shows a progress bar on stderr (bytes
// tokenized / total, MB/s) and prints a one-line summary on stdout. Errors propagate as
// exceptions to main() (ss::InputError -> exit 2; nothing is written then). A stop signal is
// watched (runner/signals.h) and acted on between documents: the progress callback throws, so
// prepare_data removes its temporary directory, and the exit code is 3.
#include "runner/cli_prepare_data.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "model/io/prepare_data.h"
#include "runner/signals.h"
#include "ss/error.h"

namespace ss::runner {

namespace {

struct PrepareDataArgs {
  std::vector<std::string> inputs;
  std::string tokenizer = "bytes";
  std::string out;
  std::string gpt2_dir;
  double val_fraction = 0.005;
};

// Thrown by the progress callback when a stop signal arrived (caught in run_prepare_data).
struct StopRequested {
  int signal = 0;
};

// Returns the exit code: 0, or ss::kExitRequeue when a stop signal ended it (nothing written).
int run_prepare_data(const PrepareDataArgs& args) {
  const StopSignalWatcher signals;
  io::PrepareDataOptions opt;
  for (const auto& in : args.inputs) opt.inputs.emplace_back(in);
  opt.tokenizer = args.tokenizer;
  opt.gpt2_dir = args.gpt2_dir;
  opt.out_dir = args.out;
  opt.val_fraction = args.val_fraction;

  const auto start = std::chrono::steady_clock::now();
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // On a terminal one line redrawn with \r; in logs one line per document.
  const auto progress = [&](uint64_t done, uint64_t total) {
    if (signals.stop_requested()) throw StopRequested{signals.stop_signal()};
    const double mb = 1e-6 * static_cast<double>(done);
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total);
    const int bar = static_cast<int>(pct / 5.0);
    fmt::print(stderr, "{}[prepare-data] [{:<20}] {:5.1f}% {:.1f}/{:.1f} MB {:.1f} MB/s{}",
               tty ? "\r" : "", std::string(static_cast<size_t>(bar), '#'), pct, mb,
               1e-6 * static_cast<double>(total), mb / std::max(seconds(), 1e-9), tty ? "" : "\n");
  };
  io::PrepareDataResult r;
  try {
    r = io::prepare_data(opt, progress);
  } catch (const StopRequested& stop) {
    fmt::print(stderr,
               "{}prepare-data: stopped on signal {} after {:.1f} s; nothing written ({} is as "
               "it was); run the same command again (exit 3)\n",
               tty ? "\n" : "", stop.signal, seconds(), args.out);
    return kExitRequeue;
  }
  if (tty) fmt::print(stderr, "\n");
  fmt::print(
      "prepare-data: {} documents, {:.1f} MB -> {} train + {} val tokens ({}) in {} "
      "({:.1f} s)\n",
      r.documents, 1e-6 * static_cast<double>(r.input_bytes), r.train_tokens, r.val_tokens,
      args.tokenizer, args.out, seconds());
  return 0;
}

}  // namespace

std::shared_ptr<int> add_prepare_data_command(CLI::App& app) {
  auto args = std::make_shared<PrepareDataArgs>();
  auto exit_code = std::make_shared<int>(0);
  CLI::App* cmd = app.add_subcommand(
      "prepare-data", "Tokenize text files into token shards (train.bin, val.bin, meta.json)");
  cmd->add_option("--input", args->inputs, "Text files and/or directories (walked recursively)")
      ->required();
  cmd->add_option("--tokenizer", args->tokenizer, "bytes (vocab 256) or gpt2 (vocab 50257)")
      ->check(CLI::IsMember({"bytes", "gpt2"}));
  cmd->add_option("--out", args->out, "Output directory (replaced atomically)")->required();
  cmd->add_option("--val-fraction", args->val_fraction,
                  "Fraction of each document's tokens (its end) that goes to val.bin");
  cmd->add_option("--gpt2-dir", args->gpt2_dir,
                  "Directory with encoder.json + vocab.bpe (default <repo>/data/gpt2)");
  cmd->callback([args, exit_code] { *exit_code = run_prepare_data(*args); });
  return exit_code;
}

}  // namespace ss::runner
