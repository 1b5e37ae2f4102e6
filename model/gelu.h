// GELU activation (tanh approximation, see pointwise.h) over N values.
// Invariant: backward WRITES dinp (its old values are never read).
#pragma once

#include <cstddef>

namespace ss::model::cpu {

template <typename T>
void gelu_forward(T* out, const T* inp, std::size_t N);

template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, std::size_t N);

}  // namespace ss::model::cpu
