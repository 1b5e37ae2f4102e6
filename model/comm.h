// Collective communication seen by the model and the trainer: the seam between
// data/tensor parallelism and its transport (MPI on the CPU backend, NCCL on the
// CUDA backend, threads in unit tests). Invariant: every rank of a Comm calls the
// same collectives in the same order with the same counts.
#pragma once

#include <cstddef>

namespace ss::model {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place sum over all ranks of the communicator.
  virtual void allreduce_sum(float* data, std::size_t n) = 0;
  virtual void allreduce_sum(double* data, std::size_t n) = 0;
  // In place: after the call every rank holds root's data.
  virtual void broadcast(float* data, std::size_t n, int root) = 0;
  virtual void barrier() = 0;
};

// The communicator of a single rank: collectives are no-ops.
class SelfComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(float*, std::size_t) override {}
  void allreduce_sum(double*, std::size_t) override {}
  void broadcast(float*, std::size_t, int) override {}
  void barrier() override {}
};

}  // namespace ss::model
