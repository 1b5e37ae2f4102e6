// Fused softmax + cross-entropy over (B*T, V) logits.
// Invariant: forward writes probs and per-position losses (-log p[target]);
// backward ACCUMULATES dlogits += (probs - onehot(target)) * dloss, where dloss is
// the gradient of the scalar objective w.r.t. each position's loss (1/(B*T) for
// the mean loss).
#pragma once

#include <cstdint>

namespace ss::model::cpu {

template <typename T>
void crossentropy_softmax_forward(T* losses, T* probs, const T* logits, const int32_t* targets,
                                  int B, int T_, int V);

template <typename T>
void crossentropy_softmax_backward(T* dlogits, const T* probs, const int32_t* targets, T dloss,
                                   int B, int T_, int V);

}  // namespace ss::model::cpu
