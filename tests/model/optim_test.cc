// AdamW, the lr schedule and gradient clipping against values computed here from
// the published formulas (not from the code under test), plus bad schedules.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "model/adamw.h"
#include "model/comm_threads.h"
#include "model/cpu_threads.h"
#include "model/gpt.h"
#include "model/schedule.h"
#include "ss/error.h"

namespace ss::model {
namespace {

TEST(AdamW, TwoStepsMatchFormula) {
  // PyTorch's AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  // p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
  const double lr = 0.01, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  std::vector<double> p = {0.5, -1.0, 2.0}, m(3, 0), v(3, 0);
  const std::vector<std::vector<double>> g = {{0.1, -0.2, 0.0}, {0.3, 0.1, -0.5}};
  // By hand for element 0: step 1: m = 0.01, v = 0.0005, m_hat = 0.1, v_hat = 0.01,
  // p = 0.5 * 0.999 - 0.01 * 0.1 / (0.1 + 1e-8) = 0.4995 - 0.009999999 = 0.489500001.
  std::vector<double> expect = p, em(3, 0), ev(3, 0);
  for (int t = 1; t <= 2; ++t) {
    for (int i = 0; i < 3; ++i) {
      const double gi = g[t - 1][i];
      em[i] = b1 * em[i] + (1 - b1) * gi;
      ev[i] = b2 * ev[i] + (1 - b2) * gi * gi;
      expect[i] *= 1 - lr * wd;
      expect[i] -=
          lr * (em[i] / (1 - std::pow(b1, t))) / (std::sqrt(ev[i] / (1 - std::pow(b2, t))) + eps);
    }
    if (t == 1) {
      EXPECT_NEAR(expect[0], 0.489500001, 1e-12);
    }
    AdamWStepParams h{float(lr),
                      float(b1),
                      float(b2),
                      float(eps),
                      float(wd),
                      float(1 - std::pow(b1, t)),
                      float(1 - std::pow(b2, t))};
    cpu::adamw_update(p.data(), g[t - 1].data(), m.data(), v.data(), 3, h);
    for (int i = 0; i < 3; ++i) {
      // Hyper-parameters pass through float: relative 1e-6 is the float rounding.
      EXPECT_NEAR(p[i], expect[i], 1e-6 * std::abs(expect[i]) + 1e-12) << "t " << t << " i " << i;
      EXPECT_NEAR(m[i], em[i], 1e-6 * std::abs(em[i]) + 1e-15);
      EXPECT_NEAR(v[i], ev[i], 1e-6 * std::abs(ev[i]) + 1e-15);
    }
  }
}

TEST(AdamW, DecaysMatricesOnlyInTheModel) {
  // With zero gradients an AdamW step only applies decay: p *= 1 - lr*wd for
  // matrices (wte, wpe, qkvw, attprojw, fcw, fcprojw), unchanged elsewhere.
  const GptConfig c{1, 8, 2, 16, 4, 10};
  GptT<double> model(c, 1);
  model.init_params(1);
  // Make biases non-zero so "unchanged" is meaningful.
  for (const ParamTensor* t : model.layout().params.fields())
    if (!t->weight_decay)
      for (std::size_t i = 0; i < t->count; ++i) model.params()[t->offset + i] = 0.25;
  const std::vector<double> before(model.params().begin(), model.params().end());
  model.zero_grad();
  AdamWConfig opt;
  opt.weight_decay = 0.1f;
  model.adamw_step(opt, 0.5, 1);
  const double factor = 1.0 - 0.5 * double(0.1f);
  for (const ParamTensor* t : model.layout().params.fields()) {
    const bool matrix = t->name == "wte" || t->name == "wpe" || t->name == "qkvw" ||
                        t->name == "attprojw" || t->name == "fcw" || t->name == "fcprojw";
    EXPECT_EQ(t->weight_decay, matrix) << t->name;
    for (std::size_t i = t->offset; i < t->offset + t->count; ++i) {
      EXPECT_NEAR(model.params()[i], matrix ? before[i] * factor : before[i], 1e-15) << t->name;
    }
  }
}

TEST(LrSchedule, WarmupThenCosineToTenPercent) {
  const LrSchedule s{1e-3, 10, 101, 0.1};
  EXPECT_NEAR(lr_at(s, 0), 1e-4, 1e-15);  // (0+1)/10 of peak
  EXPECT_NEAR(lr_at(s, 4), 5e-4, 1e-15);
  EXPECT_NEAR(lr_at(s, 9), 1e-3, 1e-15);
  EXPECT_NEAR(lr_at(s, 10), 1e-3, 1e-15);  // cosine starts at peak
  // Halfway through the 90 decay steps cos(pi/2) = 0: min + (peak-min)/2.
  EXPECT_NEAR(lr_at(s, 55), 1e-4 + 0.5 * 9e-4, 1e-15);
  // 22 of the 90 decay steps: min + (peak-min) * (1 + cos(pi * 22/90)) / 2.
  EXPECT_NEAR(lr_at(s, 32), 1e-4 + 9e-4 * (1 + std::cos(M_PI * 22.0 / 90.0)) / 2, 1e-15);
  EXPECT_NEAR(lr_at(s, 100), 1e-4, 1e-15);  // the last step is at the floor
  EXPECT_NEAR(lr_at(s, 500), 1e-4, 1e-15);
}

TEST(LrSchedule, RejectsBadSchedules) {
  EXPECT_THROW(validate_lr_schedule(LrSchedule{-1e-3, 0, 10, 0.1}), InputError);
  EXPECT_THROW(validate_lr_schedule(LrSchedule{1e-3, 0, 0, 0.1}), InputError);
  EXPECT_THROW(validate_lr_schedule(LrSchedule{1e-3, 20, 10, 0.1}), InputError);
  EXPECT_THROW(validate_lr_schedule(LrSchedule{1e-3, 0, 10, 1.5}), InputError);
  EXPECT_THROW(validate_lr_schedule(LrSchedule{NAN, 0, 10, 0.1}), InputError);
  EXPECT_NO_THROW(validate_lr_schedule(LrSchedule{1e-3, 10, 10, 0.1}));
}

TEST(Clipping, NormAndScaleByHand) {
  const GptConfig c{1, 8, 2, 16, 4, 10};
  Gpt model(c, 1);
  model.init_params(1);
  model.zero_grad();
  auto g = model.grads();
  g[0] = 3.0f;             // in wte
  g[g.size() - 1] = 4.0f;  // in lnfb
  EXPECT_NEAR(model.grad_norm(), 5.0, 1e-12);
  const double pre = model.clip_grad_norm(1.0);
  EXPECT_NEAR(pre, 5.0, 1e-12);
  EXPECT_NEAR(g[0], 3.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_NEAR(g[g.size() - 1], 4.0 / (5.0 + 1e-6), 1e-7);
  // Below the threshold nothing changes.
  const double pre2 = model.clip_grad_norm(10.0);
  EXPECT_NEAR(pre2, 1.0, 1e-6);
  EXPECT_NEAR(g[0], 3.0 / (5.0 + 1e-6), 1e-7);
}

TEST(Clipping, TensorParallelCountsReplicatedOnceAndShardsOnce) {
  // tp = 2: each rank sets 2 in a sharded tensor (qkvw) and 1 in a replicated one
  // (lnfw, identical on both). Global norm = sqrt(2^2 + 2^2 + 1^2) = 3.
  const GptConfig c{1, 8, 2, 16, 4, 10};
  ThreadCommGroup group(2);
  std::vector<double> norms(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      ThreadComm comm(group, r);
      Gpt model(c, 1, &comm);
      model.init_params(1);
      model.zero_grad();
      model.grads()[model.layout().params.qkvw.offset + 3] = 2.0f;
      model.grads()[model.layout().params.lnfw.offset] = 1.0f;
      norms[r] = model.grad_norm();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_NEAR(norms[0], 3.0, 1e-12);
  EXPECT_NEAR(norms[1], 3.0, 1e-12);
}

TEST(CpuThreads, SetAndGet) {
  const int before = cpu_threads();
  cpu_set_threads(1);
  EXPECT_EQ(cpu_threads(), 1);
  cpu_set_threads(before);
  EXPECT_EQ(cpu_threads(), before);
  EXPECT_THROW(cpu_set_threads(0), std::invalid_argument);
}

}  // namespace
}  // namespace ss::model
