// Megatron tensor parallelism over the in-process thread Comm: tp = 2 and tp = 4
// against tp = 1 on the same batch and seed, over a few clipped AdamW steps.
// Checks: init slices equal the tp = 1 parameters exactly, losses and grad norms
// agree within 1e-5 relative, gradients (sliced through gpt_tp_shard_map) agree
// per tensor within 1e-5 relative (fp32, only the summation order differs), and
// replicated tensors' gradients are bit-identical on every rank.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "model/comm_threads.h"
#include "model/gpt.h"

namespace ss::model {
namespace {

struct StepRecord {
  std::vector<float> losses;
  std::vector<double> norms;
  std::vector<std::vector<float>> grads;  // after backward, before clipping, per step
  std::vector<float> init_params;
};

constexpr int kSteps = 3;
const GptConfig kCfg{2, 32, 4, 64, 16, 64};
constexpr int kB = 3, kT = 16;

std::vector<int32_t> tokens(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int32_t> t(kB * kT);
  for (auto& x : t) x = static_cast<int32_t>(gen() % kCfg.vocab);
  return t;
}

void train(Gpt& model, StepRecord& rec) {
  const auto x = tokens(11), y = tokens(12);
  const AdamWConfig opt{};
  model.init_params(99);
  rec.init_params.assign(model.params().begin(), model.params().end());
  for (int step = 0; step < kSteps; ++step) {
    model.zero_grad();
    rec.losses.push_back(model.forward(x.data(), y.data(), kB, kT));
    model.backward();
    rec.grads.emplace_back(model.grads().begin(), model.grads().end());
    rec.norms.push_back(model.clip_grad_norm(0.5));  // clipping is active: norms are > 0.5
    model.adamw_step(opt, 1e-2, step + 1);
  }
}

std::vector<StepRecord> run_tp(int tp) {
  std::vector<StepRecord> recs(tp);
  ThreadCommGroup group(tp);
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(tp);
  for (int r = 0; r < tp; ++r) {
    threads.emplace_back([&, r] {
      try {
        ThreadComm comm(group, r);
        Gpt model(kCfg, kB, &comm);
        train(model, recs[r]);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return recs;
}

double rel_err(const std::vector<float>& local, const std::vector<float>& full,
               const std::vector<std::size_t>& map, std::size_t off, std::size_t n) {
  double diff = 0, norm = 0;
  for (std::size_t i = off; i < off + n; ++i) {
    const double a = local[i], b = full[map[i]];
    diff += (a - b) * (a - b);
    norm += b * b;
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

class TensorParallel : public ::testing::TestWithParam<int> {};

TEST_P(TensorParallel, MatchesSingleRank) {
  const int tp = GetParam();
  const auto ref = run_tp(1);
  const auto recs = run_tp(tp);
  const auto layout = gpt_param_layout(kCfg, tp);
  for (int r = 0; r < tp; ++r) {
    const auto map = gpt_tp_shard_map(kCfg, tp, r);
    for (std::size_t i = 0; i < map.size(); ++i) {
      ASSERT_EQ(recs[r].init_params[i], ref[0].init_params[map[i]])
          << "rank " << r << " elem " << i;
    }
    for (int s = 0; s < kSteps; ++s) {
      EXPECT_NEAR(recs[r].losses[s], ref[0].losses[s], 1e-5 * ref[0].losses[s])
          << "rank " << r << " step " << s;
      EXPECT_GT(ref[0].norms[s], 0.5);
      EXPECT_NEAR(recs[r].norms[s], ref[0].norms[s], 1e-5 * ref[0].norms[s]) << "step " << s;
      for (const auto& t : layout) {
        EXPECT_LE(rel_err(recs[r].grads[s], ref[0].grads[s], map, t.offset, t.count), 1e-5)
            << t.name << " rank " << r << " step " << s;
        if (!t.sharded && r > 0) {
          for (std::size_t i = t.offset; i < t.offset + t.count; ++i)
            ASSERT_EQ(recs[r].grads[s][i], recs[0].grads[s][i]) << t.name << " replicated";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, TensorParallel, ::testing::Values(2, 4));

TEST(DataParallel, MeanOfHalfBatchGradsEqualsFullBatchGrads) {
  // dp = 2: each rank takes half of the batch; after allreduce_grads_mean every
  // rank holds the gradient of the full batch's mean loss.
  const auto x = tokens(21), y = tokens(22);  // the first 2 of the kB sequences
  Gpt full(kCfg, 2);
  full.init_params(5);
  full.zero_grad();
  full.forward(x.data(), y.data(), 2, kT);
  full.backward();
  const std::vector<float> ref(full.grads().begin(), full.grads().end());
  ThreadCommGroup group(2);
  std::vector<std::vector<float>> grads(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      ThreadComm comm(group, r);
      Gpt model(kCfg, 1);
      model.init_params(5);
      model.zero_grad();
      model.forward(x.data() + r * kT, y.data() + r * kT, 1, kT);
      model.backward();
      model.allreduce_grads_mean(comm);
      grads[r].assign(model.grads().begin(), model.grads().end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(grads[0], grads[1]);
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff += (grads[0][i] - ref[i]) * double(grads[0][i] - ref[i]);
    norm += double(ref[i]) * ref[i];
  }
  EXPECT_LE(std::sqrt(diff / norm), 1e-5);
}

TEST(ThreadComm, AllreduceAndBroadcast) {
  const int n = 3;
  ThreadCommGroup group(n);
  std::vector<std::vector<float>> data(n);
  std::vector<std::vector<float>> bcast(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      ThreadComm comm(group, r);
      data[r] = {float(r), float(10 * r), 1.0f};
      comm.allreduce_sum(data[r].data(), 3);
      bcast[r] = {float(r), float(r)};
      comm.broadcast(bcast[r].data(), 2, 2);
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(data[r], (std::vector<float>{3.0f, 30.0f, 3.0f}));
    EXPECT_EQ(bcast[r], (std::vector<float>{2.0f, 2.0f}));
  }
}

}  // namespace
}  // namespace ss::model
