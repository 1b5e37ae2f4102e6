// Token + learned position embedding layer. Invariant: out[b,t,:] = wte[tok] + wpe[t];
// backward ACCUMULATES into dwte and dwpe (shared rows are summed, never raced).
#pragma once

#include <cstdint>

namespace ss::model::cpu {

template <typename T>
void encoder_forward(T* out, const int32_t* inp, const T* wte, const T* wpe, int B, int T_, int C);

template <typename T>
void encoder_backward(T* dwte, T* dwpe, const T* dout, const int32_t* inp, int B, int T_, int C);

}  // namespace ss::model::cpu
