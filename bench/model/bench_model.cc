// Training throughput of the CPU GPT (forward + backward + clip + AdamW, i.e. one
// full optimizer step) in tokens/s, and OpenBLAS sgemm FLOP/s measured in the same
// run, so the model's FLOP/s can be reported as a fraction of sgemm's (a CPU
// "MFU"), and the process CPU seconds per token (all threads). Model FLOPs per token follow Kaplan:
// 6 * (matmul params incl. the unembedding) + 6 * n_layer * n_ctx * d_model (attention scores and
// values). Shapes: the L2 d64, L4 d128, L6 d256 (n_ctx 256, 16 sequences, vocab 256, 4
// heads) and the brief's small L2 d64 n_ctx 64; and the quickstart's own (configs/quickstart*.toml:
// L2, 2 heads, n_ctx 64, d 8..36, run with one thread per worker). The same shapes in PyTorch:
// bench/model/torch_bench.py. BM_TrainStepOps: the same step through TimedBackend, each op's
// wall milliseconds per step as a counter (where a step's time goes, outside the trainer's
// hot path). The OpenBLAS kernel set in use is in the output's context (openblas_core).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <random>
#include <vector>

#include "bench/model/timed_backend.h"
#include "model/gpt.h"

namespace {

using ss::model::AdamWConfig;
using ss::model::Gpt;
using ss::model::GptConfig;

double model_flops_per_token(const GptConfig& c) {
  const double C = c.d_model, F = c.d_ff;
  const double matmul_params = c.n_layer * (3 * C * C + C * C + 2 * C * F) + c.vocab * C;
  return 6 * matmul_params + 6.0 * c.n_layer * c.n_ctx * C;
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void BM_TrainStep(benchmark::State& state) {
  const GptConfig cfg{static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                      static_cast<int>(state.range(3)), static_cast<int>(4 * state.range(1)),
                      static_cast<int>(state.range(2)), 256};
  const int B = 16, T = cfg.n_ctx;
  Gpt model(cfg, B);
  model.init_params(1);
  std::mt19937_64 gen(7);
  std::vector<int32_t> x(B * T), y(B * T);
  for (auto& t : x) t = static_cast<int32_t>(gen() % cfg.vocab);
  for (auto& t : y) t = static_cast<int32_t>(gen() % cfg.vocab);
  const AdamWConfig opt{};
  int64_t step = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    model.zero_grad();
    benchmark::DoNotOptimize(model.forward(x.data(), y.data(), B, T));
    model.backward();
    model.clip_grad_norm(1.0);
    model.adamw_step(opt, 1e-4, ++step);
  }
  const double tokens = static_cast<double>(state.iterations()) * B * T;
  // CPU seconds of all threads per token: what a step costs, whatever share of the
  // cores a loaded machine gives the process.
  state.counters["cpu_s_per_token"] = (process_cpu_seconds() - cpu0) / tokens;
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["model_flops"] =
      benchmark::Counter(tokens * model_flops_per_token(cfg), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStep)
    ->ArgNames({"L", "d", "ctx", "h"})
    ->Args({2, 8, 64, 2})
    ->Args({2, 16, 64, 2})
    ->Args({2, 28, 64, 2})
    ->Args({2, 36, 64, 2})
    ->Args({2, 64, 64, 4})
    ->Args({2, 64, 256, 4})
    ->Args({4, 128, 256, 4})
    ->Args({6, 256, 256, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_TrainStepOps(benchmark::State& state) {
  const GptConfig cfg{static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                      static_cast<int>(state.range(3)), static_cast<int>(4 * state.range(1)),
                      static_cast<int>(state.range(2)), 256};
  const int B = 16, T = cfg.n_ctx;
  ss::bench::TimedBackend::Totals ms;
  Gpt model(cfg, B, nullptr,
            std::make_unique<ss::bench::TimedBackend>(ss::model::make_cpu_backend<float>(), &ms));
  model.init_params(1);
  std::mt19937_64 gen(7);
  std::vector<int32_t> x(B * T), y(B * T);
  for (auto& t : x) t = static_cast<int32_t>(gen() % cfg.vocab);
  for (auto& t : y) t = static_cast<int32_t>(gen() % cfg.vocab);
  int64_t step = 0;
  ms.clear();
  for (auto _ : state) {
    model.zero_grad();
    benchmark::DoNotOptimize(model.forward(x.data(), y.data(), B, T));
    model.backward();
    model.clip_grad_norm(1.0);
    model.adamw_step(AdamWConfig{}, 1e-4, ++step);
  }
  for (const auto& [op, s] : ms) {
    state.counters["ms_" + op] = 1e3 * s / static_cast<double>(state.iterations());
  }
}
BENCHMARK(BM_TrainStepOps)
    ->ArgNames({"L", "d", "ctx", "h"})
    ->Args({2, 36, 64, 2})
    ->Args({6, 256, 256, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// sgemm at the shape of the L6 d256 model's largest GEMM (4096 x 1024 x 256).
void BM_Sgemm(benchmark::State& state) {
  const int M = static_cast<int>(state.range(0)), N = static_cast<int>(state.range(1)),
            K = static_cast<int>(state.range(2));
  std::vector<float> a(static_cast<std::size_t>(M) * K, 0.5f),
      b(static_cast<std::size_t>(N) * K, 0.25f), c(static_cast<std::size_t>(M) * N);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a.data(), K, b.data(), K,
                0.0f, c.data(), N);
    benchmark::ClobberMemory();
  }
  state.counters["flops"] =
      benchmark::Counter(2.0 * M * N * K * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sgemm)->Args({4096, 1024, 256})->Args({4096, 256, 1024})->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
