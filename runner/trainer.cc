// The training loop of one point (see trainer.h). Checkpoint layout: dp rank 0 of every tp rank
// writes its own shard file under <checkpoint_dir>/<point key>/ (tp = 1) or
// <checkpoint_dir>/<point key>/tp<r>of<n>/ (tp > 1), named io::checkpoint_file_name(step); the
// store records tp rank 0's file. The checkpoint's `loop_state` bytes hold the loop's extra state
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
#include "runner/preflight.h"
#include "ss/error.h"
#include "ss/log.h"

namespace ss::runner {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The loop's state beyond params/moments/step/tokens, saved in the checkpoint's loop_state bytes.
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

// Renames `path` to `path + suffix` (".1", ".2", ... appended while that name is taken), so
// nothing is deleted or replaced; "moved aside to NEW" or "left in place (why)" for the log.
std::string move_aside(const fs::path& path, const std::string& suffix) {
  fs::path aside = path;
  aside += suffix;
  for (int n = 1; fs::exists(aside) && n < 1000; ++n) {
    aside = path;
    aside += suffix + "." + std::to_string(n);
  }
  std::error_code ec;
  fs::rename(path, aside, ec);
  return ec ? fmt::format("left in place ({})", ec.message())
            : fmt::format("moved aside to {}", aside.string());
}

// A checkpoint that failed its check is never deleted: it is renamed to <name>.corrupt, so that
// neither pruning nor the next save replaces it; one line says why and where it went.
void move_aside_corrupt(const fs::path& path, const std::string& why) {
  log::error("{}; {} -- falling back to an older checkpoint or to scratch", why,
             move_aside(path, ".corrupt"));
}

// Files newer than the store's newest checkpoint of the run were written by an attempt that
// ended (killed, hung) before the store learnt of them: not known to be complete or ours, and
// they would outrank the resumed run's own checkpoints when pruning. Moved aside, never deleted
// (dp rank 0, the writer of the directory).
void move_aside_unrecorded(const TrainJob& job, const fs::path& dir) {
  if (job.dp_comm->rank() != 0 || !job.resume) return;
  for (const auto& [step, path] : io::list_checkpoints(dir)) {
    if (step <= job.resume->step) continue;
    log::warn("{}: step {} is newer than the store's newest checkpoint of run {} (step {}): {}",
              path.string(), step, job.run_id, job.resume->step, move_aside(path, ".unknown"));
  }
}

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
        chosen.extra = decode_extra(read.loop_state, path);
        chosen.step = read.step;
        chosen.tokens_seen = read.tokens_seen;
        state = std::move(read);
        break;
      } catch (const InputError& e) {
        move_aside_corrupt(path, e.what());
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
    log::error("run {}: the group's ranks found different usable checkpoints; training "
               "from scratch", job.run_id);
    state.reset();
    chosen = Resumed{};
  }
  if (state) {
    std::copy(state->params.begin(), state->params.end(), gpt.params().begin());
    std::copy(state->adam_m.begin(), state->adam_m.end(), gpt.adam_m().begin());
    std::copy(state->adam_v.begin(), state->adam_v.end(), gpt.adam_v().begin());
    log::info("run {} (point {}): resumed from step {}", job.run_id, job.point.key, chosen.step);
    move_aside_unrecorded(job, dir);
    return chosen;
  }
  gpt.init_params(static_cast<std::uint64_t>(job.point.seed), job.point.init_scale_residual);
  // Files left from another store's run of this point would outrank ours when pruning: moved
  // aside, never deleted (they may be that store's only copy).
  if (job.dp_comm->rank() == 0) {
    for (const auto& [step, path] : io::list_checkpoints(dir)) {
      log::warn(
          "{}: a checkpoint of this point that this store does not know (another store's?): {}",
          path.string(), move_aside(path, ".unknown"));
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

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The placement a caller gave must match the point: group sizes, and the CPU backend.
void check_placement(const TrainJob& job) {
  const Point& point = job.point;
  if (job.dp_comm->size() != point.dp || job.tp_comm->size() != point.tp) {
    throw std::invalid_argument(
        fmt::format("point {}: dp/tp communicators of size {}/{} for "
                    "dp = {}, tp = {}",
                    point.key, job.dp_comm->size(), job.tp_comm->size(), point.dp, point.tp));
  }
  if (!job.device.cpu()) {
    throw std::runtime_error(
        fmt::format("point {}: CUDA device {} requested but the trainer "
                    "has only the CPU backend",
                    point.key, job.device.cuda_device));
  }
}

// The point's model, checked for this tp size.
model::GptConfig checked_gpt_config(const Point& point) {
  const model::GptConfig cfg = gpt_config_of(point.shape, point.vocab);
  model::validate_gpt_config(cfg, static_cast<int>(point.tp), "point " + point.key);
  return cfg;
}

model::LrSchedule lr_schedule_of(const Point& point) {
  const model::LrSchedule schedule{point.lr, point.warmup_steps, point.steps, point.lr_min_ratio};
  model::validate_lr_schedule(schedule);
  return schedule;
}

// Everything the steps of one training run share: this rank's place in the group, the model,
// the data and the schedule (fixed), then the run's state so far.
struct Loop {
  Loop(const TrainJob& job, RunSink& sink, const TrainOptions& options)
      : job(job),
        sink(sink),
        options(options),
        point(job.point),
        dp_rank(job.dp_comm->rank()),
        dp_size(job.dp_comm->size()),
        tp_rank(job.tp_comm->rank()),
        leader(dp_rank == 0 && tp_rank == 0),
        cfg(checked_gpt_config(point)),
        B(static_cast<int>(point.micro_batch)),
        T(cfg.n_ctx),
        accum(static_cast<int>(point.grad_accum)),
        step_tokens(static_cast<std::int64_t>(B) * T * accum * dp_size),
        flops_per_token(point.tokens > 0 ? point.flops / point.tokens : 0.0),
        train_shard(open_shard(job.data.train, "train", point.vocab)),
        val_shard(open_shard(job.data.val, "val", point.vocab)),
        loader(train_shard, T, static_cast<std::uint64_t>(point.seed)),
        val_loader(val_shard, T, eval_windows(job.schedule.eval_tokens, T)),
        schedule(lr_schedule_of(point)),
        gpt(cfg, B, point.tp > 1 ? job.tp_comm : nullptr),
        inputs(static_cast<std::size_t>(B) * T),
        targets(inputs.size()),
        ckpt_dir(checkpoint_dir_of(job, tp_rank)),
        identity(checkpoint_identity(job, tp_rank, gpt.num_params())) {
    adamw.weight_decay = static_cast<float>(point.weight_decay);
  }

  // Starts the clock at the step the group resumed from (0: scratch).
  void begin(const Resumed& resumed) {
    result.outcome.step = resumed.step;
    result.outcome.tokens_seen = resumed.tokens_seen;
    extra = resumed.extra;
    resumed_tokens = resumed.tokens_seen;
    last_checkpoint_step = resumed.step;
    start = Clock::now();
    last_progress = start - std::chrono::hours(1);
  }
  // Wall seconds of the run over all attempts (earlier ones up to their last checkpoint).
  double wall_now() const { return extra.wall_seconds + seconds(Clock::now() - start); }

  const TrainJob& job;  // communicators filled in
  RunSink& sink;
  const TrainOptions& options;
  const Point& point;
  const int dp_rank, dp_size, tp_rank;
  const bool leader;  // dp 0 and tp 0: reports checkpoints, prints progress
  const model::GptConfig cfg;
  const int B, T, accum;             // micro batch, context, micro steps per step
  const std::int64_t step_tokens;    // tokens per optimizer step over the group
  const double flops_per_token;
  const io::Shard train_shard, val_shard;
  const io::TrainLoader loader;
  const io::ValLoader val_loader;
  const model::LrSchedule schedule;
  model::AdamWConfig adamw;
  model::Gpt gpt;
  std::vector<std::int32_t> inputs, targets;  // one micro batch
  const fs::path ckpt_dir;
  const std::string identity;

  TrainResult result;  // outcome.step / tokens_seen: the last completed step
  LoopExtra extra;     // best losses; wall seconds of earlier attempts
  std::int64_t resumed_tokens = 0;
  std::int64_t last_checkpoint_step = 0;
  std::optional<double> last_val;
  Clock::time_point start, last_progress;
};

struct StepStats {
  double loss = 0, grad_norm = 0, lr = 0;
};

// One optimizer step: `accum` micro steps of forward + backward, the loss averaged over the dp
// ranks; when it is finite, gradients averaged over dp, clipped, and AdamW at the scheduled lr.
StepStats train_step(Loop& l, std::int64_t step) {
  StepStats s;
  l.gpt.zero_grad();
  for (int micro = 0; micro < l.accum; ++micro) {
    l.loader.next_batch(step - 1, micro, l.dp_rank, l.dp_size, l.B, l.inputs.data(),
                        l.targets.data());
    s.loss += l.gpt.forward(l.inputs.data(), l.targets.data(), l.B, l.T);
    l.gpt.backward(1.0f / static_cast<float>(l.accum));
    l.sink.keep_alive();
  }
  s.loss /= l.accum;
  l.job.dp_comm->allreduce_sum(&s.loss, 1);
  s.loss /= l.dp_size;
  if (!std::isfinite(s.loss)) return s;
  if (l.dp_size > 1) l.gpt.allreduce_grads_mean(*l.job.dp_comm);
  s.grad_norm = l.gpt.clip_grad_norm(l.point.grad_clip);
  s.lr = model::lr_at(l.schedule, step - 1);
  l.gpt.adamw_step(l.adamw, s.lr, step);
  return s;
}

// The run's state after a finite step, and the step's metric row (val loss and wall come later).
store::MetricRow after_step(Loop& l, std::int64_t step, const StepStats& s,
                            Clock::time_point step_begin) {
  store::RunOutcome& o = l.result.outcome;
  o.step = step;
  o.tokens_seen += l.step_tokens;
  o.final_train_loss = s.loss;
  if (std::isnan(l.extra.best_train) || s.loss < l.extra.best_train) l.extra.best_train = s.loss;
  store::MetricRow row;
  row.run = l.job.run_id;
  row.step = step;
  row.tokens = o.tokens_seen;
  row.flops = l.flops_per_token * static_cast<double>(o.tokens_seen);
  row.train_loss = s.loss;
  row.lr = s.lr;
  row.grad_norm = s.grad_norm;
  const double step_seconds = seconds(Clock::now() - step_begin);
  row.tokens_per_s = step_seconds > 0 ? l.step_tokens / step_seconds : 0.0;
  return row;
}

bool eval_due(const Loop& l, std::int64_t step) {
  const std::int64_t every = l.job.schedule.eval_interval;
  return (every > 0 && step % every == 0) || step == l.point.steps;
}

// Mean loss over this rank's share of the fixed val windows, averaged over dp ranks.
double evaluate(Loop& l) {
  double sums[2] = {0, 0};  // loss * windows, windows
  std::vector<std::int64_t> mine;
  for (std::int64_t k = l.dp_rank; k < l.val_loader.num_windows(); k += l.dp_size) {
    mine.push_back(k);
  }
  for (std::size_t i = 0; i < mine.size(); i += static_cast<std::size_t>(l.B)) {
    const int count = static_cast<int>(std::min<std::size_t>(l.B, mine.size() - i));
    for (int b = 0; b < count; ++b) {
      l.val_loader.windows(mine[i + b], 1, l.inputs.data() + static_cast<std::size_t>(b) * l.T,
                           l.targets.data() + static_cast<std::size_t>(b) * l.T);
    }
    sums[0] +=
        static_cast<double>(l.gpt.forward(l.inputs.data(), l.targets.data(), count, l.T)) * count;
    sums[1] += count;
    l.sink.keep_alive();  // an eval of many windows can take longer than --hang-seconds
  }
  l.job.dp_comm->allreduce_sum(sums, 2);
  return sums[0] / sums[1];
}

void record_val(Loop& l, store::MetricRow& row, double val) {
  row.val_loss = val;
  l.last_val = val;
  l.result.outcome.final_val_loss = val;
  if (std::isnan(l.extra.best_val) || val < l.extra.best_val) l.extra.best_val = val;
}

// Writes this rank's shard of the checkpoint of `step` (dp rank 0 only: dp replicas hold the
// same state), prunes beyond keep_checkpoints, and, once every tp shard is on disk, reports
// tp rank 0's file to the sink. A step already checkpointed is not written again.
void write_checkpoint(Loop& l, std::int64_t step) {
  if (step == l.last_checkpoint_step) return;
  l.last_checkpoint_step = step;
  std::optional<io::CheckpointInfo> info;
  if (l.dp_rank == 0) {
    fs::create_directories(l.ckpt_dir);
    LoopExtra now = l.extra;
    now.wall_seconds = l.wall_now();
    const std::vector<std::uint8_t> extra_bytes = encode_extra(now);
    const std::vector<std::uint64_t> loader_state = l.loader.state();
    io::CheckpointView view;
    view.identity = l.identity;
    view.step = step;
    view.tokens_seen = l.result.outcome.tokens_seen;
    view.params = l.gpt.params();
    view.adam_m = l.gpt.adam_m();
    view.adam_v = l.gpt.adam_v();
    view.loop_state = extra_bytes;
    view.loader = loader_state;
    l.sink.keep_alive();
    info = io::write_checkpoint(l.ckpt_dir / io::checkpoint_file_name(step), view);
    l.sink.keep_alive();
  }
  l.job.tp_comm->barrier();  // every tp shard is on disk before the store learns of it
  if (l.leader && info) {
    store::CheckpointRecord record;
    record.run = l.job.run_id;
    record.step = step;
    record.path = info->path.string();
    record.bytes = static_cast<std::int64_t>(info->bytes);
    record.sha256 = info->sha256;
    l.sink.on_checkpoint(record);
  }
  // Older files go only after the store has been told of the new one: a rank stopped or killed
  // in between leaves the checkpoint the store knows on disk (the newer, unrecorded file is
  // moved aside on resume).
  if (l.dp_rank == 0) {
    io::prune_checkpoints(l.ckpt_dir, static_cast<int>(std::max<std::int64_t>(
                                          1, l.job.schedule.keep_checkpoints)));
  }
}

// One progress line at most every progress_interval_s, and at the last step (leader only).
void print_progress(Loop& l, std::int64_t step, const StepStats& s) {
  if (!l.leader || !l.options.progress) return;
  const auto now = Clock::now();
  if (now - l.last_progress < std::chrono::duration<double>(l.options.progress_interval_s) &&
      step != l.point.steps) {
    return;
  }
  l.last_progress = now;
  const double elapsed = seconds(now - l.start);
  const double rate = (l.result.outcome.tokens_seen - l.resumed_tokens) / std::max(elapsed, 1e-9);
  const double eta = (l.point.steps - step) * l.step_tokens / std::max(rate, 1e-9);
  fmt::print(l.options.progress_out,
             "point {} ({}) step {}/{} loss {:.4f}{} lr {:.2e} | {:.0f} tok/s | ETA {}\n",
             l.point.index, l.point.key, step, l.point.steps, s.loss,
             l.last_val ? fmt::format(" val {:.4f}", *l.last_val) : std::string(), s.lr, rate,
             format_duration(eta));
  std::fflush(l.options.progress_out);
}

TrainResult finish(Loop& l, TrainEnd end) {
  l.result.end = end;
  l.result.outcome.best_train_loss = nan_to_none(l.extra.best_train);
  l.result.outcome.best_val_loss = nan_to_none(l.extra.best_val);
  l.result.outcome.wall_seconds = l.wall_now();
  return l.result;
}

TrainResult diverged(Loop& l, std::int64_t step, const char* what, double value) {
  log::warn("run {} (point {}): {} {} at step {}: diverged", l.job.run_id, l.point.key, what,
            value, step);
  l.result.diverged_step = step;
  return finish(l, TrainEnd::kDiverged);
}

}  // namespace

TrainResult train_point(const TrainJob& job, RunSink& sink, const TrainOptions& options) {
  model::SelfComm self_dp, self_tp;
  TrainJob local = job;  // with SelfComm filled in where the caller gave none
  if (local.dp_comm == nullptr) local.dp_comm = &self_dp;
  if (local.tp_comm == nullptr) local.tp_comm = &self_tp;
  check_placement(local);
  if (local.cpu_threads > 0) model::cpu_set_threads(local.cpu_threads);
  Loop l(local, sink, options);
  l.begin(resume_from_checkpoint(local, l.gpt, l.loader));
  sink.keep_alive();  // loading a large checkpoint may have taken a while

  for (std::int64_t step = l.result.outcome.step + 1; step <= l.point.steps; ++step) {
    const auto step_begin = Clock::now();
    const StepStats stats = train_step(l, step);
    if (!std::isfinite(stats.loss)) return diverged(l, step, "loss", stats.loss);
    store::MetricRow row = after_step(l, step, stats, step_begin);
    if (eval_due(l, step)) {
      const double val = evaluate(l);
      if (!std::isfinite(val)) return diverged(l, step, "val loss", val);
      record_val(l, row, val);
    }
    row.wall = l.wall_now();
    sink.on_metrics({&row, 1});
    const std::int64_t every = l.job.schedule.checkpoint_interval;
    if (every > 0 && step % every == 0) write_checkpoint(l, step);
    print_progress(l, step, stats);
    if (sink.stop_requested()) {  // collective: same answer on every rank, same step
      write_checkpoint(l, step);
      return finish(l, TrainEnd::kStopped);
    }
  }
  return finish(l, TrainEnd::kDone);
}

}  // namespace ss::runner
