// Row loops of causal attention's softmax, forward and backward, over one block of
// query rows. Defined in softmax_rows.cc, which is compiled with -ffast-math like
// gelu.cc (so the max/sum reductions vectorize and exp is glibc's vector expf).
// Invariant: row i of the block is query position t0 + i and has t0 + i + 1 valid
// (unmasked) entries; rows are `ld` apart.
#pragma once

namespace ss::model::cpu {

// Softmax of each row's valid entries after scaling (softmax_row_masked of
// pointwise.h), in place; entries [t0 + i + 1, width) of row i are set to 0.
template <typename T>
void softmax_rows_causal(T* a, int t0, int rows, int width, int ld, T scale);

// Softmax backward in place: d <- a * (d - sum(a * d)) * scale over each row's valid
// entries (softmax_row_backward of pointwise.h); entries [t0 + i + 1, width) -> 0.
template <typename T>
void softmax_rows_causal_backward(T* d, const T* a, int t0, int rows, int width, int ld, T scale);

}  // namespace ss::model::cpu
