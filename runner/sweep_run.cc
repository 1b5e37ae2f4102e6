// `scalesweep run`: the start-up handshake of every rank and rank 0's scheduler loop (design in
// sweep_run.h). Invariants: rank 0 is the only rank that opens the store; every input check
// happens before the store is opened; metric rows of a run reach the store before the checkpoint
// or outcome that follows them (one sender's messages arrive in order and the run's recorder
// writes its buffered rows before either).
#include "runner/sweep_run.h"

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "runner/failure_kind.h"
#include "runner/grid.h"
#include "runner/run_recorder.h"
#include "runner/scheduler.h"
#include "runner/sweep_run_transport.h"
#include "ss/error.h"
#include "ss/log.h"
#include "store/store.h"

namespace ss::runner {
namespace detail {
// The worker loop (sweep_run_worker.cc).
int run_worker(const SweepSpec& spec, const std::vector<Point>& points,
               const SweepRunOptions& options, const TrainFunction& train, int ranks_on_node);
}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Rank 0 -> all: an int, then a string (length + bytes).
void broadcast_string(std::string& s) {
  long long n = static_cast<long long>(s.size());
  SS_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
  s.resize(static_cast<std::size_t>(n));
  if (n > 0) SS_MPI(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD));
}

// Past the start-up handshake every rank is in the loops, so an InputError can no longer end
// all ranks in step (exit 2): it becomes a fatal error, which aborts the MPI job (cli_run).
template <typename Body>
int after_startup(Body&& body) {
  try {
    return body();
  } catch (const InputError& e) {
    throw std::runtime_error(e.what());
  }
}

// A run some group is training: its claim, its ranks, and its recorder (the store writer of its
// rows, checkpoints and end).
struct ActiveRun {
  store::RunRecord record;
  std::vector<int> ranks;
  Clock::time_point started;
  RunRecorder recorder;
};

class Coordinator {
 public:
  Coordinator(const SweepRunOptions& options, const SweepSpec& spec, store::Store& db,
              std::int64_t sweep_id, int world_size, const StopSignalWatcher& signals,
              LeaseOwner self)
      : options_(options),
        spec_(spec),
        db_(db),
        sweep_id_(sweep_id),
        world_size_(world_size),
        signals_(signals),
        scheduler_(worker_ranks(world_size)),
        self_(std::move(self)),
        owner_(self_.to_string()) {}

  int run() {
    wait_for_ready();
    db_.add_event(0, "job_start", fmt::format("owner {} with {} workers", owner_, world_size_ - 1));
    const auto start = Clock::now();
    start_ = start;
    flops_done_at_start_ = flops_done();
    auto last_summary = start;
    auto last_refresh = start - std::chrono::hours(1);
    auto last_message = start;
    auto last_finished_check = start - std::chrono::hours(1);
    for (;;) {
      if (signals_.stop_requested() && !stopping_) begin_stop();
      if (!stopping_) {
        if (seconds_since(last_refresh) > 2.0 ||
            (scheduler_.pending() == 0 && scheduler_.free_ranks() > 0 &&
             seconds_since(last_refresh) > 1.0)) {
          refresh_pending();
          last_refresh = Clock::now();
        }
        assign_free_groups();
      }
      if (active_.empty()) {
        if (stopping_) break;
        // Throttled: while other jobs hold the remaining points this polls the store.
        if (scheduler_.pending() == 0 && seconds_since(last_finished_check) > 0.2) {
          if (sweep_finished()) break;
          last_finished_check = Clock::now();
        }
      }
      bool handled = false;
      while (auto received = try_receive_message(MPI_ANY_SOURCE)) {
        handle(received->source, received->message);
        handled = true;
      }
      for (auto& [id, run] : active_) run.recorder.tick();  // rows due, leases due
      if (seconds_since(last_summary) >= options_.summary_seconds) {
        print_summary();
        last_summary = Clock::now();
      }
      // Idle: poll often while messages came recently (fast points answer within microseconds),
      // rarely once the job has been quiet for a while (long points). Sleeping, not spinning,
      // leaves the cores to the workers.
      if (handled) {
        last_message = Clock::now();
      } else {
        std::this_thread::sleep_for(
            std::chrono::microseconds(seconds_since(last_message) < 0.01 ? 20 : 500));
      }
    }
    for (int rank = 1; rank < world_size_; ++rank) send_message(rank, protocol::Shutdown{});
    print_summary();
    if (stopping_) {
      db_.add_event(0, "job_stop",
                    fmt::format("signal {}: unfinished points released, exit {}",
                                signals_.stop_signal(), kExitRequeue));
      fmt::print("stopped on signal {}: state saved; re-run the same command to resume (exit {})\n",
                 signals_.stop_signal(), kExitRequeue);
      std::fflush(stdout);
      return kExitRequeue;
    }
    db_.add_event(0, "job_end", fmt::format("owner {}: sweep finished", owner_));
    return 0;
  }

 private:
  static std::vector<int> worker_ranks(int world_size) {
    std::vector<int> ranks;
    for (int r = 1; r < world_size; ++r) ranks.push_back(r);
    return ranks;
  }

  // Every worker reports Ready once it has parsed the config and built the grid.
  void wait_for_ready() {
    int ready = 0;
    while (ready < world_size_ - 1) {
      const auto received = receive_message(MPI_ANY_SOURCE);
      if (!std::holds_alternative<protocol::Ready>(received.message)) {
        throw protocol::ProtocolError(
            fmt::format("rank {} sent {} before ready", received.source,
                        protocol::message_type_name(protocol::message_type(received.message))));
      }
      ++ready;
    }
  }

  // Pending points of the sweep (after taking back expired and dead leases) into the scheduler.
  void refresh_pending() {
    reclaim_dead_leases(db_, self_, sweep_id_);
    store::RunFilter filter;
    filter.sweep_id = sweep_id_;
    filter.status = store::kStatusPending;
    const double now = store::unix_now();
    for (const auto& run : db_.list_runs(filter)) {
      if (scheduler_.is_running(run.id)) continue;
      if (run.retry_after && *run.retry_after > now) {  // a transient failure's backoff
        scheduler_.remove_pending(run.id);
        continue;
      }
      known_[run.id] = run;
      scheduler_.add_point({run.id, run.plan.flops, static_cast<int>(run.plan.dp * run.plan.tp)});
    }
  }

  bool sweep_finished() {
    const auto summary = db_.status_summary(sweep_id_);
    return summary.runs_by_status.at(store::kStatusPending) == 0 &&
           summary.runs_by_status.at(store::kStatusRunning) == 0;
  }

  void assign_free_groups() {
    while (const auto next = scheduler_.peek_next()) {
      const auto& plan = known_.at(next->id).plan;
      store::RunFilter filter;
      filter.sweep_id = sweep_id_;
      filter.points = {plan.point};
      const auto claimed = db_.claim_point(owner_, options_.lease_seconds, filter);
      if (!claimed) {  // another job holds it, or it ended meanwhile
        scheduler_.remove_pending(next->id);
        continue;
      }
      const auto assignment = scheduler_.take(next->id);
      protocol::Assign assign;
      assign.assignment = next_assignment_++;
      assign.run_id = claimed->id;
      assign.point_key = claimed->plan.point;
      assign.attempt = claimed->attempts;
      assign.group_ranks.assign(assignment.ranks.begin(), assignment.ranks.end());
      const auto checkpoints = db_.latest_checkpoints(claimed->id, 1);
      if (!checkpoints.empty()) assign.resume = checkpoints.front();
      for (const int rank : assignment.ranks) send_message(rank, assign);
      active_.emplace(assign.assignment,
                      ActiveRun{*claimed, assignment.ranks, Clock::now(),
                                RunRecorder(db_, claimed->id, owner_, recorder_policy())});
      log::debug("assign run {} (point {}) to ranks {}", claimed->id, claimed->plan.point,
                 fmt::join(assignment.ranks, ","));
    }
  }

  void begin_stop() {
    stopping_ = true;
    log::warn("signal {} received: asking {} running point(s) to checkpoint and stop",
              signals_.stop_signal(), active_.size());
    for (auto& [id, run] : active_) {
      send_message(run.ranks.front(), protocol::Stop{});
    }
  }

  ActiveRun& active_for(std::uint64_t assignment, int source) {
    const auto it = active_.find(assignment);
    if (it == active_.end() || it->second.ranks.front() != source) {
      throw protocol::ProtocolError(
          fmt::format("rank {} reported on assignment {} it does not lead", source, assignment));
    }
    return it->second;
  }

  void handle(int source, const protocol::Message& message) {
    std::visit(
        [&](const auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, protocol::Metrics>) {
            active_for(m.assignment, source).recorder.add_metrics(m.rows);
          } else if constexpr (std::is_same_v<M, protocol::Checkpoint>) {
            active_for(m.assignment, source).recorder.add_checkpoint(m.record);
          } else if constexpr (std::is_same_v<M, protocol::Heartbeat>) {
            active_for(m.assignment, source);  // alive; its rows carry the progress
          } else if constexpr (std::is_same_v<M, protocol::Ended>) {
            finish_run(m, source);
          } else if constexpr (std::is_same_v<M, protocol::Failed>) {
            record_failure(active_for(m.assignment, source), source, m.error);
            end_active(m.assignment);
          } else {
            throw protocol::ProtocolError(
                fmt::format("rank {} sent an unexpected {} message", source,
                            protocol::message_type_name(protocol::message_type(message))));
          }
        },
        message);
  }

  // A run failed: the store decides (retry at once, back off, or failed); an event and a line
  // say what in status's words (describe_failure), the event with the stored failure's time.
  void record_failure(ActiveRun& run, int source, const std::string& error) {
    const double now = store::unix_now();
    const auto failure = run.recorder.fail(error, now);
    const auto stored = db_.find_run(run.record.id);
    const std::string kind =
        stored ? describe_failure(*stored, retry_policy(spec_.schedule), now) : failure.status;
    db_.add_event(source, "run_failed",
                  fmt::format("run {} attempt {}: {}: {}", run.record.id, run.record.attempts,
                              kind, error),
                  now);
    print_point_line(run, failure.status, fmt::format("{}; error: {}", kind, error));
  }

  void finish_run(const protocol::Ended& ended, int source) {
    auto& run = active_for(ended.assignment, source);
    const TrainResult& r = ended.result;
    const std::string status = run.recorder.finish(r);
    switch (r.end) {
      case TrainEnd::kDone:
        print_point_line(run, status,
                         fmt::format("train loss {:.4f}, val loss {}",
                                     r.outcome.final_train_loss.value_or(NAN),
                                     r.outcome.final_val_loss
                                         ? fmt::format("{:.4f}", *r.outcome.final_val_loss)
                                         : std::string("-")));
        break;
      case TrainEnd::kDiverged:
        print_point_line(run, status,
                         fmt::format("NaN/Inf at step {}", r.diverged_step.value_or(r.outcome.step)));
        break;
      case TrainEnd::kStopped:
        print_point_line(run, "stopped", fmt::format("checkpointed at step {}", r.outcome.step));
        break;
    }
    end_active(ended.assignment);
  }

  void end_active(std::uint64_t assignment) {
    const auto it = active_.find(assignment);
    scheduler_.finish(it->second.record.id);
    active_.erase(it);
  }

  RecorderPolicy recorder_policy() const {
    RecorderPolicy policy;
    policy.lease_seconds = options_.lease_seconds;
    policy.keep_checkpoints = spec_.schedule.keep_checkpoints;
    policy.retry = retry_policy(spec_.schedule);
    policy.flush_seconds = options_.metrics_flush_seconds;
    return policy;
  }

  double flops_done() {
    const auto s = db_.status_summary(sweep_id_);
    return s.tokens_target > 0 ? s.flops_planned * static_cast<double>(s.tokens_seen) /
                                     static_cast<double>(s.tokens_target)
                               : 0.0;
  }

  void print_point_line(const ActiveRun& run, const std::string& status,
                        const std::string& detail) {
    const auto& p = run.record.plan;
    fmt::print("[{}] run {} point {} (L{} d{} N={} D={}) on ranks {}: {} ({:.1f}s)\n", status,
               run.record.id, p.point, p.n_layer, p.d_model, p.n_params, p.tokens,
               fmt::join(run.ranks, ","), detail, seconds_since(run.started));
    std::fflush(stdout);
  }

  void print_summary() {
    const auto s = db_.status_summary(sweep_id_);
    double tokens_per_s = 0;
    for (const auto& [id, run] : active_) {
      const auto& row = run.recorder.last_row();
      if (row && row->tokens_per_s) tokens_per_s += *row->tokens_per_s;
    }
    const double elapsed = seconds_since(start_);
    const double done_flops = flops_done();
    const double rate = elapsed > 0 ? (done_flops - flops_done_at_start_) / elapsed : 0;
    const double remaining = std::max(0.0, s.flops_planned - done_flops);
    const std::string eta =
        rate > 0 ? fmt::format("{:.0f}s", remaining / rate) : std::string("unknown");
    fmt::print(
        "progress: {} done, {} running ({} here), {} pending, {} failed, {} diverged of {}; "
        "{:.0f} tokens/s; elapsed {:.0f}s; ETA {}{}\n",
        s.runs_by_status.at(store::kStatusDone), s.runs_by_status.at(store::kStatusRunning),
        active_.size(), s.runs_by_status.at(store::kStatusPending),
        s.runs_by_status.at(store::kStatusFailed), s.runs_by_status.at(store::kStatusDiverged),
        s.runs_total, tokens_per_s, elapsed, eta, waiting_text(s));
    std::fflush(stdout);
  }

  // What this job waits for, read from the store now (not from the last refresh, which may be
  // stale: another job may have finished the point meanwhile): points backing off after a
  // transient failure (the next one, and until when), and, when no pending point is left to
  // claim, the leases other jobs hold.
  std::string waiting_text(const store::StatusSummary& s) {
    const double now = store::unix_now();
    store::RunFilter filter;
    filter.sweep_id = sweep_id_;
    filter.status = store::kStatusPending;
    std::vector<store::RunRecord> backing_off;
    for (auto& run : db_.list_runs(filter)) {
      if (run.retry_after && *run.retry_after > now) backing_off.push_back(std::move(run));
    }
    std::ranges::sort(backing_off, {}, [](const auto& r) { return *r.retry_after; });
    const auto more = [](std::size_t n) {
      return n > 1 ? fmt::format(" (and {} more)", n - 1) : std::string();
    };
    std::string text;
    if (!backing_off.empty()) {
      const auto& next = backing_off.front();
      text += fmt::format("; backing off: run {} (point {}) waits until {} (in {:.0f}s) after "
                          "transient failure {} of {}{}",
                          next.id, next.plan.point, utc_time_text(*next.retry_after),
                          *next.retry_after - now, next.transient_failures,
                          spec_.schedule.max_transient_failures, more(backing_off.size()));
    }
    const auto claimable =
        s.runs_by_status.at(store::kStatusPending) - static_cast<std::int64_t>(backing_off.size());
    if (claimable <= 0) {
      const auto leases = live_leases(db_, owner_, sweep_id_, now);
      if (!leases.empty()) {
        text += fmt::format("; waiting for {}{}", describe_live_lease(leases.front()),
                            more(leases.size()));
      }
    }
    return text;
  }

  const SweepRunOptions& options_;
  const SweepSpec& spec_;
  store::Store& db_;
  std::int64_t sweep_id_;
  int world_size_;
  const StopSignalWatcher& signals_;
  Scheduler scheduler_;
  LeaseOwner self_;
  std::string owner_;
  std::unordered_map<std::int64_t, store::RunRecord> known_;
  std::map<std::uint64_t, ActiveRun> active_;
  std::uint64_t next_assignment_ = 1;
  bool stopping_ = false;
  Clock::time_point start_;
  double flops_done_at_start_ = 0;
};

}  // namespace

int run_sweep(const SweepRunOptions& options, const TrainFunction& train,
              const StopSignalWatcher& signals, const PreflightFunction& preflight) {
  int rank = 0, world_size = 1;
  SS_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  SS_MPI(MPI_Comm_size(MPI_COMM_WORLD, &world_size));
  const int ranks_on_node = count_ranks_on_node();  // collective: before rank 0's checks

  // Rank 0 validates everything and opens the store; the verdict and the config text go to all.
  std::string error, config_path = options.config, config_text;
  std::optional<store::Store> db;
  std::optional<SweepSpec> spec;
  std::vector<Point> points;
  if (rank == 0) {
    try {
      const auto journal = store::parse_journal_mode(options.journal);
      if (world_size < 2) {
        throw InputError(
            fmt::format("scalesweep run: {} MPI rank(s); need rank 0 plus at least one worker: "
                        "launch with mpirun -np 2 or more",
                        world_size));
      }
      if (!(options.lease_seconds > 0)) {
        throw InputError(
            fmt::format("--lease-seconds {}: must be positive", options.lease_seconds));
      }
      spec = load_sweep_spec(options.config);
      place_checkpoints(*spec, options.store);
      points = expand_grid(*spec);
      for (const auto& p : points) {
        if (p.dp * p.tp > world_size - 1) {
          throw InputError(fmt::format(
              "{}: point {} needs dp*tp = {} worker ranks but the job has {}; launch with "
              "mpirun -np {} or lower dp/tp",
              options.config, p.key, p.dp * p.tp, world_size - 1, p.dp * p.tp + 1));
        }
      }
      if (preflight) preflight(*spec, points, ranks_on_node - 1);  // rank 0 trains nothing
      store::StoreOptions store_options;
      store_options.create_if_missing = true;
      store_options.journal = journal;
      db.emplace(options.store, store_options);
      config_text = spec->config_text;
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  int ok = error.empty() ? 1 : 0;
  SS_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (!ok) {
    if (rank == 0) throw InputError(error);
    // 0, not 2: rank 0 alone reports the job's failure (its line, exit 2). A worker exiting
    // non-zero first makes mpirun abort the job, which could kill rank 0 before its line is out.
    return 0;
  }
  broadcast_string(config_path);
  broadcast_string(config_text);

  if (rank != 0) {
    SweepSpec worker_spec = parse_sweep_spec(config_text, config_path);
    place_checkpoints(worker_spec, options.store);  // every rank has the same --store
    return after_startup([&] {
      return detail::run_worker(worker_spec, expand_grid(worker_spec), options, train,
                                ranks_on_node);
    });
  }

  const auto registration = register_sweep_points(*db, *spec, points);
  const auto sweep_id = registration.sweep_id;
  const auto added = registration.new_points;
  LeaseOwner self = this_process_owner("run", process_env());
  const auto leases = reclaim_dead_leases(*db, self, sweep_id);
  fmt::print("scalesweep run: sweep {} ({} points, {} new), store {}, {} workers{}\n", spec->name,
             points.size(), added, options.store, world_size - 1,
             leases.reclaimed > 0
                 ? fmt::format(", {} expired or dead lease(s) reclaimed", leases.reclaimed)
                 : "");
  std::fflush(stdout);
  Coordinator coordinator(options, *spec, *db, sweep_id, world_size, signals, std::move(self));
  return after_startup([&] { return coordinator.run(); });
}

}  // namespace ss::runner
