// MpiComm under a real `mpirun -np N`: all-reduce of floats/doubles (including a buffer split
// into chunks), broadcast, barrier and the error path of SS_MPI. Run by CTest through mpirun
// (main: mpi_gtest_main.cc).
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>
#include <numeric>
#include <vector>

#include "model/comm_mpi.h"

namespace ss::model {
namespace {

TEST(MpiComm, AllreduceSumFloatAndDouble) {
  MpiComm world(MPI_COMM_WORLD, false);
  const int n = world.size();
  // Rank r contributes r+1 at every element: the sum is n(n+1)/2, exact in float.
  std::vector<float> f(1000, static_cast<float>(world.rank() + 1));
  world.allreduce_sum(f.data(), f.size());
  for (float v : f) ASSERT_EQ(v, static_cast<float>(n * (n + 1) / 2));
  std::vector<double> d(3, 0.5 * (world.rank() + 1));
  world.allreduce_sum(d.data(), d.size());
  for (double v : d) ASSERT_EQ(v, 0.25 * n * (n + 1));
}

TEST(MpiComm, BroadcastFromEveryRoot) {
  MpiComm world(MPI_COMM_WORLD, false);
  for (int root = 0; root < world.size(); ++root) {
    std::vector<float> v(17, world.rank() == root ? 100.0f + root : -1.0f);
    world.broadcast(v.data(), v.size(), root);
    for (float x : v) ASSERT_EQ(x, 100.0f + root);
    unsigned char flag = world.rank() == root ? 7 : 0;
    world.broadcast_bytes(&flag, 1, root);
    ASSERT_EQ(flag, 7);
  }
  world.barrier();
}

TEST(MpiComm, SplitCommunicatorIsOwnedAndFreed) {
  MpiComm world(MPI_COMM_WORLD, false);
  MPI_Comm half = MPI_COMM_NULL;
  SS_MPI(MPI_Comm_split(MPI_COMM_WORLD, world.rank() % 2, world.rank(), &half));
  MpiComm sub(half, true);
  std::vector<float> v(4, 1.0f);
  sub.allreduce_sum(v.data(), v.size());
  const int expected = (world.size() + (world.rank() % 2 == 0 ? 1 : 0)) / 2;
  EXPECT_EQ(sub.size(), expected);
  EXPECT_EQ(v[0], static_cast<float>(expected));
}

TEST(MpiComm, FailingCallThrowsWithFileAndLine) {
  MpiComm world(MPI_COMM_WORLD, false);  // sets MPI_ERRORS_RETURN on the world
  float x = 1;
  try {
    SS_MPI(MPI_Bcast(&x, 1, MPI_FLOAT, world.size() + 5, MPI_COMM_WORLD));  // invalid root
    FAIL() << "no throw";
  } catch (const MpiError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("comm_mpi_test.cc:"), std::string::npos) << what;
    EXPECT_NE(what.find("MPI_Bcast"), std::string::npos) << what;
    EXPECT_NE(what.find("rank "), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace ss::model
