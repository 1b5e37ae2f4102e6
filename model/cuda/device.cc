// Device discovery, binding and raw allocation (plain C++ against the CUDA
// runtime, so it costs no nvcc time). See device.h for the invariants.
#include "model/cuda/device.h"

#include <cuda_runtime_api.h>

#include <string>

#include "model/cuda/cuda_check.h"

namespace ss::model::cuda {

int cuda_device_count() noexcept {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    // No driver / no device: clear the (non-sticky) error so that the next
    // runtime call does not report it, and say "no GPU".
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

void cuda_bind_device(int device) {
  const int count = cuda_device_count();
  if (device < 0 || device >= count) {
    throw CudaError("cuda_bind_device: device " + std::to_string(device) + " out of range (" +
                    std::to_string(count) + " CUDA devices on host " + cuda_host_name() + ")");
  }
  SS_CUDA(cudaSetDevice(device));
}

void* cuda_malloc_bytes(std::size_t bytes) {
  void* ptr = nullptr;
  if (bytes == 0) return nullptr;
  SS_CUDA(cudaMalloc(&ptr, bytes));
  return ptr;
}

void cuda_free_noexcept(void* ptr) noexcept {
  if (ptr != nullptr) (void)cudaFree(ptr);  // a destructor must not throw
}

void copy_to_device_bytes(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  SS_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_to_host_bytes(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  SS_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

}  // namespace ss::model::cuda
