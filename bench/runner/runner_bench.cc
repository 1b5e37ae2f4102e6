// bench_runner: scheduling throughput and quality.
//  - BM_SchedulerAssignments: the pure policy, 10,000 points over 64 workers; time per
//    assignment (+ finish).
//  - BM_Rank0StorePerAssignment: rank 0's store work per point (claim with lease, newest
//    checkpoint lookup, mark done) on a 10,000-point store in a temp dir.
//  - BM_MpiNoopSweep: `mpirun -np 3 fake_sweep --noop run` on N points (needs mpirun and the
//    fake_sweep test binary); counter ms_per_assignment is wall time / N, whole path included
//    (start-up, registration, MPI messages, store writes).
//  - BM_MixedSweepMakespan: simulated mixed sweeps (sizes 1/2/4 ranks, log-uniform durations);
//    counter makespan_over_ideal = makespan / (sum(duration * ranks) / workers).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "runner/scheduler.h"
#include "store/store.h"

namespace {

namespace fs = std::filesystem;
using ss::runner::Scheduler;

void BM_SchedulerAssignments(benchmark::State& state) {
  const int points = static_cast<int>(state.range(0));
  const int workers = 64;
  std::vector<int> ranks(workers);
  for (int r = 0; r < workers; ++r) ranks[r] = r + 1;
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> cost(1e12, 1e18);
  std::vector<ss::runner::SchedulerPoint> pts;
  for (int i = 0; i < points; ++i) pts.push_back({i, cost(rng), 1 << (i % 3)});
  for (auto _ : state) {
    Scheduler s(ranks);
    for (const auto& p : pts) s.add_point(p);
    std::vector<std::int64_t> running;
    std::size_t done = 0;
    while (done < pts.size()) {
      while (auto a = s.next_assignment()) running.push_back(a->id);
      // A no-op worker: the oldest running point ends at once.
      s.finish(running.front());
      running.erase(running.begin());
      ++done;
    }
    benchmark::DoNotOptimize(done);
  }
  // items_per_second = assignments (+ finish) per wall second; Time = all 10,000.
  state.SetItemsProcessed(state.iterations() * points);
}
BENCHMARK(BM_SchedulerAssignments)->Arg(10000)->UseRealTime()->Unit(benchmark::kMillisecond);

fs::path temp_dir(const char* stem) {
  std::string t = (fs::temp_directory_path() / (std::string(stem) + "-XXXXXX")).string();
  if (mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return t;
}

void BM_Rank0StorePerAssignment(benchmark::State& state) {
  const int points = 10000;
  const fs::path dir = temp_dir("bench-runner-store");
  ss::store::StoreOptions o;
  o.create_if_missing = true;
  ss::store::Store db(dir / "s.db", o);
  const auto sweep = db.register_sweep("bench", "bench.toml", "x", "hash");
  std::vector<ss::store::RunPlan> plans(points);
  for (int i = 0; i < points; ++i) {
    auto& p = plans[i];
    p.sweep_id = sweep;
    p.point = std::to_string(i);
    p.point.insert(0, "p");  // not "p" + ...: GCC 12 -Wrestrict false positive
    p.point_index = i;
    p.n_layer = p.d_model = p.n_head = p.d_ff = p.n_ctx = p.vocab = 1;
    p.tokens = p.batch_tokens = p.steps = 1;
    p.flops = 1e12 + i;
  }
  db.register_points(plans);
  int next = points - 1;  // largest flops first, as the scheduler would ask
  for (auto _ : state) {
    if (next < 0) {
      state.SkipWithError("ran out of points");
      break;
    }
    ss::store::RunFilter f;
    f.sweep_id = sweep;
    f.points = {plans[next--].point};
    const auto claimed = db.claim_point("bench", 300, f);
    benchmark::DoNotOptimize(db.latest_checkpoints(claimed->id, 1));
    ss::store::RunOutcome outcome;
    outcome.step = 1;
    db.mark_done(claimed->id, outcome);
  }
  state.SetItemsProcessed(state.iterations());  // Time = one point's store work (wall)
  fs::remove_all(dir);
}
BENCHMARK(BM_Rank0StorePerAssignment)
    ->Iterations(2000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

#ifdef FAKE_SWEEP_BIN
void BM_MpiNoopSweep(benchmark::State& state) {
  const int seeds = static_cast<int>(state.range(0));  // points = 100 shapes x seeds
  const fs::path dir = temp_dir("bench-runner-mpi");
  std::ofstream(dir / "c.toml")
      << "name = \"noop\"\n[data]\ntokenizer = \"bytes\"\ntrain = \"t\"\nval = \"v\"\n"
      << "[model]\nn_layer = {from = 1, to = 100, step = 1}\nd_model = [32]\nd_head = 16\n"
      << "n_ctx = 16\n[tokens]\nabsolute = [640]\n[train]\nbatch_tokens = 64\n"
      << "micro_batch = 4\nlr = [1e-3]\nseeds = {from = 1, to = " << seeds << ", step = 1}\n"
      << "[schedule]\neval_interval = 10\neval_tokens = 64\ncheckpoint_interval = 10\n"
      << "checkpoint_dir = \"ck\"\n";
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  const int points = 100 * seeds;
  double seconds = 0;
  for (auto _ : state) {
    fs::remove(dir / "s.db");
    const std::string cmd = "cd '" + dir.string() + "' && mpirun --oversubscribe -np 3 " +
                            FAKE_SWEEP_BIN + " --noop run c.toml --store s.db > run.log 2>&1";
    const auto t0 = std::chrono::steady_clock::now();
    if (std::system(cmd.c_str()) != 0) {
      state.SkipWithError("mpirun fake_sweep failed (see run.log)");
      break;
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["points"] = points;
  state.counters["ms_per_assignment"] =
      1e3 * seconds / (static_cast<double>(points) * static_cast<double>(state.iterations()));
  fs::remove_all(dir);
}
// A mixed sweep with known durations under mpirun: fake_sweep --step-ms 10 on 4 shapes x 4
// token budgets (10..80 steps: 0.1..0.8 s per point), 2 workers. Start-up and store costs are
// measured by the same sweep with --noop and subtracted; ideal = sum(steps) * 10 ms / 2.
void BM_MpiSleepSweepMakespan(benchmark::State& state) {
  const fs::path dir = temp_dir("bench-runner-sleep");
  std::ofstream(dir / "c.toml")
      << "name = \"mixed\"\n[data]\ntokenizer = \"bytes\"\ntrain = \"t\"\nval = \"v\"\n"
      << "[model]\nn_layer = [1, 2, 3, 4]\nd_model = [32]\nd_head = 16\nn_ctx = 16\n"
      << "[tokens]\nabsolute = [640, 1280, 2560, 5120]\n[train]\nbatch_tokens = 64\n"
      << "micro_batch = 4\nlr = [1e-3]\n[schedule]\neval_interval = 10\neval_tokens = 64\n"
      << "checkpoint_interval = 1000\ncheckpoint_dir = \"ck\"\n";
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  const double step_seconds = 0.010;
  const double ideal = 4.0 * (10 + 20 + 40 + 80) * step_seconds / 2.0;
  auto timed = [&](const std::string& fake_args) {
    fs::remove(dir / "s.db");
    const std::string cmd = "cd '" + dir.string() + "' && mpirun --oversubscribe -np 3 " +
                            FAKE_SWEEP_BIN + " " + fake_args +
                            " run c.toml --store s.db > run.log 2>&1";
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = std::system(cmd.c_str());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rc == 0 ? s : -1.0;
  };
  double makespan = 0, overhead = 0;
  for (auto _ : state) {
    overhead = timed("--noop");
    const double total = timed("--step-ms 10");
    if (overhead < 0 || total < 0) {
      state.SkipWithError("mpirun fake_sweep failed (see run.log)");
      break;
    }
    makespan = total - overhead;
  }
  state.counters["makespan_s"] = makespan;
  state.counters["startup_s"] = overhead;
  state.counters["ideal_s"] = ideal;
  state.counters["makespan_over_ideal"] = makespan / ideal;
  fs::remove_all(dir);
}
BENCHMARK(BM_MpiSleepSweepMakespan)->Iterations(1)->Unit(benchmark::kSecond);

BENCHMARK(BM_MpiNoopSweep)->Arg(20)->Arg(100)->Iterations(1)->Unit(benchmark::kSecond);
#endif

void BM_MixedSweepMakespan(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  const int points = static_cast<int>(state.range(1));
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> log_duration(0.0, std::log(100.0));
  std::vector<ss::runner::SimulatedPoint> pts;
  for (int i = 0; i < points; ++i) {
    const double d = std::exp(log_duration(rng));
    const int ranks = std::min(workers, 1 << (i % 3));
    pts.push_back({{i, d * ranks, ranks}, d});  // cost = FLOPs ~ duration x ranks
  }
  ss::runner::SimulationResult r;
  for (auto _ : state) {
    r = ss::runner::simulate_schedule(pts, workers);
    benchmark::DoNotOptimize(r);
  }
  state.counters["makespan_over_ideal"] = r.makespan / r.ideal;
  state.counters["lower_bound_over_ideal"] = std::max(r.ideal, r.critical_path) / r.ideal;
}
BENCHMARK(BM_MixedSweepMakespan)
    ->Args({4, 40})
    ->Args({8, 200})
    ->Args({16, 200})
    ->Args({64, 10000})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
