// The buffer layout, tp shard map and parameter counts, all derived from the tensor tables in
// gpt_layout.h (see there for the invariants).
#include "model/gpt_layout.h"

#include <fmt/core.h>

#include <stdexcept>

namespace ss::model {

GptDims GptDims::of(const GptConfig& c, int max_batch, int tp) {
  if (max_batch <= 0 || tp <= 0 || c.n_head % tp != 0 || c.d_ff % tp != 0 ||
      c.d_model % tp != 0) {
    throw std::invalid_argument(fmt::format(
        "gpt_layout: max_batch {} / tp {} do not fit n_head {}, d_model {}, d_ff {}", max_batch,
        tp, c.n_head, c.d_model, c.d_ff));
  }
  GptDims d{};
  d.L = c.n_layer;
  d.C = c.d_model;
  d.F = c.d_ff;
  d.V = c.vocab;
  d.Tc = c.n_ctx;
  d.B = max_batch;
  d.BT = d.B * d.Tc;
  d.Cl = d.C / tp;
  d.Fl = d.F / tp;
  d.NHl = static_cast<std::size_t>(c.n_head) / tp;
  return d;
}

namespace {

// Elements of a tensor of `shape` on one of tp ranks.
std::size_t local_count(const TensorShape& s, bool sharded, int tp) {
  return s.outer * s.parts * (sharded ? s.dim / tp : s.dim) * s.inner;
}

ParameterTensors<ParamTensor> param_tensors(const GptDims& d, int tp) {
  ParameterTensors<ParamTensor> p;
  std::size_t offset = 0;
#define SS_GPT_PARAM(name, kind_, split, outer, parts, dim, inner)                      \
  {                                                                                      \
    const TensorShape shape{outer, parts, dim, inner};                                   \
    const bool sharded = Split::split == Split::kSharded;                                \
    const ParamKind kind = ParamKind::kind_;                                             \
    const bool decay = kind == ParamKind::kEmbedding || kind == ParamKind::kMatrix ||   \
                       kind == ParamKind::kResidualMatrix;                               \
    p.name = ParamTensor{#name, kind, sharded, decay, shape, offset,                     \
                         local_count(shape, sharded, tp)};                               \
    offset += p.name.count;                                                              \
  }
  SS_GPT_PARAMETER_TENSORS(SS_GPT_PARAM)
#undef SS_GPT_PARAM
  return p;
}

std::size_t sum_counts(const ActivationTensors<std::size_t>& n) {
  std::size_t s = 0;
  for (const std::size_t* v : n.fields()) s += *v;
  return s;
}

}  // namespace

GptLayout gpt_layout(const GptConfig& cfg, int max_batch, int tp) {
  GptLayout out;
  const GptDims d = GptDims::of(cfg, max_batch, tp);
  out.dims = d;
  out.params = param_tensors(d, tp);
  const ParamTensor& last = *out.params.fields().back();
  out.num_params = last.offset + last.count;
#define SS_GPT_ACT(name, forward, gradient) \
  out.acts.name = forward;                  \
  out.grad_acts.name = gradient;
  SS_GPT_ACTIVATION_TENSORS(SS_GPT_ACT)
#undef SS_GPT_ACT
  out.num_acts = sum_counts(out.acts);
  out.num_grad_acts = sum_counts(out.grad_acts);
  out.att_scratch = d.B * d.NHl * d.Tc * d.Tc;
  out.tokens = d.BT;
  return out;
}

std::vector<ParamTensor> gpt_param_layout(const GptConfig& cfg, int tp) {
  const GptLayout layout = gpt_layout(cfg, 1, tp);
  std::vector<ParamTensor> out;
  for (const ParamTensor* t : layout.params.fields()) out.push_back(*t);
  return out;
}

std::vector<std::size_t> gpt_tp_shard_map(const GptConfig& c, int tp, int rank) {
  const auto full = gpt_param_layout(c, 1);
  const auto local = gpt_param_layout(c, tp);
  std::vector<std::size_t> map;
  map.reserve(local.back().offset + local.back().count);
  for (std::size_t t = 0; t < local.size(); ++t) {
    const std::size_t base = full[t].offset;
    if (!local[t].sharded) {
      for (std::size_t i = 0; i < local[t].count; ++i) map.push_back(base + i);
      continue;
    }
    const TensorShape& s = local[t].shape;
    const std::size_t dl = s.dim / tp;
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t p = 0; p < s.parts; ++p)
        for (std::size_t i = 0; i < dl; ++i)
          for (std::size_t k = 0; k < s.inner; ++k)
            map.push_back(base + ((o * s.parts + p) * s.dim + rank * dl + i) * s.inner + k);
  }
  return map;
}

GptParamCounts gpt_param_counts(const GptConfig& cfg) {
  const GptLayout layout = gpt_layout(cfg, 1, 1);
  GptParamCounts n;
  for (const ParamTensor* t : layout.params.fields()) {
    const auto count = static_cast<int64_t>(t->count);
    n.total += count;
    if (t->kind == ParamKind::kEmbedding) n.embedding += count;
    if (t->kind == ParamKind::kMatrix || t->kind == ParamKind::kResidualMatrix) {
      n.non_embedding += count;
    }
  }
  return n;
}

}  // namespace ss::model
