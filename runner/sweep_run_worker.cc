// The worker side of `scalesweep run`: wait for Assign, form the point's group communicators,
// run the injected training function with an MPI RunSink, report the outcome to rank 0.
// Invariants: workers never open the store; during a run only the group leader (group rank 0)
// sends rows, checkpoints, heartbeats and the end, and every rank of the group sends its own
// failure; stop_requested() is answered identically on every rank of a group (the leader polls
// rank 0 and broadcasts the flag over the group), so all ranks stop at the same step. After
// start-up a worker prints no error itself: rank 0 prints each one once (sweep_run.h).
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>
#include <unordered_map>

#include "model/comm_mpi.h"
#include "runner/device_binding.h"
#include "runner/failure_kind.h"
#include "runner/grid.h"
#include "runner/signals.h"
#include "runner/sweep_run.h"
#include "runner/sweep_run_transport.h"
#include "ss/error.h"

namespace ss::runner::detail {
namespace {

using Clock = std::chrono::steady_clock;

// The communicators of one assignment. Size-1 parts are SelfComm (no MPI calls).
struct GroupComms {
  std::unique_ptr<model::MpiComm> group;  // null for a single-rank group
  std::unique_ptr<model::Comm> dp, tp;
  int group_rank = 0;
};

GroupComms form_group(const protocol::Assign& assign, const Point& point) {
  GroupComms comms;
  const int size = static_cast<int>(assign.group_ranks.size());
  if (size != point.dp * point.tp) {
    throw protocol::ProtocolError(fmt::format("assign of point {}: {} ranks for dp*tp = {}",
                                              point.key, size, point.dp * point.tp));
  }
  if (size == 1) {
    comms.dp = std::make_unique<model::SelfComm>();
    comms.tp = std::make_unique<model::SelfComm>();
    return comms;
  }
  MPI_Group world_group = MPI_GROUP_NULL, members = MPI_GROUP_NULL;
  SS_MPI(MPI_Comm_group(MPI_COMM_WORLD, &world_group));
  SS_MPI(MPI_Group_incl(world_group, size, assign.group_ranks.data(), &members));
  MPI_Comm group_comm = MPI_COMM_NULL;
  // Collective over the members only; the tag keeps concurrent creations apart.
  const int tag = static_cast<int>(assign.assignment % 32000);
  const int rc = MPI_Comm_create_group(MPI_COMM_WORLD, members, tag, &group_comm);
  MPI_Group_free(&members);
  MPI_Group_free(&world_group);
  SS_MPI(rc);
  comms.group = std::make_unique<model::MpiComm>(group_comm, true);
  comms.group_rank = comms.group->rank();
  // tp groups are consecutive group ranks (same node when ranks are packed per node).
  const int tp = static_cast<int>(point.tp);
  MPI_Comm tp_comm = MPI_COMM_NULL, dp_comm = MPI_COMM_NULL;
  SS_MPI(MPI_Comm_split(group_comm, comms.group_rank / tp, comms.group_rank % tp, &tp_comm));
  SS_MPI(MPI_Comm_split(group_comm, comms.group_rank % tp, comms.group_rank / tp, &dp_comm));
  comms.tp = std::make_unique<model::MpiComm>(tp_comm, true);
  comms.dp = std::make_unique<model::MpiComm>(dp_comm, true);
  return comms;
}

// RunSink over MPI: the leader sends every row and checkpoint to rank 0 as it comes (rank 0's
// recorder of the run is the one buffer before the store) and answers stop_requested() for the
// whole group.
class WorkerSink final : public RunSink {
 public:
  WorkerSink(std::uint64_t assignment, bool leader, model::MpiComm* group,
             double heartbeat_seconds)
      : assignment_(assignment),
        leader_(leader),
        group_(group),
        heartbeat_seconds_(heartbeat_seconds) {}

  void on_metrics(std::span<const store::MetricRow> rows) override {
    if (!leader_ || rows.empty()) return;
    send_message(0, protocol::Metrics{assignment_, {rows.begin(), rows.end()}});
    last_step_ = rows.back().step;
    last_heartbeat_ = Clock::now();  // rows are a sign of life too
  }

  void on_checkpoint(const store::CheckpointRecord& checkpoint) override {
    if (!leader_) return;
    // Synchronous: the trainer prunes older checkpoint files after this returns (trainer.cc).
    send_message_synchronous(0, protocol::Checkpoint{assignment_, checkpoint});
    last_heartbeat_ = Clock::now();
  }

  bool stop_requested() override {
    if (leader_ && !stop_) {
      while (auto received = try_receive_message(0)) {
        if (std::holds_alternative<protocol::Stop>(received->message)) {
          stop_ = true;
        } else {
          throw protocol::ProtocolError(
              fmt::format("rank 0 sent {} to a busy group leader",
                          protocol::message_type_name(protocol::message_type(received->message))));
        }
      }
      keep_alive();
    }
    if (group_ != nullptr) {
      unsigned char flag = stop_ ? 1 : 0;
      group_->broadcast_bytes(&flag, 1, 0);
      stop_ = flag != 0;
    }
    return stop_;
  }

  void keep_alive() override {
    if (!leader_) return;
    if (std::chrono::duration<double>(Clock::now() - last_heartbeat_).count() >=
        heartbeat_seconds_) {
      send_message(0, protocol::Heartbeat{assignment_, last_step_});
      last_heartbeat_ = Clock::now();
    }
  }

 private:
  std::uint64_t assignment_;
  bool leader_;
  model::MpiComm* group_;
  double heartbeat_seconds_;
  std::int64_t last_step_ = 0;
  bool stop_ = false;
  Clock::time_point last_heartbeat_ = Clock::now();
};

// Where this rank runs, for rank 0's messages.
protocol::Ready this_worker() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return protocol::Ready{host, static_cast<std::int64_t>(::getpid())};
}

// What one worker needs for every assignment it gets.
struct WorkerContext {
  const SweepSpec& spec;
  const SweepRunOptions& options;
  const TrainFunction& train;
  DeviceChoice device;
  int cpu_threads = 0;
};

[[noreturn]] void hand_fatal_to_rank0(const std::string& what);

// One assignment on this rank: form the group, train, report. Every rank of the group reports
// how its part ended (Ended, or Failed with the error), so rank 0 ends the run only when the
// whole group is back, and prints a failure once.
void train_assignment(const WorkerContext& w, const protocol::Assign& assign, const Point& point) {
  GroupComms comms = form_group(assign, point);
  const bool leader = comms.group_rank == 0;
  TrainJob job = make_train_job(w.spec, point, assign.run_id, assign.attempt, assign.resume);
  job.device = w.device;
  job.cpu_threads = w.cpu_threads;
  job.dp_comm = comms.dp.get();
  job.tp_comm = comms.tp.get();
  WorkerSink sink(assign.assignment, leader, comms.group.get(), heartbeat_seconds(w.options));
  try {
    const TrainResult result = w.train(job, sink);
    send_message(0, protocol::Ended{assign.assignment, result});
  } catch (const model::MpiError&) {
    throw;  // the transport itself failed: the job cannot go on
  } catch (const protocol::ProtocolError&) {
    throw;
  } catch (const std::exception& e) {
    // Permission denied / read-only file system: the place, not the point (job_ending_cause);
    // rank 0 releases the point and ends the job instead of burning every point's tries.
    if (job_ending_cause(e.what())) hand_fatal_to_rank0(e.what());
    // A failing run (bad data, OOM, a bug in one point): rank 0 records and prints it once;
    // this rank takes the next point.
    send_message(0, protocol::Failed{assign.assignment, e.what()});
  }
}

// The worker loop: Ready, then assignments until Shutdown.
int worker_loop(const SweepSpec& spec, const SweepRunOptions& options, const TrainFunction& train,
                int ranks_on_node) {
  const std::vector<Point> points = expand_grid(spec);
  std::unordered_map<std::string, const Point*> by_key;
  for (const auto& p : points) by_key.emplace(p.key, &p);
  // GPU = node-local rank / ranks-per-gpu (mod GPUs per node); CPU when --gpus-per-node is 0.
  const WorkerContext context{
      spec, options, train,
      choose_device(node_local_rank(process_env()), options.gpus_per_node, options.ranks_per_gpu),
      cpu_threads_per_rank(process_env(), process_cpu_budget(ranks_on_node))};
  send_message(0, this_worker());
  for (;;) {
    const auto received = receive_message_sleeping(0, std::chrono::microseconds(50));
    if (std::holds_alternative<protocol::Shutdown>(received.message)) return 0;
    if (std::holds_alternative<protocol::Stop>(received.message)) continue;  // already idle
    const auto* assign = std::get_if<protocol::Assign>(&received.message);
    if (assign == nullptr) {
      throw protocol::ProtocolError(
          fmt::format("rank 0 sent {} to an idle worker",
                      protocol::message_type_name(protocol::message_type(received.message))));
    }
    const auto found = by_key.find(assign->point_key);
    if (found == by_key.end()) {
      throw protocol::ProtocolError(
          fmt::format("assign of unknown point key '{}'", assign->point_key));
    }
    train_assignment(context, *assign, *found->second);
  }
}

// This worker cannot go on: rank 0 is told (Fatal), prints the line once and ends the job with
// MPI_Abort, which ends this process too. Only when rank 0 cannot be told, or has not ended
// the job after kFatalWaitSeconds, does the worker print the line itself and abort.
[[noreturn]] void hand_fatal_to_rank0(const std::string& what) {
  constexpr double kFatalWaitSeconds = 60;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const protocol::Ready me = this_worker();
  const std::string line = fmt::format("rank {} ({}, pid {}): {}", rank, me.host, me.pid, what);
  try {
    send_message(0, protocol::Fatal{line});
    const auto deadline = Clock::now() + std::chrono::duration<double>(kFatalWaitSeconds);
    while (Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } catch (const std::exception&) {
    // the transport is gone: say it here
  }
  fmt::print(stderr, "scalesweep run: error: {}; rank 0 could not be told\n", line);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

}  // namespace

int run_worker(const std::string& config_text, const std::string& config_path,
               const SweepRunOptions& options, const TrainFunction& train, int ranks_on_node) {
  try {
    SweepSpec spec = parse_sweep_spec(config_text, config_path);
    place_checkpoints(spec, options.store);  // every rank has the same --store
    install_bus_error_line();  // after MPI_Init: replaces Open MPI's own SIGBUS handler
    return worker_loop(spec, options, train, ranks_on_node);
  } catch (const std::exception& e) {
    hand_fatal_to_rank0(e.what());
  }
}

}  // namespace ss::runner::detail
