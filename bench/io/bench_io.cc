// bench_io: how fast text becomes tokens and tokens become batches.
//  - BM_Tokenize/<name>: encode the first 4 MB of the Gutenberg books (all 18, concatenated
//    in name order); bytes_per_second is text bytes (MB/s of corpus), items are tokens.
//    One tokenizer serves every iteration, as one serves a whole prepare-data run, so
//    after the first pass the gpt2 word cache is warm (the realistic steady state).
//  - BM_TrainLoaderBatch: next_batch for B=16, T=256 from a shard of the books (bytes).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/io/loader.h"
#include "model/io/shard.h"
#include "model/io/tokenizer.h"

namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(SS_SOURCE_DIR) / "data";
constexpr size_t kCorpusBytes = 4u << 20;

// The books, concatenated in file-name order, at most kCorpusBytes; empty if not fetched.
const std::string& corpus() {
  static const std::string text = [] {
    std::string out;
    const fs::path dir = kData / "gutenberg" / "raw";
    if (!fs::is_directory(dir)) return out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".txt") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (out.size() >= kCorpusBytes) break;
    }
    out.resize(std::min(out.size(), kCorpusBytes));
    return out;
  }();
  return text;
}

void BM_Tokenize(benchmark::State& state, const char* name) {
  const std::string& text = corpus();
  if (text.empty()) {
    state.SkipWithError("data/gutenberg/raw missing: run scripts/fetch-corpus.sh");
    return;
  }
  const fs::path gpt2_dir = kData / "gpt2";
  if (std::string(name) == "gpt2" && !fs::exists(gpt2_dir / "encoder.json")) {
    state.SkipWithError("data/gpt2 missing: run scripts/fetch-gpt2-vocab.sh");
    return;
  }
  auto tok = ss::io::make_tokenizer(name, gpt2_dir);
  size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * tokens));
  state.counters["bytes_per_token"] =
      tokens ? static_cast<double>(text.size()) / static_cast<double>(tokens) : 0.0;
}
BENCHMARK_CAPTURE(BM_Tokenize, bytes, "bytes")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Tokenize, gpt2, "gpt2")->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_TrainLoaderBatch(benchmark::State& state) {
  const std::string& text = corpus();
  if (text.empty()) {
    state.SkipWithError("data/gutenberg/raw missing: run scripts/fetch-corpus.sh");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / "ss_bench_io_shard";
  fs::create_directories(dir);
  const fs::path path = dir / "train.bin";
  std::vector<uint16_t> tokens(text.begin(), text.end());
  for (auto& t : tokens) t = static_cast<uint8_t>(t);
  ss::io::write_shard(path, 256, tokens);
  const ss::io::Shard shard(path);
  constexpr int B = 16, T = 256;
  const ss::io::TrainLoader loader(shard, T, /*seed=*/1234);
  std::vector<int32_t> inputs(B * T), targets(B * T);
  int64_t step = 0;
  for (auto _ : state) {
    loader.next_batch(step++, 0, 0, 1, B, inputs.data(), targets.data());
    benchmark::DoNotOptimize(inputs.data());
    benchmark::DoNotOptimize(targets.data());
  }
  state.SetItemsProcessed(state.iterations() * B * T);  // tokens per second
  fs::remove_all(dir);
}
BENCHMARK(BM_TrainLoaderBatch);

}  // namespace

BENCHMARK_MAIN();
