// prepare_data: text files -> token shards out/train.bin + out/val.bin + out/meta.json.
//
// Documents are the input files (directories are walked recursively, hidden entries
// skipped, paths sorted so the output is reproducible). Each document is tokenized
// whole; its last round(val_fraction * tokens) tokens go to val.bin, the rest to
// train.bin, so every book contributes to validation and no window straddles the split
// inside a document. With the gpt2 tokenizer <|endoftext|> (50256) follows every
// document in both shards; the bytes tokenizer has no spare id and just concatenates.
// Invariant: all input checks happen before anything is written, and the output is
// built in a temp directory renamed to `out` at the end, so bad input or a failure
// leaves nothing (and an earlier output intact).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ss::io {

struct PrepareDataOptions {
  std::vector<std::filesystem::path> inputs;  // files and/or directories
  std::string tokenizer = "bytes";            // "bytes" | "gpt2"
  std::filesystem::path gpt2_dir;             // empty: default_gpt2_dir()
  std::filesystem::path out_dir;
  double val_fraction = 0.005;  // in [0, 0.5]
};

struct PrepareDataResult {
  uint64_t documents = 0;
  uint64_t input_bytes = 0;
  uint64_t train_tokens = 0;
  uint64_t val_tokens = 0;
};

// Called after each document with (bytes tokenized so far, total input bytes).
using PrepareDataProgress = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

// Throws ss::InputError (nothing written) for: no inputs, a missing path, a directory
// with no files, an unreadable file, an empty corpus, val_fraction outside [0, 0.5],
// an unknown tokenizer or missing GPT-2 files, `out` being an existing file or a
// non-empty directory that is not an earlier prepare-data output (no meta.json).
PrepareDataResult prepare_data(const PrepareDataOptions& options,
                               const PrepareDataProgress& progress = {});

}  // namespace ss::io
