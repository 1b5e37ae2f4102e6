// Grid expansion and the per-point formulas (FLOPs, Kaplan ratio, memory; parameter counts come
// from model/gpt_config.h). Invariant: the formulas here are the ones documented in
// docs/config.md and grid.h.
#include "runner/grid.h"

#include <fmt/core.h>

#include <climits>
#include <cmath>
#include <set>

#include "model/gpt_config.h"
#include "model/io/sha256.h"
#include "ss/error.h"

namespace ss::runner {

model::GptConfig gpt_config_of(const ModelShape& s, std::int64_t vocab) {
  return model::GptConfig{static_cast<int>(s.n_layer), static_cast<int>(s.d_model),
                          static_cast<int>(s.n_head),  static_cast<int>(s.d_ff),
                          static_cast<int>(s.n_ctx),   static_cast<int>(vocab)};
}

double training_flops(const ModelShape& s, std::int64_t non_embedding, double tokens) {
  return (6.0 * static_cast<double>(non_embedding) +
          6.0 * static_cast<double>(s.n_layer * s.n_ctx * s.d_model)) *
         tokens;
}

double kaplan_ratio(double tokens, double non_embedding) {
  return tokens / (5e3 * std::pow(non_embedding, 0.74));
}

MemoryEstimate estimate_memory(const model::GptConfig& cfg, std::int64_t micro_batch,
                               std::int64_t tp) {
  const model::GptLayout layout =
      model::gpt_layout(cfg, static_cast<int>(micro_batch), static_cast<int>(tp));
  const std::size_t values = layout.num_acts + layout.num_grad_acts + layout.att_scratch;
  MemoryEstimate m;
  m.state_bytes = static_cast<std::int64_t>(sizeof(float) * 4 * layout.num_params);
  m.activation_bytes =
      static_cast<std::int64_t>(sizeof(float) * values + sizeof(std::int32_t) * 2 * layout.tokens);
  return m;
}

std::string point_canonical_text(const Point& p, const SweepSpec& spec) {
  return fmt::format(
      "scalesweep-point-v1;family={};tokenizer={};vocab={};n_layer={};d_model={};n_head={};"
      "d_ff={};n_ctx={};tokens={};batch_tokens={};lr={};warmup_steps={};lr_min_ratio={};"
      "weight_decay={};grad_clip={};seed={};dp={};tp={}",
      spec.family, spec.data.tokenizer, p.vocab, p.shape.n_layer, p.shape.d_model, p.shape.n_head,
      p.shape.d_ff, p.shape.n_ctx, p.tokens, p.batch_tokens, p.lr, p.warmup_steps, p.lr_min_ratio,
      p.weight_decay, p.grad_clip, p.seed, p.dp, p.tp) +
         (p.init_scale_residual ? "" : ";init=normal");
}

namespace {

[[noreturn]] void fail(const SweepSpec& spec, int line, const std::string& message) {
  throw InputError(fmt::format("{}:{}: {}", spec.config_path, std::max(line, 1), message));
}

std::string shape_text(const ModelShape& s) {
  return fmt::format("n_layer = {}, d_model = {}, n_head = {}, d_ff = {}, n_ctx = {}", s.n_layer,
                     s.d_model, s.n_head, s.d_ff, s.n_ctx);
}

// D values of one shape, in file order, each with the isoFLOP budget that gave it (isoFLOP
// points outside the ratio window are dropped).
std::vector<std::pair<std::int64_t, std::optional<double>>> tokens_for_shape(
    const SweepSpec& spec, const ModelShape& shape, const ParamCounts& params) {
  const double n = static_cast<double>(params.non_embedding);
  std::vector<std::pair<std::int64_t, std::optional<double>>> out;
  for (double v : spec.tokens.values) {
    double d = v;
    if (spec.tokens.mode == TokenMode::kPerParam) d = v * n;
    // A budget is in the flops column's convention (attention included), so every run of
    // one budget records flops = C and scalefit groups them into one isoFLOP profile.
    if (spec.tokens.mode == TokenMode::kIsoflop) {
      d = v / training_flops(shape, params.non_embedding, 1.0);
    }
    // 2^53: the most tokens a double (flops, ratios) counts exactly; llround of 1e30 is
    // undefined (it used to say "< 1 token").
    constexpr double kMaxTokens = 0x1p53;
    if (d > kMaxTokens) {
      fail(spec, spec.tokens.line,
           fmt::format("tokens = {} gives D = {:.4g} tokens for {}, more than the limit of {:.0f} "
                       "(2^53) a run can count; lower the value",
                       v, d, shape_text(shape), kMaxTokens));
    }
    const auto rounded = std::isfinite(d) ? std::llround(d) : 0;
    if (rounded < 1) {
      fail(spec, spec.tokens.line,
           fmt::format("tokens = {} gives D = {} < 1 token for {}; raise the value", v, d,
                       shape_text(shape)));
    }
    if (spec.tokens.mode == TokenMode::kIsoflop) {
      const double ratio = static_cast<double>(rounded) / n;
      if (spec.tokens.min_ratio && ratio < *spec.tokens.min_ratio) continue;
      if (spec.tokens.max_ratio && ratio > *spec.tokens.max_ratio) continue;
    }
    out.emplace_back(rounded, spec.tokens.mode == TokenMode::kIsoflop ? std::optional(v)
                                                                      : std::nullopt);
  }
  return out;
}

// A shape the model can be built with (model::validate_gpt_config: dimensions positive, heads
// divide d_model, tp divides the heads, vocab within the uint16 shards), whose dimensions fit the
// model's int and whose buffers can be counted in 64 bits: a point that fails here used to be
// planned with negative sizes, or started and failed max_attempts times with `run` exiting 0.
void check_buildable(const SweepSpec& spec, const ModelShape& s) {
  const std::string where = fmt::format("{}:{}: model ({})", spec.config_path,
                                        std::max(spec.model_line, 1), shape_text(s));
  for (const auto& [key, v] : {std::pair{"n_layer", s.n_layer}, {"d_model", s.d_model},
                               {"n_head", s.n_head}, {"d_ff", s.d_ff}, {"n_ctx", s.n_ctx},
                               {"vocab", spec.vocab}}) {
    if (v > INT_MAX)
      throw InputError(fmt::format("{}: {} = {} is larger than {}, the model's limit; use a "
                                   "smaller value",
                                   where, key, v, INT_MAX));
  }
  model::validate_gpt_config(gpt_config_of(s, spec.vocab), static_cast<int>(spec.tp), where);
  // Upper bound of the elements a rank holds (weights and AdamW state, the activations of every
  // layer with the attention matrices, the logits), in double so that it cannot wrap.
  const double L = static_cast<double>(s.n_layer), C = static_cast<double>(s.d_model),
               F = static_cast<double>(s.d_ff), T = static_cast<double>(s.n_ctx),
               H = static_cast<double>(s.n_head), V = static_cast<double>(spec.vocab),
               B = static_cast<double>(spec.train.micro_batch);
  const double elements = 16 * (L * (4 * C * C + 2 * C * F) + (V + T) * C) +
                          L * B * T * (16 * C + 4 * F + H * T) + B * T * V;
  if (4 * elements > 0x1p62)
    throw InputError(fmt::format("{}: a rank would need about {:.3g} bytes (beyond what can be "
                                 "counted); use a smaller model, n_ctx or micro_batch",
                                 where, 4 * elements));
}

}  // namespace

std::vector<Point> expand_grid(const SweepSpec& spec) {
  std::vector<Point> points;
  std::set<std::string> keys;
  for (const ModelShape& shape : spec.shapes) {
    check_buildable(spec, shape);
    const ParamCounts params = model::gpt_param_counts(gpt_config_of(shape, spec.vocab));
    const std::vector<double> lrs =
        learning_rates(spec.train, static_cast<double>(params.non_embedding));
    if (spec.train.lr_rule == LrRule::kKaplan && !(lrs.front() > 0)) {
      fail(spec, spec.model_line,
           fmt::format("train.lr = \"kaplan\" gives lr = {} <= 0 for N = {} ({}); give a "
                       "fixed lr for models this large",
                       lrs.front(), params.non_embedding, shape_text(shape)));
    }
    for (const auto& [tokens, budget] : tokens_for_shape(spec, shape, params)) {
      for (std::int64_t batch : spec.train.batch_tokens) {
        for (double lr : lrs) {
          for (std::int64_t seed : spec.train.seeds) {
            Point p;
            p.index = static_cast<std::int64_t>(points.size());
            p.shape = shape;
            p.vocab = spec.vocab;
            p.tokens = tokens;
            p.budget = budget;
            p.batch_tokens = batch;
            p.micro_batch = spec.train.micro_batch;
            p.grad_accum = batch / shape.n_ctx / (spec.train.micro_batch * spec.dp);
            p.lr = lr;
            p.lr_min_ratio = spec.train.lr_min_ratio;
            p.weight_decay = spec.train.weight_decay;
            p.grad_clip = spec.train.grad_clip;
            p.seed = seed;
            p.init_scale_residual = spec.init_scale_residual;
            p.dp = spec.dp;
            p.tp = spec.tp;
            p.params = params;
            p.steps = (tokens + batch - 1) / batch;
            p.warmup_steps =
                spec.train.warmup_steps
                    ? *spec.train.warmup_steps
                    : std::llround(*spec.train.warmup_fraction * static_cast<double>(p.steps));
            if (p.warmup_steps >= p.steps && p.warmup_steps > 0) {
              fail(spec, spec.train.warmup_line,
                   fmt::format("train.warmup_steps = {} is not below the {} steps of the point "
                               "with D = {}, batch_tokens = {} ({}); lower warmup_steps or use "
                               "warmup_fraction",
                               p.warmup_steps, p.steps, tokens, batch, shape_text(shape)));
            }
            p.flops = training_flops(shape, params.non_embedding, static_cast<double>(tokens));
            p.flops_exact = training_flops(shape, params.total, static_cast<double>(tokens));
            const double n = static_cast<double>(params.non_embedding);
            p.tokens_per_param = static_cast<double>(tokens) / n;
            p.kaplan_ratio = kaplan_ratio(static_cast<double>(tokens), n);
            p.kaplan_overfit = p.kaplan_ratio < 1.0;
            p.memory = estimate_memory(gpt_config_of(shape, spec.vocab), p.micro_batch, p.tp);
            p.key = io::sha256_hex(point_canonical_text(p, spec)).substr(0, 16);
            if (!keys.insert(p.key).second) {
              fail(spec, spec.model_line,
                   fmt::format("two grid points are identical ({}, D = {}, batch_tokens = {}, "
                               "lr = {}, seed = {}); remove the repeated value from the lists",
                               shape_text(shape), tokens, batch, lr, seed));
            }
            points.push_back(std::move(p));
          }
        }
      }
    }
  }
  if (points.empty()) {
    fail(spec, spec.tokens.line,
         "tokens.min_ratio/max_ratio remove every isoFLOP point, so the grid is empty; widen "
         "the ratio window or add model sizes");
  }
  return points;
}

store::RunPlan to_run_plan(const Point& p, std::int64_t sweep_id) {
  store::RunPlan r;
  r.sweep_id = sweep_id;
  r.point = p.key;
  r.point_index = p.index;
  r.n_layer = p.shape.n_layer;
  r.d_model = p.shape.d_model;
  r.n_head = p.shape.n_head;
  r.d_ff = p.shape.d_ff;
  r.n_ctx = p.shape.n_ctx;
  r.vocab = p.vocab;
  r.n_params = p.params.non_embedding;
  r.n_params_embedding = p.params.embedding;
  r.n_params_total = p.params.total;
  r.tokens = p.tokens;
  r.batch_tokens = p.batch_tokens;
  r.steps = p.steps;
  r.lr = p.lr;
  r.seed = p.seed;
  r.dp = p.dp;
  r.tp = p.tp;
  r.flops = p.flops;
  r.budget = p.budget;
  return r;
}

store::Store::Registration register_sweep_points(store::Store& db, const SweepSpec& spec,
                                                 const std::vector<Point>& points) {
  std::vector<store::RunPlan> plans;
  plans.reserve(points.size());
  for (const Point& p : points) plans.push_back(to_run_plan(p, 0));  // sweep id set by the store
  return db.register_sweep_and_points(spec.name, spec.config_path, spec.config_text,
                                      spec.config_hash, plans);
}

}  // namespace ss::runner
