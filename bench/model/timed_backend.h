// A Backend decorator for bench_model's per-op profile (BM_TrainStepOps): forwards every
// call to the wrapped backend and adds the call's wall seconds to a total per op name.
// Invariant: it changes no result (same calls, same order, same arguments); it lives in
// the benchmark only, never in the trainer's path. The CPU backend is synchronous, so a
// call's wall time is its op's time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "model/backend.h"

namespace ss::bench {

class TimedBackend final : public model::Backend<float> {
 public:
  using Totals = std::map<std::string, double>;
  TimedBackend(std::unique_ptr<model::Backend<float>> inner, Totals* totals)
      : be_(std::move(inner)), t_(totals) {}
  const char* name() const override { return be_->name(); }
  model::Buffer<float> allocate(std::size_t n) override { return be_->allocate(n); }
  model::Buffer<int32_t> allocate_tokens(std::size_t n) override { return be_->allocate_tokens(n); }
  void copy_to_device(float* d, const float* s, std::size_t n) override {
    timed("copy", [&] { be_->copy_to_device(d, s, n); });
  }
  void copy_to_host(float* d, const float* s, std::size_t n) override {
    timed("copy", [&] { be_->copy_to_host(d, s, n); });
  }
  void copy_tokens_to_device(int32_t* d, const int32_t* s, std::size_t n) override {
    timed("copy", [&] { be_->copy_tokens_to_device(d, s, n); });
  }
  void fill_zero(float* d, std::size_t n) override {
    timed("fill_zero", [&] { be_->fill_zero(d, n); });
  }
  void synchronize() override { be_->synchronize(); }
  void encoder_forward(float* o, const int32_t* i, const float* wte, const float* wpe, int B, int T,
                       int C) override {
    timed("encoder_fwd", [&] { be_->encoder_forward(o, i, wte, wpe, B, T, C); });
  }
  void encoder_backward(float* dwte, float* dwpe, const float* d, const int32_t* i, int B, int T,
                        int C) override {
    timed("encoder_bwd", [&] { be_->encoder_backward(dwte, dwpe, d, i, B, T, C); });
  }
  void layernorm_forward(float* o, float* m, float* r, const float* i, const float* w,
                         const float* b, int B, int T, int C) override {
    timed("layernorm_fwd", [&] { be_->layernorm_forward(o, m, r, i, w, b, B, T, C); });
  }
  void layernorm_backward(float* di, float* dw, float* db, const float* d, const float* i,
                          const float* w, const float* m, const float* r, int B, int T,
                          int C) override {
    timed("layernorm_bwd", [&] { be_->layernorm_backward(di, dw, db, d, i, w, m, r, B, T, C); });
  }
  void matmul_forward(float* o, const float* i, const float* w, const float* b, int N, int C,
                      int OC) override {
    timed(shape("matmul_fwd", N, C, OC), [&] { be_->matmul_forward(o, i, w, b, N, C, OC); });
  }
  void matmul_backward(float* di, float* dw, float* db, const float* d, const float* i,
                       const float* w, int N, int C, int OC) override {
    timed(shape("matmul_bwd", N, C, OC),
          [&] { be_->matmul_backward(di, dw, db, d, i, w, N, C, OC); });
  }
  void bias_add_forward(float* o, const float* b, int N, int OC) override {
    timed("bias_add_fwd", [&] { be_->bias_add_forward(o, b, N, OC); });
  }
  void matmul_residual_forward(float* o, const float* i, const float* w, const float* b,
                               const float* r, int N, int C, int OC) override {
    timed(shape("matmul_residual_fwd", N, C, OC),
          [&] { be_->matmul_residual_forward(o, i, w, b, r, N, C, OC); });
  }
  void matmul_gelu_forward(float* p, float* o, const float* i, const float* w, const float* b,
                           int N, int C, int OC) override {
    timed(shape("matmul_gelu_fwd", N, C, OC),
          [&] { be_->matmul_gelu_forward(p, o, i, w, b, N, C, OC); });
  }
  void matmul_backward_dgelu(float* di, float* dw, float* db, const float* d, const float* i,
                             const float* w, const float* p, int N, int C, int OC) override {
    timed(shape("matmul_dgelu_bwd", N, C, OC),
          [&] { be_->matmul_backward_dgelu(di, dw, db, d, i, w, p, N, C, OC); });
  }
  void attention_forward(float* o, float* a, const float* qkv, int B, int T, int C,
                         int NH) override {
    timed("attention_fwd", [&] { be_->attention_forward(o, a, qkv, B, T, C, NH); });
  }
  void attention_backward(float* dqkv, float* s, const float* d, const float* qkv, const float* a,
                          int B, int T, int C, int NH) override {
    timed("attention_bwd", [&] { be_->attention_backward(dqkv, s, d, qkv, a, B, T, C, NH); });
  }
  void gelu_forward(float* o, const float* i, std::size_t N) override {
    timed("gelu_fwd", [&] { be_->gelu_forward(o, i, N); });
  }
  void gelu_backward(float* di, const float* i, const float* d, std::size_t N) override {
    timed("gelu_bwd", [&] { be_->gelu_backward(di, i, d, N); });
  }
  void residual_forward(float* o, const float* a, const float* b, std::size_t N) override {
    timed("residual_fwd", [&] { be_->residual_forward(o, a, b, N); });
  }
  void residual_backward(float* da, float* db, const float* d, std::size_t N) override {
    timed("residual_bwd", [&] { be_->residual_backward(da, db, d, N); });
  }
  void crossentropy_softmax_forward(float* l, float* p, const float* lg, const int32_t* t, int B,
                                    int T, int V) override {
    timed("crossentropy_fwd", [&] { be_->crossentropy_softmax_forward(l, p, lg, t, B, T, V); });
  }
  void crossentropy_softmax_backward(float* dl, const float* p, const int32_t* t, float s, int B,
                                     int T, int V) override {
    timed("crossentropy_bwd", [&] { be_->crossentropy_softmax_backward(dl, p, t, s, B, T, V); });
  }
  void adamw_update(float* p, const float* g, float* m, float* v, std::size_t n,
                    const model::AdamWStepParams& h) override {
    timed("adamw", [&] { be_->adamw_update(p, g, m, v, n, h); });
  }
  double sum_squares(const float* x, std::size_t n) override {
    double s = 0;
    timed("grad_norm", [&] { s = be_->sum_squares(x, n); });
    return s;
  }
  void scale_inplace(float* x, std::size_t n, float f) override {
    timed("grad_scale", [&] { be_->scale_inplace(x, n, f); });
  }

 private:
  static std::string shape(const char* op, int N, int C, int OC) {
    return std::string(op) + "_" + std::to_string(N) + "x" + std::to_string(C) + "x" +
           std::to_string(OC);
  }
  template <typename F>
  void timed(const std::string& op, F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    (*t_)[op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::unique_ptr<model::Backend<float>> be_;
  Totals* t_;
};

}  // namespace ss::bench
