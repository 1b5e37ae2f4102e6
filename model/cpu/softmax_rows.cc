// Causal attention's softmax row loops (declared in softmax_rows.h). Invariant: this
// file holds only these loops, because it is compiled with -ffast-math (as gelu.cc,
// see there): the max and sum reductions vectorize and exp is glibc's vector expf;
// with scalar expf and scalar reductions the softmax was half of attention forward
// (measured with perf at n_ctx 256). Reassociated sums depend on the vector width,
// not on the thread count: each row is computed by one thread. Cloned per vector
// width (vector_clones.h).
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

template void softmax_rows_causal<float>(float*, int, int, int, int, float);
template void softmax_rows_causal<double>(double*, int, int, int, int, double);
template void softmax_rows_causal_backward<float>(float*, const float*, int, int, int, int, float);
template void softmax_rows_causal_backward<double>(double*, const double*, int, int, int, int,
                                                   double);

}  // namespace ss::model::cpu
