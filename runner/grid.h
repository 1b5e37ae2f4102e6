// Grid expansion: a validated SweepSpec -> the ordered list of points, each with its stable key
// and derived quantities (parameter counts, steps, FLOPs, Kaplan indicator, memory per rank).
// Invariants: the order is deterministic (shapes in file order, then tokens, batch, lr, seed);
// a point's key depends only on the fields that define its training run (see point_canonical_text),
// so the same config gives the same keys on any machine and unrelated edits keep them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/gpt_layout.h"
#include "runner/config.h"
#include "store/records.h"
#include "store/store.h"

namespace ss::runner {

// A point's model shape as the model library takes it (the one conversion).
model::GptConfig gpt_config_of(const ModelShape& shape, std::int64_t vocab);

// Parameter counts: the model's own formula (model/gpt_config.h).
using ParamCounts = model::GptParamCounts;

// Training FLOPs: (6 N + 6 n_layer n_ctx d_model) * D (Kaplan's convention, N non-embedding).
double training_flops(const ModelShape& shape, std::int64_t non_embedding, double tokens);

// Kaplan's overfitting indicator D / (5e3 N^0.74): below 1 overfitting is expected.
double kaplan_ratio(double tokens, double non_embedding);

// Bytes one rank of the fp32 trainer allocates for its model: exactly the buffers of
// model::gpt_layout(cfg, micro_batch, tp) (tested against the allocations themselves).
struct MemoryEstimate {
  std::int64_t state_bytes = 0;       // weights, grads, AdamW m and v of this rank's shard
  std::int64_t activation_bytes = 0;  // activations (all layers), one layer's activation
                                      // gradients, the attention scratch, the token buffers
  std::int64_t total() const { return state_bytes + activation_bytes; }
};
MemoryEstimate estimate_memory(const model::GptConfig& cfg, std::int64_t micro_batch,
                               std::int64_t tp);

struct Point {
  std::int64_t index = 0;
  std::string key;  // 16 hex digits: sha256 of point_canonical_text
  ModelShape shape;
  std::int64_t vocab = 0;
  std::int64_t tokens = 0;        // target D
  std::optional<double> budget;   // the tokens.isoflop budget C that gave D (nullopt otherwise)
  std::int64_t batch_tokens = 0;  // per optimizer step
  std::int64_t micro_batch = 0;   // sequences per micro step per dp rank
  std::int64_t grad_accum = 0;    // micro steps per optimizer step
  double lr = 0;
  std::int64_t warmup_steps = 0;
  double lr_min_ratio = 0;
  double weight_decay = 0;
  double grad_clip = 0;
  std::int64_t seed = 0;
  std::int64_t dp = 1, tp = 1;
  ParamCounts params;
  std::int64_t steps = 0;       // ceil(tokens / batch_tokens)
  double flops = 0;             // planned: (6 N + attention) D, N non-embedding (Kaplan)
  double flops_exact = 0;       // (6 N_total + attention) D: what the trainer computes; for time
  double tokens_per_param = 0;  // D / N (non-embedding)
  double kaplan_ratio = 0;
  bool kaplan_overfit = false;  // kaplan_ratio < 1
  bool init_scale_residual = true;  // SweepSpec::init_scale_residual
  MemoryEstimate memory;
};

// The text hashed into a point key: family, tokenizer, vocab, shape, D, batch, lr, warmup,
// lr_min_ratio, weight decay, grad clip, seed, dp, tp, and ";init=normal" only for that init (so
// keys made before the init option existed stay valid). Not hashed: paths, micro_batch, eval and
// checkpoint settings (they do not change what a run computes, up to float summation order).
std::string point_canonical_text(const Point& point, const SweepSpec& spec);

// Expands the grid. Throws ss::InputError (FILE:LINE) when a point is impossible: no tokens
// left after rounding, fewer steps than warmup, a Kaplan lr <= 0, duplicate points, or an
// isoFLOP filter that removes every point.
std::vector<Point> expand_grid(const SweepSpec& spec);

// The runs row of a point for the store.
store::RunPlan to_run_plan(const Point& point, std::int64_t sweep_id);

// Registers the sweep and all its points in one transaction (idempotent: a second call adds
// nothing). The one registration path of plan --store, train and run.
store::Store::Registration register_sweep_points(store::Store& db, const SweepSpec& spec,
                                                 const std::vector<Point>& points);

}  // namespace ss::runner
