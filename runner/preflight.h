// Preflight: everything the points of a sweep will need from the machine, checked by rank 0 of
// `scalesweep run` (and by `scalesweep train` for its one point) BEFORE the store is opened:
// token shards (present, valid header and length, every token < vocab, vocabulary equal to the
// tokenizer's and within the model's, enough tokens for a step and an eval, an eval_tokens the
// val shard can provide without reading a token twice), the checkpoint
// directory (creatable and writable), and memory per rank (the grid's estimate against what
// the rank has). Invariant: reads only, creates nothing; a failure is one ss::InputError line
// naming the file as given and, for relative paths, resolved against the working directory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "runner/config.h"
#include "runner/grid.h"

namespace ss::runner {

// The seam `scalesweep run` calls on rank 0 before it opens the store (preflight_sweep for the
// real trainer; none for a fake one that reads no data). Throws ss::InputError.
using PreflightFunction =
    std::function<void(const SweepSpec& spec, std::span<const Point> points, int workers_on_node)>;

// Checks the shard [data] `role` ("train" / "val") at `path` for models of `model_vocab` and
// windows of `n_ctx` tokens, tokenized by `tokenizer`. `config` is the sweep file (messages).
// Returns the shard's token count.
std::uint64_t check_data_shard(const std::string& path, const char* role,
                               const std::string& tokenizer, std::int64_t model_vocab,
                               std::int64_t n_ctx, const std::string& config);

// The evaluation of a point (runner/trainer.cc, io::ValLoader) reads eval_windows() windows of
// n_ctx + 1 tokens spread evenly over the val shard. A shard of N tokens holds
// disjoint_eval_windows() = (N - 1) / n_ctx of them without overlap (consecutive windows share
// only the boundary token); asking for more re-reads tokens, and a huge eval_tokens (1e8 over
// a 600-token shard) turns every eval into minutes of the same windows. Refused with one line.
inline std::int64_t eval_windows(std::int64_t eval_tokens, std::int64_t n_ctx) {
  return std::max<std::int64_t>(1, eval_tokens / n_ctx);
}
inline std::int64_t disjoint_eval_windows(std::uint64_t val_tokens, std::int64_t n_ctx) {
  return val_tokens < 1 ? 0 : static_cast<std::int64_t>((val_tokens - 1) / n_ctx);
}
void check_eval_tokens(const ScheduleSpec& schedule, std::int64_t n_ctx,
                       const std::string& val_path, std::uint64_t val_tokens,
                       const std::string& config);

// The checkpoint directory exists and is a writable directory, or can be made: its nearest
// existing ancestor is a writable directory. Makes nothing. Messages name the config key, or
// the default beside the store (ScheduleSpec::checkpoint_dir_beside_store).
void check_checkpoint_dir(const ScheduleSpec& schedule, const std::string& config);

// Memory this process may still use: MemAvailable (/proc/meminfo), lowered by a cgroup limit
// (v2 memory.max - memory.current, or v1's). nullopt where neither can be read.
struct MemoryBudget {
  std::int64_t bytes = 0;
  std::string source;  // e.g. "MemAvailable" or "cgroup memory.max"
};
std::optional<MemoryBudget> available_memory();

// Each point's estimated bytes per rank (Point::memory) against the memory available on this
// node shared by `workers_on_node` training ranks.
void check_memory(std::span<const Point> points, int workers_on_node, const std::string& config);

// All of the above for every point of `spec` (each distinct shard and n_ctx once).
void preflight_sweep(const SweepSpec& spec, std::span<const Point> points, int workers_on_node);

}  // namespace ss::runner
