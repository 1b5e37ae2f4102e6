// A contiguous, owning array of T allocated by a backend (host memory for the CPU
// backend, device memory for CUDA). Invariant: move-only; the memory is released
// exactly once by the deleter the backend supplied; contents start zeroed.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace ss::model {

template <typename T>
class Buffer {
 public:
  using Deleter = void (*)(void*);
  Buffer() : data_(nullptr, &noop_free) {}
  Buffer(T* data, std::size_t n, Deleter free_fn) : data_(data, free_fn), size_(n) {}

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  std::span<T> span() { return {data_.get(), size_}; }
  std::span<const T> span() const { return {data_.get(), size_}; }

 private:
  static void noop_free(void*) {}
  std::unique_ptr<T, Deleter> data_;
  std::size_t size_ = 0;
};

}  // namespace ss::model
