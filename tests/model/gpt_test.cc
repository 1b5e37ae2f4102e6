// Whole-model tests of GptT: parameter count formula, whole-model gradient check
// in fp64, loss at init ~ ln(vocab), memorisation of a repeating pattern,
// gradient accumulation, determinism of init, non-finite parameters reaching the loss
// (through the fast-math softmax rows), and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "model/gpt.h"
#include "model/schedule.h"
#include "ss/error.h"
#include "tests/model/gradcheck.h"

namespace ss::model {
namespace {

std::vector<int32_t> random_tokens(std::size_t n, int vocab, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(gen() % vocab);
  return t;
}

TEST(Gpt, ParameterCountMatchesFormula) {
  const GptConfig c{3, 48, 4, 192, 32, 100};
  const int64_t V = 100, C = 48, T = 32, L = 3, F = 192;
  const int64_t expect =
      V * C + T * C + L * (2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + F * C + F + C * F + C) +
      2 * C;
  const GptParamCounts counts = gpt_param_counts(c);
  EXPECT_EQ(counts.total, expect);
  EXPECT_EQ(counts.embedding, V * C + T * C);
  EXPECT_EQ(counts.non_embedding, L * (4 * C * C + 2 * C * F));  // weight matrices only
  Gpt model(c, 1);
  EXPECT_EQ(static_cast<int64_t>(model.num_params()), expect);
}

TEST(Gpt, WholeModelGradcheckFp64) {
  const GptConfig c{2, 8, 2, 12, 5, 11};
  GptT<double> model(c, 2);
  model.init_params(7);
  // Larger weights than GPT-2's 0.02 so every path contributes visibly.
  for (double& p : model.params()) p *= 20.0;
  const int B = 2, T = 5;
  const auto x = random_tokens(B * T, c.vocab, 1);
  const auto y = random_tokens(B * T, c.vocab, 2);
  model.zero_grad();
  model.forward(x.data(), y.data(), B, T);
  model.backward();
  const std::vector<double> analytic(model.grads().begin(), model.grads().end());
  auto f = [&] { return model.forward(x.data(), y.data(), B, T); };
  // h = 1e-6: the scaled-up weights make the loss curved enough that h = 1e-5
  // leaves O(h^2) truncation error near 1e-6; round-off at 1e-6 is ~1e-10.
  const auto numeric = testing::numeric_grad(f, model.params().data(), model.num_params(), 1e-6);
  for (const ParamTensor* t : model.layout().params.fields()) {
    EXPECT_LE(
        testing::relative_error(analytic.data() + t->offset, numeric.data() + t->offset, t->count),
        1e-6)
        << t->name;
  }
}

TEST(Gpt, LossAtInitIsLnVocab) {
  const GptConfig c{2, 64, 4, 256, 64, 256};
  Gpt model(c, 4);
  model.init_params(1234);
  const auto x = random_tokens(4 * 64, c.vocab, 3);
  const auto y = random_tokens(4 * 64, c.vocab, 4);
  const float loss = model.forward(x.data(), y.data(), 4, 64);
  EXPECT_NEAR(loss, std::log(256.0), 0.1);
}

TEST(Gpt, InitIsDeterministicAndSeedDependent) {
  const GptConfig c{1, 16, 2, 64, 8, 32};
  Gpt a(c, 1), b(c, 1), d(c, 1);
  a.init_params(5);
  b.init_params(5);
  d.init_params(6);
  EXPECT_TRUE(std::equal(a.params().begin(), a.params().end(), b.params().begin()));
  EXPECT_FALSE(std::equal(a.params().begin(), a.params().end(), d.params().begin()));
  // GPT-2 init: LayerNorm weights 1, biases 0, matrices with std ~0.02.
  const ParamTensor& ln = a.layout().params.ln1w;
  for (std::size_t i = 0; i < ln.count; ++i) EXPECT_EQ(a.params()[ln.offset + i], 1.0f);
  const ParamTensor& qb = a.layout().params.qkvb;
  for (std::size_t i = 0; i < qb.count; ++i) EXPECT_EQ(a.params()[qb.offset + i], 0.0f);
  const ParamTensor& w = a.layout().params.wte;
  double ss = 0;
  for (std::size_t i = 0; i < w.count; ++i)
    ss += a.params()[w.offset + i] * a.params()[w.offset + i];
  EXPECT_NEAR(std::sqrt(ss / w.count), 0.02, 0.002);
  const ParamTensor& pw = a.layout().params.fcprojw;  // residual projection: 0.02 / sqrt(2 L)
  ss = 0;
  for (std::size_t i = 0; i < pw.count; ++i)
    ss += a.params()[pw.offset + i] * a.params()[pw.offset + i];
  EXPECT_NEAR(std::sqrt(ss / pw.count), 0.02 / std::sqrt(2.0), 0.002);
}

TEST(Gpt, NormalInitScalesOnlyTheResidualProjections) {
  // Same seed, init_params(seed, false): the same draws, the residual projections (attprojw,
  // fcprojw) sqrt(2 L) = 2 times larger (std 0.02 instead of 0.01), every other value equal.
  const GptConfig c{2, 16, 2, 64, 8, 32};
  Gpt a(c, 1), b(c, 1);
  a.init_params(5);
  b.init_params(5, false);
  for (const ParamTensor* tp : a.layout().params.fields()) {
    const ParamTensor& t = *tp;
    const bool projection = t.kind == ParamKind::kResidualMatrix;
    for (std::size_t i = 0; i < t.count; ++i) {
      const float x = a.params()[t.offset + i], y = b.params()[t.offset + i];
      if (projection) {
        ASSERT_NEAR(y, 2.0f * x, 1e-7f) << t.name << " " << i;
      } else {
        ASSERT_EQ(y, x) << t.name << " " << i;
      }
    }
  }
}

TEST(Gpt, MemorisesRepeatingPattern) {
  const GptConfig c{2, 32, 2, 128, 32, 64};
  const int B = 4, T = 32;
  Gpt model(c, B);
  model.init_params(42);
  // A period-7 sequence of distinct tokens: every next token is determined by
  // the current one, so the loss can go to ~0.
  const std::vector<int32_t> period = {5, 17, 3, 60, 22, 9, 41};
  std::vector<int32_t> x(B * T), y(B * T);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      x[b * T + t] = period[(b + t) % 7];
      y[b * T + t] = period[(b + t + 1) % 7];
    }
  const AdamWConfig opt{};
  const LrSchedule sched{3e-3, 10, 150, 0.1};
  float first = 0, loss = 0;
  for (int step = 0; step < sched.total_steps; ++step) {
    model.zero_grad();
    loss = model.forward(x.data(), y.data(), B, T);
    if (step == 0) first = loss;
    model.backward();
    model.clip_grad_norm(1.0);
    model.adamw_step(opt, lr_at(sched, step), step + 1);
  }
  EXPECT_NEAR(first, std::log(64.0), 0.1);
  EXPECT_LT(loss, 0.05);
}

TEST(Gpt, BackwardAccumulatesForGradientAccumulation) {
  // Two half-batches with loss_scale 1/2 give the gradient of the full batch.
  const GptConfig c{1, 16, 2, 32, 8, 20};
  GptT<double> model(c, 4);
  model.init_params(3);
  const auto x = random_tokens(4 * 8, c.vocab, 5);
  const auto y = random_tokens(4 * 8, c.vocab, 6);
  model.zero_grad();
  model.forward(x.data(), y.data(), 4, 8);
  model.backward();
  const std::vector<double> full(model.grads().begin(), model.grads().end());
  model.zero_grad();
  model.forward(x.data(), y.data(), 2, 8);
  model.backward(0.5);
  model.forward(x.data() + 16, y.data() + 16, 2, 8);
  model.backward(0.5);
  EXPECT_LE(testing::relative_error(full.data(), model.grads().data(), full.size()), 1e-12);
}

TEST(Gpt, LossesAgreeWithLogitsOfATargetlessForward) {
  // The logits buffer is reused in place for probabilities and their gradient;
  // the losses must still equal logsumexp(logits) - logit[target], computed here
  // from the logits of a forward without targets.
  const GptConfig c{1, 16, 2, 32, 8, 20};
  Gpt model(c, 2);
  model.init_params(9);
  for (float& p : model.params()) p *= 10.0f;  // spread the logits
  const auto x = random_tokens(2 * 8, c.vocab, 7);
  const auto y = random_tokens(2 * 8, c.vocab, 8);
  model.forward(x.data(), nullptr, 2, 8);
  const std::vector<float> logits(model.logits().begin(), model.logits().end());
  ASSERT_EQ(logits.size(), 2u * 8 * 20);
  const float mean = model.forward(x.data(), y.data(), 2, 8);
  double sum = 0;
  for (int bt = 0; bt < 16; ++bt) {
    double se = 0;
    for (int v = 0; v < 20; ++v) se += std::exp(double(logits[bt * 20 + v]));
    const double expect = std::log(se) - logits[bt * 20 + y[bt]];
    EXPECT_NEAR(model.losses()[bt], expect, 1e-5 * std::max(1.0, expect)) << bt;
    sum += expect;
  }
  EXPECT_NEAR(mean, sum / 16, 1e-5 * std::max(1.0, sum / 16));
}

TEST(Gpt, NonFiniteParametersGiveANonFiniteLoss) {
  // The trainer marks a run diverged on a non-finite loss. The softmax and
  // cross-entropy rows run under -ffast-math (cpu/softmax_rows.cc), which may assume
  // finite values: a NaN or an Inf anywhere upstream must still reach the loss.
  const GptConfig c{1, 16, 2, 32, 8, 256};
  const auto x = random_tokens(2 * 8, c.vocab, 7);
  const auto y = random_tokens(2 * 8, c.vocab, 8);
  // (value, tensor): a NaN wte[0][0] makes one logit per row NaN (the max reduction
  // may skip it; the sum must not); an Inf bias makes whole rows Inf and then NaN.
  const std::vector<std::pair<float, std::string_view>> cases = {{std::nanf(""), "wte"},
                                                                 {std::nanf(""), "fcb"},
                                                                 {std::nanf(""), "lnfb"},
                                                                 {INFINITY, "fcb"},
                                                                 {INFINITY, "lnfb"}};
  for (const auto& [bad, tensor] : cases) {
    Gpt model(c, 2);
    model.init_params(9);
    for (const ParamTensor* t : model.layout().params.fields()) {
      if (t->name == tensor) model.params()[t->offset] = bad;
    }
    EXPECT_FALSE(std::isfinite(model.forward(x.data(), y.data(), 2, 8)))
        << tensor << " holding " << bad;
  }
}

TEST(Gpt, RejectsBadShapes) {
  EXPECT_THROW(Gpt(GptConfig{2, 30, 4, 120, 16, 32}, 1), InputError);  // 4 heads, d_model 30
  EXPECT_THROW(Gpt(GptConfig{0, 32, 4, 128, 16, 32}, 1), InputError);
  EXPECT_THROW(Gpt(GptConfig{1, 32, 4, 128, 16, 70000}, 1), InputError);
  EXPECT_THROW(validate_gpt_config(GptConfig{1, 32, 4, 128, 16, 32}, 3, "cfg.toml"), InputError);
  EXPECT_THROW(validate_gpt_config(GptConfig{1, 32, 4, 129, 16, 32}, 2, "cfg.toml"), InputError);
  EXPECT_NO_THROW(validate_gpt_config(GptConfig{1, 32, 4, 128, 16, 32}, 4, "cfg.toml"));
  try {
    validate_gpt_config(GptConfig{1, 32, 4, 128, 16, 32}, 3, "cfg.toml point 2");
    FAIL();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cfg.toml point 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tp = 3"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Gpt, RejectsOutOfRangeTokensAndSizes) {
  const GptConfig c{1, 16, 2, 32, 8, 20};
  Gpt model(c, 2);
  model.init_params(1);
  std::vector<int32_t> x(16, 3), y(16, 3);
  y[5] = 20;  // == vocab
  EXPECT_THROW(model.forward(x.data(), y.data(), 2, 8), InputError);
  x[0] = -1;
  EXPECT_THROW(model.forward(x.data(), nullptr, 2, 8), InputError);
  x[0] = 0;
  EXPECT_THROW(model.forward(x.data(), nullptr, 3, 8), std::invalid_argument);  // B > max_batch
  EXPECT_THROW(model.forward(x.data(), nullptr, 1, 9), std::invalid_argument);  // T > n_ctx
  model.forward(x.data(), nullptr, 2, 8);
  EXPECT_THROW(model.backward(), std::logic_error);  // no targets to differentiate
}

}  // namespace
}  // namespace ss::model
