// CPU GELU layer (tanh approximation from model/pointwise.h). Invariant: this file
// holds only the GELU loops, because it is compiled with -ffast-math so that
// glibc's vector expf (libmvec) runs the `omp simd` loops: GELU was ~15% of a
// training step with scalar expf. The loops are cloned per vector width
// (vector_clones.h); the work is cut into fixed chunks of kChunk elements, so which
// elements run in the vector body and which in the scalar tail does not depend on
// the thread count. Nothing here tests for NaN/Inf (the trainer checks the loss);
// exp_2u_clamped clamps its argument so exp never overflows.
#include <algorithm>
#include <cstddef>

#include "model/cpu/vector_clones.h"
#include "model/gelu.h"
#include "model/pointwise.h"

namespace ss::model::cpu {
namespace {

constexpr std::size_t kChunk = 4096;

template <typename T>
SS_VECTOR_CLONES void gelu_forward_chunk(T* out, const T* inp, std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) out[i] = gelu_tanh(inp[i]);
}

template <typename T>
SS_VECTOR_CLONES void gelu_backward_chunk(T* dinp, const T* inp, const T* dout, std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) dinp[i] = gelu_tanh_grad(inp[i]) * dout[i];
}

}  // namespace

template <typename T>
void gelu_forward(T* out, const T* inp, std::size_t N) {
#pragma omp parallel for
  for (std::size_t c = 0; c < N; c += kChunk) {
    gelu_forward_chunk(out + c, inp + c, std::min(kChunk, N - c));
  }
}

template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, std::size_t N) {
#pragma omp parallel for
  for (std::size_t c = 0; c < N; c += kChunk) {
    gelu_backward_chunk(dinp + c, inp + c, dout + c, std::min(kChunk, N - c));
  }
}

template <typename T>
void gelu_forward_serial(T* out, const T* inp, std::size_t N) {
  for (std::size_t c = 0; c < N; c += kChunk) {
    gelu_forward_chunk(out + c, inp + c, std::min(kChunk, N - c));
  }
}

template <typename T>
void gelu_backward_serial(T* dinp, const T* inp, const T* dout, std::size_t N) {
  for (std::size_t c = 0; c < N; c += kChunk) {
    gelu_backward_chunk(dinp + c, inp + c, dout + c, std::min(kChunk, N - c));
  }
}

template void gelu_forward<float>(float*, const float*, std::size_t);
template void gelu_forward<double>(double*, const double*, std::size_t);
template void gelu_backward<float>(float*, const float*, const float*, std::size_t);
template void gelu_backward<double>(double*, const double*, const double*, std::size_t);
template void gelu_forward_serial<float>(float*, const float*, std::size_t);
template void gelu_forward_serial<double>(double*, const double*, std::size_t);
template void gelu_backward_serial<float>(float*, const float*, const float*, std::size_t);
template void gelu_backward_serial<double>(double*, const double*, const double*, std::size_t);

}  // namespace ss::model::cpu
