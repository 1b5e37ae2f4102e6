// MpiComm and mpi_check (see comm_mpi.h). Large buffers are reduced in chunks of at most
// INT_MAX elements because MPI counts are int.
#include "model/comm_mpi.h"

#include <algorithm>
#include <climits>

namespace ss::model {

void mpi_check(int result, const char* call, const char* file, int line) {
  if (result == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(result, text, &length) != MPI_SUCCESS) length = 0;
  int world_rank = -1;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  throw MpiError(std::string("mpi error at ") + file + ":" + std::to_string(line) + " (rank " +
                     std::to_string(world_rank) + "): " + call + ": " +
                     std::string(text, static_cast<std::size_t>(length)),
                 result);
}

MpiComm::MpiComm(MPI_Comm comm, bool owned)
    : comm_(comm), owned_(owned && comm != MPI_COMM_WORLD && comm != MPI_COMM_SELF) {
  SS_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  SS_MPI(MPI_Comm_rank(comm_, &rank_));
  SS_MPI(MPI_Comm_size(comm_, &size_));
}

MpiComm::~MpiComm() {
  if (owned_) MPI_Comm_free(&comm_);  // a destructor must not throw; nothing to do on failure
}

namespace {
template <typename T>
void allreduce_chunks(MPI_Comm comm, T* data, std::size_t n, MPI_Datatype type) {
  for (std::size_t done = 0; done < n;) {
    const int count = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
    SS_MPI(MPI_Allreduce(MPI_IN_PLACE, data + done, count, type, MPI_SUM, comm));
    done += static_cast<std::size_t>(count);
  }
}
}  // namespace

void MpiComm::allreduce_sum(float* data, std::size_t n) {
  if (size_ > 1) allreduce_chunks(comm_, data, n, MPI_FLOAT);
}
void MpiComm::allreduce_sum(double* data, std::size_t n) {
  if (size_ > 1) allreduce_chunks(comm_, data, n, MPI_DOUBLE);
}

void MpiComm::broadcast(float* data, std::size_t n, int root) {
  for (std::size_t done = 0; done < n && size_ > 1;) {
    const int count = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
    SS_MPI(MPI_Bcast(data + done, count, MPI_FLOAT, root, comm_));
    done += static_cast<std::size_t>(count);
  }
}

void MpiComm::broadcast_bytes(void* data, std::size_t n, int root) {
  auto* bytes = static_cast<char*>(data);
  for (std::size_t done = 0; done < n && size_ > 1;) {
    const int count = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
    SS_MPI(MPI_Bcast(bytes + done, count, MPI_BYTE, root, comm_));
    done += static_cast<std::size_t>(count);
  }
}

void MpiComm::barrier() {
  SS_MPI(MPI_Barrier(comm_));
}

}  // namespace ss::model
