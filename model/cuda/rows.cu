// Row-wise CUDA kernels: LayerNorm forward/backward and softmax+cross-entropy
// forward. Invariant: one thread per row calls the row function of
// model/pointwise.h (the CPU's code); LayerNorm's weight/bias gradients are column
// sums, one thread per column summing rows in order 0..N-1 like model/cpu/.
// Correct first, fast later: a warp/block per row is the planned optimisation.
#include "model/cuda/pointwise_device.h"
// pointwise_device.h must come first (it defines SS_HD).
#include "model/cuda/cuda_check.h"
#include "model/cuda/kernels.h"
#include "model/cuda/launch.h"

namespace ss::model::cuda {
namespace {

__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* inp,
                                         const float* weight, const float* bias, int N, int C) {
  for (int row = blockIdx.x * blockDim.x + threadIdx.x; row < N; row += gridDim.x * blockDim.x) {
    const std::size_t o = static_cast<std::size_t>(row) * C;
    layernorm_row_forward(out + o, mean + row, rstd + row, inp + o, weight, bias, C);
  }
}

__global__ void layernorm_backward_input_kernel(float* dinp, const float* dout, const float* inp,
                                                const float* weight, const float* mean,
                                                const float* rstd, int N, int C) {
  for (int row = blockIdx.x * blockDim.x + threadIdx.x; row < N; row += gridDim.x * blockDim.x) {
    const std::size_t o = static_cast<std::size_t>(row) * C;
    layernorm_row_backward_input(dinp + o, dout + o, inp + o, weight, mean[row], rstd[row], C);
  }
}

__global__ void layernorm_backward_params_kernel(float* dweight, float* dbias, const float* dout,
                                                 const float* inp, const float* mean,
                                                 const float* rstd, int N, int C) {
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
    float dw = 0.0f;
    float db = 0.0f;
    for (int row = 0; row < N; ++row) {
      const std::size_t o = static_cast<std::size_t>(row) * C;
      const float norm = (inp[o + c] - mean[row]) * rstd[row];
      dw += norm * dout[o + c];
      db += dout[o + c];
    }
    dweight[c] += dw;
    dbias[c] += db;
  }
}

__global__ void crossentropy_softmax_forward_kernel(float* losses, float* probs,
                                                    const float* logits, const int32_t* targets,
                                                    int N, int V) {
  for (int row = blockIdx.x * blockDim.x + threadIdx.x; row < N; row += gridDim.x * blockDim.x) {
    const std::size_t o = static_cast<std::size_t>(row) * V;
    losses[row] = crossentropy_softmax_row(probs + o, logits + o, V, targets[row]);
  }
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int B, int T, int C, cudaStream_t stream) {
  const int N = B * T;
  if (N <= 0 || C <= 0) return;
  layernorm_forward_kernel<<<blocks_for(N), kThreadsPerBlock, 0, stream>>>(out, mean, rstd, inp,
                                                                           weight, bias, N, C);
  SS_CUDA_LAUNCH_CHECK();
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int B, int T, int C, cudaStream_t stream) {
  const int N = B * T;
  if (N <= 0 || C <= 0) return;
  layernorm_backward_input_kernel<<<blocks_for(N), kThreadsPerBlock, 0, stream>>>(
      dinp, dout, inp, weight, mean, rstd, N, C);
  SS_CUDA_LAUNCH_CHECK();
  layernorm_backward_params_kernel<<<blocks_for(C), kThreadsPerBlock, 0, stream>>>(
      dweight, dbias, dout, inp, mean, rstd, N, C);
  SS_CUDA_LAUNCH_CHECK();
}

void crossentropy_softmax_forward(float* losses, float* probs, const float* logits,
                                  const int32_t* targets, int B, int T, int V,
                                  cudaStream_t stream) {
  const int N = B * T;
  if (N <= 0 || V <= 0) return;
  crossentropy_softmax_forward_kernel<<<blocks_for(N), kThreadsPerBlock, 0, stream>>>(
      losses, probs, logits, targets, N, V);
  SS_CUDA_LAUNCH_CHECK();
}

}  // namespace ss::model::cuda
