// Store ingestion benchmark: metric rows (one row per (run, step) holding all six metrics of the
// step) written through Store::insert_metrics in batches, as rank 0 does. Reports rows/s
// (items_per_second) and the on-disk bytes per row (page_count * page_size / rows, after a WAL
// checkpoint). Target from issue 3: >= 200,000 rows/s and <= 100 bytes/row on 2 cores.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cmath>
#include <filesystem>

#include <fmt/core.h>

#include "store/store.h"

namespace {

namespace fs = std::filesystem;

// A fresh store with one sweep and `runs` runs in a temp dir, removed on destruction.
struct BenchStore {
  fs::path dir;
  std::unique_ptr<ss::store::Store> store;
  std::vector<std::int64_t> run_ids;

  BenchStore(ss::store::JournalMode journal, int runs) {
    std::string pattern = (fs::temp_directory_path() / "scalesweep-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    ss::store::StoreOptions options;
    options.create_if_missing = true;
    options.journal = journal;
    store = std::make_unique<ss::store::Store>(dir / "bench.db", options);
    const auto sweep = store->register_sweep("bench", "bench.toml", "", "bench");
    std::vector<ss::store::RunPlan> plans(runs);
    for (int i = 0; i < runs; ++i) {
      plans[i].sweep_id = sweep;
      plans[i].point = fmt::format("p{}", i);
      plans[i].point_index = i;
    }
    store->register_points(plans);
    for (const auto& r : store->list_runs()) run_ids.push_back(r.id);
  }
  ~BenchStore() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Realistic values: a decaying loss with noise-like digits, so rows do not compress trivially.
ss::store::MetricRow make_row(std::int64_t run, std::int64_t step) {
  ss::store::MetricRow r;
  r.run = run;
  r.step = step;
  r.tokens = step * 524288;
  r.flops = 6.0 * 1.24e8 * static_cast<double>(r.tokens);
  r.train_loss = 3.0 + 7.0 / std::sqrt(1.0 + static_cast<double>(step)) + 1e-3 * std::sin(step);
  if (step % 10 == 0) r.val_loss = *r.train_loss + 0.05;
  r.lr = 6e-4 * std::cos(static_cast<double>(step) * 1e-4);
  r.grad_norm = 0.5 + 0.1 * std::cos(static_cast<double>(step));
  r.tokens_per_s = 1.5e6 + static_cast<double>(step % 97);
  r.wall = 0.35 * static_cast<double>(step);
  return r;
}

void ingest(benchmark::State& state, ss::store::JournalMode journal) {
  const auto batch = static_cast<std::int64_t>(state.range(0));
  BenchStore b(journal, 8);
  std::vector<ss::store::MetricRow> rows(batch);
  std::int64_t step = 0, total = 0;
  for (auto _ : state) {
    // Round-robin over runs, as rank 0 receives batches from several worker groups.
    const std::int64_t run = b.run_ids[static_cast<std::size_t>(total / batch) % b.run_ids.size()];
    for (std::int64_t i = 0; i < batch; ++i) rows[i] = make_row(run, step + i);
    if ((total / batch) % static_cast<std::int64_t>(b.run_ids.size()) ==
        static_cast<std::int64_t>(b.run_ids.size()) - 1) {
      step += batch;
    }
    b.store->insert_metrics(rows);
    total += batch;
  }
  state.SetItemsProcessed(total);
  // Bytes per row on disk: fold the WAL into the main file first.
  SQLite::Database raw((b.dir / "bench.db").string(), SQLite::OPEN_READWRITE);
  raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const double pages = raw.execAndGet("PRAGMA page_count").getDouble();
  const double page_size = raw.execAndGet("PRAGMA page_size").getDouble();
  const double metric_rows = raw.execAndGet("SELECT count(*) FROM metrics").getDouble();
  state.counters["rows"] = metric_rows;
  state.counters["bytes_per_row"] = pages * page_size / std::max(1.0, metric_rows);
}

void BM_IngestWal(benchmark::State& state) {
  ingest(state, ss::store::JournalMode::kWal);
}
void BM_IngestDelete(benchmark::State& state) {
  ingest(state, ss::store::JournalMode::kDelete);
}

BENCHMARK(BM_IngestWal)
    ->Arg(1)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(8192)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_IngestDelete)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(8192)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
