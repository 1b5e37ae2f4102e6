// GELU activation (tanh approximation, see pointwise.h) over N values.
// Invariant: backward WRITES dinp (its old values are never read; dinp may alias dout).
#pragma once

#include <cstddef>

namespace ss::model::cpu {

template <typename T>
void gelu_forward(T* out, const T* inp, std::size_t N);

template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, std::size_t N);

// The same on the calling thread only, in kChunk pieces from `out`/`dinp` on: the
// epilogues of a GEMM's row slice (layers_blas.cc). dinp may alias dout.
template <typename T>
void gelu_forward_serial(T* out, const T* inp, std::size_t N);
template <typename T>
void gelu_backward_serial(T* dinp, const T* inp, const T* dout, std::size_t N);

}  // namespace ss::model::cpu
