// Node-local rank from the launcher environment -> GPU index or CPU; CPU threads per rank
// (policies in device_binding.h).
#include "runner/device_binding.h"

#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "ss/error.h"

namespace ss::runner {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<int> node_local_rank(const EnvLookup& env) {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
    const auto value = env(name);
    if (!value) continue;
    int rank = -1;
    const char* begin = value->data();
    const char* end = begin + value->size();
    const auto [ptr, ec] = std::from_chars(begin, end, rank);
    if (ec != std::errc() || ptr != end || rank < 0) {
      throw InputError(fmt::format(
          "environment {}='{}' is not a node-local rank; unset it or set a non-negative integer",
          name, *value));
    }
    return rank;
  }
  return std::nullopt;
}

DeviceChoice choose_device(std::optional<int> local_rank, int gpu_count, int ranks_per_gpu) {
  if (ranks_per_gpu < 1) {
    throw InputError(fmt::format("--ranks-per-gpu {}: must be at least 1", ranks_per_gpu));
  }
  if (gpu_count <= 0) return DeviceChoice{};
  const int local = local_rank.value_or(0);
  return DeviceChoice{(local / ranks_per_gpu) % gpu_count};
}

CpuBudget process_cpu_budget(int ranks_on_node) {
  CpuBudget cpus;
  cpus.online_cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t mask;
  CPU_ZERO(&mask);
  cpus.affinity_cpus = sched_getaffinity(0, sizeof(mask), &mask) == 0 ? CPU_COUNT(&mask)
                                                                      : cpus.online_cpus;
  cpus.ranks_on_node = std::max(1, ranks_on_node);
  return cpus;
}

int cpu_threads_per_rank(const EnvLookup& env, const CpuBudget& cpus) {
  if (const auto value = env("OMP_NUM_THREADS")) {
    int n = 0;
    // OpenMP allows a list per nesting level ("4,2"); the first level is ours.
    const char* begin = value->data();
    const char* end = begin + std::min(value->size(), value->find(','));
    const auto [ptr, ec] = std::from_chars(begin, end, n);
    if (ec != std::errc() || ptr != end || n < 1) {
      throw InputError(fmt::format(
          "environment OMP_NUM_THREADS='{}' is not a thread count; unset it or set a positive "
          "integer",
          *value));
    }
    return n;
  }
  if (cpus.affinity_cpus < cpus.online_cpus) return std::max(1, cpus.affinity_cpus);
  return std::max(1, cpus.online_cpus / std::max(1, cpus.ranks_on_node));
}

}  // namespace ss::runner
