// Which device a worker rank trains on. Each rank reads its node-local rank from the launcher's
// environment (Open MPI: OMPI_COMM_WORLD_LOCAL_RANK, Slurm: SLURM_LOCALID, MPICH/Hydra:
// MPI_LOCALRANKID) and takes GPU local_rank / ranks_per_gpu, so `--ranks-per-gpu k` packs k
// ranks (k small models) onto one GPU. With no GPU (count 0) it is the CPU backend.
// Invariant: pure functions of their arguments; the environment is read through a lookup
// function so tests pass their own.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "runner/worker_sink.h"

namespace ss::runner {

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (std::getenv).
EnvLookup process_env();

// The node-local rank from the launcher's variables, in the order above; nullopt when none is
// set. Throws ss::InputError naming the variable when one is set but not a non-negative integer.
std::optional<int> node_local_rank(const EnvLookup& env);

// The device for this rank. local_rank: from node_local_rank (nullopt: treat as 0 and warn in
// the caller); gpu_count: visible GPUs (0: CPU); ranks_per_gpu >= 1 (ss::InputError otherwise).
// When local_rank / ranks_per_gpu exceeds the GPUs, ranks wrap around (round-robin) rather than
// fail, so an oversubscribed launch still runs.
DeviceChoice choose_device(std::optional<int> local_rank, int gpu_count, int ranks_per_gpu);

// The CPUs a worker rank can share out, counted by the caller: the machine's online CPUs, the
// CPUs in this process's affinity mask, and the MPI ranks on this host (MPI_COMM_TYPE_SHARED,
// so it does not depend on which launcher set which variable).
struct CpuBudget {
  int online_cpus = 1;
  int affinity_cpus = 1;
  int ranks_on_node = 1;
};

// The CpuBudget of this process; ranks_on_node is the caller's (a collective counts it).
CpuBudget process_cpu_budget(int ranks_on_node);

// Threads a CPU worker should use (OpenMP, which OpenBLAS-openmp follows), at least 1:
// 1. OMP_NUM_THREADS when set: the user's explicit choice wins (ss::InputError if not a
//    positive integer);
// 2. the affinity mask when the launcher bound the rank to fewer CPUs than the machine has
//    (srun --cpu-bind, mpirun --bind-to core): those CPUs are this rank's;
// 3. otherwise the machine's CPUs divided by the ranks on this host.
// Why not the launcher's variables: under `srun --mpi=pmix` neither OMPI_COMM_WORLD_LOCAL_SIZE
// nor (without --ntasks-per-node) SLURM_NTASKS_PER_NODE exists, so every rank took all CPUs;
// 3 ranks x 2 OpenMP threads on 2 cores ran every point 4-8x slower than under mpirun.
int cpu_threads_per_rank(const EnvLookup& env, const CpuBudget& cpus);

}  // namespace ss::runner
