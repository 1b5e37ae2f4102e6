// `scalesweep run`: the start-up handshake of every rank and rank 0's scheduler loop (design in
// sweep_run.h). Invariants: rank 0 is the only rank that opens the store; every input check
// happens before the store is opened; metric rows of a run reach the store before the checkpoint
// or outcome that follows them (one sender's messages arrive in order and the run's recorder
// writes its buffered rows before either); a run ends only when every rank of its group has
// reported (Ended or Failed), and each failure, hang or worker's fatal error is printed once,
// here, as one line.
#include "runner/sweep_run.h"

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
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
// The worker's part after start-up (sweep_run_worker.cc): parses the broadcast config, trains
// what it is assigned; an error it cannot go on after goes to rank 0 (Fatal), never returns.
int run_worker(const std::string& config_text, const std::string& config_path,
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

// A run some group is training: its claim, its ranks, its recorder (the store writer of its
// rows, checkpoints and end), when the group was last heard from, and how each rank's part
// ended so far (the run ends when every rank has reported).
struct ActiveRun {
  store::RunRecord record;
  std::vector<int> ranks;
  Clock::time_point started;
  RunRecorder recorder;
  Clock::time_point last_heard = Clock::now();
  std::map<int, std::string> failures;  // rank -> its error (Failed)
  std::set<int> reported;               // ranks whose part ended (Ended or Failed)
  std::optional<TrainResult> result;    // the leader's
};

class Coordinator {
 public:
  Coordinator(const SweepRunOptions& options, const SweepSpec& spec, store::Store& db,
              store::RunFilter scope, int world_size, const StopSignalWatcher& signals,
              LeaseOwner self)
      : options_(options),
        spec_(spec),
        db_(db),
        scope_(std::move(scope)),
        world_size_(world_size),
        signals_(signals),
        scheduler_(worker_ranks(world_size)),
        self_(std::move(self)),
        owner_(self_.to_string()),
        workers_(static_cast<std::size_t>(world_size)) {}

  JobEnd run() {
    if (!wait_for_ready()) return end_lost();
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
      check_hangs();  // after draining: a group whose messages were waiting is not silent
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
    if (lost_code_) return end_lost();
    for (int rank = 1; rank < world_size_; ++rank) send_message(rank, protocol::Shutdown{});
    print_summary();
    if (stopping_) {
      db_.add_event(0, "job_stop",
                    fmt::format("signal {}: unfinished points released, exit {}",
                                signals_.stop_signal(), kExitRequeue));
      fmt::print("stopped on signal {}: state saved; re-run the same command to resume (exit {})\n",
                 signals_.stop_signal(), kExitRequeue);
      std::fflush(stdout);
      return {kExitRequeue, false};
    }
    db_.add_event(0, "job_end", fmt::format("owner {}: sweep finished", owner_));
    return {0, false};
  }

 private:
  static std::vector<int> worker_ranks(int world_size) {
    std::vector<int> ranks;
    for (int r = 1; r < world_size; ++r) ranks.push_back(r);
    return ranks;
  }

  // Every worker reports Ready (host, pid) once it has parsed the config and built the grid.
  // False when a worker cannot start (Fatal) or some never report within --hang-seconds: that
  // line is printed, and the job is to be aborted.
  bool wait_for_ready() {
    int ready = 0;
    auto last = Clock::now();
    while (ready < world_size_ - 1) {
      const auto received = try_receive_message(MPI_ANY_SOURCE);
      if (!received) {
        if (seconds_since(last) > options_.hang_seconds) {
          std::vector<int> silent;
          for (int r = 1; r < world_size_; ++r)
            if (workers_[static_cast<std::size_t>(r)].pid == 0) silent.push_back(r);
          lost_.insert(silent.begin(), silent.end());
          report_lost(fmt::format("worker rank(s) {} did not start within {:g} s "
                                  "(--hang-seconds)",
                                  fmt::join(silent, ","), options_.hang_seconds),
                      kExitHung);
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      last = Clock::now();
      if (const auto* fatal = std::get_if<protocol::Fatal>(&received->message)) {
        lost_.insert(received->source);
        report_lost(fatal->error, 1);
        return false;
      }
      const auto* hello = std::get_if<protocol::Ready>(&received->message);
      if (hello == nullptr) {
        throw protocol::ProtocolError(
            fmt::format("rank {} sent {} before ready", received->source,
                        protocol::message_type_name(protocol::message_type(received->message))));
      }
      workers_.at(static_cast<std::size_t>(received->source)) = *hello;
      ++ready;
    }
    return true;
  }

  // Pending points of the job (after taking back expired and dead leases) into the scheduler.
  void refresh_pending() {
    reclaim_dead_leases(db_, self_, scope_);
    store::RunFilter filter = scope_;
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
    const auto summary = db_.status_summary(scope_);
    return summary.runs_by_status.at(store::kStatusPending) == 0 &&
           summary.runs_by_status.at(store::kStatusRunning) == 0;
  }

  void assign_free_groups() {
    while (const auto next = scheduler_.peek_next()) {
      const auto& plan = known_.at(next->id).plan;
      store::RunFilter filter;
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
                                RunRecorder(db_, claimed->id, owner_, recorder_policy()),
                                Clock::now(), {}, {}, std::nullopt});
      log::debug("assign run {} (point {}) to ranks {}", claimed->id, claimed->plan.point,
                 fmt::join(assignment.ranks, ","));
    }
  }

  void begin_stop() {
    stopping_ = true;
    if (!lost_code_) {
      log::warn("signal {} received: asking {} running point(s) to checkpoint and stop",
                signals_.stop_signal(), active_.size());
    }
    for (auto& [id, run] : active_) {
      send_message(run.ranks.front(), protocol::Stop{});
    }
  }

  // The run `source` leads (rows, checkpoints, heartbeats come from the leader only).
  ActiveRun& active_for(std::uint64_t assignment, int source) {
    const auto it = active_.find(assignment);
    if (it == active_.end() || it->second.ranks.front() != source) {
      throw protocol::ProtocolError(
          fmt::format("rank {} reported on assignment {} it does not lead", source, assignment));
    }
    it->second.last_heard = Clock::now();
    return it->second;
  }

  // The run `source` is a member of; nullptr when it was lost already (a member's late report).
  ActiveRun* member_of(std::uint64_t assignment, int source) {
    const auto it = active_.find(assignment);
    if (it == active_.end()) {
      if (assignment < next_assignment_ && lost_.contains(source)) return nullptr;
      throw protocol::ProtocolError(
          fmt::format("rank {} reported on assignment {} it is not in", source, assignment));
    }
    if (std::find(it->second.ranks.begin(), it->second.ranks.end(), source) ==
        it->second.ranks.end()) {
      throw protocol::ProtocolError(
          fmt::format("rank {} reported on assignment {} it is not in", source, assignment));
    }
    it->second.last_heard = Clock::now();
    return &it->second;
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
            if (ActiveRun* run = member_of(m.assignment, source)) {
              if (source == run->ranks.front()) run->result = m.result;
              member_ended(m.assignment, *run, source);
            }
          } else if constexpr (std::is_same_v<M, protocol::Failed>) {
            if (ActiveRun* run = member_of(m.assignment, source)) {
              run->failures.emplace(source, m.error);
              member_ended(m.assignment, *run, source);
            }
          } else if constexpr (std::is_same_v<M, protocol::Fatal>) {
            lose_fatal(source, m.error);
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

  // One rank's part of a run ended; once every rank's has, the run ends: failed when any rank
  // failed (the lowest rank's error, printed once), else with the leader's result.
  void member_ended(std::uint64_t assignment, ActiveRun& run, int source) {
    run.reported.insert(source);
    if (run.reported.size() < run.ranks.size()) return;
    if (run.failures.empty()) {
      if (!run.result) {
        throw protocol::ProtocolError(
            fmt::format("assignment {} ended without its leader's result", assignment));
      }
      finish_run(assignment, run);
      return;
    }
    const auto& [rank, error] = *run.failures.begin();
    record_failure(run, rank, error);
    end_active(assignment);
  }

  void finish_run(std::uint64_t assignment, ActiveRun& run) {
    const TrainResult& r = *run.result;
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
    end_active(assignment);
  }

  void end_active(std::uint64_t assignment) {
    const auto it = active_.find(assignment);
    scheduler_.finish(it->second.record.id);
    active_.erase(it);
  }

  // ---- lost groups: a hang, or a worker's fatal error --------------------------------------

  // "rank 2 (node1, pid 1234)" for each of `ranks`.
  std::string describe_ranks(const std::vector<int>& ranks) const {
    std::vector<std::string> parts;
    for (const int r : ranks) {
      const auto& w = workers_.at(static_cast<std::size_t>(r));
      parts.push_back(w.pid > 0 ? fmt::format("{} ({}, pid {})", r, w.host, w.pid)
                                : fmt::format("{}", r));
    }
    return fmt::format("rank{} {}", ranks.size() > 1 ? "s" : "", fmt::join(parts, ", "));
  }

  // Every group silent for --hang-seconds is lost (hung).
  void check_hangs() {
    std::vector<std::uint64_t> hung;
    for (const auto& [id, run] : active_)
      if (seconds_since(run.last_heard) > options_.hang_seconds) hung.push_back(id);
    for (const auto id : hung) {
      ActiveRun& run = active_.at(id);
      std::vector<int> silent;
      for (const int r : run.ranks)
        if (!run.reported.contains(r)) silent.push_back(r);
      const std::string who =
          silent.size() == run.ranks.size() ? std::string() : describe_ranks(silent) + " ";
      lose_run(id, fmt::format("{}sent nothing for {:.0f} s (--hang-seconds {:g}): hung", who,
                               seconds_since(run.last_heard), options_.hang_seconds),
               kExitHung);
    }
  }

  // A worker cannot go on: its group (if it is in one) is lost with it.
  void lose_fatal(int source, const std::string& error) {
    if (lost_.contains(source)) return;  // its group's line is out already
    for (const auto& [id, run] : active_) {
      if (std::find(run.ranks.begin(), run.ranks.end(), source) != run.ranks.end()) {
        lose_run(id, error, 1);
        return;
      }
    }
    lost_.insert(source);
    report_lost(error, 1);
  }

  // The group of `assignment` is lost: its point is released (pending, resumed from its newest
  // checkpoint by the next run), or, when some of its ranks reported a failure, that failure is
  // recorded (retried up to max_attempts); one line says what and what to do; the other groups
  // are stopped (checkpoint, release) and the job ends with `code` and MPI_Abort.
  void lose_run(std::uint64_t assignment, const std::string& why, int code) {
    ActiveRun& run = active_.at(assignment);
    std::string what;
    if (run.failures.empty()) {
      run.recorder.release();
      const auto checkpoints = db_.latest_checkpoints(run.record.id, 1);
      what = checkpoints.empty()
                 ? std::string("the point is released (pending; the next run starts it from "
                               "scratch)")
                 : fmt::format("the point is released (pending; the next run resumes it from "
                               "its checkpoint of step {})",
                               checkpoints.front().step);
    } else {
      const auto& [rank, error] = *run.failures.begin();
      const std::string status = run.recorder.fail(error).status;
      what = fmt::format("rank {} failed: {}; recorded as the point's failure ({})", rank, error,
                         status);
    }
    db_.add_event(run.ranks.front(), code == kExitHung ? "run_hung" : "run_lost",
                  fmt::format("run {}: {}", run.record.id, why));
    const auto& p = run.record.plan;
    const std::string line = fmt::format("run {} (point {}) on {}: {}; {}",
                                         run.record.id, p.point, describe_ranks(run.ranks), why,
                                         what);
    lost_.insert(run.ranks.begin(), run.ranks.end());
    active_.erase(assignment);  // its ranks stay busy in the scheduler: they are not reused
    report_lost(line, code);
  }

  // The one line of a lost group or worker, once; then the others stop.
  void report_lost(const std::string& what, int code) {
    std::vector<std::string> pids;
    for (const int r : lost_) {
      const auto& w = workers_.at(static_cast<std::size_t>(r));
      if (w.pid > 0) pids.push_back(fmt::format("{} on {}", w.pid, w.host));
    }
    fmt::print(stderr,
               "scalesweep run: error: {}; ending the job (exit {}): the other points are "
               "checkpointed and released; make sure no rank of it is left{} and run the same "
               "command again\n",
               what, code,
               pids.empty() ? std::string()
                            : fmt::format(" (kill -9 {})", fmt::join(pids, ", ")));
    std::fflush(stderr);
    if (!lost_code_) lost_code_ = code;
    if (!stopping_) begin_stop();
  }

  // After a lost group: the others have stopped; the job is aborted with the lost code.
  JobEnd end_lost() {
    print_summary();
    db_.add_event(0, "job_abort",
                  fmt::format("owner {}: a worker group was lost, exit {}", owner_, *lost_code_));
    return {*lost_code_, true};
  }

  RecorderPolicy recorder_policy() const {
    RecorderPolicy policy;
    policy.lease_seconds = options_.lease_seconds;
    policy.keep_checkpoints = spec_.schedule.keep_checkpoints;
    policy.retry = retry_policy(spec_.schedule);
    policy.flush_seconds = options_.metrics_flush_seconds;
    return policy;
  }

  double flops_done() { return flops_done(db_.status_summary(scope_)); }
  static double flops_done(const store::StatusSummary& s) {
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
    const auto s = db_.status_summary(scope_);
    double tokens_per_s = 0;
    for (const auto& [id, run] : active_) {
      const auto& row = run.recorder.last_row();
      if (row && row->tokens_per_s) tokens_per_s += *row->tokens_per_s;
    }
    const double elapsed = seconds_since(start_);
    const double done_flops = flops_done(s);  // the summary read above, not a second one
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
    store::RunFilter filter = scope_;
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
      const auto leases = live_leases(db_, owner_, scope_, now);
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
  // The job's runs: every point of its sweep file, by key, whichever sweep registered it first
  // (an edited file registers only its new points under a sweep of its own).
  store::RunFilter scope_;
  int world_size_;
  const StopSignalWatcher& signals_;
  Scheduler scheduler_;
  LeaseOwner self_;
  std::string owner_;
  std::unordered_map<std::int64_t, store::RunRecord> known_;
  std::map<std::uint64_t, ActiveRun> active_;
  std::uint64_t next_assignment_ = 1;
  bool stopping_ = false;
  std::vector<protocol::Ready> workers_;  // by world rank: host and pid (pid 0: not yet ready)
  std::set<int> lost_;                    // ranks of lost groups and workers, never reused
  std::optional<int> lost_code_;          // set once a group or worker is lost
  Clock::time_point start_;
  double flops_done_at_start_ = 0;
};

// Rank 0's start-up: every input check, then the store opened, the sweep registered and dead
// leases reclaimed, all before any worker is told to go on (so that a failure of any of these,
// a full disk included, ends every rank in step). Throws InputError for bad input.
struct RankZeroStart {
  std::optional<store::Store> db;
  std::optional<SweepSpec> spec;
  std::size_t points = 0;
  store::Store::Registration registration;
  store::RunFilter scope;  // the runs of `points` (Coordinator::scope_)
  std::optional<LeaseOwner> self;
  std::int64_t reclaimed = 0;
};

void start_rank_zero(const SweepRunOptions& options, const PreflightFunction& preflight,
                     int world_size, int ranks_on_node, RankZeroStart& s) {
  const auto journal = store::parse_journal_mode(options.journal);
  if (world_size < 2) {
    throw InputError(
        fmt::format("scalesweep run: {} MPI rank(s); need rank 0 plus at least one worker: "
                    "launch with mpirun -np 2 or more",
                    world_size));
  }
  if (!(options.lease_seconds > 0)) {
    throw InputError(fmt::format("--lease-seconds {}: must be positive", options.lease_seconds));
  }
  if (!(options.hang_seconds > 0)) {
    throw InputError(fmt::format("--hang-seconds {}: must be positive", options.hang_seconds));
  }
  if (options.gpus_per_node > 0) {  // the trainer refuses any device but the CPU (check_placement)
    throw InputError(fmt::format(
        "--gpus-per-node {}: this scalesweep trains on the CPU only (the CUDA backend is not "
        "built yet); leave --gpus-per-node at 0",
        options.gpus_per_node));
  }
  s.spec = load_sweep_spec(options.config);
  place_checkpoints(*s.spec, options.store);
  const std::vector<Point> points = expand_grid(*s.spec);
  for (const auto& p : points) {
    if (p.dp * p.tp > world_size - 1) {
      throw InputError(fmt::format(
          "{}: point {} needs dp*tp = {} worker ranks but the job has {}; launch with "
          "mpirun -np {} or lower dp/tp",
          options.config, p.key, p.dp * p.tp, world_size - 1, p.dp * p.tp + 1));
    }
  }
  if (preflight) preflight(*s.spec, points, ranks_on_node - 1);  // rank 0 trains nothing
  store::StoreOptions store_options;
  store_options.create_if_missing = true;
  store_options.journal = journal;
  s.db.emplace(options.store, store_options);
  s.points = points.size();
  s.registration = register_sweep_points(*s.db, *s.spec, points);
  for (const auto& p : points) s.scope.points.push_back(p.key);
  s.self = this_process_owner("run", process_env());
  s.reclaimed = reclaim_dead_leases(*s.db, *s.self, s.scope).reclaimed;
}

// A job that ends with failed runs exits 0 (every point ended); its last line says so and what
// to do, instead of leaving it to the [failed] lines above.
void print_failed_hint(store::Store& db, const store::RunFilter& scope, const std::string& path) {
  const auto failed = db.status_summary(scope).runs_by_status.at(store::kStatusFailed);
  if (failed == 0) return;
  fmt::print("{} run(s) failed: `scalesweep status {}` says why; after fixing the cause, "
             "`scalesweep retry {}` and run the same command again\n",
             failed, path, path);
  std::fflush(stdout);
}

}  // namespace

JobEnd run_sweep(const SweepRunOptions& options, const TrainFunction& train,
                 const StopSignalWatcher& signals, const PreflightFunction& preflight) {
  int rank = 0, world_size = 1;
  SS_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  SS_MPI(MPI_Comm_size(MPI_COMM_WORLD, &world_size));
  const int ranks_on_node = count_ranks_on_node();  // collective: before rank 0's checks

  // Rank 0 validates everything and opens the store; the verdict and the config text go to all.
  std::string error, config_path = options.config, config_text;
  bool bad_input = false;
  RankZeroStart start;
  if (rank == 0) {
    try {
      start_rank_zero(options, preflight, world_size, ranks_on_node, start);
      config_text = start.spec->config_text;
    } catch (const InputError& e) {
      error = e.what();
      bad_input = true;
    } catch (const std::exception& e) {  // the store cannot be created or written
      error = e.what();
    }
  }
  int ok = error.empty() ? 1 : 0;
  SS_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (!ok) {
    if (rank == 0) {
      if (bad_input) throw InputError(error);
      throw StartupError(error);
    }
    // 0, not 2: rank 0 alone reports the job's failure (its line, exit 2). A worker exiting
    // non-zero first makes mpirun abort the job, which could kill rank 0 before its line is out.
    return {0, false};
  }
  broadcast_string(config_path);
  broadcast_string(config_text);
  if (rank != 0) {
    return {detail::run_worker(config_text, config_path, options, train, ranks_on_node), false};
  }

  const SweepSpec& spec = *start.spec;
  fmt::print("scalesweep run: sweep {} ({} points, {} new{}), store {}, {} workers{}\n", spec.name,
             start.points, start.registration.new_points,
             start.registration.earlier_sweep
                 ? fmt::format("; the points of sweep id {}, which this job continues",
                               start.registration.sweep_id)
                 : "",
             options.store, world_size - 1,
             start.reclaimed > 0
                 ? fmt::format(", {} expired or dead lease(s) reclaimed", start.reclaimed)
                 : "");
  std::fflush(stdout);
  Coordinator coordinator(options, spec, *start.db, start.scope, world_size, signals,
                          std::move(*start.self));
  try {
    const JobEnd end = coordinator.run();
    if (end.exit_code == 0) print_failed_hint(*start.db, start.scope, options.store);
    start.db.reset();  // closed (WAL checkpointed) before an MPI_Abort could end the process
    return end;
  } catch (const InputError& e) {
    // Past start-up the workers are in their loops: no longer bad input (exit 2 in step) but
    // a fatal error, which aborts the MPI job (cli_run).
    throw std::runtime_error(e.what());
  }
}

}  // namespace ss::runner
