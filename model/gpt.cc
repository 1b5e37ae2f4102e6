// GPT model: buffers, init, forward/backward, AdamW, clipping and the tensor-parallel
// communication points (see gpt.h for the invariants; the layout is in gpt_layout.h).
#include "model/gpt.h"

#include <fmt/core.h>

#include <cmath>
#include <stdexcept>

#include "model/rng.h"
#include "ss/error.h"

namespace ss::model {
namespace {

// Named pointers into `base`, one per tensor, at the layout's offsets.
template <typename T>
ParameterTensors<T*> carve_params(const ParameterTensors<ParamTensor>& layout, T* base) {
  ParameterTensors<T*> out;
  const auto dst = out.fields();
  const auto src = layout.fields();
  for (std::size_t i = 0; i < dst.size(); ++i) *dst[i] = base + src[i]->offset;
  return out;
}

// Named pointers into `base`, consecutive in table order; a tensor of 0 elements gets nullptr.
template <typename T>
ActivationTensors<T*> carve_activations(const ActivationTensors<std::size_t>& counts, T* base) {
  ActivationTensors<T*> out;
  const auto dst = out.fields();
  const auto n = counts.fields();
  std::size_t off = 0;
  for (std::size_t i = 0; i < dst.size(); ++i) {
    *dst[i] = *n[i] > 0 ? base + off : nullptr;
    off += *n[i];
  }
  return out;
}

}  // namespace

template <typename T>
GptBuffers<T> GptBuffers<T>::allocate(Backend<T>& be, const GptLayout& layout) {
  GptBuffers<T> b;
  b.params = be.allocate(layout.num_params);
  b.grads = be.allocate(layout.num_params);
  b.adam_m = be.allocate(layout.num_params);
  b.adam_v = be.allocate(layout.num_params);
  b.acts = be.allocate(layout.num_acts);
  b.grad_acts = be.allocate(layout.num_grad_acts);
  b.att_scratch = be.allocate(layout.att_scratch);
  b.inputs = be.allocate_tokens(layout.tokens);
  b.targets = be.allocate_tokens(layout.tokens);
  return b;
}

template <typename T>
GptT<T>::GptT(const GptConfig& cfg, int max_batch, Comm* tp_comm,
              std::unique_ptr<Backend<T>> backend)
    : cfg_(cfg), max_batch_(max_batch), tp_comm_(tp_comm), backend_(std::move(backend)) {
  if (tp_comm_ != nullptr) {
    tp_rank_ = tp_comm_->rank();
    tp_size_ = tp_comm_->size();
  }
  validate_gpt_config(cfg_, tp_size_, "model");
  if (max_batch_ <= 0) throw std::invalid_argument("GptT: max_batch must be > 0");
  if (!backend_) backend_ = make_cpu_backend<T>();
  layout_ = gpt_layout(cfg_, max_batch_, tp_size_);
  buf_ = GptBuffers<T>::allocate(*backend_, layout_);
  w_ = carve_params(layout_.params, buf_.params.data());
  dw_ = carve_params(layout_.params, buf_.grads.data());
  a_ = carve_activations(layout_.acts, buf_.acts.data());
  da_ = carve_activations(layout_.grad_acts, buf_.grad_acts.data());
  a_.probs = a_.logits;   // softmax in place
  da_.logits = a_.logits;  // and its gradient in place too
  losses_host_.assign(layout_.tokens, T(0));
}

template <typename T>
GptT<T>::~GptT() = default;

template <typename T>
void GptT<T>::init_params(uint64_t seed, bool scale_residual) {
  // Generate the whole tp = 1 model in a fixed order, then keep this rank's
  // slice: every tp rank holds exactly the tp = 1 values.
  const auto full_layout = gpt_param_layout(cfg_, 1);
  std::vector<double> full(full_layout.back().offset + full_layout.back().count, 0.0);
  NormalRng rng(seed);
  const double std_base = 0.02;
  const double std_resid = scale_residual ? 0.02 / std::sqrt(2.0 * cfg_.n_layer) : std_base;
  for (const auto& t : full_layout) {
    double* p = full.data() + t.offset;
    switch (t.kind) {
      case ParamKind::kNormWeight:
        for (std::size_t i = 0; i < t.count; ++i) p[i] = 1.0;
        break;
      case ParamKind::kResidualMatrix:
        for (std::size_t i = 0; i < t.count; ++i) p[i] = std_resid * rng.normal();
        break;
      case ParamKind::kEmbedding:
      case ParamKind::kMatrix:
        for (std::size_t i = 0; i < t.count; ++i) p[i] = std_base * rng.normal();
        break;
      case ParamKind::kBias:
      case ParamKind::kNormBias:
        break;  // stay 0
    }
  }
  const std::size_t n = num_params();
  std::vector<T> local(n);
  if (tp_size_ == 1) {
    for (std::size_t i = 0; i < n; ++i) local[i] = static_cast<T>(full[i]);
  } else {
    const auto map = gpt_tp_shard_map(cfg_, tp_size_, tp_rank_);
    for (std::size_t i = 0; i < n; ++i) local[i] = static_cast<T>(full[map[i]]);
  }
  backend_->copy_to_device(buf_.params.data(), local.data(), n);
  backend_->fill_zero(buf_.grads.data(), n);
  backend_->fill_zero(buf_.adam_m.data(), n);
  backend_->fill_zero(buf_.adam_v.data(), n);
}

template <typename T>
void GptT<T>::check_tokens(const int32_t* tokens, std::size_t n, const char* what) const {
  for (std::size_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= cfg_.vocab) {
      throw InputError(
          fmt::format("model forward: {} token {} at position {} is outside [0, {}); "
                      "the data's tokenizer vocab must match the model's vocab",
                      what, tokens[i], i, cfg_.vocab));
    }
  }
}

template <typename T>
void GptT<T>::tp_allreduce(T* data, std::size_t n) {
  if (tp_size_ > 1) {
    backend_->synchronize();
    tp_comm_->allreduce_sum(data, n);
  }
}

// Checks the shapes and tokens, copies the tokens to the backend, remembers the batch.
template <typename T>
void GptT<T>::stage_batch(const int32_t* inputs, const int32_t* targets, int B, int T_) {
  if (B <= 0 || B > max_batch_ || T_ <= 0 || T_ > cfg_.n_ctx) {
    throw std::invalid_argument(fmt::format("GptT::forward: B = {} (max {}), T = {} (n_ctx {})", B,
                                            max_batch_, T_, cfg_.n_ctx));
  }
  const std::size_t BT = static_cast<std::size_t>(B) * T_;
  check_tokens(inputs, BT, "input");
  if (targets != nullptr) check_tokens(targets, BT, "target");
  backend_->copy_tokens_to_device(buf_.inputs.data(), inputs, BT);
  if (targets != nullptr) backend_->copy_tokens_to_device(buf_.targets.data(), targets, BT);
  last_b_ = B;
  last_t_ = T_;
  last_bt_ = BT;
  have_targets_ = targets != nullptr;
}

template <typename T>
T GptT<T>::forward(const int32_t* inputs, const int32_t* targets, int B, int T_) {
  stage_batch(inputs, targets, B, T_);
  const int C = cfg_.d_model, V = cfg_.vocab;
  const std::size_t BTm = layout_.dims.BT;
  backend_->encoder_forward(a_.encoded, buf_.inputs.data(), w_.wte, w_.wpe, B, T_, C);
  for (int l = 0; l < cfg_.n_layer; ++l) forward_layer(l, B, T_);
  const T* last = a_.residual3 + (cfg_.n_layer - 1) * BTm * C;
  backend_->layernorm_forward(a_.lnf, a_.lnf_mean, a_.lnf_rstd, last, w_.lnfw, w_.lnfb, B, T_, C);
  backend_->matmul_forward(a_.logits, a_.lnf, w_.wte, nullptr, static_cast<int>(last_bt_), C, V);
  if (targets == nullptr) {
    backend_->synchronize();
    return T(0);
  }
  return forward_loss(B, T_);
}

// One transformer block: layer l's slice of every activation from the residual stream below.
template <typename T>
void GptT<T>::forward_layer(int l, int B, int T_) {
  Backend<T>& be = *backend_;
  const ActivationTensors<T*>& a = a_;
  const ParameterTensors<T*>& w = w_;
  const int C = cfg_.d_model;
  const int Cl = C / tp_size_, Fl = cfg_.d_ff / tp_size_, NHl = cfg_.n_head / tp_size_;
  const std::size_t BT = last_bt_, BTm = layout_.dims.BT;
  const std::size_t att_stride = BTm * NHl * cfg_.n_ctx;
  const int N = static_cast<int>(BT);

  const T* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTm * C;
  T* ln1 = a.ln1 + l * BTm * C;
  T* ln1_mean = a.ln1_mean + l * BTm;
  T* ln1_rstd = a.ln1_rstd + l * BTm;
  T* qkv = a.qkv + l * BTm * 3 * Cl;
  T* atty = a.atty + l * BTm * Cl;
  T* att = a.att + l * att_stride;
  T* attproj = a.attproj + l * BTm * C;
  T* residual2 = a.residual2 + l * BTm * C;
  T* ln2 = a.ln2 + l * BTm * C;
  T* ln2_mean = a.ln2_mean + l * BTm;
  T* ln2_rstd = a.ln2_rstd + l * BTm;
  T* fch = a.fch + l * BTm * Fl;
  T* fch_gelu = a.fch_gelu + l * BTm * Fl;
  T* fcproj = a.fcproj + l * BTm * C;
  T* residual3 = a.residual3 + l * BTm * C;

  be.layernorm_forward(ln1, ln1_mean, ln1_rstd, residual, w.ln1w + l * C, w.ln1b + l * C, B, T_,
                       C);
  be.matmul_forward(qkv, ln1, w.qkvw + static_cast<std::size_t>(l) * 3 * Cl * C,
                    w.qkvb + l * 3 * Cl, N, C, 3 * Cl);
  be.attention_forward(atty, att, qkv, B, T_, Cl, NHl);
  project_residual(residual2, attproj, atty, w.attprojw + static_cast<std::size_t>(l) * C * Cl,
                   w.attprojb + l * C, residual, N, Cl);
  be.layernorm_forward(ln2, ln2_mean, ln2_rstd, residual2, w.ln2w + l * C, w.ln2b + l * C, B, T_,
                       C);
  be.matmul_gelu_forward(fch, fch_gelu, ln2, w.fcw + static_cast<std::size_t>(l) * Fl * C,
                         w.fcb + l * Fl, N, C, Fl);
  project_residual(residual3, fcproj, fch_gelu, w.fcprojw + static_cast<std::size_t>(l) * C * Fl,
                   w.fcprojb + l * C, residual2, N, Fl);
}

// out = residual + inp . weight^T + bias for a row-parallel projection (attproj,
// fcproj) back into the residual stream. One rank: one fused call, the GEMM
// accumulating onto residual + bias (proj unused). Tensor parallel: partial sums
// over this rank's columns into proj, reduced, then the bias once and the residual.
template <typename T>
void GptT<T>::project_residual(T* out, T* proj, const T* inp, const T* weight, const T* bias,
                               const T* residual, int N, int K) {
  Backend<T>& be = *backend_;
  const int C = cfg_.d_model;
  if (tp_size_ == 1) {
    be.matmul_residual_forward(out, inp, weight, bias, residual, N, K, C);
    return;
  }
  be.matmul_forward(proj, inp, weight, nullptr, N, K, C);
  tp_allreduce(proj, static_cast<std::size_t>(N) * C);
  be.bias_add_forward(proj, bias, N, C);
  be.residual_forward(out, residual, proj, static_cast<std::size_t>(N) * C);
}

// Softmax cross-entropy of the logits against the staged targets; the mean over B x T.
template <typename T>
T GptT<T>::forward_loss(int B, int T_) {
  Backend<T>& be = *backend_;
  const std::size_t BT = last_bt_;
  be.crossentropy_softmax_forward(a_.losses, a_.probs, a_.logits, buf_.targets.data(), B, T_,
                                  cfg_.vocab);
  be.copy_to_host(losses_host_.data(), a_.losses, BT);
  be.synchronize();
  double sum = 0;
  for (std::size_t i = 0; i < BT; ++i) sum += static_cast<double>(losses_host_[i]);
  return static_cast<T>(sum / static_cast<double>(BT));
}

template <typename T>
void GptT<T>::backward(T loss_scale) {
  if (!have_targets_) {
    throw std::logic_error("GptT::backward: the last forward had no targets");
  }
  Backend<T>& be = *backend_;
  const int B = last_b_, T_ = last_t_;
  const std::size_t BT = last_bt_;
  const int L = cfg_.n_layer, C = cfg_.d_model, V = cfg_.vocab;
  const std::size_t BTm = layout_.dims.BT;

  // The residual stream's gradient is the one activation gradient accumulated into (by
  // the LayerNorms' backward); every other one is written whole by its single producer
  // (matmul, GELU, attention backward: see their headers), so only it starts at zero.
  be.fill_zero(da_.residual3, BT * C);
  const T dloss = loss_scale / static_cast<T>(BT);
  be.crossentropy_softmax_backward(da_.logits, a_.probs, buf_.targets.data(), dloss, B, T_, V);
  be.matmul_backward(da_.lnf, dw_.wte, nullptr, da_.logits, a_.lnf, w_.wte, static_cast<int>(BT),
                     C, V);
  // da_.residual3: the gradient of the residual stream, walked down the layers.
  const std::size_t last = (L - 1) * BTm * C;
  be.layernorm_backward(da_.residual3, dw_.lnfw, dw_.lnfb, da_.lnf, a_.residual3 + last, w_.lnfw,
                        a_.lnf_mean, a_.lnf_rstd, B, T_, C);
  for (int l = L - 1; l >= 0; --l) backward_layer(l, B, T_);
  be.encoder_backward(dw_.wte, dw_.wpe, da_.residual3, buf_.inputs.data(), B, T_, C);
  be.synchronize();
}

// One transformer block backward: on entry da_.residual3 holds d(layer output), on exit
// d(layer input); the layer's parameter gradients are accumulated into dw_.
template <typename T>
void GptT<T>::backward_layer(int l, int B, int T_) {
  Backend<T>& be = *backend_;
  const ActivationTensors<T*>& a = a_;
  const ActivationTensors<T*>& g = da_;
  const ParameterTensors<T*>& w = w_;
  const ParameterTensors<T*>& dw = dw_;
  const int C = cfg_.d_model;
  const int Cl = C / tp_size_, Fl = cfg_.d_ff / tp_size_, NHl = cfg_.n_head / tp_size_;
  const std::size_t BT = last_bt_, BTm = layout_.dims.BT;
  const std::size_t att_stride = BTm * NHl * cfg_.n_ctx;
  const int N = static_cast<int>(BT);
  T* dres = g.residual3;

  const std::size_t lc = l * BTm * C;
  const T* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTm * C;
  const std::size_t wq = static_cast<std::size_t>(l) * 3 * Cl * C;
  const std::size_t wp = static_cast<std::size_t>(l) * C * Cl;
  const std::size_t wf = static_cast<std::size_t>(l) * Fl * C;
  const std::size_t wfp = static_cast<std::size_t>(l) * C * Fl;
  // res3 = res2 + fcproj: d fcproj = d res3 = dres, and d res2 starts as dres. fcproj's
  // input was gelu(fch): its input gradient comes out as d fch (the GELU backward fused).
  be.matmul_backward_dgelu(g.fch, dw.fcprojw + wfp, dw.fcprojb + l * C, dres,
                           a.fch_gelu + l * BTm * Fl, w.fcprojw + wfp, a.fch + l * BTm * Fl, N, Fl,
                           C);
  be.matmul_backward(g.ln2, dw.fcw + wf, dw.fcb + l * Fl, g.fch, a.ln2 + lc, w.fcw + wf, N, C, Fl);
  // Column-parallel input gradient: each rank holds its heads'/columns' part.
  tp_allreduce(g.ln2, BT * C);
  // dres += the LayerNorm path: now d res2.
  be.layernorm_backward(dres, dw.ln2w + l * C, dw.ln2b + l * C, g.ln2, a.residual2 + lc,
                        w.ln2w + l * C, a.ln2_mean + l * BTm, a.ln2_rstd + l * BTm, B, T_, C);
  // res2 = residual + attproj: d attproj = d res2 = dres.
  be.matmul_backward(g.atty, dw.attprojw + wp, dw.attprojb + l * C, dres, a.atty + l * BTm * Cl,
                     w.attprojw + wp, N, Cl, C);
  be.attention_backward(g.qkv, buf_.att_scratch.data(), g.atty, a.qkv + l * BTm * 3 * Cl,
                        a.att + l * att_stride, B, T_, Cl, NHl);
  be.matmul_backward(g.ln1, dw.qkvw + wq, dw.qkvb + l * 3 * Cl, g.qkv, a.ln1 + lc, w.qkvw + wq, N,
                     C, 3 * Cl);
  tp_allreduce(g.ln1, BT * C);
  // dres += the LayerNorm path: now d(layer input).
  be.layernorm_backward(dres, dw.ln1w + l * C, dw.ln1b + l * C, g.ln1, residual, w.ln1w + l * C,
                        a.ln1_mean + l * BTm, a.ln1_rstd + l * BTm, B, T_, C);
}

template <typename T>
void GptT<T>::zero_grad() {
  backend_->fill_zero(buf_.grads.data(), num_params());
}

template <typename T>
double GptT<T>::grad_norm() {
  double replicated = 0, sharded = 0;
  for (const ParamTensor* t : layout_.params.fields()) {
    const double s = backend_->sum_squares(buf_.grads.data() + t->offset, t->count);
    (t->sharded ? sharded : replicated) += s;
  }
  // Replicated tensors are identical on every tp rank: count them once; the
  // shards are disjoint: sum them over the group.
  if (tp_size_ > 1) tp_comm_->allreduce_sum(&sharded, 1);
  return std::sqrt(replicated + sharded);
}

template <typename T>
double GptT<T>::clip_grad_norm(double max_norm) {
  const double norm = grad_norm();
  if (max_norm > 0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) backend_->scale_inplace(buf_.grads.data(), num_params(), static_cast<T>(coef));
  }
  return norm;
}

template <typename T>
void GptT<T>::adamw_step(const AdamWConfig& opt, double lr, int64_t step) {
  if (step < 1) throw std::invalid_argument("GptT::adamw_step: step is 1-based");
  AdamWStepParams h{};
  h.lr = static_cast<float>(lr);
  h.beta1 = opt.beta1;
  h.beta2 = opt.beta2;
  h.eps = opt.eps;
  h.bias_correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(opt.beta1), step));
  h.bias_correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(opt.beta2), step));
  for (const ParamTensor* t : layout_.params.fields()) {
    h.weight_decay = t->weight_decay ? opt.weight_decay : 0.0f;
    backend_->adamw_update(buf_.params.data() + t->offset, buf_.grads.data() + t->offset,
                           buf_.adam_m.data() + t->offset, buf_.adam_v.data() + t->offset,
                           t->count, h);
  }
  backend_->synchronize();
}

template <typename T>
void GptT<T>::allreduce_grads_mean(Comm& dp_comm) {
  if (dp_comm.size() <= 1) return;
  backend_->synchronize();
  dp_comm.allreduce_sum(buf_.grads.data(), num_params());
  backend_->scale_inplace(buf_.grads.data(), num_params(), T(1) / static_cast<T>(dp_comm.size()));
}

template <typename T>
std::span<const T> GptT<T>::logits() const {
  return {a_.logits, last_bt_ * static_cast<std::size_t>(cfg_.vocab)};
}

template struct GptBuffers<float>;
template struct GptBuffers<double>;
template class GptT<float>;
template class GptT<double>;

}  // namespace ss::model
