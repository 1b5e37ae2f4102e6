// The training loop of one point (see trainer.h). Checkpoint layout: dp rank 0 of every tp rank
// writes its own shard file under <checkpoint_dir>/<point key>/ (tp = 1) or
// <checkpoint_dir>/<point key>/tp<r>of<n>/ (tp > 1), named io::checkpoint_file_name(step); the
// store records tp rank 0's file. The checkpoint's `rng` bytes hold the loop's extra state
// (best train/val loss so far, wall seconds): no RNG is drawn after init, batches are
// counter-based (io::TrainLoader), so the loader state words plus the step are the data position.
#include "runner/trainer.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "model/cpu_threads.h"
#include "model/gpt.h"
#include "model/io/checkpoint_file.h"
#include "model/io/loader.h"
#include "model/io/sha256.h"
#include "model/io/shard.h"
#include "model/schedule.h"
#include "ss/error.h"
#include "ss/log.h"

namespace ss::runner {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The loop's state beyond params/moments/step/tokens, saved in the checkpoint's rng bytes.
struct LoopExtra {
  double best_train = std::numeric_limits<double>::quiet_NaN();
  double best_val = std::numeric_limits<double>::quiet_NaN();
  double wall_seconds = 0;  // of all earlier attempts, up to the checkpoint
};

std::vector<std::uint8_t> encode_extra(const LoopExtra& extra) {
  std::vector<std::uint8_t> bytes(sizeof(double) * 3);
  std::memcpy(bytes.data(), &extra.best_train, sizeof(double));
  std::memcpy(bytes.data() + 8, &extra.best_val, sizeof(double));
  std::memcpy(bytes.data() + 16, &extra.wall_seconds, sizeof(double));
  return bytes;
}

LoopExtra decode_extra(const std::vector<std::uint8_t>& bytes, const fs::path& path) {
  if (bytes.size() != sizeof(double) * 3) {
    throw InputError(
        fmt::format("checkpoint {}: {} state bytes, expected 24 (not written by the "
                    "trainer); delete it to resume from an older one",
                    path.string(), bytes.size()));
  }
  LoopExtra extra;
  std::memcpy(&extra.best_train, bytes.data(), sizeof(double));
  std::memcpy(&extra.best_val, bytes.data() + 8, sizeof(double));
  std::memcpy(&extra.wall_seconds, bytes.data() + 16, sizeof(double));
  return extra;
}

std::optional<double> nan_to_none(double x) {
  if (std::isnan(x)) return std::nullopt;
  return x;
}

// The identity a checkpoint must carry to be loaded by this rank: the point (its key hashes
// shape, batch, lr, seed, dp, tp), this rank's tp shard and the buffer size.
std::string checkpoint_identity(const TrainJob& job, int tp_rank, std::size_t n_params) {
  return fmt::format("point={} tp={}/{} n={}", job.point.key, tp_rank, job.point.tp, n_params);
}

fs::path checkpoint_dir_of(const TrainJob& job, int tp_rank) {
  fs::path dir = fs::path(job.schedule.checkpoint_dir) / job.point.key;
  if (job.point.tp > 1) dir /= fmt::format("tp{}of{}", tp_rank, job.point.tp);
  return dir;
}

io::Shard open_shard(const std::string& path, const char* role, std::int64_t model_vocab) {
  if (path.empty() || !fs::exists(path)) {
    throw InputError(
        fmt::format("{} shard '{}': no such file; write it with `scalesweep "
                    "prepare-data` or fix [data] {} in the config",
                    role, path, role));
  }
  io::Shard shard(path);  // validates magic, version, length and token range (InputError)
  if (static_cast<std::int64_t>(shard.vocab()) > model_vocab) {
    throw InputError(
        fmt::format("{} shard {}: vocabulary {} is larger than the model's {}; "
                    "prepare the data with the config's tokenizer",
                    role, path, shard.vocab(), model_vocab));
  }
  return shard;
}

// Sums `values` over the whole group (dp then tp).
void group_allreduce(const TrainJob& job, double* values, std::size_t n) {
  job.dp_comm->allreduce_sum(values, n);
  job.tp_comm->allreduce_sum(values, n);
}

struct Resumed {
  std::int64_t step = 0;
  std::int64_t tokens_seen = 0;
  LoopExtra extra;
};

// Loads the newest good checkpoint at or before job.resume->step into the model (see the
// invariant in trainer.h). Every rank of the group ends on the same step: if the ranks' choices
// differ (a corrupt tp shard on one rank), all start from scratch.
Resumed resume_from_checkpoint(const TrainJob& job, model::Gpt& gpt,
                               const io::TrainLoader& loader) {
  const int tp_rank = job.tp_comm->rank();
  const fs::path dir = checkpoint_dir_of(job, tp_rank);
  const std::string identity = checkpoint_identity(job, tp_rank, gpt.num_params());
  Resumed chosen;
  std::optional<io::CheckpointState> state;
  if (job.resume) {
    auto files = io::list_checkpoints(dir);
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [step, path] : files) {
      if (step > job.resume->step) continue;  // not recorded in the store: not known to be done
      try {
        if (step == job.resume->step && tp_rank == 0) {
          // The newest file must also be the one the store recorded (size and sha256).
          const auto bytes = static_cast<std::int64_t>(fs::file_size(path));
          if (bytes != job.resume->bytes || io::sha256_file_hex(path) != job.resume->sha256) {
            throw InputError(
                fmt::format("checkpoint {}: size/sha256 differ from the store's "
                            "record (file replaced or corrupt)",
                            path.string()));
          }
        }
        io::CheckpointState read = io::read_checkpoint(path, identity);
        if (read.step != step || read.params.size() != gpt.num_params() ||
            read.adam_m.size() != gpt.num_params() || read.adam_v.size() != gpt.num_params()) {
          throw InputError(
              fmt::format("checkpoint {}: step {} / {} parameters do not match its "
                          "name or the model",
                          path.string(), read.step, read.params.size()));
        }
        loader.check_state(read.loader, path.string());
        chosen.extra = decode_extra(read.rng, path);
        chosen.step = read.step;
        chosen.tokens_seen = read.tokens_seen;
        state = std::move(read);
        break;
      } catch (const InputError& e) {
        log::error("{} -- falling back to an older checkpoint or to scratch", e.what());
      }
    }
    if (!state) {
      log::error(
          "run {} (point {}): no usable checkpoint at or before step {} in {}; training "
          "from scratch",
          job.run_id, job.point.key, job.resume->step, dir.string());
    }
  }
  // Agreement: all ranks chose the same step iff n * sum(s^2) == sum(s)^2.
  double sums[3] = {static_cast<double>(chosen.step),
                    static_cast<double>(chosen.step) * static_cast<double>(chosen.step), 1.0};
  group_allreduce(job, sums, 3);
  if (sums[2] * sums[1] != sums[0] * sums[0]) {
    log::error(
        "run {}: the group's ranks found different usable checkpoints; training from "
        "scratch",
        job.run_id);
    state.reset();
    chosen = Resumed{};
  }
  if (state) {
    std::copy(state->params.begin(), state->params.end(), gpt.params().begin());
    std::copy(state->adam_m.begin(), state->adam_m.end(), gpt.adam_m().begin());
    std::copy(state->adam_v.begin(), state->adam_v.end(), gpt.adam_v().begin());
    log::info("run {} (point {}): resumed from step {}", job.run_id, job.point.key, chosen.step);
    return chosen;
  }
  gpt.init_params(static_cast<std::uint64_t>(job.point.seed));
  // Files left from another store's run of this point would outrank ours when pruning.
  if (job.dp_comm->rank() == 0) {
    for (const auto& [step, path] : io::list_checkpoints(dir)) {
      log::warn("removing {}: a checkpoint of this point that the store does not know",
                path.string());
      fs::remove(path);
    }
  }
  return chosen;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

TrainResult train_point(const TrainJob& job, RunSink& sink, const TrainOptions& options) {
  const Point& point = job.point;
  model::SelfComm self_dp, self_tp;
  TrainJob local = job;  // with SelfComm filled in where the caller gave none
  if (local.dp_comm == nullptr) local.dp_comm = &self_dp;
  if (local.tp_comm == nullptr) local.tp_comm = &self_tp;
  const int dp_rank = local.dp_comm->rank(), dp_size = local.dp_comm->size();
  const int tp_rank = local.tp_comm->rank();
  if (dp_size != point.dp || local.tp_comm->size() != point.tp) {
    throw std::invalid_argument(
        fmt::format("point {}: dp/tp communicators of size {}/{} for "
                    "dp = {}, tp = {}",
                    point.key, dp_size, local.tp_comm->size(), point.dp, point.tp));
  }
  if (!job.device.cpu()) {
    throw std::runtime_error(
        fmt::format("point {}: CUDA device {} requested but the trainer "
                    "has only the CPU backend",
                    point.key, job.device.cuda_device));
  }
  if (job.cpu_threads > 0) model::cpu_set_threads(job.cpu_threads);
  const bool leader = dp_rank == 0 && tp_rank == 0;

  const model::GptConfig cfg = gpt_config_of(point.shape, point.vocab);
  model::validate_gpt_config(cfg, static_cast<int>(point.tp), "point " + point.key);
  const int B = static_cast<int>(point.micro_batch);
  const int T = cfg.n_ctx;
  const int accum = static_cast<int>(point.grad_accum);
  const std::int64_t step_tokens = static_cast<std::int64_t>(B) * T * accum * dp_size;

  const io::Shard train_shard = open_shard(job.data.train, "train", point.vocab);
  const io::Shard val_shard = open_shard(job.data.val, "val", point.vocab);
  const io::TrainLoader loader(train_shard, T, static_cast<std::uint64_t>(point.seed));
  const io::ValLoader val_loader(val_shard, T,
                                 std::max<std::int64_t>(1, job.schedule.eval_tokens / T));

  model::LrSchedule schedule{point.lr, point.warmup_steps, point.steps, point.lr_min_ratio};
  model::validate_lr_schedule(schedule);
  model::AdamWConfig adamw;
  adamw.weight_decay = static_cast<float>(point.weight_decay);

  model::Gpt gpt(cfg, B, point.tp > 1 ? local.tp_comm : nullptr);
  const Resumed resumed = resume_from_checkpoint(local, gpt, loader);

  std::vector<std::int32_t> inputs(static_cast<std::size_t>(B) * T);
  std::vector<std::int32_t> targets(inputs.size());
  const double flops_per_token = point.tokens > 0 ? point.flops / point.tokens : 0.0;
  const fs::path ckpt_dir = checkpoint_dir_of(local, tp_rank);
  const std::string identity = checkpoint_identity(local, tp_rank, gpt.num_params());

  TrainResult result;
  result.step = resumed.step;
  result.tokens_seen = resumed.tokens_seen;
  LoopExtra extra = resumed.extra;
  std::vector<store::MetricRow> pending;
  std::optional<double> last_val;
  std::int64_t last_checkpoint_step = resumed.step;
  const auto start = Clock::now();
  auto last_progress = start - std::chrono::hours(1);
  auto wall_now = [&] {
    return extra.wall_seconds + std::chrono::duration<double>(Clock::now() - start).count();
  };

  auto flush_metrics = [&] {
    if (pending.empty()) return;
    sink.on_metrics(pending);
    pending.clear();
  };

  // Mean loss over this rank's share of the fixed val windows, averaged over dp ranks.
  auto evaluate = [&] {
    double sums[2] = {0, 0};  // loss * windows, windows
    std::vector<std::int64_t> mine;
    for (std::int64_t k = dp_rank; k < val_loader.num_windows(); k += dp_size) mine.push_back(k);
    for (std::size_t i = 0; i < mine.size(); i += static_cast<std::size_t>(B)) {
      const int count = static_cast<int>(std::min<std::size_t>(B, mine.size() - i));
      for (int b = 0; b < count; ++b) {
        val_loader.windows(mine[i + b], 1, inputs.data() + static_cast<std::size_t>(b) * T,
                           targets.data() + static_cast<std::size_t>(b) * T);
      }
      sums[0] += static_cast<double>(gpt.forward(inputs.data(), targets.data(), count, T)) * count;
      sums[1] += count;
    }
    local.dp_comm->allreduce_sum(sums, 2);
    return sums[0] / sums[1];
  };

  auto write_checkpoint = [&](std::int64_t step) {
    if (step == last_checkpoint_step) return;
    last_checkpoint_step = step;
    std::optional<io::CheckpointInfo> info;
    if (dp_rank == 0) {  // dp replicas hold identical state
      fs::create_directories(ckpt_dir);
      const std::vector<std::uint8_t> extra_bytes = [&] {
        LoopExtra now = extra;
        now.wall_seconds = wall_now();
        return encode_extra(now);
      }();
      const std::vector<std::uint64_t> loader_state = loader.state();
      io::CheckpointView view;
      view.config_hash = identity;
      view.step = step;
      view.tokens_seen = result.tokens_seen;
      view.params = gpt.params();
      view.adam_m = gpt.adam_m();
      view.adam_v = gpt.adam_v();
      view.rng = extra_bytes;
      view.loader = loader_state;
      info = io::write_checkpoint(ckpt_dir / io::checkpoint_file_name(step), view);
      io::prune_checkpoints(
          ckpt_dir, static_cast<int>(std::max<std::int64_t>(1, job.schedule.keep_checkpoints)));
    }
    local.tp_comm->barrier();  // every tp shard is on disk before the store learns of it
    if (leader && info) {
      flush_metrics();  // rows up to this step reach the store before the checkpoint row
      store::CheckpointRecord record;
      record.run = job.run_id;
      record.step = step;
      record.path = info->path.string();
      record.bytes = static_cast<std::int64_t>(info->bytes);
      record.sha256 = info->sha256;
      sink.on_checkpoint(record);
    }
  };

  auto finish = [&](TrainEnd end) {
    flush_metrics();
    result.end = end;
    result.best_train_loss = nan_to_none(extra.best_train);
    result.best_val_loss = nan_to_none(extra.best_val);
    return result;
  };

  for (std::int64_t step = resumed.step + 1; step <= point.steps; ++step) {
    const auto step_begin = Clock::now();
    gpt.zero_grad();
    double loss = 0;
    for (int micro = 0; micro < accum; ++micro) {
      loader.next_batch(step - 1, micro, dp_rank, dp_size, B, inputs.data(), targets.data());
      loss += gpt.forward(inputs.data(), targets.data(), B, T);
      gpt.backward(1.0f / static_cast<float>(accum));
    }
    loss /= accum;
    local.dp_comm->allreduce_sum(&loss, 1);
    loss /= dp_size;
    if (!std::isfinite(loss)) {
      log::warn("run {} (point {}): loss {} at step {}: diverged", job.run_id, point.key, loss,
                step);
      result.diverged_step = step;
      return finish(TrainEnd::kDiverged);
    }
    if (dp_size > 1) gpt.allreduce_grads_mean(*local.dp_comm);
    const double grad_norm = gpt.clip_grad_norm(point.grad_clip);
    const double lr = model::lr_at(schedule, step - 1);
    gpt.adamw_step(adamw, lr, step);
    result.step = step;
    result.tokens_seen += step_tokens;
    result.final_train_loss = loss;
    if (std::isnan(extra.best_train) || loss < extra.best_train) extra.best_train = loss;

    store::MetricRow row;
    row.run = job.run_id;
    row.step = step;
    row.tokens = result.tokens_seen;
    row.flops = flops_per_token * static_cast<double>(result.tokens_seen);
    row.train_loss = loss;
    row.lr = lr;
    row.grad_norm = grad_norm;
    const double step_seconds = std::chrono::duration<double>(Clock::now() - step_begin).count();
    row.tokens_per_s = step_seconds > 0 ? step_tokens / step_seconds : 0.0;
    const bool eval_now =
        (job.schedule.eval_interval > 0 && step % job.schedule.eval_interval == 0) ||
        step == point.steps;
    if (eval_now) {
      const double val = evaluate();
      if (!std::isfinite(val)) {
        log::warn("run {} (point {}): val loss {} at step {}: diverged", job.run_id, point.key, val,
                  step);
        result.diverged_step = step;
        return finish(TrainEnd::kDiverged);
      }
      row.val_loss = val;
      last_val = val;
      result.final_val_loss = val;
      if (std::isnan(extra.best_val) || val < extra.best_val) extra.best_val = val;
    }
    row.wall = wall_now();
    pending.push_back(row);
    if (eval_now || static_cast<int>(pending.size()) >= options.metrics_batch_rows) {
      flush_metrics();
    }
    if (job.schedule.checkpoint_interval > 0 && step % job.schedule.checkpoint_interval == 0) {
      write_checkpoint(step);
    }
    if (leader && options.progress) {
      const auto now = Clock::now();
      if (now - last_progress >= std::chrono::duration<double>(options.progress_interval_s) ||
          step == point.steps) {
        last_progress = now;
        const double elapsed = std::chrono::duration<double>(now - start).count();
        const double rate = (result.tokens_seen - resumed.tokens_seen) / std::max(elapsed, 1e-9);
        const double eta = (point.steps - step) * step_tokens / std::max(rate, 1e-9);
        fmt::print(options.progress_out,
                   "point {} ({}) step {}/{} loss {:.4f}{} lr {:.2e} | {:.0f} tok/s | ETA {}\n",
                   point.index, point.key, step, point.steps, loss,
                   last_val ? fmt::format(" val {:.4f}", *last_val) : std::string(), lr, rate,
                   format_duration(eta));
        std::fflush(options.progress_out);
      }
    }
    if (sink.stop_requested()) {  // collective: same answer on every rank, same step
      write_checkpoint(step);
      return finish(TrainEnd::kStopped);
    }
  }
  return finish(TrainEnd::kDone);
}

}  // namespace ss::runner
