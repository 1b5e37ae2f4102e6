// The CPU reference backend: Backend<T> forwarding to the templated layer
// functions of model/cpu/. Invariant: no math here, only dispatch and host memory
// (64-byte aligned, zero-filled).
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include <omp.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "model/adamw.h"
#include "model/attention.h"
#include "model/backend.h"
#include "model/cpu_threads.h"
#include "model/crossentropy.h"
#include "model/encoder.h"
#include "model/gelu.h"
#include "model/layernorm.h"
#include "model/matmul.h"
#include "model/residual.h"

namespace ss::model {
namespace {

// Buffers of at least kHugePage bytes are 2 MiB aligned and asked for transparent huge
// pages (Linux, where THP is "madvise", the common default): the activations of a model
// span hundreds of MiB that every layer pass and GEMM packing walks, and with 4 KiB pages
// those walks miss the TLB; the zero fill also takes 512x fewer page faults. Smaller
// buffers: 64-byte aligned (a cache line). Where THP is off the advice is ignored.
constexpr std::size_t kHugePage = std::size_t{2} << 20;

template <typename U>
Buffer<U> host_allocate(std::size_t n) {
  if (n == 0) return Buffer<U>(nullptr, 0, &std::free);
  const std::size_t need = n * sizeof(U);
  const std::size_t align = need >= kHugePage ? kHugePage : 64;
  const std::size_t bytes = (need + align - 1) / align * align;  // aligned_alloc needs a multiple
  void* p = std::aligned_alloc(align, bytes);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (align == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);  // advice: failure changes nothing
#endif
  std::memset(p, 0, bytes);
  return Buffer<U>(static_cast<U*>(p), n, &std::free);
}

template <typename T>
class CpuBackend final : public Backend<T> {
 public:
  const char* name() const override { return "cpu"; }
  Buffer<T> allocate(std::size_t n) override { return host_allocate<T>(n); }
  Buffer<int32_t> allocate_tokens(std::size_t n) override { return host_allocate<int32_t>(n); }
  void copy_to_device(T* dst, const T* src, std::size_t n) override {
    if (n > 0) std::memcpy(dst, src, n * sizeof(T));
  }
  void copy_to_host(T* dst, const T* src, std::size_t n) override {
    if (n > 0) std::memcpy(dst, src, n * sizeof(T));
  }
  void copy_tokens_to_device(int32_t* dst, const int32_t* src, std::size_t n) override {
    if (n > 0) std::memcpy(dst, src, n * sizeof(int32_t));
  }
  void fill_zero(T* dst, std::size_t n) override {
    if (n > 0) std::memset(dst, 0, n * sizeof(T));
  }
  void synchronize() override {}

  void encoder_forward(T* out, const int32_t* inp, const T* wte, const T* wpe, int B, int T_,
                       int C) override {
    cpu::encoder_forward(out, inp, wte, wpe, B, T_, C);
  }
  void encoder_backward(T* dwte, T* dwpe, const T* dout, const int32_t* inp, int B, int T_,
                        int C) override {
    cpu::encoder_backward(dwte, dwpe, dout, inp, B, T_, C);
  }
  void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                         int B, int T_, int C) override {
    cpu::layernorm_forward(out, mean, rstd, inp, weight, bias, B, T_, C);
  }
  void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                          const T* weight, const T* mean, const T* rstd, int B, int T_,
                          int C) override {
    cpu::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, B, T_, C);
  }
  void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C,
                      int OC) override {
    cpu::matmul_forward(out, inp, weight, bias, N, C, OC);
  }
  void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                       int N, int C, int OC) override {
    cpu::matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
  }
  void bias_add_forward(T* out, const T* bias, int N, int OC) override {
    cpu::bias_add_forward(out, bias, N, OC);
  }
  void matmul_residual_forward(T* out, const T* inp, const T* weight, const T* bias,
                               const T* residual, int N, int C, int OC) override {
    cpu::matmul_residual_forward(out, inp, weight, bias, residual, N, C, OC);
  }
  void matmul_gelu_forward(T* pre, T* out, const T* inp, const T* weight, const T* bias, int N,
                           int C, int OC) override {
    cpu::matmul_gelu_forward(pre, out, inp, weight, bias, N, C, OC);
  }
  void matmul_backward_dgelu(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                             const T* weight, const T* pre, int N, int C, int OC) override {
    cpu::matmul_backward_dgelu(dinp, dweight, dbias, dout, inp, weight, pre, N, C, OC);
  }
  void attention_forward(T* out, T* att, const T* qkv, int B, int T_, int C, int NH) override {
    cpu::attention_forward(out, att, qkv, B, T_, C, NH);
  }
  void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att, int B,
                          int T_, int C, int NH) override {
    cpu::attention_backward(dqkv, scratch, dout, qkv, att, B, T_, C, NH);
  }
  void gelu_forward(T* out, const T* inp, std::size_t N) override {
    cpu::gelu_forward(out, inp, N);
  }
  void gelu_backward(T* dinp, const T* inp, const T* dout, std::size_t N) override {
    cpu::gelu_backward(dinp, inp, dout, N);
  }
  void residual_forward(T* out, const T* inp1, const T* inp2, std::size_t N) override {
    cpu::residual_forward(out, inp1, inp2, N);
  }
  void residual_backward(T* dinp1, T* dinp2, const T* dout, std::size_t N) override {
    cpu::residual_backward(dinp1, dinp2, dout, N);
  }
  void crossentropy_softmax_forward(T* losses, T* probs, const T* logits, const int32_t* targets,
                                    int B, int T_, int V) override {
    cpu::crossentropy_softmax_forward(losses, probs, logits, targets, B, T_, V);
  }
  void crossentropy_softmax_backward(T* dlogits, const T* probs, const int32_t* targets, T dloss,
                                     int B, int T_, int V) override {
    cpu::crossentropy_softmax_backward(dlogits, probs, targets, dloss, B, T_, V);
  }
  void adamw_update(T* params, const T* grads, T* m, T* v, std::size_t n,
                    const AdamWStepParams& h) override {
    cpu::adamw_update(params, grads, m, v, n, h);
  }
  double sum_squares(const T* x, std::size_t n) override { return cpu::sum_squares(x, n); }
  void scale_inplace(T* x, std::size_t n, T factor) override { cpu::scale_inplace(x, n, factor); }
};

}  // namespace

template <typename T>
std::unique_ptr<Backend<T>> make_cpu_backend() {
  return std::make_unique<CpuBackend<T>>();
}

void cpu_set_threads(int n) {
  if (n < 1) throw std::invalid_argument("cpu_set_threads: n must be >= 1");
  omp_set_num_threads(n);
}

int cpu_threads() {
  return omp_get_max_threads();
}

template std::unique_ptr<Backend<float>> make_cpu_backend<float>();
template std::unique_ptr<Backend<double>> make_cpu_backend<double>();

}  // namespace ss::model
