// The backend seam: memory and every layer's forward/backward as one virtual call
// per layer invocation (never per element). Invariant: all pointers passed to a
// backend point into Buffers that this backend allocated; calls may be
// asynchronous until synchronize(). The CPU backend (cpu/cpu_backend.cc,
// make_cpu_backend) is the reference; model/cuda/ will implement Backend<float>. Semantics of each call
// are documented in the layer headers (layernorm.h, matmul.h, attention.h, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "model/buffer.h"
#include "model/pointwise.h"

namespace ss::model {

template <typename T>
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // A zero-filled buffer of n values.
  virtual Buffer<T> allocate(std::size_t n) = 0;
  virtual Buffer<int32_t> allocate_tokens(std::size_t n) = 0;
  // Host <-> backend copies (plain memcpy on the CPU).
  virtual void copy_to_device(T* dst, const T* src, std::size_t n) = 0;
  virtual void copy_to_host(T* dst, const T* src, std::size_t n) = 0;
  virtual void copy_tokens_to_device(int32_t* dst, const int32_t* src, std::size_t n) = 0;
  virtual void fill_zero(T* dst, std::size_t n) = 0;
  virtual void synchronize() = 0;

  virtual void encoder_forward(T* out, const int32_t* inp, const T* wte, const T* wpe, int B,
                               int T_, int C) = 0;
  virtual void encoder_backward(T* dwte, T* dwpe, const T* dout, const int32_t* inp, int B, int T_,
                                int C) = 0;
  virtual void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight,
                                 const T* bias, int B, int T_, int C) = 0;
  virtual void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                                  const T* weight, const T* mean, const T* rstd, int B, int T_,
                                  int C) = 0;
  virtual void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C,
                              int OC) = 0;
  virtual void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                               const T* weight, int N, int C, int OC) = 0;
  virtual void bias_add_forward(T* out, const T* bias, int N, int OC) = 0;
  // out = residual + inp . weight^T + bias (bias may be null; out may not alias
  // residual or inp). The default composes the ops above; a backend may fuse them.
  virtual void matmul_residual_forward(T* out, const T* inp, const T* weight, const T* bias,
                                       const T* residual, int N, int C, int OC) {
    matmul_forward(out, inp, weight, bias, N, C, OC);
    residual_forward(out, residual, out, static_cast<std::size_t>(N) * OC);
  }
  // pre = inp . weight^T + bias, out = gelu(pre) (matmul.h); the default composes the two
  // ops, a backend may fuse them (as cuBLASLt's GELU_AUX epilogue).
  virtual void matmul_gelu_forward(T* pre, T* out, const T* inp, const T* weight, const T* bias,
                                   int N, int C, int OC) {
    matmul_forward(pre, inp, weight, bias, N, C, OC);
    gelu_forward(out, pre, static_cast<std::size_t>(N) * OC);
  }
  // matmul_backward of a layer whose input was gelu(pre), with dinp the gradient w.r.t. pre
  // (matmul.h); the default composes, a backend may fuse (cuBLASLt's DGELU epilogue).
  virtual void matmul_backward_dgelu(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                                     const T* weight, const T* pre, int N, int C, int OC) {
    matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
    gelu_backward(dinp, pre, dinp, static_cast<std::size_t>(N) * C);
  }
  virtual void attention_forward(T* out, T* att, const T* qkv, int B, int T_, int C, int NH) = 0;
  virtual void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att,
                                  int B, int T_, int C, int NH) = 0;
  virtual void gelu_forward(T* out, const T* inp, std::size_t N) = 0;
  virtual void gelu_backward(T* dinp, const T* inp, const T* dout, std::size_t N) = 0;
  virtual void residual_forward(T* out, const T* inp1, const T* inp2, std::size_t N) = 0;
  virtual void residual_backward(T* dinp1, T* dinp2, const T* dout, std::size_t N) = 0;
  virtual void crossentropy_softmax_forward(T* losses, T* probs, const T* logits,
                                            const int32_t* targets, int B, int T_, int V) = 0;
  virtual void crossentropy_softmax_backward(T* dlogits, const T* probs, const int32_t* targets,
                                             T dloss, int B, int T_, int V) = 0;
  virtual void adamw_update(T* params, const T* grads, T* m, T* v, std::size_t n,
                            const AdamWStepParams& h) = 0;
  virtual double sum_squares(const T* x, std::size_t n) = 0;
  virtual void scale_inplace(T* x, std::size_t n, T factor) = 0;
};

// The CPU reference backend (OpenBLAS + OpenMP), defined in model/cpu/.
template <typename T>
std::unique_ptr<Backend<T>> make_cpu_backend();

}  // namespace ss::model
