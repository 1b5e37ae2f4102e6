// CPU implementations of the elementwise and row-wise layers: encoder, layernorm,
// residual, softmax+cross-entropy, AdamW and the clipping reductions.
// Invariant: all math comes from model/pointwise.h, except LayerNorm's rows, which are
// its formulas as `omp simd` reductions (vectorised: 3x less CPU than the scalar rows
// at L6 d256); loops are OpenMP over rows. The cross-entropy's rows are in
// softmax_rows.cc (fast-math, vector expf).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

#include "model/adamw.h"
#include "model/cpu/softmax_rows.h"
#include "model/crossentropy.h"
#include "model/encoder.h"
#include "model/layernorm.h"
#include "model/pointwise.h"
#include "model/residual.h"

namespace ss::model::cpu {

template <typename T>
void encoder_forward(T* out, const int32_t* inp, const T* wte, const T* wpe, int B, int T_, int C) {
#pragma omp parallel for
  for (int bt = 0; bt < B * T_; ++bt) {
    const int t = bt % T_;
    const T* we = wte + static_cast<std::size_t>(inp[bt]) * C;
    const T* pe = wpe + static_cast<std::size_t>(t) * C;
    T* o = out + static_cast<std::size_t>(bt) * C;
    for (int i = 0; i < C; ++i) o[i] = we[i] + pe[i];
  }
}

template <typename T>
void encoder_backward(T* dwte, T* dwpe, const T* dout, const int32_t* inp, int B, int T_, int C) {
  // Serial over positions: two positions may share a token row; parallel over
  // blocks of channels instead, which never collide. Within a block each row's
  // channels are contiguous (the per-channel walk strode over rows); every element
  // still sums its positions in order.
  constexpr int kBlock = 16;  // one AVX-512 vector of floats; d64 still has 4 blocks
#pragma omp parallel for
  for (int c0 = 0; c0 < C; c0 += kBlock) {
    const int n = std::min(kBlock, C - c0);
    for (int bt = 0; bt < B * T_; ++bt) {
      const T* d = dout + static_cast<std::size_t>(bt) * C + c0;
      T* we = dwte + static_cast<std::size_t>(inp[bt]) * C + c0;
      T* pe = dwpe + static_cast<std::size_t>(bt % T_) * C + c0;
#pragma omp simd
      for (int i = 0; i < n; ++i) {
        we[i] += d[i];
        pe[i] += d[i];
      }
    }
  }
}

// LayerNorm rows with `omp simd` reductions (vector lanes, then the lanes summed):
// the row math of model/pointwise.h, reassociated so that it vectorises.
template <typename T>
void ln_row_forward(T* out, T* mean_out, T* rstd_out, const T* x, const T* w, const T* b, int C) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < C; ++i) sum += x[i];
  const T mean = sum / T(C);
  T var = 0;
#pragma omp simd reduction(+ : var)
  for (int i = 0; i < C; ++i) var += (x[i] - mean) * (x[i] - mean);
  const T rstd = T(1) / std::sqrt(var / T(C) + T(kLayerNormEps));
#pragma omp simd
  for (int i = 0; i < C; ++i) out[i] = (x[i] - mean) * rstd * w[i] + b[i];
  *mean_out = mean;
  *rstd_out = rstd;
}

// d(input) of one row, ACCUMULATED into dx, and the row's terms of the weight and
// bias gradients added to dw, db (this block's partial sums).
template <typename T>
void ln_row_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, T mean, T rstd,
                     int C) {
  T dnorm_mean = 0, dnorm_norm_mean = 0;
#pragma omp simd reduction(+ : dnorm_mean, dnorm_norm_mean)
  for (int i = 0; i < C; ++i) {
    const T dnorm = w[i] * dout[i];
    dnorm_mean += dnorm;
    dnorm_norm_mean += dnorm * ((x[i] - mean) * rstd);
  }
  dnorm_mean /= T(C);
  dnorm_norm_mean /= T(C);
#pragma omp simd
  for (int i = 0; i < C; ++i) {
    const T norm = (x[i] - mean) * rstd;
    const T dnorm = w[i] * dout[i];
    dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd;
    dw[i] += norm * dout[i];
    db[i] += dout[i];
  }
}

template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int B, int T_, int C) {
#pragma omp parallel for
  for (int bt = 0; bt < B * T_; ++bt) {
    const std::size_t o = static_cast<std::size_t>(bt) * C;
    ln_row_forward(out + o, mean + bt, rstd + bt, inp + o, weight, bias, C);
  }
}

// Rows per block of the weight/bias partial sums: fixed, so the summation order is
// the same for any thread count.
constexpr int kLnRows = 64;

// One pass over the rows: d(input) and per-block partial sums of the weight and bias
// gradients, then the blocks' partials added in block order.
template <typename T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                        const T* mean, const T* rstd, int B, int T_, int C) {
  const int N = B * T_;
  const int blocks = (N + kLnRows - 1) / kLnRows;
  std::vector<T> partial(static_cast<std::size_t>(blocks) * 2 * C, T(0));
#pragma omp parallel for
  for (int k = 0; k < blocks; ++k) {
    T* dw = partial.data() + static_cast<std::size_t>(k) * 2 * C;
    for (int bt = k * kLnRows; bt < std::min(N, (k + 1) * kLnRows); ++bt) {
      const std::size_t o = static_cast<std::size_t>(bt) * C;
      ln_row_backward(dinp + o, dw, dw + C, dout + o, inp + o, weight, mean[bt], rstd[bt], C);
    }
  }
  for (int k = 0; k < blocks; ++k) {
    const T* dw = partial.data() + static_cast<std::size_t>(k) * 2 * C;
#pragma omp simd
    for (int c = 0; c < C; ++c) {
      dweight[c] += dw[c];
      dbias[c] += dw[C + c];
    }
  }
}

template <typename T>
void residual_forward(T* out, const T* inp1, const T* inp2, std::size_t N) {
#pragma omp parallel for
  for (std::size_t i = 0; i < N; ++i) out[i] = inp1[i] + inp2[i];
}

template <typename T>
void residual_backward(T* dinp1, T* dinp2, const T* dout, std::size_t N) {
#pragma omp parallel for
  for (std::size_t i = 0; i < N; ++i) {
    dinp1[i] += dout[i];
    dinp2[i] += dout[i];
  }
}

// Rows per block of the cross-entropy: one thread computes a block's rows
// (softmax_rows.cc, vectorised); which rows form a block does not change the result.
constexpr int kCeRows = 32;

template <typename T>
void crossentropy_softmax_forward(T* losses, T* probs, const T* logits, const int32_t* targets,
                                  int B, int T_, int V) {
  const int N = B * T_;
#pragma omp parallel for
  for (int r0 = 0; r0 < N; r0 += kCeRows) {
    const std::size_t o = static_cast<std::size_t>(r0) * V;
    crossentropy_rows(losses + r0, probs + o, logits + o, targets + r0, std::min(kCeRows, N - r0),
                      V);
  }
}

template <typename T>
void crossentropy_softmax_backward(T* dlogits, const T* probs, const int32_t* targets, T dloss,
                                   int B, int T_, int V) {
  const int N = B * T_;
#pragma omp parallel for
  for (int r0 = 0; r0 < N; r0 += kCeRows) {
    const std::size_t o = static_cast<std::size_t>(r0) * V;
    crossentropy_rows_backward(dlogits + o, probs + o, targets + r0, dloss,
                               std::min(kCeRows, N - r0), V);
  }
}

template <typename T>
void adamw_update(T* params, const T* grads, T* m, T* v, std::size_t n, const AdamWStepParams& h) {
#pragma omp parallel for
  for (std::size_t i = 0; i < n; ++i) adamw_update_element(params + i, grads[i], m + i, v + i, h);
}

template <typename T>
double sum_squares(const T* x, std::size_t n) {
  // Per-thread partial sums added in thread order, not an OpenMP reduction (whose
  // combine order is unspecified): the clipping norm, and so a resumed run, must
  // be bit-reproducible for a fixed thread count.
  std::vector<double> partial(omp_get_max_threads(), 0.0);
#pragma omp parallel
  {
    double s = 0;
#pragma omp for schedule(static)
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    partial[omp_get_thread_num()] = s;
  }
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

template <typename T>
void scale_inplace(T* x, std::size_t n, T factor) {
#pragma omp parallel for
  for (std::size_t i = 0; i < n; ++i) x[i] *= factor;
}

#define SS_INSTANTIATE(T)                                                                         \
  template void encoder_forward<T>(T*, const int32_t*, const T*, const T*, int, int, int);        \
  template void encoder_backward<T>(T*, T*, const T*, const int32_t*, int, int, int);             \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, int);    \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,         \
                                      const T*, int, int, int);                                   \
  template void residual_forward<T>(T*, const T*, const T*, std::size_t);                         \
  template void residual_backward<T>(T*, T*, const T*, std::size_t);                              \
  template void crossentropy_softmax_forward<T>(T*, T*, const T*, const int32_t*, int, int, int); \
  template void crossentropy_softmax_backward<T>(T*, const T*, const int32_t*, T, int, int, int); \
  template void adamw_update<T>(T*, const T*, T*, T*, std::size_t, const AdamWStepParams&);       \
  template double sum_squares<T>(const T*, std::size_t);                                          \
  template void scale_inplace<T>(T*, std::size_t, T);

SS_INSTANTIATE(float)
SS_INSTANTIATE(double)
#undef SS_INSTANTIATE

}  // namespace ss::model::cpu
