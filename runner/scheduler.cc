// Longest-first list scheduling over free worker ranks (policy in scheduler.h), plus an
// event-driven simulation used to measure its makespan against the ideal.
#include "runner/scheduler.h"

#include <algorithm>
#include <queue>
#include <stdexcept>
#include <string>

namespace ss::runner {

Scheduler::Scheduler(std::vector<int> worker_ranks)
    : free_(worker_ranks.begin(), worker_ranks.end()), total_ranks_(free_.size()) {}

void Scheduler::add_point(const SchedulerPoint& point) {
  if (point.ranks < 1 || static_cast<std::size_t>(point.ranks) > total_ranks_) {
    throw std::invalid_argument("scheduler: point " + std::to_string(point.id) + " needs " +
                                std::to_string(point.ranks) + " ranks, the job has " +
                                std::to_string(total_ranks_) + " workers");
  }
  if (pending_points_.count(point.id) || running_.count(point.id)) return;
  pending_points_.emplace(point.id, point);
  pending_by_size_[point.ranks].emplace(-point.cost, point.id);
  ++pending_count_;
}

bool Scheduler::remove_pending(std::int64_t id) {
  const auto it = pending_points_.find(id);
  if (it == pending_points_.end()) return false;
  auto& queue = pending_by_size_[it->second.ranks];
  queue.erase({-it->second.cost, id});
  if (queue.empty()) pending_by_size_.erase(it->second.ranks);
  pending_points_.erase(it);
  --pending_count_;
  return true;
}

std::optional<SchedulerPoint> Scheduler::peek_next() const {
  const int free_count = static_cast<int>(free_.size());
  std::optional<std::pair<double, std::int64_t>> best;
  // Sizes ascend; every size up to the free count fits. Pick the largest cost among the heads.
  for (const auto& [size, queue] : pending_by_size_) {
    if (size > free_count) break;
    const auto& head = *queue.begin();
    if (!best || head < *best) best = head;
  }
  if (!best) return std::nullopt;
  return pending_points_.at(best->second);
}

SchedulerAssignment Scheduler::take(std::int64_t id) {
  const auto it = pending_points_.find(id);
  if (it == pending_points_.end()) {
    throw std::logic_error("scheduler: take of a point that is not pending");
  }
  const SchedulerPoint point = it->second;
  if (static_cast<std::size_t>(point.ranks) > free_.size()) {
    throw std::logic_error("scheduler: take of a point that does not fit the free ranks");
  }
  remove_pending(id);
  SchedulerAssignment assignment{id, {}};
  assignment.ranks.reserve(point.ranks);
  for (int i = 0; i < point.ranks; ++i) {
    assignment.ranks.push_back(*free_.begin());
    free_.erase(free_.begin());
  }
  running_.emplace(id, assignment.ranks);
  return assignment;
}

std::optional<SchedulerAssignment> Scheduler::next_assignment() {
  const auto next = peek_next();
  if (!next) return std::nullopt;
  return take(next->id);
}

void Scheduler::finish(std::int64_t id) {
  const auto it = running_.find(id);
  if (it == running_.end()) throw std::logic_error("scheduler: finish of a point not running");
  free_.insert(it->second.begin(), it->second.end());
  running_.erase(it);
}

SimulationResult simulate_schedule(const std::vector<SimulatedPoint>& points, int workers) {
  std::vector<int> ranks(workers);
  for (int r = 0; r < workers; ++r) ranks[r] = r + 1;
  Scheduler scheduler(ranks);
  std::unordered_map<std::int64_t, double> duration;
  SimulationResult result;
  for (const auto& p : points) {
    scheduler.add_point(p.point);
    duration[p.point.id] = p.duration;
    result.ideal += p.duration * p.point.ranks;
    result.critical_path = std::max(result.critical_path, p.duration);
  }
  result.ideal /= workers;
  // (end time, id), earliest first.
  using Event = std::pair<double, std::int64_t>;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> ends;
  double now = 0;
  for (;;) {
    while (auto a = scheduler.next_assignment()) {
      ends.emplace(now + duration.at(a->id), a->id);
      ++result.assignments;
    }
    if (ends.empty()) break;
    const auto [t, id] = ends.top();
    ends.pop();
    now = t;
    scheduler.finish(id);
  }
  result.makespan = now;
  return result;
}

}  // namespace ss::runner
