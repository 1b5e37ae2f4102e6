// LayerNorm over the last dimension (C) of a (B*T, C) tensor, llm.c signatures.
// Invariant: forward stores per-row mean and rstd; backward ACCUMULATES into
// dinp, dweight and dbias (callers zero gradients once per step).
#pragma once

namespace ss::model::cpu {

template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int B, int T_, int C);

template <typename T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                        const T* mean, const T* rstd, int B, int T_, int C);

}  // namespace ss::model::cpu
