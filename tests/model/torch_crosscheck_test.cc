// Cross-check against an independent PyTorch implementation
// (tests/python/gpt_reference.py, float64): the tiny model's init weights and a
// batch are written to a file, the script computes loss, every gradient at step 0
// and the losses of 10 clipped AdamW steps with the same hyper-parameters and lr
// schedule, and this test compares them with ours (fp32): loss and per-tensor
// gradients within 1e-4 relative, the 10 losses within 1e-4 relative.
// Skips (visibly) only when torch cannot be imported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "model/schedule.h"

namespace ss::model {
namespace {

namespace fs = std::filesystem;

template <typename V>
void put(std::ofstream& f, const V& v) {
  f.write(reinterpret_cast<const char*>(&v), sizeof(V));
}

std::string python() {
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

TEST(TorchCrossCheck, LossGradientsAndTenAdamWSteps) {
  const std::string py = python();
  if (std::system((py + " -c 'import torch' > /dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "SKIPPED: " << py << " cannot import torch (apt-get install python3-torch)";
  }
  const GptConfig c{2, 16, 2, 64, 8, 32};
  const int B = 3, T = 8, steps = 10;
  const AdamWConfig opt{0.9f, 0.95f, 1e-8f, 0.1f};
  const float clip = 1.0f;
  const LrSchedule sched{1e-2, 3, steps, 0.1};
  Gpt model(c, B);
  model.init_params(2024);
  std::mt19937_64 gen(3);
  std::vector<int32_t> x(B * T), y(B * T);
  for (auto& t : x) t = static_cast<int32_t>(gen() % c.vocab);
  for (auto& t : y) t = static_cast<int32_t>(gen() % c.vocab);

  const fs::path dir =
      fs::temp_directory_path() / ("ss_torch_xcheck_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  const fs::path in = dir / "in.bin", out = dir / "out.bin";
  {
    std::ofstream f(in, std::ios::binary);
    f.write("SSGPTREF", 8);
    for (int v : {c.n_layer, c.d_model, c.n_head, c.d_ff, c.n_ctx, c.vocab, B, T, steps}) put(f, v);
    for (float v : {opt.beta1, opt.beta2, opt.eps, opt.weight_decay, clip}) put(f, v);
    for (int s = 0; s < steps; ++s) put(f, static_cast<float>(lr_at(sched, s)));
    f.write(reinterpret_cast<const char*>(model.params().data()),
            model.num_params() * sizeof(float));
    f.write(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(int32_t));
    f.write(reinterpret_cast<const char*>(y.data()), y.size() * sizeof(int32_t));
  }
  const std::string cmd = py + " " + SS_SOURCE_DIR + "/tests/python/gpt_reference.py " +
                          in.string() + " " + out.string();
  const int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << cmd;

  std::vector<double> ref(1 + model.num_params() + steps);
  {
    std::ifstream f(out, std::ios::binary);
    f.read(reinterpret_cast<char*>(ref.data()), ref.size() * sizeof(double));
    ASSERT_EQ(static_cast<std::size_t>(f.gcount()), ref.size() * sizeof(double));
  }
  fs::remove_all(dir);

  std::vector<float> losses;
  std::vector<float> grads0;
  for (int s = 0; s < steps; ++s) {
    model.zero_grad();
    losses.push_back(model.forward(x.data(), y.data(), B, T));
    model.backward();
    if (s == 0) grads0.assign(model.grads().begin(), model.grads().end());
    model.clip_grad_norm(clip);
    model.adamw_step(opt, static_cast<float>(lr_at(sched, s)), s + 1);
  }
  EXPECT_NEAR(losses[0], ref[0], 1e-4 * ref[0]);
  for (const ParamTensor* t : model.layout().params.fields()) {
    double diff = 0, norm = 0;
    for (std::size_t i = t->offset; i < t->offset + t->count; ++i) {
      const double r = ref[1 + i];
      diff += (grads0[i] - r) * (grads0[i] - r);
      norm += r * r;
    }
    EXPECT_LE(std::sqrt(diff / norm), 1e-4) << t->name;
  }
  double worst = 0;
  for (int s = 0; s < steps; ++s) {
    const double r = ref[1 + model.num_params() + s];
    worst = std::max(worst, std::abs(losses[s] - r) / r);
    EXPECT_NEAR(losses[s], r, 1e-4 * r) << "step " << s;
  }
  EXPECT_LT(losses[steps - 1], losses[0]);  // the steps did train
  std::printf("torch cross-check: loss %.6f vs %.6f, worst 10-step loss rel diff %.2e\n", losses[0],
              ref[0], worst);
}

}  // namespace
}  // namespace ss::model
