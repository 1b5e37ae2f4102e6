// AdamW hyper-parameters and the per-buffer update, plus the reductions used by
// gradient clipping. Invariant: the update of each element is
// adamw_update_element (pointwise.h); m and v are contiguous like the params.
#pragma once

#include <cstddef>

#include "model/pointwise.h"

namespace ss::model {

// Defaults of the issue: beta1 0.9, beta2 0.95, eps 1e-8. Weight decay is applied
// to matrices only (see ParamKind in gpt_layout.h: the four block matrices and the wte/wpe
// embeddings; never biases or LayerNorm parameters).
struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
};

namespace cpu {

template <typename T>
void adamw_update(T* params, const T* grads, T* m, T* v, std::size_t n, const AdamWStepParams& h);

// Sum of squares in double (the clipping norm must not lose small gradients).
template <typename T>
double sum_squares(const T* x, std::size_t n);

template <typename T>
void scale_inplace(T* x, std::size_t n, T factor);

}  // namespace cpu
}  // namespace ss::model
