// GPT model: parameter layout, init, forward/backward, AdamW, clipping and the
// tensor-parallel communication points (see gpt.h for the invariants).
#include "model/gpt.h"

#include <fmt/core.h>

#include <array>
#include <cmath>
#include <stdexcept>

#include "model/rng.h"
#include "ss/error.h"

namespace ss::model {
namespace {

// How a sharded tensor of the tp = 1 model is split: viewed as
// [outer][parts][dim][inner], each rank takes dim/tp consecutive entries of dim.
struct ShardShape {
  std::size_t outer, parts, dim, inner;
};

}  // namespace

std::vector<ParamTensor> gpt_param_layout(const GptConfig& c, int tp) {
  const std::size_t L = c.n_layer, C = c.d_model, V = c.vocab, Tc = c.n_ctx;
  const std::size_t Cl = C / tp, Fl = static_cast<std::size_t>(c.d_ff) / tp;
  std::vector<ParamTensor> out;
  std::size_t offset = 0;
  auto add = [&](const char* name, std::size_t count, bool decay, bool sharded) {
    out.push_back(ParamTensor{name, offset, count, decay, sharded});
    offset += count;
  };
  add("wte", V * C, true, false);
  add("wpe", Tc * C, true, false);
  add("ln1w", L * C, false, false);
  add("ln1b", L * C, false, false);
  add("qkvw", L * 3 * Cl * C, true, true);
  add("qkvb", L * 3 * Cl, false, true);
  add("attprojw", L * C * Cl, true, true);
  add("attprojb", L * C, false, false);
  add("ln2w", L * C, false, false);
  add("ln2b", L * C, false, false);
  add("fcw", L * Fl * C, true, true);
  add("fcb", L * Fl, false, true);
  add("fcprojw", L * C * Fl, true, true);
  add("fcprojb", L * C, false, false);
  add("lnfw", C, false, false);
  add("lnfb", C, false, false);
  return out;
}

std::vector<std::size_t> gpt_tp_shard_map(const GptConfig& c, int tp, int rank) {
  const auto full = gpt_param_layout(c, 1);
  const auto local = gpt_param_layout(c, tp);
  const std::size_t L = c.n_layer, C = c.d_model, F = c.d_ff;
  auto shape_of = [&](const std::string& n) -> ShardShape {
    if (n == "qkvw") return {L, 3, C, C};
    if (n == "qkvb") return {L, 3, C, 1};
    if (n == "attprojw") return {L * C, 1, C, 1};
    if (n == "fcw") return {L, 1, F, C};
    if (n == "fcb") return {L, 1, F, 1};
    if (n == "fcprojw") return {L * C, 1, F, 1};
    throw std::logic_error("gpt_tp_shard_map: no shard shape for " + n);
  };
  std::vector<std::size_t> map;
  map.reserve(local.back().offset + local.back().count);
  for (std::size_t t = 0; t < local.size(); ++t) {
    const std::size_t base = full[t].offset;
    if (!local[t].sharded) {
      for (std::size_t i = 0; i < local[t].count; ++i) map.push_back(base + i);
      continue;
    }
    const ShardShape s = shape_of(local[t].name);
    const std::size_t dl = s.dim / tp;
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t p = 0; p < s.parts; ++p)
        for (std::size_t i = 0; i < dl; ++i)
          for (std::size_t k = 0; k < s.inner; ++k)
            map.push_back(base + ((o * s.parts + p) * s.dim + rank * dl + i) * s.inner + k);
  }
  return map;
}

// Named activations, each spanning all layers; per-layer stride is sized for
// max_batch x n_ctx so a smaller B or T uses a prefix of every layer's slice.
template <typename T>
struct GptT<T>::Acts {
  T *encoded, *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *att, *attproj, *residual2, *ln2, *ln2_mean,
      *ln2_rstd, *fch, *fch_gelu, *fcproj, *residual3, *lnf, *lnf_mean, *lnf_rstd, *logits, *probs,
      *losses;
};

namespace {

// Element counts of the activations in Acts order (all layers). Logits, probs
// and dlogits share ONE buffer (the activations' logits; probs and g.logits are
// pointed at it after carving): at vocab 50257 each (B*T, V) copy would cost
// gigabytes.
std::array<std::size_t, 22> act_counts(const GptConfig& c, int max_batch, int tp) {
  const std::size_t L = c.n_layer, C = c.d_model, V = c.vocab;
  const std::size_t BT = static_cast<std::size_t>(max_batch) * c.n_ctx;
  const std::size_t Cl = C / tp, Fl = static_cast<std::size_t>(c.d_ff) / tp;
  const std::size_t NHl = static_cast<std::size_t>(c.n_head) / tp;
  const std::size_t att = L * max_batch * NHl * c.n_ctx * c.n_ctx;
  return {BT * C,      L * BT * C,  L * BT,     L * BT,     L * BT * 3 * Cl, L * BT * Cl,
          att,         L * BT * C,  L * BT * C, L * BT * C, L * BT,          L * BT,
          L * BT * Fl, L * BT * Fl, L * BT * C, L * BT * C, BT * C,          BT,
          BT,          BT * V,      0,          BT};
}

// Activation gradients, llm.c-GPU style: ONE layer's worth, reused by every
// layer. `residual3` is the single residual-stream gradient (it holds d res3,
// then d res2, then d(layer input) as backward walks down a layer); ln1, qkv,
// atty, ln2, fch, fch_gelu are per-layer scratch; lnf is the final LN's. The
// rest are unused (0): attproj/fcproj gradients ARE the residual gradient.
std::array<std::size_t, 22> grad_act_counts(const GptConfig& c, int max_batch, int tp) {
  const std::size_t C = c.d_model;
  const std::size_t BT = static_cast<std::size_t>(max_batch) * c.n_ctx;
  const std::size_t Cl = C / tp, Fl = static_cast<std::size_t>(c.d_ff) / tp;
  return {0, BT * C,  0,       0, BT * 3 * Cl, BT * Cl, 0, 0, 0, BT * C, 0,
          0, BT * Fl, BT * Fl, 0, BT * C,      BT * C,  0, 0, 0, 0,      0};
}

template <typename T, typename Acts>
void carve_acts(Acts& a, T* base, const std::array<std::size_t, 22>& n) {
  std::array<T**, 22> fields = {&a.encoded,   &a.ln1,      &a.ln1_mean, &a.ln1_rstd,  &a.qkv,
                                &a.atty,      &a.att,      &a.attproj,  &a.residual2, &a.ln2,
                                &a.ln2_mean,  &a.ln2_rstd, &a.fch,      &a.fch_gelu,  &a.fcproj,
                                &a.residual3, &a.lnf,      &a.lnf_mean, &a.lnf_rstd,  &a.logits,
                                &a.probs,     &a.losses};
  std::size_t off = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    *fields[i] = n[i] > 0 ? base + off : nullptr;
    off += n[i];
  }
}

std::size_t sum_counts(const std::array<std::size_t, 22>& n) {
  std::size_t s = 0;
  for (auto v : n) s += v;
  return s;
}

}  // namespace

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
  layout_ = gpt_param_layout(cfg_, tp_size_);
  num_params_ = layout_.back().offset + layout_.back().count;
  params_ = backend_->allocate(num_params_);
  grads_ = backend_->allocate(num_params_);
  adam_m_ = backend_->allocate(num_params_);
  adam_v_ = backend_->allocate(num_params_);
  const auto na = act_counts(cfg_, max_batch_, tp_size_);
  const auto ng = grad_act_counts(cfg_, max_batch_, tp_size_);
  acts_ = backend_->allocate(sum_counts(na));
  grad_acts_ = backend_->allocate(sum_counts(ng));
  att_scratch_ = backend_->allocate(static_cast<std::size_t>(max_batch_) *
                                    (cfg_.n_head / tp_size_) * cfg_.n_ctx * cfg_.n_ctx);
  a_ = std::make_unique<Acts>();
  g_ = std::make_unique<Acts>();
  carve_acts(*a_, acts_.data(), na);
  carve_acts(*g_, grad_acts_.data(), ng);
  a_->probs = a_->logits;   // softmax in place
  g_->logits = a_->logits;  // and its gradient in place too
  const std::size_t bt = static_cast<std::size_t>(max_batch_) * cfg_.n_ctx;
  inputs_ = backend_->allocate_tokens(bt);
  targets_ = backend_->allocate_tokens(bt);
  losses_host_.assign(bt, T(0));
}

template <typename T>
GptT<T>::~GptT() = default;

template <typename T>
const ParamTensor& GptT<T>::tensor(const std::string& name) const {
  for (const auto& t : layout_)
    if (t.name == name) return t;
  throw std::out_of_range("GptT::tensor: no parameter tensor named " + name);
}

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
    const std::string& n = t.name;
    if (n == "ln1w" || n == "ln2w" || n == "lnfw") {
      for (std::size_t i = 0; i < t.count; ++i) p[i] = 1.0;
    } else if (n == "attprojw" || n == "fcprojw") {
      for (std::size_t i = 0; i < t.count; ++i) p[i] = std_resid * rng.normal();
    } else if (t.weight_decay) {  // the other matrices: wte, wpe, qkvw, fcw
      for (std::size_t i = 0; i < t.count; ++i) p[i] = std_base * rng.normal();
    }  // biases and LayerNorm biases stay 0
  }
  std::vector<T> local(num_params_);
  if (tp_size_ == 1) {
    for (std::size_t i = 0; i < num_params_; ++i) local[i] = static_cast<T>(full[i]);
  } else {
    const auto map = gpt_tp_shard_map(cfg_, tp_size_, tp_rank_);
    for (std::size_t i = 0; i < num_params_; ++i) local[i] = static_cast<T>(full[map[i]]);
  }
  backend_->copy_to_device(params_.data(), local.data(), num_params_);
  backend_->fill_zero(grads_.data(), num_params_);
  backend_->fill_zero(adam_m_.data(), num_params_);
  backend_->fill_zero(adam_v_.data(), num_params_);
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

template <typename T>
T GptT<T>::forward(const int32_t* inputs, const int32_t* targets, int B, int T_) {
  if (B <= 0 || B > max_batch_ || T_ <= 0 || T_ > cfg_.n_ctx) {
    throw std::invalid_argument(fmt::format("GptT::forward: B = {} (max {}), T = {} (n_ctx {})", B,
                                            max_batch_, T_, cfg_.n_ctx));
  }
  const std::size_t BT = static_cast<std::size_t>(B) * T_;
  check_tokens(inputs, BT, "input");
  if (targets != nullptr) check_tokens(targets, BT, "target");
  backend_->copy_tokens_to_device(inputs_.data(), inputs, BT);
  if (targets != nullptr) backend_->copy_tokens_to_device(targets_.data(), targets, BT);
  last_b_ = B;
  last_t_ = T_;
  last_bt_ = BT;
  have_targets_ = targets != nullptr;

  Backend<T>& be = *backend_;
  Acts& a = *a_;
  const int L = cfg_.n_layer, C = cfg_.d_model, V = cfg_.vocab;
  const int Cl = C / tp_size_, Fl = cfg_.d_ff / tp_size_, NHl = cfg_.n_head / tp_size_;
  const std::size_t BTm = static_cast<std::size_t>(max_batch_) * cfg_.n_ctx;
  const std::size_t att_stride = BTm * NHl * cfg_.n_ctx;
  T* P = params_.data();
  auto p = [&](const char* name) { return P + tensor(name).offset; };
  T *wte = p("wte"), *wpe = p("wpe"), *ln1w = p("ln1w"), *ln1b = p("ln1b"), *qkvw = p("qkvw"),
    *qkvb = p("qkvb"), *attprojw = p("attprojw"), *attprojb = p("attprojb"), *ln2w = p("ln2w"),
    *ln2b = p("ln2b"), *fcw = p("fcw"), *fcb = p("fcb"), *fcprojw = p("fcprojw"),
    *fcprojb = p("fcprojb"), *lnfw = p("lnfw"), *lnfb = p("lnfb");
  const int N = static_cast<int>(BT);

  be.encoder_forward(a.encoded, inputs_.data(), wte, wpe, B, T_, C);
  for (int l = 0; l < L; ++l) {
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

    be.layernorm_forward(ln1, ln1_mean, ln1_rstd, residual, ln1w + l * C, ln1b + l * C, B, T_, C);
    be.matmul_forward(qkv, ln1, qkvw + static_cast<std::size_t>(l) * 3 * Cl * C, qkvb + l * 3 * Cl,
                      N, C, 3 * Cl);
    be.attention_forward(atty, att, qkv, B, T_, Cl, NHl);
    // Row-parallel: partial sums over this rank's heads, reduced, then the bias once.
    be.matmul_forward(attproj, atty, attprojw + static_cast<std::size_t>(l) * C * Cl, nullptr, N,
                      Cl, C);
    tp_allreduce(attproj, BT * C);
    be.bias_add_forward(attproj, attprojb + l * C, N, C);
    be.residual_forward(residual2, residual, attproj, BT * C);
    be.layernorm_forward(ln2, ln2_mean, ln2_rstd, residual2, ln2w + l * C, ln2b + l * C, B, T_, C);
    be.matmul_forward(fch, ln2, fcw + static_cast<std::size_t>(l) * Fl * C, fcb + l * Fl, N, C, Fl);
    be.gelu_forward(fch_gelu, fch, BT * Fl);
    be.matmul_forward(fcproj, fch_gelu, fcprojw + static_cast<std::size_t>(l) * C * Fl, nullptr, N,
                      Fl, C);
    tp_allreduce(fcproj, BT * C);
    be.bias_add_forward(fcproj, fcprojb + l * C, N, C);
    be.residual_forward(residual3, residual2, fcproj, BT * C);
  }
  const T* last = a.residual3 + (L - 1) * BTm * C;
  be.layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, last, lnfw, lnfb, B, T_, C);
  be.matmul_forward(a.logits, a.lnf, wte, nullptr, N, C, V);
  if (targets == nullptr) {
    be.synchronize();
    return T(0);
  }
  be.crossentropy_softmax_forward(a.losses, a.probs, a.logits, targets_.data(), B, T_, V);
  be.copy_to_host(losses_host_.data(), a.losses, BT);
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
  Acts& a = *a_;
  Acts& g = *g_;
  const int B = last_b_, T_ = last_t_;
  const std::size_t BT = last_bt_;
  const int N = static_cast<int>(BT);
  const int L = cfg_.n_layer, C = cfg_.d_model, V = cfg_.vocab;
  const int Cl = C / tp_size_, Fl = cfg_.d_ff / tp_size_, NHl = cfg_.n_head / tp_size_;
  const std::size_t BTm = static_cast<std::size_t>(max_batch_) * cfg_.n_ctx;
  const std::size_t att_stride = BTm * NHl * cfg_.n_ctx;
  T* P = params_.data();
  T* G = grads_.data();
  auto off = [&](const char* name) { return tensor(name).offset; };
  const std::size_t o_wte = off("wte"), o_wpe = off("wpe"), o_ln1w = off("ln1w"),
                    o_ln1b = off("ln1b"), o_qkvw = off("qkvw"), o_qkvb = off("qkvb"),
                    o_attprojw = off("attprojw"), o_attprojb = off("attprojb"),
                    o_ln2w = off("ln2w"), o_ln2b = off("ln2b"), o_fcw = off("fcw"),
                    o_fcb = off("fcb"), o_fcprojw = off("fcprojw"), o_fcprojb = off("fcprojb"),
                    o_lnfw = off("lnfw"), o_lnfb = off("lnfb");

  // Activation gradients are accumulated into, so they start at zero each pass
  // (the per-layer scratch again before each layer below).
  be.fill_zero(grad_acts_.data(), grad_acts_.size());
  const T dloss = loss_scale / static_cast<T>(BT);
  be.crossentropy_softmax_backward(g.logits, a.probs, targets_.data(), dloss, B, T_, V);
  be.matmul_backward(g.lnf, G + o_wte, nullptr, g.logits, a.lnf, P + o_wte, N, C, V);
  T* dres = g.residual3;  // gradient of the residual stream, walked down the layers
  const std::size_t last = (L - 1) * BTm * C;
  be.layernorm_backward(dres, G + o_lnfw, G + o_lnfb, g.lnf, a.residual3 + last, P + o_lnfw,
                        a.lnf_mean, a.lnf_rstd, B, T_, C);
  for (int l = L - 1; l >= 0; --l) {
    const std::size_t lc = l * BTm * C;
    const T* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BTm * C;
    const std::size_t wq = static_cast<std::size_t>(l) * 3 * Cl * C;
    const std::size_t wp = static_cast<std::size_t>(l) * C * Cl;
    const std::size_t wf = static_cast<std::size_t>(l) * Fl * C;
    const std::size_t wfp = static_cast<std::size_t>(l) * C * Fl;
    if (l < L - 1) {
      be.fill_zero(g.ln1, BT * C);
      be.fill_zero(g.qkv, BT * 3 * Cl);
      be.fill_zero(g.atty, BT * Cl);
      be.fill_zero(g.ln2, BT * C);
      be.fill_zero(g.fch, BT * Fl);
      be.fill_zero(g.fch_gelu, BT * Fl);
    }
    // res3 = res2 + fcproj: d fcproj = d res3 = dres, and d res2 starts as dres.
    be.matmul_backward(g.fch_gelu, G + o_fcprojw + wfp, G + o_fcprojb + l * C, dres,
                       a.fch_gelu + l * BTm * Fl, P + o_fcprojw + wfp, N, Fl, C);
    be.gelu_backward(g.fch, a.fch + l * BTm * Fl, g.fch_gelu, BT * Fl);
    be.matmul_backward(g.ln2, G + o_fcw + wf, G + o_fcb + l * Fl, g.fch, a.ln2 + lc, P + o_fcw + wf,
                       N, C, Fl);
    // Column-parallel input gradient: each rank holds its heads'/columns' part.
    tp_allreduce(g.ln2, BT * C);
    // dres += the LayerNorm path: now d res2.
    be.layernorm_backward(dres, G + o_ln2w + l * C, G + o_ln2b + l * C, g.ln2, a.residual2 + lc,
                          P + o_ln2w + l * C, a.ln2_mean + l * BTm, a.ln2_rstd + l * BTm, B, T_, C);
    // res2 = residual + attproj: d attproj = d res2 = dres.
    be.matmul_backward(g.atty, G + o_attprojw + wp, G + o_attprojb + l * C, dres,
                       a.atty + l * BTm * Cl, P + o_attprojw + wp, N, Cl, C);
    be.attention_backward(g.qkv, att_scratch_.data(), g.atty, a.qkv + l * BTm * 3 * Cl,
                          a.att + l * att_stride, B, T_, Cl, NHl);
    be.matmul_backward(g.ln1, G + o_qkvw + wq, G + o_qkvb + l * 3 * Cl, g.qkv, a.ln1 + lc,
                       P + o_qkvw + wq, N, C, 3 * Cl);
    tp_allreduce(g.ln1, BT * C);
    // dres += the LayerNorm path: now d(layer input).
    be.layernorm_backward(dres, G + o_ln1w + l * C, G + o_ln1b + l * C, g.ln1, residual,
                          P + o_ln1w + l * C, a.ln1_mean + l * BTm, a.ln1_rstd + l * BTm, B, T_, C);
  }
  be.encoder_backward(G + o_wte, G + o_wpe, dres, inputs_.data(), B, T_, C);
  be.synchronize();
}

template <typename T>
void GptT<T>::zero_grad() {
  backend_->fill_zero(grads_.data(), num_params_);
}

template <typename T>
double GptT<T>::grad_norm() {
  double replicated = 0, sharded = 0;
  for (const auto& t : layout_) {
    const double s = backend_->sum_squares(grads_.data() + t.offset, t.count);
    (t.sharded ? sharded : replicated) += s;
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
    if (coef < 1.0) backend_->scale_inplace(grads_.data(), num_params_, static_cast<T>(coef));
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
  for (const auto& t : layout_) {
    h.weight_decay = t.weight_decay ? opt.weight_decay : 0.0f;
    backend_->adamw_update(params_.data() + t.offset, grads_.data() + t.offset,
                           adam_m_.data() + t.offset, adam_v_.data() + t.offset, t.count, h);
  }
  backend_->synchronize();
}

template <typename T>
void GptT<T>::allreduce_grads_mean(Comm& dp_comm) {
  if (dp_comm.size() <= 1) return;
  backend_->synchronize();
  dp_comm.allreduce_sum(grads_.data(), num_params_);
  backend_->scale_inplace(grads_.data(), num_params_, T(1) / static_cast<T>(dp_comm.size()));
}

template <typename T>
std::span<const T> GptT<T>::logits() const {
  return {a_->logits, last_bt_ * static_cast<std::size_t>(cfg_.vocab)};
}

template class GptT<float>;
template class GptT<double>;

}  // namespace ss::model
