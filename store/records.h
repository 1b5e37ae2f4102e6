// Plain records of the ScaleSweep store, one struct per table row (see store/schema.md).
// Invariant: field names and meanings match the SQL columns one to one; optional<> marks the
// columns that may be NULL. No behaviour lives here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ss::store {

// Run status values, exactly the CHECK constraint of runs.status.
inline constexpr const char* kStatusPending = "pending";
inline constexpr const char* kStatusRunning = "running";
inline constexpr const char* kStatusDone = "done";
inline constexpr const char* kStatusFailed = "failed";
inline constexpr const char* kStatusDiverged = "diverged";

// A row of `sweeps`.
struct SweepRecord {
  std::int64_t id = 0;
  std::string name;
  std::string config_path;
  std::string config_text;
  std::string config_hash;
  double created = 0;
};

// Every `runs` column known when a sweep is planned (the grid point).
struct RunPlan {
  std::int64_t sweep_id = 0;
  std::string point;  // stable point key (hex hash), unique in the store
  std::int64_t point_index = 0;
  std::int64_t n_layer = 0, d_model = 0, n_head = 0, d_ff = 0, n_ctx = 0, vocab = 0;
  std::int64_t n_params = 0;            // non-embedding N (Kaplan)
  std::int64_t n_params_embedding = 0;  // token + position embeddings
  std::int64_t n_params_total = 0;      // exact trainable parameter count
  std::int64_t tokens = 0;              // target D
  std::int64_t batch_tokens = 0;
  std::int64_t steps = 0;  // ceil(tokens / batch_tokens)
  double lr = 0;
  std::int64_t seed = 0, dp = 1, tp = 1;
  double flops = 0;  // planned (6N + 6 n_layer n_ctx d_model) * D
  // The isoFLOP budget C the point was planned for (tokens.isoflop); nullopt otherwise and for
  // runs registered before schema v3.
  std::optional<double> budget;
};

// A full `runs` row: the plan plus the progress columns.
struct RunRecord {
  std::int64_t id = 0;
  RunPlan plan;
  std::string status;
  std::int64_t attempts = 0;
  std::optional<std::string> lease_owner;
  std::optional<double> lease_expires;
  std::int64_t step = 0;
  std::int64_t tokens_seen = 0;
  std::optional<double> final_train_loss, final_val_loss, best_train_loss, best_val_loss;
  std::optional<std::int64_t> diverged_step;
  std::optional<std::string> error;
  double created = 0;
  std::optional<double> started, finished;
  double wall_seconds = 0;
  // Schema v4 (read as nullopt / 0 / nullopt from an older store opened read-only).
  std::optional<double> retry_after;   // a pending run is not handed out before this time
  std::int64_t transient_failures = 0;  // since registration or the last `scalesweep retry`
  std::optional<bool> error_transient;  // whether `error` was a transient failure
};

// How a failed run is retried ([schedule] keys of docs/config.md). A deterministic failure
// leaves the run pending (retried at once) while its deterministic tries (attempts minus
// transient failures) are below max_attempts, else failed. A transient failure (disk full, I/O
// error, out of memory: runner/failure_kind.h) does not use up a try: the run waits
// backoff_delay() (store.h) and is failed only at its max_transient_failures-th transient failure.
struct RetryPolicy {
  std::int64_t max_attempts = 3;
  std::int64_t max_transient_failures = 10;
  double backoff_seconds = 30;       // the wait after the first transient failure
  double backoff_max_seconds = 600;  // it doubles per transient failure up to this
};

// What mark_failed decided.
struct FailureOutcome {
  std::string status;                 // pending or failed
  std::int64_t transient_failures = 0;  // after this failure
  std::optional<double> retry_after;  // pending after a transient failure: not before this time
};

// What a finished run reports (mark done).
struct RunOutcome {
  std::int64_t step = 0;
  std::int64_t tokens_seen = 0;
  std::optional<double> final_train_loss, final_val_loss, best_train_loss, best_val_loss;
  double wall_seconds = 0;  // total wall time of the run over all attempts

  bool operator==(const RunOutcome&) const = default;
};

// A row of `metrics`: one row per (run, step) holding all of that step's metrics.
struct MetricRow {
  std::int64_t run = 0;
  std::int64_t step = 0;
  std::int64_t tokens = 0;
  double flops = 0;
  std::optional<double> train_loss, val_loss, lr, grad_norm, tokens_per_s, wall;

  bool operator==(const MetricRow&) const = default;
};

// A row of `checkpoints`.
struct CheckpointRecord {
  std::int64_t run = 0;
  std::int64_t step = 0;
  std::string path;
  std::int64_t bytes = 0;
  std::string sha256;  // lowercase hex
  double created = 0;

  bool operator==(const CheckpointRecord&) const = default;
};

// A row of `fits`. params and ci are JSON object texts.
struct FitRecord {
  std::int64_t id = 0;
  std::string law;
  std::string source;
  std::string params;  // JSON object
  std::string ci;      // JSON object: name -> [lo, hi]
  std::int64_t n_points = 0;
  std::optional<double> residual;
  double created = 0;
};

// A row of `events`.
struct EventRecord {
  std::int64_t id = 0;
  double time = 0;
  std::int64_t rank = 0;
  std::string kind;
  std::string text;
};

// A row of `run_flags` (schema v2, written by scalefit).
struct RunFlagsRecord {
  std::int64_t run = 0;
  double kaplan_ratio = 0;  // D / (5e3 * N^0.74)
  bool kaplan_flag = false;
  std::optional<double> val_train_gap;
  std::optional<std::int64_t> val_turn_step;
  bool measured_flag = false;
  double updated = 0;
};

// Which rows `list_runs` / `claim_point` consider. Empty fields mean "no restriction".
struct RunFilter {
  std::optional<std::int64_t> sweep_id;
  std::optional<std::string> status;
  std::vector<std::string> points;  // restrict to these point keys (empty: all)
  // claim_point only: also claim a pending run whose retry_after has not come yet (`scalesweep
  // train POINT`, where the user asks for that point now).
  bool ignore_backoff = false;
};

// The numbers `scalesweep status` prints.
struct StatusSummary {
  std::map<std::string, std::int64_t> runs_by_status;  // every status, 0 included
  std::int64_t runs_total = 0;
  std::int64_t tokens_seen = 0;    // sum over runs
  std::int64_t tokens_target = 0;  // sum of runs.tokens
  double flops_planned = 0;        // sum of runs.flops
  std::optional<double> best_val_loss;
  std::optional<std::int64_t> best_val_run;  // run id holding best_val_loss
};

}  // namespace ss::store
