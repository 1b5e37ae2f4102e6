// In-process thread Comm (see comm_threads.h).
#include "model/comm_threads.h"

#include <cstring>
#include <stdexcept>

namespace ss::model {

ThreadCommGroup::ThreadCommGroup(int n) : n_(n), barrier_(n), slots_(n, nullptr) {
  if (n <= 0) throw std::invalid_argument("ThreadCommGroup: size must be > 0");
}

template <typename T>
void ThreadComm::allreduce_impl(T* data, std::size_t n) {
  const int size = group_.size();
  group_.slots_[rank_] = data;
  group_.barrier_.arrive_and_wait();  // every rank has posted its buffer
  std::vector<T> sum(n, T(0));
  for (int r = 0; r < size; ++r) {
    const T* src = static_cast<const T*>(group_.slots_[r]);
    for (std::size_t i = 0; i < n; ++i) sum[i] += src[i];
  }
  group_.barrier_.arrive_and_wait();  // nobody overwrites an input still being read
  std::memcpy(data, sum.data(), n * sizeof(T));
  group_.barrier_.arrive_and_wait();  // slots may be reused by the next collective
}

void ThreadComm::allreduce_sum(float* data, std::size_t n) {
  allreduce_impl(data, n);
}
void ThreadComm::allreduce_sum(double* data, std::size_t n) {
  allreduce_impl(data, n);
}

void ThreadComm::broadcast(float* data, std::size_t n, int root) {
  group_.slots_[rank_] = data;
  group_.barrier_.arrive_and_wait();
  if (rank_ != root) std::memcpy(data, group_.slots_[root], n * sizeof(float));
  group_.barrier_.arrive_and_wait();
}

void ThreadComm::barrier() {
  group_.barrier_.arrive_and_wait();
}

}  // namespace ss::model
