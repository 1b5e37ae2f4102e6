// Residual connection out = inp1 + inp2 over N values.
// Invariant: backward ACCUMULATES dout into both dinp1 and dinp2.
#pragma once

#include <cstddef>

namespace ss::model::cpu {

template <typename T>
void residual_forward(T* out, const T* inp1, const T* inp2, std::size_t N);

template <typename T>
void residual_backward(T* dinp1, T* dinp2, const T* dout, std::size_t N);

}  // namespace ss::model::cpu
