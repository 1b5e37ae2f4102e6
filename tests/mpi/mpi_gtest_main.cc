// main() of the GoogleTest programs that run under mpirun: MPI_Init, every rank runs every test
// (collectives need all ranks), only rank 0 prints, and the exit code is non-zero when a test
// failed on any rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    // Release hands ownership to us; the unique_ptr deletes the printer.
    std::unique_ptr<::testing::TestEventListener>(
        listeners.Release(listeners.default_result_printer()));
  }
  const int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any_failed;
}
