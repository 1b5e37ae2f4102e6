// Data and tensor parallelism of the GPT model over real MPI (MpiComm under mpirun): 50 clipped
// AdamW steps of dp = 2, tp = 2 (and dp = 2 x tp = 2 at 4 ranks) against dp = tp = 1 on the same
// global batch and seed, computed on every rank locally. Losses must agree within 1e-4 relative
// at every step (the bound; only the float summation order differs).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/comm_mpi.h"
#include "model/gpt.h"

namespace ss::model {
namespace {

const GptConfig kCfg{2, 32, 4, 128, 16, 64};  // n_layer, d_model, n_head, d_ff, n_ctx, vocab
constexpr int kBatch = 4, kT = 16, kSteps = 50;

// Step s's global batch: kBatch sequences of inputs and next-token targets.
std::vector<int32_t> batch_tokens(int step, int which) {
  std::mt19937_64 gen(1000 * step + which);
  std::vector<int32_t> t(kBatch * kT);
  for (auto& x : t) x = static_cast<int32_t>(gen() % kCfg.vocab);
  return t;
}

// Trains kSteps; this rank takes sequences [dp_rank * B/dp, ...) of each global batch. Returns
// the global mean loss per step (mean over the dp ranks' equal slices).
std::vector<double> train(Comm& dp, Comm* tp) {
  const int local_batch = kBatch / dp.size();
  Gpt model(kCfg, local_batch, tp);
  model.init_params(1234);
  const AdamWConfig opt{};
  std::vector<double> losses;
  for (int step = 1; step <= kSteps; ++step) {
    const auto x = batch_tokens(step, 0), y = batch_tokens(step, 1);
    const std::size_t offset = static_cast<std::size_t>(dp.rank() * local_batch * kT);
    model.zero_grad();
    double loss = model.forward(x.data() + offset, y.data() + offset, local_batch, kT);
    model.backward();
    model.allreduce_grads_mean(dp);
    model.clip_grad_norm(1.0);
    model.adamw_step(opt, 3e-3, step);
    dp.allreduce_sum(&loss, 1);
    losses.push_back(loss / dp.size());
  }
  return losses;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-4 * std::abs(want[i])) << "step " << i + 1;
  }
  // The run trains (sanity: the comparison is not between two constant sequences).
  EXPECT_LT(want.back(), want.front());
}

std::vector<double> reference() {
  SelfComm self;
  return train(self, nullptr);
}

TEST(ParallelMpi, DataParallelEqualsSingleRank) {
  MpiComm world(MPI_COMM_WORLD, false);
  if (world.size() != 2 && world.size() != 4) GTEST_FAIL() << "needs 2 or 4 ranks (tests/mpi/CMakeLists.txt)";
  expect_close(train(world, nullptr), reference());
}

TEST(ParallelMpi, TensorParallelEqualsSingleRank) {
  MpiComm world(MPI_COMM_WORLD, false);
  if (world.size() != 2 && world.size() != 4) GTEST_FAIL() << "needs 2 or 4 ranks (tests/mpi/CMakeLists.txt)";
  SelfComm no_dp;
  expect_close(train(no_dp, &world), reference());
}

TEST(ParallelMpi, DataTimesTensorParallelEqualsSingleRank) {
  MpiComm world(MPI_COMM_WORLD, false);
  if (world.size() != 4) GTEST_FAIL() << "needs 4 ranks (tests/mpi/CMakeLists.txt)";
  // tp groups: consecutive ranks {0,1}, {2,3}; dp groups: {0,2}, {1,3} (as the runner forms).
  MPI_Comm tp_handle = MPI_COMM_NULL, dp_handle = MPI_COMM_NULL;
  SS_MPI(MPI_Comm_split(MPI_COMM_WORLD, world.rank() / 2, world.rank() % 2, &tp_handle));
  SS_MPI(MPI_Comm_split(MPI_COMM_WORLD, world.rank() % 2, world.rank() / 2, &dp_handle));
  MpiComm tp(tp_handle, true), dp(dp_handle, true);
  expect_close(train(dp, &tp), reference());
}

}  // namespace
}  // namespace ss::model
