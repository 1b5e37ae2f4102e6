// An in-process Comm across std::threads, for tests of tensor/data parallelism
// without MPI. Invariant: every rank computes each all-reduce as the sum over
// ranks 0..n-1 in that order, so all ranks get bit-identical results (like a
// deterministic MPI_Allreduce).
#pragma once

#include <barrier>
#include <cstddef>
#include <memory>
#include <vector>

#include "model/comm.h"

namespace ss::model {

// Shared state of one group of n thread-ranks; create one, then one ThreadComm
// per rank (each used by exactly one thread).
class ThreadCommGroup {
 public:
  explicit ThreadCommGroup(int n);
  int size() const { return n_; }

 private:
  friend class ThreadComm;
  int n_;
  std::barrier<> barrier_;
  std::vector<void*> slots_;  // each rank's buffer during a collective
};

class ThreadComm final : public Comm {
 public:
  ThreadComm(ThreadCommGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size(); }
  void allreduce_sum(float* data, std::size_t n) override;
  void allreduce_sum(double* data, std::size_t n) override;
  void broadcast(float* data, std::size_t n, int root) override;
  void barrier() override;

 private:
  template <typename T>
  void allreduce_impl(T* data, std::size_t n);
  ThreadCommGroup& group_;
  int rank_;
};

}  // namespace ss::model
