// Test fixture of the trainer tests: a temp directory with real token shards (written through
// model/io), a real TOML sweep file for a tiny GPT, and a sink that records what the loop
// reports. Why a repeating corpus: a tiny model can learn it, so "loss falls" is a real check.
#pragma once

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "model/io/shard.h"
#include "runner/config.h"
#include "runner/grid.h"
#include "runner/worker_sink.h"
#include "tests/support/temp_dir.h"

namespace ss::runner::testing {

namespace fs = std::filesystem;

// Settings of the tiny sweep file; every field lands in the TOML text.
struct TinySweep {
  int n_layer = 1;
  int d_model = 16;
  int d_head = 8;
  int n_ctx = 16;
  std::int64_t steps = 20;
  int sequences_per_step = 8;  // batch_tokens = sequences * n_ctx
  int micro_batch = 4;         // per dp rank
  int dp = 1;
  int tp = 1;
  std::string lr = "1e-2";
  int warmup_steps = 2;
  int eval_interval = 5;
  int eval_tokens = 256;
  int checkpoint_interval = 10;
  int keep_checkpoints = 2;
  std::string checkpoint_dir;  // default: <dir>/ckpt
  bool checkpoint_dir_line = true;  // false: no checkpoint_dir (the default beside the store)
  std::string train, val;      // default: the fixture's shards
};

using ss::testing::TempDir;

// A repeating English sentence as byte tokens.
inline std::vector<std::uint16_t> repeating_corpus(std::size_t n_tokens) {
  const std::string sentence = "the quick brown fox jumps over the lazy dog. ";
  std::vector<std::uint16_t> tokens(n_tokens);
  for (std::size_t i = 0; i < n_tokens; ++i) {
    tokens[i] = static_cast<unsigned char>(sentence[i % sentence.size()]);
  }
  return tokens;
}

inline void write_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  io::write_shard(dir / "train.bin", 256, repeating_corpus(20000));
  io::write_shard(dir / "val.bin", 256, repeating_corpus(3000));
}

inline std::string sweep_toml(const TinySweep& s, const fs::path& dir) {
  const std::string ckpt = s.checkpoint_dir.empty() ? (dir / "ckpt").string() : s.checkpoint_dir;
  const std::string ckpt_line =
      s.checkpoint_dir_line ? fmt::format("checkpoint_dir = \"{}\"\n", ckpt) : "";
  const std::string train = s.train.empty() ? (dir / "data/train.bin").string() : s.train;
  const std::string val = s.val.empty() ? (dir / "data/val.bin").string() : s.val;
  const std::int64_t batch_tokens = static_cast<std::int64_t>(s.sequences_per_step) * s.n_ctx;
  return fmt::format(R"(name = "tiny"
[data]
tokenizer = "bytes"
train = "{}"
val = "{}"
[model]
family = "gpt2"
n_layer = {}
d_model = {}
d_head = {}
n_ctx = {}
[tokens]
absolute = [{}]
[train]
batch_tokens = {}
micro_batch = {}
lr = {}
warmup_steps = {}
lr_min_ratio = 0.1
weight_decay = 0.1
grad_clip = 1.0
seeds = [7]
[parallel]
dp = {}
tp = {}
[schedule]
eval_interval = {}
eval_tokens = {}
checkpoint_interval = {}
keep_checkpoints = {}
max_attempts = 2
{})",
                     train, val, s.n_layer, s.d_model, s.d_head, s.n_ctx, s.steps * batch_tokens,
                     batch_tokens, s.micro_batch, s.lr, s.warmup_steps, s.dp, s.tp, s.eval_interval,
                     s.eval_tokens, s.checkpoint_interval, s.keep_checkpoints, ckpt_line);
}

inline fs::path write_sweep(const TinySweep& s, const fs::path& dir, const std::string& name) {
  const fs::path path = dir / name;
  std::ofstream(path) << sweep_toml(s, dir);
  return path;
}

// The job of point 0 of a sweep file, loaded through the real config and grid code.
inline TrainJob job_of(const fs::path& config, std::int64_t run_id = 1) {
  const SweepSpec spec = load_sweep_spec(config);
  const std::vector<Point> points = expand_grid(spec);
  TrainJob job;
  job.run_id = run_id;
  job.point = points.at(0);
  job.data = spec.data;
  job.schedule = spec.schedule;
  job.cpu_threads = 1;
  return job;
}

// Records everything; stop_requested() answers true at its stop_at-th call (0: never).
class RecordingSink final : public RunSink {
 public:
  std::vector<store::MetricRow> rows;
  std::vector<store::CheckpointRecord> checkpoints;
  int batches = 0;
  std::int64_t stop_at = 0;
  std::int64_t stop_calls = 0;

  void on_metrics(std::span<const store::MetricRow> batch) override {
    rows.insert(rows.end(), batch.begin(), batch.end());
    ++batches;
  }
  void on_checkpoint(const store::CheckpointRecord& c) override { checkpoints.push_back(c); }
  bool stop_requested() override { return stop_at > 0 && ++stop_calls >= stop_at; }

  std::map<std::int64_t, double> train_losses() const {
    std::map<std::int64_t, double> out;
    for (const auto& r : rows) out[r.step] = r.train_loss.value();
    return out;
  }
};

}  // namespace ss::runner::testing
