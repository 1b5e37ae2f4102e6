// Benchmarks of ss_laws' chinchilla-3 on Epoch's 240 Chinchilla points: the full 4,500-start
// L-BFGS fit (1 thread, for a per-start comparison with SciPy, and all threads) and the fit
// plus a 1,000-resample bootstrap. One iteration each: these take seconds.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "analysis/laws/laws.h"
#include "tests/analysis/laws/synthetic.h"

namespace {

// Epoch's 240 points (5 highest-loss rows dropped), read by the laws tests' CSV reader.
ss::laws::LawInput chinchilla_points() {
  ss::laws::LawInput in;
  in.points = ss::laws::testing::read_chinchilla_csv(CHINCHILLA_CSV, 5);
  return in;
}

void BM_Chinchilla3Grid(benchmark::State& state) {
  const auto in = chinchilla_points();
  ss::laws::FitOptions o;
  o.bootstrap = 0;
  o.threads = static_cast<int>(state.range(0));
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(ss::laws::fit_law("chinchilla-3", in, o));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // Wall milliseconds per start (all threads together), comparable with scipy_chinchilla3.py.
  state.counters["ms_per_start"] = 1000 * seconds / state.iterations() / 4500;
}
BENCHMARK(BM_Chinchilla3Grid)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

void BM_Chinchilla3Bootstrap(benchmark::State& state) {
  const auto in = chinchilla_points();
  ss::laws::FitOptions o;
  o.bootstrap = static_cast<int>(state.range(0));
  o.threads = 0;
  for (auto _ : state) benchmark::DoNotOptimize(ss::laws::fit_law("chinchilla-3", in, o));
}
BENCHMARK(BM_Chinchilla3Bootstrap)
    ->Arg(1000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
