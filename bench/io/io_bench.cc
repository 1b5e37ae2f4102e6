// Tokenizer throughput in MB/s (bytes and gpt2, on a real book when data/gutenberg/raw
// exists, else on generated text) and TrainLoader batch assembly in tokens/s.
// The gpt2 benchmark reports a cold pass (empty word cache) and a warm one separately.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/io/loader.h"
#include "model/io/shard.h"
#include "model/io/tokenizer.h"

namespace {

const std::filesystem::path kRepo = SS_BENCH_REPO_ROOT;

std::string corpus_text() {
  const auto book = kRepo / "data" / "gutenberg" / "raw" / "melville-moby_dick.txt";
  std::ifstream in(book, std::ios::binary);
  if (in) {
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string text;  // fallback: ~1 MB of word-like text
  for (int i = 0; text.size() < (1 << 20); ++i) text += "word" + std::to_string(i % 5000) + " ";
  return text;
}

void BM_TokenizeBytes(benchmark::State& state) {
  const std::string text = corpus_text();
  ss::io::BytesTokenizer tok;
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TokenizeBytes)->Unit(benchmark::kMillisecond);

void BM_TokenizeGpt2(benchmark::State& state) {
  const bool warm = state.range(0) != 0;
  const auto dir = ss::io::default_gpt2_dir();
  if (!std::filesystem::exists(dir / "encoder.json")) {
    state.SkipWithError("no data/gpt2/encoder.json: run scripts/fetch-gpt2-vocab.sh");
    return;
  }
  const std::string text = corpus_text();
  std::unique_ptr<ss::io::Tokenizer> tok;
  if (warm) tok = ss::io::make_tokenizer("gpt2", dir), tok->encode(text);
  for (auto _ : state) {
    if (!warm) {
      state.PauseTiming();
      tok = ss::io::make_tokenizer("gpt2", dir);  // fresh, empty cache
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(tok->encode(text));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TokenizeGpt2)->Arg(0)->Arg(1)->ArgName("warm_cache")->Unit(benchmark::kMillisecond);

void BM_TrainLoaderBatch(benchmark::State& state) {
  const auto path = std::filesystem::temp_directory_path() / "ss_bench_io_shard.bin";
  std::vector<uint16_t> tokens(1 << 22);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<uint16_t>(i * 7919 % 50257);
  ss::io::write_shard(path, 50257, tokens);
  {
    ss::io::Shard shard(path);
    const int B = 16, T = 1024;
    ss::io::TrainLoader loader(shard, T, 1);
    std::vector<int32_t> in(B * T), tg(B * T);
    int64_t step = 0;
    for (auto _ : state) {
      loader.next_batch(step++, 0, 0, 1, B, in.data(), tg.data());
      benchmark::DoNotOptimize(in.data());
    }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * B * T),
                                                    benchmark::Counter::kIsRate);
  }
  std::filesystem::remove(path);
}
BENCHMARK(BM_TrainLoaderBatch);

}  // namespace

BENCHMARK_MAIN();
