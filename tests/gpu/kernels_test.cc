// The first CUDA kernels (model/cuda/kernels.h) against the production CPU layers
// (model/cpu/) on the same seeded fp32 inputs. Pass: normalised MSE
// sum((gpu-cpu)^2)/sum(cpu^2) <= 1e-10 per output, and no NaN/Inf on either side
// (counted and reported separately from the error). Without a CUDA device every
// kernel test is skipped with "no CUDA device"; the check-macro and device-binding
// tests need no device and always run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/adamw.h"
#include "model/crossentropy.h"
#include "model/cuda/cuda_check.h"
#include "model/cuda/device.h"
#include "model/cuda/kernels.h"
#include "model/gelu.h"
#include "model/layernorm.h"

namespace {

namespace cu = ss::model::cuda;
namespace cpu = ss::model::cpu;

constexpr double kMaxNormalisedMse = 1e-10;

std::vector<float> seeded_normal(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> values(n);
  for (float& x : values) x = dist(rng);
  return values;
}

std::size_t count_nonfinite(const std::vector<float>& values) {
  std::size_t count = 0;
  for (float x : values) count += std::isfinite(x) ? 0 : 1;
  return count;
}

// Checks one output: NaN/Inf on each side first (reported on their own), then
// the normalised MSE of gpu against the cpu reference.
void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu_ref,
                  const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu_ref.size()) << what;
  EXPECT_EQ(count_nonfinite(cpu_ref), 0u) << what << ": NaN/Inf in the CPU reference";
  EXPECT_EQ(count_nonfinite(gpu), 0u) << what << ": NaN/Inf in the GPU output";
  double err = 0.0;
  double ref = 0.0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    const double d = static_cast<double>(gpu[i]) - cpu_ref[i];
    err += d * d;
    ref += static_cast<double>(cpu_ref[i]) * cpu_ref[i];
  }
  ASSERT_GT(ref, 0.0) << what << ": all-zero reference, the comparison would be empty";
  EXPECT_LE(err / ref, kMaxNormalisedMse) << what << ": normalised MSE " << err / ref;
}

template <typename T>
cu::DeviceArray<T> to_device(const std::vector<T>& host) {
  cu::DeviceArray<T> dev(host.size());
  cu::copy_to_device_bytes(dev.data(), host.data(), host.size() * sizeof(T));
  return dev;
}

template <typename T>
std::vector<T> to_host(const cu::DeviceArray<T>& dev) {
  std::vector<T> host(dev.size());
  cu::copy_to_host_bytes(host.data(), dev.data(), dev.size() * sizeof(T));
  return host;
}

class GpuKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cu::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    cu::cuda_bind_device(0);
  }
  // Default stream; synchronised before every copy back (cudaMemcpy does that).
  cudaStream_t stream_ = nullptr;
};

TEST_F(GpuKernels, GeluForwardAndBackwardMatchCpu) {
  // Not a multiple of the block size: the last block's tail is covered.
  const std::size_t n = (std::size_t{1} << 20) + 7;
  const std::vector<float> inp = seeded_normal(n, 1, 3.0f);  // wide: both tanh tails
  const std::vector<float> dout = seeded_normal(n, 2);
  const std::vector<float> dinp0 = seeded_normal(n, 3);  // backward overwrites it

  std::vector<float> out_cpu(n);
  std::vector<float> dinp_cpu = dinp0;
  cpu::gelu_forward(out_cpu.data(), inp.data(), n);
  cpu::gelu_backward(dinp_cpu.data(), inp.data(), dout.data(), n);

  auto inp_d = to_device(inp);
  auto dout_d = to_device(dout);
  auto dinp_d = to_device(dinp0);
  cu::DeviceArray<float> out_d(n);
  cu::gelu_forward(out_d.data(), inp_d.data(), n, stream_);
  cu::gelu_backward(dinp_d.data(), inp_d.data(), dout_d.data(), n, stream_);

  expect_close(to_host(out_d), out_cpu, "gelu_forward out");
  expect_close(to_host(dinp_d), dinp_cpu, "gelu_backward dinp");
}

TEST_F(GpuKernels, LayerNormForwardAndBackwardMatchCpu) {
  const int B = 3, T = 37, C = 96;
  const std::size_t N = static_cast<std::size_t>(B) * T;
  std::vector<float> inp = seeded_normal(N * C, 11, 2.0f);
  for (std::size_t i = 0; i < inp.size(); ++i) inp[i] += 0.5f;  // non-zero row means
  const std::vector<float> weight = seeded_normal(C, 12);
  const std::vector<float> bias = seeded_normal(C, 13);
  const std::vector<float> dout = seeded_normal(N * C, 14);
  const std::vector<float> dinp0 = seeded_normal(N * C, 15);
  const std::vector<float> dweight0 = seeded_normal(C, 16);
  const std::vector<float> dbias0 = seeded_normal(C, 17);

  std::vector<float> out_cpu(N * C), mean_cpu(N), rstd_cpu(N);
  std::vector<float> dinp_cpu = dinp0, dweight_cpu = dweight0, dbias_cpu = dbias0;
  cpu::layernorm_forward(out_cpu.data(), mean_cpu.data(), rstd_cpu.data(), inp.data(),
                         weight.data(), bias.data(), B, T, C);
  cpu::layernorm_backward(dinp_cpu.data(), dweight_cpu.data(), dbias_cpu.data(), dout.data(),
                          inp.data(), weight.data(), mean_cpu.data(), rstd_cpu.data(), B, T, C);

  auto inp_d = to_device(inp);
  auto weight_d = to_device(weight);
  auto bias_d = to_device(bias);
  auto dout_d = to_device(dout);
  auto dinp_d = to_device(dinp0);
  auto dweight_d = to_device(dweight0);
  auto dbias_d = to_device(dbias0);
  cu::DeviceArray<float> out_d(N * C), mean_d(N), rstd_d(N);
  cu::layernorm_forward(out_d.data(), mean_d.data(), rstd_d.data(), inp_d.data(), weight_d.data(),
                        bias_d.data(), B, T, C, stream_);
  cu::layernorm_backward(dinp_d.data(), dweight_d.data(), dbias_d.data(), dout_d.data(),
                         inp_d.data(), weight_d.data(), mean_d.data(), rstd_d.data(), B, T, C,
                         stream_);

  expect_close(to_host(out_d), out_cpu, "layernorm_forward out");
  expect_close(to_host(mean_d), mean_cpu, "layernorm_forward mean");
  expect_close(to_host(rstd_d), rstd_cpu, "layernorm_forward rstd");
  expect_close(to_host(dinp_d), dinp_cpu, "layernorm_backward dinp");
  expect_close(to_host(dweight_d), dweight_cpu, "layernorm_backward dweight");
  expect_close(to_host(dbias_d), dbias_cpu, "layernorm_backward dbias");
}

TEST_F(GpuKernels, CrossEntropySoftmaxForwardMatchesCpuAlsoInPlace) {
  const int B = 2, T = 19, V = 1000;
  const std::size_t N = static_cast<std::size_t>(B) * T;
  const std::vector<float> logits = seeded_normal(N * V, 21, 4.0f);
  std::vector<int32_t> targets(N);
  std::mt19937_64 rng(22);
  std::uniform_int_distribution<int32_t> pick(0, V - 1);
  for (int32_t& t : targets) t = pick(rng);
  targets[0] = 0;  // both ends of the vocabulary
  targets[1] = V - 1;

  std::vector<float> losses_cpu(N), probs_cpu(N * V);
  cpu::crossentropy_softmax_forward(losses_cpu.data(), probs_cpu.data(), logits.data(),
                                    targets.data(), B, T, V);

  auto logits_d = to_device(logits);
  auto targets_d = to_device(targets);
  cu::DeviceArray<float> losses_d(N), probs_d(N * V);
  cu::crossentropy_softmax_forward(losses_d.data(), probs_d.data(), logits_d.data(),
                                   targets_d.data(), B, T, V, stream_);
  expect_close(to_host(losses_d), losses_cpu, "crossentropy losses");
  expect_close(to_host(probs_d), probs_cpu, "crossentropy probs");

  // In place (probs aliases logits), as the model uses it at large vocab.
  cu::DeviceArray<float> losses_inplace_d(N);
  cu::crossentropy_softmax_forward(losses_inplace_d.data(), logits_d.data(), logits_d.data(),
                                   targets_d.data(), B, T, V, stream_);
  expect_close(to_host(losses_inplace_d), losses_cpu, "crossentropy losses (in place)");
  expect_close(to_host(logits_d), probs_cpu, "crossentropy probs (in place)");
}

TEST_F(GpuKernels, AdamWThreeStepsMatchCpu) {
  const std::size_t n = 100003;
  std::vector<float> params_cpu = seeded_normal(n, 31, 0.02f);
  std::vector<float> m_cpu(n, 0.0f), v_cpu(n, 0.0f);
  auto params_d = to_device(params_cpu);
  auto m_d = to_device(m_cpu);
  auto v_d = to_device(v_cpu);
  const ss::model::AdamWConfig cfg;
  for (int t = 1; t <= 3; ++t) {
    const std::vector<float> grads = seeded_normal(n, 40 + t, 0.1f);
    const ss::model::AdamWStepParams h{1e-3f,
                                       cfg.beta1,
                                       cfg.beta2,
                                       cfg.eps,
                                       cfg.weight_decay,
                                       1.0f - std::pow(cfg.beta1, static_cast<float>(t)),
                                       1.0f - std::pow(cfg.beta2, static_cast<float>(t))};
    cpu::adamw_update(params_cpu.data(), grads.data(), m_cpu.data(), v_cpu.data(), n, h);
    auto grads_d = to_device(grads);
    cu::adamw_update(params_d.data(), grads_d.data(), m_d.data(), v_d.data(), n, h, stream_);
  }
  expect_close(to_host(params_d), params_cpu, "adamw params");
  expect_close(to_host(m_d), m_cpu, "adamw m");
  expect_close(to_host(v_d), v_cpu, "adamw v");
}

// --- No device needed: the error paths every later CUDA call relies on. ---

TEST(CudaCheck, FailedCallThrowsWithFileLineErrorAndHost) {
  int line = 0;
  try {
    line = __LINE__ + 1;
    SS_CUDA(cudaErrorInvalidValue);
    FAIL() << "SS_CUDA did not throw";
  } catch (const cu::CudaError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("kernels_test.cc:" + std::to_string(line)), std::string::npos) << msg;
    EXPECT_NE(msg.find("cudaErrorInvalidValue"), std::string::npos) << msg;
    EXPECT_NE(msg.find("on host " + cu::cuda_host_name()), std::string::npos) << msg;
  }
}

TEST(CudaCheck, SuccessDoesNotThrow) {
  EXPECT_NO_THROW(SS_CUDA(cudaSuccess));
}

TEST(CudaDevice, BindingOutOfRangeThrowsEvenWithoutDevice) {
  const int count = cu::cuda_device_count();  // 0 on machines without a GPU/driver
  EXPECT_GE(count, 0);
  EXPECT_THROW(cu::cuda_bind_device(-1), cu::CudaError);
  EXPECT_THROW(cu::cuda_bind_device(count), cu::CudaError);
}

}  // namespace
