// Pointwise math written once for every backend: GELU (tanh approximation), a
// LayerNorm row, a (masked) softmax row and its backward, a softmax+cross-entropy row and the
// AdamW update of one element. Invariant: these are the only definitions of this
// math; the CPU layers call them and the CUDA kernels (model/cuda/) call them too,
// so the CPU tests check the GPU's arithmetic. SS_HD is empty here; model/cuda/
// defines it as `__host__ __device__` before including this header.
#pragma once

#include <cmath>

#ifndef SS_HD
#define SS_HD
#endif

namespace ss::model {

// LayerNorm epsilon of GPT-2 / PyTorch's default.
inline constexpr double kLayerNormEps = 1e-5;

// exp(2u) with u clamped to [-20, 20] first: tanh(20) rounds to exactly 1 in float
// and double, and exp(40) stays finite, so no inf ever enters the tanh formulas
// below (under -ffast-math, cpu/gelu.cc, an inf made NaN).
template <typename T>
SS_HD inline T exp_2u_clamped(T u) {
  const T limit = T(20);
  u = u > limit ? limit : (u < -limit ? -limit : u);
  return std::exp(T(2) * u);
}

// tanh(u) = 1 - 2 / (exp(2u) + 1): one exp instead of libm's tanh, which was 20% of
// a CPU training step (measured with perf).
template <typename T>
SS_HD inline T tanh_via_exp(T u) {
  return T(1) - T(2) / (exp_2u_clamped(u) + T(1));
}

// GELU, tanh approximation (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <typename T>
SS_HD inline T gelu_tanh(T x) {
  const T k = T(0.7978845608028654);  // sqrt(2/pi)
  const T cube = T(0.044715) * x * x * x;
  return T(0.5) * x * (T(1) + tanh_via_exp(k * (x + cube)));
}

// d gelu_tanh / dx. sech^2(u) is 4e / (e + 1)^2 with e = exp(2u), not 1 - tanh^2:
// under -ffast-math the vectorized division is a reciprocal estimate (rcpps plus a
// Newton step), so tanh(-20) came out as -1 + 1.2e-7 and 1 - tanh^2 as 2.4e-7
// instead of ~1e-17, which the x^3 factor turned into a slope of -0.013 at x = -1e4
// (the single-thread path of cpu/gelu.cc, where those elements were vectorized).
template <typename T>
SS_HD inline T gelu_tanh_grad(T x) {
  const T k = T(0.7978845608028654);
  const T e = exp_2u_clamped(k * (x + T(0.044715) * x * x * x));
  const T r = T(1) / (e + T(1));
  const T th = T(1) - T(2) * r;
  const T sech2 = T(4) * e * r * r;
  return T(0.5) * (T(1) + th) + T(0.5) * x * sech2 * k * (T(1) + T(3) * T(0.044715) * x * x);
}

// One LayerNorm row of C values: out = (x - mean) * rstd * w + b. Returns mean and
// rstd for the backward pass. Two passes (mean, then variance) for accuracy.
template <typename T>
SS_HD inline void layernorm_row_forward(T* out, T* mean_out, T* rstd_out, const T* x, const T* w,
                                        const T* b, int C) {
  T mean = 0;
  for (int i = 0; i < C; ++i) mean += x[i];
  mean /= T(C);
  T var = 0;
  for (int i = 0; i < C; ++i) {
    const T d = x[i] - mean;
    var += d * d;
  }
  var /= T(C);
  const T rstd = T(1) / std::sqrt(var + T(kLayerNormEps));
  for (int i = 0; i < C; ++i) out[i] = (x[i] - mean) * rstd * w[i] + b[i];
  *mean_out = mean;
  *rstd_out = rstd;
}

// Backward of one LayerNorm row w.r.t. its input: ACCUMULATES into dx. The weight
// and bias gradients are column sums over rows (dw += norm * dout, db += dout),
// left to the caller so that it can reduce them without per-row races.
template <typename T>
SS_HD inline void layernorm_row_backward_input(T* dx, const T* dout, const T* x, const T* w, T mean,
                                               T rstd, int C) {
  T dnorm_mean = 0;
  T dnorm_norm_mean = 0;
  for (int i = 0; i < C; ++i) {
    const T norm = (x[i] - mean) * rstd;
    const T dnorm = w[i] * dout[i];
    dnorm_mean += dnorm;
    dnorm_norm_mean += dnorm * norm;
  }
  dnorm_mean /= T(C);
  dnorm_norm_mean /= T(C);
  for (int i = 0; i < C; ++i) {
    const T norm = (x[i] - mean) * rstd;
    const T dnorm = w[i] * dout[i];
    dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd;
  }
}

// In-place softmax of row[0..n) after multiplying by `scale`; row[n..total) is
// set to 0 (the causal mask: those positions get no probability).
template <typename T>
SS_HD inline void softmax_row_masked(T* row, int n, int total, T scale) {
  T maxv = row[0] * scale;
  for (int j = 1; j < n; ++j) maxv = row[j] * scale > maxv ? row[j] * scale : maxv;
  T sum = 0;
  for (int j = 0; j < n; ++j) {
    const T e = std::exp(row[j] * scale - maxv);
    row[j] = e;
    sum += e;
  }
  const T inv = T(1) / sum;
  for (int j = 0; j < n; ++j) row[j] *= inv;
  for (int j = n; j < total; ++j) row[j] = 0;
}

// Backward of softmax_row_masked in place: d <- a * (d - sum(a * d)) * scale over
// [0, n), where a holds the row's probabilities and d their gradient; d[n..total)
// is set to 0 (masked entries get no gradient).
template <typename T>
SS_HD inline void softmax_row_backward(T* d, const T* a, int n, int total, T scale) {
  T dot = 0;
  for (int j = 0; j < n; ++j) dot += a[j] * d[j];
  for (int j = 0; j < n; ++j) d[j] = a[j] * (d[j] - dot) * scale;
  for (int j = n; j < total; ++j) d[j] = 0;
}

// Softmax of V logits into probs; returns -log probs[target] (the row's loss).
// probs may alias logits (in place): the target's logit is read first.
template <typename T>
SS_HD inline T crossentropy_softmax_row(T* probs, const T* logits, int V, int target) {
  const T target_logit = logits[target];
  T maxv = logits[0];
  for (int v = 1; v < V; ++v) maxv = logits[v] > maxv ? logits[v] : maxv;
  T sum = 0;
  for (int v = 0; v < V; ++v) {
    const T e = std::exp(logits[v] - maxv);
    probs[v] = e;
    sum += e;
  }
  const T inv = T(1) / sum;
  for (int v = 0; v < V; ++v) probs[v] *= inv;
  // log-sum-exp form keeps the loss finite even when probs[target] underflows.
  return std::log(sum) + maxv - target_logit;
}

// Hyper-parameters of one AdamW update, with the bias corrections of step t
// (1 - beta^t) precomputed once per step rather than per element.
struct AdamWStepParams {
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;  // already 0 for tensors that are not decayed
  float bias_correction1;
  float bias_correction2;
};

// AdamW (Loshchilov & Hutter): decoupled weight decay, bias-corrected moments.
// Same order of operations as torch.optim.AdamW: p -= lr*wd*p, then the Adam step.
template <typename T>
SS_HD inline void adamw_update_element(T* param, T grad, T* m, T* v, const AdamWStepParams& h) {
  const T mt = T(h.beta1) * *m + (T(1) - T(h.beta1)) * grad;
  const T vt = T(h.beta2) * *v + (T(1) - T(h.beta2)) * grad * grad;
  *m = mt;
  *v = vt;
  const T m_hat = mt / T(h.bias_correction1);
  const T v_hat = vt / T(h.bias_correction2);
  T p = *param;
  p -= T(h.lr) * T(h.weight_decay) * p;
  p -= T(h.lr) * m_hat / (std::sqrt(v_hat) + T(h.eps));
  *param = p;
}

}  // namespace ss::model
