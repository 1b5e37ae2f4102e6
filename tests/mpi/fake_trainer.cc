// The fake trainer of fake_trainer.h. State recurrence: x0 = 3 + seed/100,
// x_s = 0.95 x_{s-1} + 0.05 * (1 + 1/s). Checkpoint file: "fake-ckpt <step> <x as %a>\n".
#include "tests/mpi/fake_trainer.h"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "model/io/sha256.h"
#include "runner/config.h"
#include "ss/error.h"

namespace ss::runner::testing {
namespace {

namespace fs = std::filesystem;

double next_state(double x, std::int64_t step) {
  return 0.95 * x + 0.05 * (1.0 + 1.0 / static_cast<double>(step));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read checkpoint", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

store::CheckpointRecord write_checkpoint(const TrainJob& job, std::int64_t step, double x) {
  const fs::path dir = fs::path(job.schedule.checkpoint_dir) / job.point.key;
  fs::create_directories(dir);
  const fs::path path = dir / fmt::format("step-{:08d}.ckpt", step);
  const std::string text = fmt::format("fake-ckpt {} {:a}\n", step, x);
  const fs::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("fake trainer: cannot write " + temp.string());
  }
  fs::rename(temp, path);
  // Keep the newest keep_checkpoints files.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".ckpt") files.push_back(entry.path());
  }
  std::sort(files.rbegin(), files.rend());
  for (std::size_t i = static_cast<std::size_t>(job.schedule.keep_checkpoints); i < files.size();
       ++i) {
    fs::remove(files[i]);
  }
  store::CheckpointRecord record;
  record.run = job.run_id;
  record.step = step;
  record.path = path.string();
  record.bytes = static_cast<std::int64_t>(text.size());
  record.sha256 = io::sha256_hex(text);
  return record;
}

// Returns (step, x) from a checkpoint, verifying size and checksum.
std::pair<std::int64_t, double> read_checkpoint(const store::CheckpointRecord& record) {
  const std::string text = read_file(record.path);
  if (static_cast<std::int64_t>(text.size()) != record.bytes || io::sha256_hex(text) != record.sha256) {
    throw InputError(
        fmt::format("{}: checkpoint size/sha256 do not match the store; delete it "
                    "and its row to restart the run",
                    record.path));
  }
  long long step = 0;
  double x = 0;
  if (std::sscanf(text.c_str(), "fake-ckpt %lld %la", &step, &x) != 2 || step != record.step) {
    throw InputError(fmt::format("{}: not a fake checkpoint of step {}", record.path, record.step));
  }
  return {step, x};
}

TrainResult train_fake(const FakeTrainerOptions& options, const TrainJob& job, RunSink& sink) {
  const Point& p = job.point;
  TrainResult result;
  if (options.noop) {
    result.outcome.step = p.steps;
    result.outcome.tokens_seen = p.steps * p.batch_tokens;
    return result;
  }
  if (job.attempt <= options.fail_attempts) {
    throw std::runtime_error(
        fmt::format("fake trainer: injected failure on attempt {}", job.attempt));
  }
  const bool leader = job.dp_comm->rank() == 0 && job.tp_comm->rank() == 0;
  double x = 3.0 + static_cast<double>(p.seed) / 100.0;
  std::int64_t start = 0;
  if (job.resume) std::tie(start, x) = read_checkpoint(*job.resume);
  std::int64_t last_checkpoint = start;
  const auto t0 = std::chrono::steady_clock::now();
  auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (std::int64_t step = start + 1; step <= p.steps; ++step) {
    if (sink.stop_requested()) {
      if (leader && last_checkpoint != step - 1) {
        sink.on_checkpoint(write_checkpoint(job, step - 1, x));
      }
      result.end = TrainEnd::kStopped;
      result.outcome.step = step - 1;
      result.outcome.tokens_seen = (step - 1) * p.batch_tokens;
      result.outcome.wall_seconds = wall();
      return result;
    }
    x = next_state(x, step);
    // Exercise the group's communicators: every rank contributes x / size; the sum is x
    // (exact for power-of-two sizes).
    double share = x / static_cast<double>(job.dp_comm->size());
    job.dp_comm->allreduce_sum(&share, 1);
    share /= static_cast<double>(job.tp_comm->size());
    job.tp_comm->allreduce_sum(&share, 1);
    x = share;
    if (p.lr > options.diverge_lr && step >= 3) {
      result.end = TrainEnd::kDiverged;
      result.outcome.step = step - 1;
      result.diverged_step = step;
      result.outcome.tokens_seen = (step - 1) * p.batch_tokens;
      result.outcome.wall_seconds = wall();
      return result;
    }
    store::MetricRow row;
    row.run = job.run_id;
    row.step = step;
    row.tokens = step * p.batch_tokens;
    row.flops = p.flops * static_cast<double>(step) / static_cast<double>(p.steps);
    row.train_loss = x;
    row.lr = p.lr;
    const double seconds = wall();
    row.wall = seconds;
    if (seconds > 0) {
      row.tokens_per_s = static_cast<double>((step - start) * p.batch_tokens) / seconds;
    }
    sink.on_metrics({&row, 1});
    if (leader && job.schedule.checkpoint_interval > 0 &&
        step % job.schedule.checkpoint_interval == 0) {
      sink.on_checkpoint(write_checkpoint(job, step, x));
      last_checkpoint = step;
    }
    if (options.step_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(options.step_ms));
  }
  result.outcome.step = p.steps;
  result.outcome.tokens_seen = p.steps * p.batch_tokens;
  result.outcome.final_train_loss = x;
  result.outcome.best_train_loss = x;  // the recurrence decreases monotonically
  result.outcome.wall_seconds = wall();
  return result;
}

}  // namespace

TrainFunction make_fake_trainer(std::shared_ptr<const FakeTrainerOptions> options) {
  return [options](const TrainJob& job, RunSink& sink) { return train_fake(*options, job, sink); };
}

}  // namespace ss::runner::testing
