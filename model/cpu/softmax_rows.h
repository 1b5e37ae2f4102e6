// Softmax row loops: causal attention's, forward and backward, over one block of
// query rows, and the output layer's softmax + cross-entropy rows. Defined in
// softmax_rows.cc, which is compiled with -ffast-math like gelu.cc (so the max/sum
// reductions vectorize and exp is glibc's vector expf). Invariant: row i of an
// attention block is query position t0 + i and has t0 + i + 1 valid (unmasked)
// entries; rows are `ld` apart. Cross-entropy rows are V apart.
#pragma once

#include <cstdint>

namespace ss::model::cpu {

// Softmax of each row's valid entries after scaling (softmax_row_masked of
// pointwise.h), in place; entries [t0 + i + 1, width) of row i are set to 0.
template <typename T>
void softmax_rows_causal(T* a, int t0, int rows, int width, int ld, T scale);

// Softmax backward in place: d <- a * (d - sum(a * d)) * scale over each row's valid
// entries (softmax_row_backward of pointwise.h); entries [t0 + i + 1, width) -> 0.
template <typename T>
void softmax_rows_causal_backward(T* d, const T* a, int t0, int rows, int width, int ld, T scale);

// losses[r] = -log softmax(logits row r)[targets[r]] and probs row r = the softmax
// (crossentropy_softmax_row of pointwise.h) for `rows` rows; probs may alias logits.
template <typename T>
void crossentropy_rows(T* losses, T* probs, const T* logits, const int32_t* targets, int rows,
                       int V);

// dlogits row r = (probs row r - onehot(targets[r])) * dloss; dlogits may alias probs.
template <typename T>
void crossentropy_rows_backward(T* dlogits, const T* probs, const int32_t* targets, T dloss,
                                int rows, int V);

}  // namespace ss::model::cpu
