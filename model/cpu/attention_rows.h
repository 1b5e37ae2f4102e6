// Direct causal attention of one (batch, head) for small heads (head size <= 32):
// the score rows, softmax and value sums as vector loops over exactly the causal
// entries, instead of BLAS calls on 64-row blocks, whose fixed cost per call (six
// per head and layer) dominated at the quickstart's head sizes (3..18). Defined in
// attention_rows.cc, compiled with -ffast-math and cloned per vector width like
// softmax_rows.cc. Invariant: the same math and the same stored probabilities (row
// i of `att` holds i + 1 probabilities, then zeros) as the BLAS path of
// layers_blas.cc; one call touches only its own head's rows of q, k, v, dq, dk, dv.
#pragma once

#include <cstddef>

namespace ss::model::cpu {

// Head sizes the direct kernels take; larger heads use the blocked BLAS path.
inline constexpr int kAttDirectMaxHead = 32;

// Elements of the per-thread `work` buffer the two kernels below need at n_ctx T_.
std::size_t attention_head_work(int T_);

// out[i] = sum_{j <= i} softmax(scale * q[i] . k[j])_j v[j] for i < T_; att (T_ x T_)
// receives the probabilities. q, k, v rows are `ld` apart, out rows `ld_out`.
template <typename T>
void attention_head_forward(T* out, T* att, const T* q, const T* k, const T* v, int T_, int hs,
                            int ld, int ld_out, T scale, T* work);

// Writes this head's gradients dq, dk, dv (rows `ld` apart; old values never read) from dy
// (rows `ld_dy` apart) and the forward's probabilities att.
template <typename T>
void attention_head_backward(T* dq, T* dk, T* dv, const T* dy, const T* q, const T* k, const T* v,
                             const T* att, int T_, int hs, int ld, int ld_dy, T scale, T* work);

}  // namespace ss::model::cpu
