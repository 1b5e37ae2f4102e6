// The GPT's tensors and the buffer layout derived from them. Every parameter tensor and every
// activation is named ONCE, in the two tables below; the named structs (ParameterTensors,
// ActivationTensors, as llm.c's), the offsets, the tp sharding, init, weight decay, the
// parameter counts and the memory estimate all follow from those tables.
//
// Invariants:
// - gpt_layout(cfg, max_batch, tp) is a pure function of its arguments: it gives the element
//   count of every buffer a GptT allocates on one tp rank (tested against the allocations
//   themselves), so a device backend can allocate the same buffers (in its own memory and
//   precision: counts are elements, not bytes) and the grid's memory estimate cannot drift.
// - Buffer order is table order; offsets are prefix sums. Parameters, gradients and AdamW m/v
//   share one parameter layout (same offsets in all four).
// - Sharding: a sharded tensor of the tp = 1 model, viewed as [outer][parts][dim][inner], is
//   split along dim (rank r holds entries [r*dim/tp, (r+1)*dim/tp) of every (outer, part));
//   a replicated tensor is held whole by every rank.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/gpt_config.h"

namespace ss::model {

// Sizes derived from (config, max_batch, tp), the names the tables below use.
struct GptDims {
  std::size_t L, C, F, V, Tc;  // n_layer, d_model, d_ff, vocab, n_ctx
  std::size_t B, BT;           // max_batch, max_batch * n_ctx
  std::size_t Cl, Fl, NHl;     // this rank's d_model / tp, d_ff / tp, n_head / tp
  static GptDims of(const GptConfig& cfg, int max_batch, int tp);
};

// What a parameter tensor is: decides its init, weight decay and which count it is part of.
enum class ParamKind {
  kEmbedding,       // N(0, 0.02), weight decay; GptParamCounts::embedding
  kMatrix,          // N(0, 0.02), weight decay; GptParamCounts::non_embedding (Kaplan's N)
  kResidualMatrix,  // N(0, 0.02 / sqrt(2 n_layer)) (init_params scale_residual), as kMatrix
  kBias,            // 0, no decay
  kNormWeight,      // 1, no decay
  kNormBias,        // 0, no decay
};
enum class Split { kReplicated, kSharded };

// The parameter tensors, in buffer order: X(name, kind, split, outer, parts, dim, inner), the
// tp = 1 shape as [outer][parts][dim][inner] in terms of `d` (a GptDims); all layers of a
// per-layer tensor are one tensor. qkv and fc are column-parallel (their output rows are
// sharded), the attention and fc projections row-parallel (their input columns are).
#define SS_GPT_PARAMETER_TENSORS(X)                                       \
  X(wte, kEmbedding, kReplicated, 1, 1, d.V, d.C)                         \
  X(wpe, kEmbedding, kReplicated, 1, 1, d.Tc, d.C)                        \
  X(ln1w, kNormWeight, kReplicated, d.L, 1, d.C, 1)                       \
  X(ln1b, kNormBias, kReplicated, d.L, 1, d.C, 1)                         \
  X(qkvw, kMatrix, kSharded, d.L, 3, d.C, d.C)                            \
  X(qkvb, kBias, kSharded, d.L, 3, d.C, 1)                                \
  X(attprojw, kResidualMatrix, kSharded, d.L * d.C, 1, d.C, 1)            \
  X(attprojb, kBias, kReplicated, d.L, 1, d.C, 1)                         \
  X(ln2w, kNormWeight, kReplicated, d.L, 1, d.C, 1)                       \
  X(ln2b, kNormBias, kReplicated, d.L, 1, d.C, 1)                         \
  X(fcw, kMatrix, kSharded, d.L, 1, d.F, d.C)                             \
  X(fcb, kBias, kSharded, d.L, 1, d.F, 1)                                 \
  X(fcprojw, kResidualMatrix, kSharded, d.L * d.C, 1, d.F, 1)             \
  X(fcprojb, kBias, kReplicated, d.L, 1, d.C, 1)                          \
  X(lnfw, kNormWeight, kReplicated, 1, 1, d.C, 1)                         \
  X(lnfb, kNormBias, kReplicated, 1, 1, d.C, 1)

// The activations, in buffer order: X(name, forward elements, gradient elements) in terms of
// `d`. Forward activations span all layers (each layer's slice sized for max_batch x n_ctx, so
// a smaller B or T uses a prefix of it). Their gradients, llm.c-GPU style, are ONE layer's
// worth reused by every layer (0: none): `residual3` is the single residual-stream gradient
// (d res3, then d res2, then d(layer input) as backward walks down a layer), attproj/fcproj
// gradients ARE that residual gradient; fch_gelu has none (fcproj's backward writes d fch
// directly: the GELU backward is its epilogue, Backend::matmul_backward_dgelu). Logits,
// probabilities and their gradient share the logits buffer (probs has no storage of its own;
// see carve_activations): at vocab 50257 each (B*T, V) copy would cost gigabytes.
#define SS_GPT_ACTIVATION_TENSORS(X)                        \
  X(encoded, d.BT * d.C, 0)                                 \
  X(ln1, d.L * d.BT * d.C, d.BT * d.C)                      \
  X(ln1_mean, d.L * d.BT, 0)                                \
  X(ln1_rstd, d.L * d.BT, 0)                                \
  X(qkv, d.L * d.BT * 3 * d.Cl, d.BT * 3 * d.Cl)            \
  X(atty, d.L * d.BT * d.Cl, d.BT * d.Cl)                   \
  X(att, d.L * d.B * d.NHl * d.Tc * d.Tc, 0)                \
  X(attproj, d.L * d.BT * d.C, 0)                           \
  X(residual2, d.L * d.BT * d.C, 0)                         \
  X(ln2, d.L * d.BT * d.C, d.BT * d.C)                      \
  X(ln2_mean, d.L * d.BT, 0)                                \
  X(ln2_rstd, d.L * d.BT, 0)                                \
  X(fch, d.L * d.BT * d.Fl, d.BT * d.Fl)                    \
  X(fch_gelu, d.L * d.BT * d.Fl, 0)                         \
  X(fcproj, d.L * d.BT * d.C, 0)                            \
  X(residual3, d.L * d.BT * d.C, d.BT * d.C)                \
  X(lnf, d.BT * d.C, d.BT * d.C)                            \
  X(lnf_mean, d.BT, 0)                                      \
  X(lnf_rstd, d.BT, 0)                                      \
  X(logits, d.BT * d.V, 0)                                  \
  X(probs, 0, 0)                                            \
  X(losses, d.BT, 0)

#define SS_GPT_COUNT_ONE(name, ...) +1
#define SS_GPT_FIELD(name, ...) P name;
#define SS_GPT_ADDRESS(name, ...) &name,

// One P per parameter tensor (a ParamTensor, a T*), named as in the table.
template <typename P>
struct ParameterTensors {
  static constexpr std::size_t kCount = 0 SS_GPT_PARAMETER_TENSORS(SS_GPT_COUNT_ONE);
  SS_GPT_PARAMETER_TENSORS(SS_GPT_FIELD)
  // Every field, in buffer order (of an lvalue: the pointers point into it).
  std::array<P*, kCount> fields() & { return {SS_GPT_PARAMETER_TENSORS(SS_GPT_ADDRESS)}; }
  std::array<const P*, kCount> fields() const& {
    return {SS_GPT_PARAMETER_TENSORS(SS_GPT_ADDRESS)};
  }
  void fields() const&& = delete;  // the pointers would dangle
};

// One P per activation (an element count, a T*), named as in the table.
template <typename P>
struct ActivationTensors {
  static constexpr std::size_t kCount = 0 SS_GPT_ACTIVATION_TENSORS(SS_GPT_COUNT_ONE);
  SS_GPT_ACTIVATION_TENSORS(SS_GPT_FIELD)
  std::array<P*, kCount> fields() & { return {SS_GPT_ACTIVATION_TENSORS(SS_GPT_ADDRESS)}; }
  std::array<const P*, kCount> fields() const& {
    return {SS_GPT_ACTIVATION_TENSORS(SS_GPT_ADDRESS)};
  }
  void fields() const&& = delete;  // the pointers would dangle
};

#undef SS_GPT_COUNT_ONE
#undef SS_GPT_FIELD
#undef SS_GPT_ADDRESS

// A tensor of the tp = 1 model as [outer][parts][dim][inner] (see the sharding invariant).
struct TensorShape {
  std::size_t outer, parts, dim, inner;
};

// One parameter tensor inside the contiguous buffers (this rank's shard).
struct ParamTensor {
  std::string_view name;  // as in the table: "wte", ..., "lnfb"
  ParamKind kind;
  bool sharded;           // split over tp ranks (else replicated)
  bool weight_decay;      // embeddings and matrices
  TensorShape shape;      // of the whole (tp = 1) tensor
  std::size_t offset;     // into params/grads/adam_m/adam_v
  std::size_t count;      // elements on this rank
};

// Element counts of every buffer one tp rank of GptT<T>(cfg, max_batch, tp) allocates
// through its backend, and the parameter tensors' places in them.
struct GptLayout {
  GptDims dims;
  ParameterTensors<ParamTensor> params;
  std::size_t num_params = 0;  // each of params, grads, adam_m, adam_v
  ActivationTensors<std::size_t> acts, grad_acts;  // elements of each (0: no storage)
  std::size_t num_acts = 0, num_grad_acts = 0;
  std::size_t att_scratch = 0;  // attention backward scratch: one layer's B x NH/tp x T x T
  std::size_t tokens = 0;       // int32 elements of each of inputs, targets: max_batch x n_ctx

  // Every floating-point element: 4 x num_params + activations, their gradients, the scratch.
  std::size_t num_values() const {
    return 4 * num_params + num_acts + num_grad_acts + att_scratch;
  }
};

// Parameter counts of the whole (tp = 1) model, summed over the parameter table by kind: the
// one count the grid, the store's runs rows and the model's buffers agree on
// (tests/runner/grid_test.cc ties them to hand-computed values and the allocations).
struct GptParamCounts {
  int64_t non_embedding = 0;  // attention + MLP weight matrices (Kaplan's N): L (4 C^2 + 2 C F)
  int64_t embedding = 0;      // wte + wpe: V C + n_ctx C
  int64_t total = 0;          // every trainable scalar: biases and LayerNorms too; the
                              // unembedding is tied to wte, so it adds nothing
};
GptParamCounts gpt_param_counts(const GptConfig& cfg);

// Throws std::invalid_argument for max_batch <= 0 or a tp that does not divide the shape
// (validate_gpt_config gives the user-facing error first).
GptLayout gpt_layout(const GptConfig& cfg, int max_batch, int tp);

// The parameter tensors of one tp rank in buffer order (gpt_layout(cfg, 1, tp).params).
std::vector<ParamTensor> gpt_param_layout(const GptConfig& cfg, int tp);

// For each element of rank `rank`'s parameter buffer, its index in the tp = 1 buffer:
// local[i] == full[map[i]] for the same seed (and for the gradients of sharded tensors). Used
// by init and by tp tests.
std::vector<std::size_t> gpt_tp_shard_map(const GptConfig& cfg, int tp, int rank);

}  // namespace ss::model
