// Benchmarks of ss_laws' chinchilla-3 on Epoch's 240 Chinchilla points: the full 4,500-start
// L-BFGS fit (1 thread, for a per-start comparison with SciPy, and all threads) and the fit
// plus a 1,000-resample bootstrap. One iteration each: these take seconds.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "analysis/laws/laws.h"

namespace {

ss::laws::LawInput chinchilla_points() {
  std::ifstream file(CHINCHILLA_CSV);
  std::string line;
  std::getline(file, line);
  std::map<std::string, std::size_t> column;
  std::stringstream header(line);
  std::string name;
  for (std::size_t i = 0; std::getline(header, name, ','); ++i) column[name] = i;
  ss::laws::LawInput in;
  for (std::int64_t row = 0; std::getline(file, line); ++row) {
    std::vector<std::string> cells;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    const double n = std::stod(cells.at(column.at("Model Size")));
    const double c = std::stod(cells.at(column.at("Training FLOP")));
    in.points.push_back({row, n, c / (6 * n), c, std::stod(cells.at(column.at("loss")))});
  }
  auto sorted = in.points;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.loss > b.loss; });
  const double cutoff = sorted.at(4).loss;
  std::erase_if(in.points, [&](const auto& p) { return p.loss >= cutoff; });
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
