// CPU GELU layer (tanh approximation from model/pointwise.h). Invariant: this file
// holds only the GELU loops, because it is compiled with -ffast-math so that
// glibc's vector expf (libmvec) runs the `omp simd` loops: GELU was ~15% of a
// training step with scalar expf. Nothing here tests for NaN/Inf (the trainer
// checks the loss); tanh_via_exp clamps its argument so exp never overflows.
#include <cstddef>

#include "model/gelu.h"
#include "model/pointwise.h"

namespace ss::model::cpu {

template <typename T>
void gelu_forward(T* out, const T* inp, std::size_t N) {
#pragma omp parallel for simd
  for (std::size_t i = 0; i < N; ++i) out[i] = gelu_tanh(inp[i]);
}

template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, std::size_t N) {
#pragma omp parallel for simd
  for (std::size_t i = 0; i < N; ++i) dinp[i] += gelu_tanh_grad(inp[i]) * dout[i];
}

template void gelu_forward<float>(float*, const float*, std::size_t);
template void gelu_forward<double>(double*, const double*, std::size_t);
template void gelu_backward<float>(float*, const float*, const float*, std::size_t);
template void gelu_backward<double>(double*, const double*, const double*, std::size_t);

}  // namespace ss::model::cpu
