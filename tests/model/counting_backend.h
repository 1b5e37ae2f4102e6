// A Backend<T> that forwards every call to the CPU backend and counts what is allocated
// through it: an independent measure of a model's memory for tests of the estimates.
// Invariant: values/tokens are the sums of every allocate/allocate_tokens call so far.
#pragma once

#include <cstddef>
#include <memory>

#include "model/backend.h"

namespace ss::model::testing {

template <typename T>
class CountingBackend final : public Backend<T> {
 public:
  struct Counts {
    std::size_t values = 0;  // elements of T
    std::size_t tokens = 0;  // int32 elements
  };
  // `counts` outlives the backend (a GptT owns its backend).
  explicit CountingBackend(Counts& counts) : counts_(counts), cpu_(make_cpu_backend<T>()) {}

  const char* name() const override { return "counting-cpu"; }
  Buffer<T> allocate(std::size_t n) override {
    counts_.values += n;
    return cpu_->allocate(n);
  }
  Buffer<int32_t> allocate_tokens(std::size_t n) override {
    counts_.tokens += n;
    return cpu_->allocate_tokens(n);
  }
  void copy_to_device(T* d, const T* s, std::size_t n) override { cpu_->copy_to_device(d, s, n); }
  void copy_to_host(T* d, const T* s, std::size_t n) override { cpu_->copy_to_host(d, s, n); }
  void copy_tokens_to_device(int32_t* d, const int32_t* s, std::size_t n) override {
    cpu_->copy_tokens_to_device(d, s, n);
  }
  void fill_zero(T* d, std::size_t n) override { cpu_->fill_zero(d, n); }
  void synchronize() override { cpu_->synchronize(); }
  void encoder_forward(T* o, const int32_t* i, const T* wte, const T* wpe, int B, int T_,
                       int C) override {
    cpu_->encoder_forward(o, i, wte, wpe, B, T_, C);
  }
  void encoder_backward(T* dwte, T* dwpe, const T* d, const int32_t* i, int B, int T_,
                        int C) override {
    cpu_->encoder_backward(dwte, dwpe, d, i, B, T_, C);
  }
  void layernorm_forward(T* o, T* m, T* r, const T* i, const T* w, const T* b, int B, int T_,
                         int C) override {
    cpu_->layernorm_forward(o, m, r, i, w, b, B, T_, C);
  }
  void layernorm_backward(T* di, T* dw, T* db, const T* d, const T* i, const T* w, const T* m,
                          const T* r, int B, int T_, int C) override {
    cpu_->layernorm_backward(di, dw, db, d, i, w, m, r, B, T_, C);
  }
  void matmul_forward(T* o, const T* i, const T* w, const T* b, int N, int C, int OC) override {
    cpu_->matmul_forward(o, i, w, b, N, C, OC);
  }
  void matmul_backward(T* di, T* dw, T* db, const T* d, const T* i, const T* w, int N, int C,
                       int OC) override {
    cpu_->matmul_backward(di, dw, db, d, i, w, N, C, OC);
  }
  void bias_add_forward(T* o, const T* b, int N, int OC) override {
    cpu_->bias_add_forward(o, b, N, OC);
  }
  void attention_forward(T* o, T* att, const T* qkv, int B, int T_, int C, int NH) override {
    cpu_->attention_forward(o, att, qkv, B, T_, C, NH);
  }
  void attention_backward(T* dqkv, T* s, const T* d, const T* qkv, const T* att, int B, int T_,
                          int C, int NH) override {
    cpu_->attention_backward(dqkv, s, d, qkv, att, B, T_, C, NH);
  }
  void gelu_forward(T* o, const T* i, std::size_t N) override { cpu_->gelu_forward(o, i, N); }
  void gelu_backward(T* di, const T* i, const T* d, std::size_t N) override {
    cpu_->gelu_backward(di, i, d, N);
  }
  void residual_forward(T* o, const T* a, const T* b, std::size_t N) override {
    cpu_->residual_forward(o, a, b, N);
  }
  void residual_backward(T* da, T* db, const T* d, std::size_t N) override {
    cpu_->residual_backward(da, db, d, N);
  }
  void crossentropy_softmax_forward(T* l, T* p, const T* lg, const int32_t* t, int B, int T_,
                                    int V) override {
    cpu_->crossentropy_softmax_forward(l, p, lg, t, B, T_, V);
  }
  void crossentropy_softmax_backward(T* dl, const T* p, const int32_t* t, T dloss, int B, int T_,
                                     int V) override {
    cpu_->crossentropy_softmax_backward(dl, p, t, dloss, B, T_, V);
  }
  void adamw_update(T* p, const T* g, T* m, T* v, std::size_t n,
                    const AdamWStepParams& h) override {
    cpu_->adamw_update(p, g, m, v, n, h);
  }
  double sum_squares(const T* x, std::size_t n) override { return cpu_->sum_squares(x, n); }
  void scale_inplace(T* x, std::size_t n, T f) override { cpu_->scale_inplace(x, n, f); }

 private:
  Counts& counts_;
  std::unique_ptr<Backend<T>> cpu_;
};

}  // namespace ss::model::testing
