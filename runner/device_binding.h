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

// Threads a CPU worker should use: hardware threads / ranks on this node (launcher variables
// OMPI_COMM_WORLD_LOCAL_SIZE or SLURM_NTASKS_PER_NODE; 1 rank when unset), at least 1. Ranks
// sharing cores with more threads than cores run many times slower (OpenMP and MPI both spin).
int cpu_threads_per_rank(const EnvLookup& env, int hardware_threads);

}  // namespace ss::runner
