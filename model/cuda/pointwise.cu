// Elementwise CUDA kernels: GELU forward/backward and the AdamW update. Invariant:
// each thread calls the SS_HD function of model/pointwise.h on its elements, the
// same code as model/cpu/ (grid-stride loops, one element per iteration).
#include "model/cuda/pointwise_device.h"
// pointwise_device.h must come first (it defines SS_HD).
#include "model/cuda/cuda_check.h"
#include "model/cuda/kernels.h"
#include "model/cuda/launch.h"

namespace ss::model::cuda {
namespace {

__global__ void gelu_forward_kernel(float* out, const float* inp, std::size_t N) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < N;
       i += stride) {
    out[i] = gelu_tanh(inp[i]);
  }
}

__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout,
                                     std::size_t N) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < N;
       i += stride) {
    dinp[i] = gelu_tanh_grad(inp[i]) * dout[i];
  }
}

// h by value: kernel arguments are copied to the device at launch.
__global__ void adamw_update_kernel(float* params, const float* grads, float* m, float* v,
                                    std::size_t n, AdamWStepParams h) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    adamw_update_element(params + i, grads[i], m + i, v + i, h);
  }
}

}  // namespace

void gelu_forward(float* out, const float* inp, std::size_t N, cudaStream_t stream) {
  if (N == 0) return;
  gelu_forward_kernel<<<blocks_for(N), kThreadsPerBlock, 0, stream>>>(out, inp, N);
  SS_CUDA_LAUNCH_CHECK();
}

void gelu_backward(float* dinp, const float* inp, const float* dout, std::size_t N,
                   cudaStream_t stream) {
  if (N == 0) return;
  gelu_backward_kernel<<<blocks_for(N), kThreadsPerBlock, 0, stream>>>(dinp, inp, dout, N);
  SS_CUDA_LAUNCH_CHECK();
}

void adamw_update(float* params, const float* grads, float* m, float* v, std::size_t n,
                  const AdamWStepParams& h, cudaStream_t stream) {
  if (n == 0) return;
  adamw_update_kernel<<<blocks_for(n), kThreadsPerBlock, 0, stream>>>(params, grads, m, v, n, h);
  SS_CUDA_LAUNCH_CHECK();
}

}  // namespace ss::model::cuda
