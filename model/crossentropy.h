// Fused softmax + cross-entropy over (B*T, V) logits.
// Invariant: forward writes probs and per-position losses (-log p[target]); probs
// may alias logits (in place). Backward OVERWRITES dlogits = (probs -
// onehot(target)) * dloss, where dloss is the gradient of the scalar objective
// w.r.t. each position's loss (1/(B*T) for the mean loss); dlogits may alias
// probs. In place, one (B*T, V) buffer serves logits, probs and their gradient,
// which matters at vocab 50257.
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
