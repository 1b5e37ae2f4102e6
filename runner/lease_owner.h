// Who holds a point's lease, and whether that holder is known to be gone, so a new job takes
// the point back at once instead of waiting for the lease to expire.
//
// The owner is stored in runs.lease_owner as one line of `key=value` fields (no schema change):
//   "run host=vm boot=3f2a9c1e pid=4242 start=981234 job=17 restart=1 step=0 node=node1"
// role (run | train), host name, the first 8 hex digits of the kernel's boot id, pid, the
// process start time in clock ticks after boot (/proc/PID/stat field 22, so a reused pid is not
// mistaken for the holder), and under Slurm the job id, restart count, step id and node name.
//
// A holder is gone (holder_gone) when
//   1. it ran under the same Slurm job id as this process but an earlier restart count (Slurm
//      kills every process of a job before it requeues it), or
//   2. it ran on this host since this boot, and its pid is gone, a zombie, or now belongs to a
//      process that started at another time.
// Anything else (another host, another job, an owner string this code cannot read) is live
// until its lease expires. Invariant: a lease is taken back only with Store::release_point on
// the exact owner string read, so a holder that renewed or finished meanwhile keeps its point.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runner/device_binding.h"
#include "store/store.h"

namespace ss::runner {

// Default lease of `run` and `train`. Renewed every third of it, so it only bounds how long a
// point of a crashed job on another host stays blocked (same-host and same-job holders are
// detected at once).
inline constexpr double kDefaultLeaseSeconds = 120;

struct LeaseOwner {
  std::string role;  // "run" (rank 0 of scalesweep run) or "train"
  std::string host;  // gethostname()
  std::string boot;  // first 8 hex digits of /proc/sys/kernel/random/boot_id
  long long pid = 0;
  long long start_ticks = 0;  // process start, clock ticks after boot
  std::optional<long long> slurm_job;
  std::optional<long long> slurm_restart;
  std::optional<long long> slurm_step;
  std::string node;  // SLURMD_NODENAME, else the host

  std::string to_string() const;
  // nullopt for an owner line written by an older build or another tool.
  static std::optional<LeaseOwner> parse(const std::string& text);
};

// Start time of process `pid` in clock ticks after boot; nullopt when no such process exists or
// it is a zombie (ended, not yet reaped).
std::optional<long long> process_start_ticks(long long pid);

// This process as a lease owner (environment read through `env`).
LeaseOwner this_process_owner(const std::string& role, const EnvLookup& env);

// Why `holder` is known to be gone as seen from `self`, or nullopt when it may be alive.
std::optional<std::string> holder_gone(const LeaseOwner& holder, const LeaseOwner& self);

// A running point whose holder may be alive: what a job waits for.
struct LiveLease {
  std::int64_t run_id = 0;
  std::string point;
  std::string owner;
  double expires_in = 0;  // seconds from now
};

struct LeaseSweep {
  std::int64_t reclaimed = 0;  // points given back to pending (expired or holder gone)
  std::vector<LiveLease> live;
};

// Expires stale leases, gives back every running point of `scope` (its sweep_id and points; all
// runs if empty) whose holder is gone (an event per point), and lists the leases still live held
// by others.
LeaseSweep reclaim_dead_leases(store::Store& db, const LeaseOwner& self, store::RunFilter scope);

// The leases of `scope`'s runs held by an owner other than `self` and not expired at `now`, read
// only: what a progress line says a job waits for, re-read each time it is printed.
std::vector<LiveLease> live_leases(store::Store& db, const std::string& self,
                                   store::RunFilter scope, double now);

// An owner line for people: "Slurm job 17 step 0 (restart 1) on node1, pid 4242 on vm" or
// "pid 4242 on vm"; an unreadable line is returned as is.
std::string describe_owner(const std::string& owner_text);

// "run 3 (point ab..) held by <owner>, lease expires in 42s" for the progress line.
std::string describe_live_lease(const LiveLease& lease);

}  // namespace ss::runner
