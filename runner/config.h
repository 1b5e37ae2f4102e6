// A sweep file (TOML, format in docs/config.md and configs/quickstart.toml) parsed into a
// validated SweepSpec. Invariant: a SweepSpec returned by load_sweep_spec() is valid for every
// point of its grid (shapes divisible, tp compatible, batches whole, tokens positive); every
// problem is reported as ss::InputError with one line "FILE:LINE: key = value <what>; <allowed>".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ss::runner {

// One model shape of the grid (GPT-2 layout, pre-LN, tied unembedding).
struct ModelShape {
  std::int64_t n_layer = 0;
  std::int64_t d_model = 0;
  std::int64_t n_head = 0;
  std::int64_t d_ff = 0;
  std::int64_t n_ctx = 0;
};

// How the tokens D of a point are given.
enum class TokenMode {
  kAbsolute,  // D taken from the list
  kPerParam,  // D = ratio * N (non-embedding N)
  kIsoflop,   // D = C / (6 N + 6 n_layer n_ctx d_model) for each budget C and each shape
};

enum class LrRule {
  kFixed,   // the listed learning rates
  kKaplan,  // lr(N) = 0.003239 - 0.0001395 ln N (Kaplan et al. 2020, eq. D.1), N non-embedding
  kPower,   // lr(N) = base * (N / n_ref)^exponent (LrPower), N non-embedding
};

// lr = {rule = "power", base, n_ref, exponent}: one learning rate per model size.
struct LrPower {
  double base = 0;      // lr at N = n_ref
  double n_ref = 0;     // reference non-embedding size
  double exponent = 0;  // usually negative: larger models take smaller steps
};

struct DataSpec {
  std::string tokenizer;  // "bytes" (vocab 256) or "gpt2" (vocab 50257)
  std::string train;      // token shard paths as written in the file (relative to the cwd)
  std::string val;
  std::string corpus;  // a text corpus dir, when train/val are not given (prepare-data makes them)
};

struct TokensSpec {
  TokenMode mode = TokenMode::kAbsolute;
  std::vector<double> values;  // tokens, ratios or FLOP budgets, per mode
  // kIsoflop only: drop points whose D/N falls outside [min_ratio, max_ratio].
  std::optional<double> min_ratio, max_ratio;
  int line = 0;  // line of the tokens key, for errors found during grid expansion
};

struct TrainSpec {
  std::vector<std::int64_t> batch_tokens;  // tokens per optimizer step
  std::int64_t micro_batch = 0;            // sequences per micro step (per dp rank)
  LrRule lr_rule = LrRule::kFixed;
  std::vector<double> lr;  // kFixed only
  LrPower lr_power;        // kPower only
  std::optional<std::int64_t> warmup_steps;
  std::optional<double> warmup_fraction;  // of the point's steps
  double lr_min_ratio = 0.1;              // cosine decay ends at lr * lr_min_ratio
  double weight_decay = 0.1;
  double grad_clip = 1.0;
  std::vector<std::int64_t> seeds;
  int batch_line = 0, warmup_line = 0;
};

struct ScheduleSpec {
  std::int64_t eval_interval = 0;        // steps between evals
  std::int64_t eval_tokens = 0;          // val tokens per eval
  std::int64_t checkpoint_interval = 0;  // steps between checkpoints
  std::int64_t keep_checkpoints = 2;     // newest K kept per run
  std::int64_t max_attempts = 3;         // tries per point before it is `failed`
  // Transient failures (disk full, I/O error, out of memory: runner/failure_kind.h) use no try:
  // the point waits retry_backoff_seconds, doubling per transient failure up to
  // retry_backoff_max_seconds, and is `failed` at its max_transient_failures-th one.
  double retry_backoff_seconds = 30;
  double retry_backoff_max_seconds = 600;
  std::int64_t max_transient_failures = 10;
  // [schedule] checkpoint_dir as given (relative to the working directory); when the config has
  // none it stays empty until place_checkpoints() puts it beside the store.
  std::string checkpoint_dir;
  bool checkpoint_dir_beside_store = false;  // set by place_checkpoints(): not from the config
};

struct SweepSpec {
  std::string name;
  std::string config_path;  // as given by the user
  std::string config_text;  // the file's exact bytes
  std::string config_hash;  // sha256 hex of config_text
  std::string family;       // "gpt2"
  // [model] init: "gpt2" (default) scales the residual projections' std by 1/sqrt(2 n_layer);
  // "normal" gives every matrix N(0, 0.02) (model::GptT::init_params).
  bool init_scale_residual = true;
  std::int64_t vocab = 0;   // model vocabulary (>= the tokenizer's)
  DataSpec data;
  std::vector<ModelShape> shapes;  // the validated model grid, in grid order
  int model_line = 0;              // line of [model], for errors about shapes
  TokensSpec tokens;
  TrainSpec train;
  std::int64_t dp = 1, tp = 1;
  ScheduleSpec schedule;
};

// Kaplan's learning-rate rule of non-embedding N.
double kaplan_learning_rate(double n_params);

// The learning rates of a shape with non-embedding size N under the spec's rule: the listed
// values (kFixed), or the one value of the Kaplan or power rule.
std::vector<double> learning_rates(const TrainSpec& train, double n_params);

// Vocabulary of a tokenizer name ("bytes" 256, "gpt2" 50257); 0 when unknown.
std::int64_t tokenizer_vocab(const std::string& tokenizer);

// Parses and validates a sweep file's text; `path` is only used in messages and the spec.
SweepSpec parse_sweep_spec(const std::string& text, const std::string& path);
// Reads `path` and parses it; a missing/unreadable file is an InputError too.
SweepSpec load_sweep_spec(const std::filesystem::path& path);

// The default checkpoint directory of a sweep on `store`: <store's directory>/<store's
// stem>-checkpoints/<sweep name> (results.db -> results-checkpoints/quickstart), so a job
// started from any directory keeps its checkpoints with its store.
std::filesystem::path default_checkpoint_dir(const std::filesystem::path& store,
                                             const std::string& sweep_name);
// Sets spec.schedule.checkpoint_dir to default_checkpoint_dir() when the config gives none
// (every command that trains calls it once the store is known); a given one is kept as is.
void place_checkpoints(SweepSpec& spec, const std::filesystem::path& store);

}  // namespace ss::runner
