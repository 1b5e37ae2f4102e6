// Rank-0 scheduling policy of `scalesweep run`, as pure logic (no MPI, no store): which pending
// point goes to which free worker ranks.
//
// Policy: longest-estimated-first (largest FLOPs first), fill free ranks immediately. A point
// needs dp*tp ranks; when the largest pending point does not fit in the free ranks, smaller
// points are backfilled onto them at once (greedy list scheduling: no rank idles while some
// pending point fits). Several small points therefore run concurrently. A group is formed from
// the lowest-numbered free ranks (consecutive ranks usually share a node) and dissolved when
// its point ends, so groups are re-formed between points.
// Invariants: a rank is in at most one running group; a point is pending, running or gone;
// next_assignment() is O(#distinct group sizes + log n).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

namespace ss::runner {

struct SchedulerPoint {
  std::int64_t id = 0;  // run id
  double cost = 0;      // estimated work (FLOPs): the ordering key
  int ranks = 1;        // dp * tp
};

struct SchedulerAssignment {
  std::int64_t id = 0;
  std::vector<int> ranks;  // world ranks, ascending; ranks[0] is the group leader
};

class Scheduler {
 public:
  explicit Scheduler(std::vector<int> worker_ranks);

  // Adds a pending point (ignored when already pending or running). Throws std::invalid_argument
  // when it needs more ranks than the job has (it could never run).
  void add_point(const SchedulerPoint& point);
  // Drops a pending point (e.g. another job claimed it). False when it was not pending.
  bool remove_pending(std::int64_t id);
  // Picks the next pending point that fits the free ranks (largest cost among those that fit)
  // and marks its ranks busy. nullopt when nothing fits or nothing is pending.
  std::optional<SchedulerAssignment> next_assignment();
  // Like next_assignment() but only looks at the point the caller chose (used when the caller
  // must confirm a claim first): peek, then take.
  std::optional<SchedulerPoint> peek_next() const;
  SchedulerAssignment take(std::int64_t id);
  // The point ended (any outcome): its ranks are free again.
  void finish(std::int64_t id);

  std::size_t pending() const { return pending_count_; }
  std::size_t running() const { return running_.size(); }
  std::size_t free_ranks() const { return free_.size(); }
  std::size_t total_ranks() const { return total_ranks_; }
  bool is_running(std::int64_t id) const { return running_.count(id) != 0; }

 private:
  // Pending points of one group size, ordered by descending cost then ascending id.
  using Queue = std::set<std::pair<double, std::int64_t>>;  // (-cost, id)
  std::map<int, Queue> pending_by_size_;
  std::unordered_map<std::int64_t, SchedulerPoint> pending_points_;
  std::size_t pending_count_ = 0;
  std::unordered_map<std::int64_t, std::vector<int>> running_;
  std::set<int> free_;
  std::size_t total_ranks_ = 0;
};

// ---- simulation (benchmarks and tests) -----------------------------------------------------

struct SimulatedPoint {
  SchedulerPoint point;
  double duration = 0;  // wall seconds it takes on its ranks
};

struct SimulationResult {
  double makespan = 0;       // when the last point ended
  double ideal = 0;          // sum(duration * ranks) / workers: no idle rank at all
  double critical_path = 0;  // the longest single point: no schedule beats it
  std::size_t assignments = 0;
};

// Runs the policy on `workers` ranks with known durations (event-driven, no sleeping).
SimulationResult simulate_schedule(const std::vector<SimulatedPoint>& points, int workers);

}  // namespace ss::runner
