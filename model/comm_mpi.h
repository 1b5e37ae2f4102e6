// MpiComm: the ss::model::Comm seam over an MPI communicator (the CPU backend's transport for
// data- and tensor-parallel collectives), and SS_MPI, the check around every MPI call.
// Invariant: every MPI call of the project goes through SS_MPI, so a failing call throws
// MpiError naming the call's file:line and the world rank instead of aborting silently
// (MpiComm sets MPI_ERRORS_RETURN on its communicator for that reason).
#pragma once

#include <mpi.h>

#include <cstddef>
#include <stdexcept>
#include <string>

#include "model/comm.h"

namespace ss::model {

class MpiError : public std::runtime_error {
 public:
  MpiError(const std::string& message, int code) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Throws MpiError for a result other than MPI_SUCCESS: "mpi error at FILE:LINE (rank R): CALL:
// MPI's message".
void mpi_check(int result, const char* call, const char* file, int line);

// Owns an MPI communicator (freed on destruction) or borrows one (MPI_COMM_WORLD).
class MpiComm final : public Comm {
 public:
  // Takes ownership of `comm` when owned (it is MPI_Comm_free'd); never of MPI_COMM_WORLD/SELF.
  explicit MpiComm(MPI_Comm comm, bool owned);
  ~MpiComm() override;
  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, std::size_t n) override;
  void allreduce_sum(double* data, std::size_t n) override;
  void broadcast(float* data, std::size_t n, int root) override;
  void barrier() override;
  // Broadcast of raw bytes (flags, small structs) over the same communicator.
  void broadcast_bytes(void* data, std::size_t n, int root);

  MPI_Comm handle() const { return comm_; }

 private:
  MPI_Comm comm_;
  bool owned_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace ss::model

#define SS_MPI(call) ::ss::model::mpi_check((call), #call, __FILE__, __LINE__)
