// CPU implementations of the elementwise and row-wise layers: encoder, layernorm,
// residual, softmax+cross-entropy, AdamW and the clipping reductions.
// Invariant: all math comes from model/pointwise.h; loops are OpenMP over rows.
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

#include "model/adamw.h"
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
  // channels instead, which never collide.
#pragma omp parallel for
  for (int i = 0; i < C; ++i) {
    for (int bt = 0; bt < B * T_; ++bt) {
      const int t = bt % T_;
      const T d = dout[static_cast<std::size_t>(bt) * C + i];
      dwte[static_cast<std::size_t>(inp[bt]) * C + i] += d;
      dwpe[static_cast<std::size_t>(t) * C + i] += d;
    }
  }
}

template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int B, int T_, int C) {
#pragma omp parallel for
  for (int bt = 0; bt < B * T_; ++bt) {
    const std::size_t o = static_cast<std::size_t>(bt) * C;
    layernorm_row_forward(out + o, mean + bt, rstd + bt, inp + o, weight, bias, C);
  }
}

template <typename T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                        const T* mean, const T* rstd, int B, int T_, int C) {
  const int N = B * T_;
#pragma omp parallel for
  for (int bt = 0; bt < N; ++bt) {
    const std::size_t o = static_cast<std::size_t>(bt) * C;
    layernorm_row_backward_input(dinp + o, dout + o, inp + o, weight, mean[bt], rstd[bt], C);
  }
  // Column sums over rows, one block of channels per task: no races, no
  // allocation, and the same summation order for any thread count.
  constexpr int kBlock = 32;
#pragma omp parallel for
  for (int c0 = 0; c0 < C; c0 += kBlock) {
    const int c1 = c0 + kBlock < C ? c0 + kBlock : C;
    T dw[kBlock] = {}, db[kBlock] = {};
    for (int bt = 0; bt < N; ++bt) {
      const std::size_t o = static_cast<std::size_t>(bt) * C;
      for (int c = c0; c < c1; ++c) {
        const T norm = (inp[o + c] - mean[bt]) * rstd[bt];
        dw[c - c0] += norm * dout[o + c];
        db[c - c0] += dout[o + c];
      }
    }
    for (int c = c0; c < c1; ++c) {
      dweight[c] += dw[c - c0];
      dbias[c] += db[c - c0];
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

template <typename T>
void crossentropy_softmax_forward(T* losses, T* probs, const T* logits, const int32_t* targets,
                                  int B, int T_, int V) {
#pragma omp parallel for
  for (int bt = 0; bt < B * T_; ++bt) {
    const std::size_t o = static_cast<std::size_t>(bt) * V;
    losses[bt] = crossentropy_softmax_row(probs + o, logits + o, V, targets[bt]);
  }
}

template <typename T>
void crossentropy_softmax_backward(T* dlogits, const T* probs, const int32_t* targets, T dloss,
                                   int B, int T_, int V) {
#pragma omp parallel for
  for (int bt = 0; bt < B * T_; ++bt) {
    const std::size_t o = static_cast<std::size_t>(bt) * V;
    for (int v = 0; v < V; ++v) {
      const T indicator = v == targets[bt] ? T(1) : T(0);
      dlogits[o + v] = (probs[o + v] - indicator) * dloss;
    }
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
