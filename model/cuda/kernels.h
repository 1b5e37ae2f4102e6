// Host launchers of the first CUDA kernels (fp32), each the device twin of a CPU
// layer in model/cpu/ with the same semantics (llm.c signatures, see gelu.h,
// layernorm.h, crossentropy.h, adamw.h). Invariant: every kernel computes with
// the SS_HD functions of model/pointwise.h, the same code the CPU calls, so the
// CPU tests check the GPU's arithmetic; tests/gpu/ compares both on a device.
// All pointers are device pointers; launches are asynchronous on `stream` and
// checked with SS_CUDA_LAUNCH_CHECK (throw CudaError). Sizes of 0 launch nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "model/pointwise.h"

namespace ss::model::cuda {

// out[i] = gelu_tanh(inp[i]).
void gelu_forward(float* out, const float* inp, std::size_t N, cudaStream_t stream);
// dinp[i] = gelu_tanh_grad(inp[i]) * dout[i] (WRITES dinp, as the CPU's).
void gelu_backward(float* dinp, const float* inp, const float* dout, std::size_t N,
                   cudaStream_t stream);

// Rows of C values over (B*T, C); stores per-row mean and rstd.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int B, int T, int C, cudaStream_t stream);
// ACCUMULATES into dinp, dweight, dbias (dweight/dbias: column sums over rows).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int B, int T, int C, cudaStream_t stream);

// losses[bt] = -log softmax(logits row bt)[targets[bt]]; probs may alias logits.
// Targets must be in [0, V) (the CPU backend's callers validate token ids).
void crossentropy_softmax_forward(float* losses, float* probs, const float* logits,
                                  const int32_t* targets, int B, int T, int V, cudaStream_t stream);

// One AdamW step over n contiguous elements (adamw_update_element per element).
void adamw_update(float* params, const float* grads, float* m, float* v, std::size_t n,
                  const AdamWStepParams& h, cudaStream_t stream);

}  // namespace ss::model::cuda
