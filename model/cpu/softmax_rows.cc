// Softmax row loops of causal attention and of the output layer's cross-entropy
// (declared in softmax_rows.h). Invariant: this file holds only these loops, because
// it is compiled with -ffast-math (as gelu.cc, see there): the max and sum reductions
// vectorize and exp is glibc's vector expf; with scalar expf and scalar reductions
// the softmax was half of attention forward (measured with perf at n_ctx 256), and
// the cross-entropy's 256 expf per token the largest single cost of a quickstart
// step at d 8..36. Reassociated sums depend on the vector width, not on the thread
// count: each row is computed by one thread. Cloned per vector width
// (vector_clones.h). A NaN logit still gives a NaN loss (the row's target logit is
// subtracted as is; tested in tests/model/gpt_test.cc).
#include "model/cpu/softmax_rows.h"

#include "model/cpu/vector_clones.h"
#include "model/pointwise.h"

namespace ss::model::cpu {

template <typename T>
SS_VECTOR_CLONES void softmax_rows_causal(T* a, int t0, int rows, int width, int ld, T scale) {
  for (int i = 0; i < rows; ++i) {
    softmax_row_masked(a + static_cast<long>(i) * ld, t0 + i + 1, width, scale);
  }
}

template <typename T>
SS_VECTOR_CLONES void softmax_rows_causal_backward(T* d, const T* a, int t0, int rows, int width,
                                                   int ld, T scale) {
  for (int i = 0; i < rows; ++i) {
    const long o = static_cast<long>(i) * ld;
    softmax_row_backward(d + o, a + o, t0 + i + 1, width, scale);
  }
}

template <typename T>
SS_VECTOR_CLONES void crossentropy_rows(T* losses, T* probs, const T* logits,
                                        const int32_t* targets, int rows, int V) {
  for (int r = 0; r < rows; ++r) {
    const long o = static_cast<long>(r) * V;
    losses[r] = crossentropy_softmax_row(probs + o, logits + o, V, targets[r]);
  }
}

template <typename T>
SS_VECTOR_CLONES void crossentropy_rows_backward(T* dlogits, const T* probs, const int32_t* targets,
                                                 T dloss, int rows, int V) {
  for (int r = 0; r < rows; ++r) {
    const long o = static_cast<long>(r) * V;
    const int t = targets[r];
    for (int v = 0; v < V; ++v) dlogits[o + v] = (probs[o + v] - (v == t ? T(1) : T(0))) * dloss;
  }
}

template void softmax_rows_causal<float>(float*, int, int, int, int, float);
template void softmax_rows_causal<double>(double*, int, int, int, int, double);
template void softmax_rows_causal_backward<float>(float*, const float*, int, int, int, int, float);
template void softmax_rows_causal_backward<double>(double*, const double*, int, int, int, int,
                                                   double);

template void crossentropy_rows<float>(float*, float*, const float*, const int32_t*, int, int);
template void crossentropy_rows<double>(double*, double*, const double*, const int32_t*, int, int);
template void crossentropy_rows_backward<float>(float*, const float*, const int32_t*, float, int,
                                                int);
template void crossentropy_rows_backward<double>(double*, const double*, const int32_t*, double,
                                                 int, int);

}  // namespace ss::model::cpu
