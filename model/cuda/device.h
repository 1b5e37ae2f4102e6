// Device discovery and binding, and an owning device buffer for the CUDA backend.
// Invariant: cuda_device_count() never throws (0 when there is no GPU or no
// driver, so CPU-only machines and CI can ask); everything else throws CudaError.
#pragma once

#include <cstddef>
#include <memory>

namespace ss::model::cuda {

// Number of usable CUDA devices; 0 if there is no device or no (new enough) driver.
int cuda_device_count() noexcept;

// Makes `device` current for the calling host thread (e.g. the node-local rank
// modulo cuda_device_count()). Throws CudaError if out of range or on failure.
void cuda_bind_device(int device);

// cudaMalloc / cudaFree without exceptions from the destructor.
void* cuda_malloc_bytes(std::size_t bytes);
void cuda_free_noexcept(void* ptr) noexcept;

struct CudaFree {
  void operator()(void* ptr) const noexcept { cuda_free_noexcept(ptr); }
};

// n values of T in device memory (uninitialised), freed on destruction.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t n)
      : ptr_(static_cast<T*>(cuda_malloc_bytes(n * sizeof(T)))), size_(n) {}
  T* data() const { return ptr_.get(); }
  std::size_t size() const { return size_; }

 private:
  std::unique_ptr<T, CudaFree> ptr_;
  std::size_t size_;
};

// Synchronous whole-array copies (tests and setup; the backend will use streams).
void copy_to_device_bytes(void* dst, const void* src, std::size_t bytes);
void copy_to_host_bytes(void* dst, const void* src, std::size_t bytes);

}  // namespace ss::model::cuda
