// A GPT-2-like decoder (learned positions, pre-LN blocks, GELU MLP, final LN,
// tied unembedding, mean cross-entropy) with explicit forward/backward, AdamW and
// gradient clipping, optionally Megatron tensor-parallel over a Comm.
//
// Invariants:
// - Every buffer is sized by gpt_layout() (model/gpt_layout.h, where each tensor is named
//   once) and allocated by the backend (GptBuffers). Parameters, gradients and AdamW m/v are
//   each ONE contiguous buffer, carved into the named ParameterTensors (same offsets in all
//   four), so one all-reduce or one checkpoint write covers all of them.
// - Tensor parallel (tp ranks of `tp_comm`): rank r holds heads
//   [r*H/tp, (r+1)*H/tp) — its q, k and v rows of qkv (column-parallel) and the
//   matching input columns of the attention projection (row-parallel) — and
//   rows [r*F/tp, ...) of fc (column-parallel) with the matching columns of fc
//   projection (row-parallel). Row-parallel outputs are all-reduced in forward,
//   then their (replicated) bias is added once; the input gradients of the
//   column-parallel blocks are all-reduced in backward. Embeddings, LayerNorms,
//   the row-parallel biases and the unembedding are replicated; their gradients
//   come out identical on every tp rank.
// - init_params(seed) gives every tp rank an exact slice of the tp = 1 model of
//   the same seed.
// - backward() ACCUMULATES into grads (gradient accumulation); zero_grad() clears.
// - params()/grads()/adam_m()/adam_v() are host memory on the CPU backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/adamw.h"
#include "model/backend.h"
#include "model/buffer.h"
#include "model/comm.h"
#include "model/gpt_config.h"
#include "model/gpt_layout.h"

namespace ss::model {

// Every buffer of one model rank, allocated by its backend (device memory on a device
// backend) with the sizes of a GptLayout.
template <typename T>
struct GptBuffers {
  Buffer<T> params, grads, adam_m, adam_v;
  Buffer<T> acts, grad_acts, att_scratch;
  Buffer<int32_t> inputs, targets;

  static GptBuffers allocate(Backend<T>& backend, const GptLayout& layout);
};

template <typename T>
class GptT {
 public:
  // tp_comm: the tensor-parallel group (nullptr: no tensor parallelism).
  // max_batch: the largest B that forward() will be given (activations are sized
  // for max_batch x n_ctx once, so training allocates nothing per step).
  // backend: nullptr selects the CPU backend.
  GptT(const GptConfig& cfg, int max_batch, Comm* tp_comm = nullptr,
       std::unique_ptr<Backend<T>> backend = nullptr);
  ~GptT();
  GptT(const GptT&) = delete;
  GptT& operator=(const GptT&) = delete;

  const GptConfig& config() const { return cfg_; }
  int tp_rank() const { return tp_rank_; }
  int tp_size() const { return tp_size_; }
  // Elements of this rank's parameter buffer (the full count when tp = 1).
  std::size_t num_params() const { return layout_.num_params; }
  // Every buffer's size and the named parameter tensors' places (this rank's shard).
  const GptLayout& layout() const { return layout_; }

  // GPT-2 init: N(0, 0.02), residual projections N(0, 0.02/sqrt(2*n_layer)),
  // biases 0, LayerNorm weight 1 / bias 0. Deterministic for a seed. With
  // scale_residual = false the residual projections get N(0, 0.02) too (a plain
  // normal_(0, 0.02) init of every matrix); the random draws are the same.
  void init_params(uint64_t seed, bool scale_residual = true);

  // Forward pass over inputs/targets of B x T tokens (host pointers, row-major).
  // Returns the mean cross-entropy, or 0 when targets is nullptr (logits only).
  // Throws InputError for a token id outside [0, vocab), std::invalid_argument for
  // B > max_batch or T > n_ctx.
  T forward(const int32_t* inputs, const int32_t* targets, int B, int T_);
  // Backward of the last forward (which needs targets). The objective is
  // loss_scale * mean loss: pass 1/k when accumulating k micro-batches.
  void backward(T loss_scale = T(1));
  void zero_grad();

  // Global L2 norm of the gradient over the tp group (sharded tensors summed over
  // ranks, replicated ones counted once).
  double grad_norm();
  // Scales grads by max_norm/(norm+1e-6) when that is < 1 (as torch's
  // clip_grad_norm_); returns the norm before clipping. max_norm <= 0: no clip.
  double clip_grad_norm(double max_norm);
  // One AdamW update; `step` is the 1-based update count (bias correction).
  void adamw_step(const AdamWConfig& opt, double lr, int64_t step);
  // Data parallelism: grads <- mean of grads over the dp group.
  void allreduce_grads_mean(Comm& dp_comm);

  std::span<T> params() { return buf_.params.span(); }
  std::span<T> grads() { return buf_.grads.span(); }
  std::span<T> adam_m() { return buf_.adam_m.span(); }
  std::span<T> adam_v() { return buf_.adam_v.span(); }
  // Logits of the last forward WITHOUT targets, B x T x vocab (CPU backend: host
  // memory). One buffer holds logits, then probabilities (forward with targets),
  // then their gradient (backward), so after those it holds those instead.
  std::span<const T> logits() const;
  // Per-position losses of the last forward with targets, B x T.
  std::span<const T> losses() const { return {losses_host_.data(), last_bt_}; }

 private:
  void check_tokens(const int32_t* tokens, std::size_t n, const char* what) const;
  void stage_batch(const int32_t* inputs, const int32_t* targets, int B, int T_);
  void forward_layer(int l, int B, int T_);
  void project_residual(T* out, T* proj, const T* inp, const T* weight, const T* bias,
                        const T* residual, int N, int K);
  T forward_loss(int B, int T_);
  void backward_layer(int l, int B, int T_);
  void tp_allreduce(T* data, std::size_t n);

  GptConfig cfg_;
  int max_batch_;
  Comm* tp_comm_;
  int tp_rank_ = 0;
  int tp_size_ = 1;
  std::unique_ptr<Backend<T>> backend_;
  GptLayout layout_;
  GptBuffers<T> buf_;
  ParameterTensors<T*> w_, dw_;      // parameters and their gradients, carved from buf_
  ActivationTensors<T*> a_, da_;     // activations and their (one layer's) gradients
  std::vector<T> losses_host_;
  int last_b_ = 0, last_t_ = 0;
  std::size_t last_bt_ = 0;
  bool have_targets_ = false;
};

using Gpt = GptT<float>;

}  // namespace ss::model
