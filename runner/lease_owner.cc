// Lease owners: format, parse, this process, the "holder is gone" rule (lease_owner.h).
#include "runner/lease_owner.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "store/store.h"

namespace ss::runner {
namespace {

std::optional<long long> parse_int(const std::string& text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id.substr(0, 8);
}

}  // namespace

// Fields 3 (state) and 22 (start time) of /proc/PID/stat. The command name (field 2) may hold
// spaces, so count from its closing ')'. A zombie (state Z or X) has ended: a killed holder
// whose parent has not reaped it yet (no init in a container) must not look alive.
std::optional<long long> process_start_ticks(long long pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return std::nullopt;
    if (i == 22) return parse_int(field);
  }
  return std::nullopt;
}

namespace {

// The key=value fields after the role, one table for format and parse.
struct TextField {
  const char* key;
  std::string LeaseOwner::*member;
};
struct IntField {
  const char* key;
  long long LeaseOwner::*member;
};
struct OptionalField {
  const char* key;
  std::optional<long long> LeaseOwner::*member;
};
constexpr TextField kTextFields[] = {
    {"host", &LeaseOwner::host}, {"boot", &LeaseOwner::boot}, {"node", &LeaseOwner::node}};
constexpr IntField kIntFields[] = {{"pid", &LeaseOwner::pid}, {"start", &LeaseOwner::start_ticks}};
constexpr OptionalField kOptionalFields[] = {{"job", &LeaseOwner::slurm_job},
                                             {"restart", &LeaseOwner::slurm_restart},
                                             {"step", &LeaseOwner::slurm_step}};

bool set_field(LeaseOwner& owner, const std::string& key, const std::string& value) {
  for (const auto& f : kTextFields) {
    if (key == f.key) return !(owner.*f.member = value).empty();
  }
  for (const auto& f : kIntFields) {
    if (key != f.key) continue;
    const auto v = parse_int(value);
    if (v) owner.*f.member = *v;
    return v.has_value();
  }
  for (const auto& f : kOptionalFields) {
    if (key != f.key) continue;
    owner.*f.member = parse_int(value);
    return (owner.*f.member).has_value();
  }
  return true;  // a field from a newer build: ignored
}

}  // namespace

std::string LeaseOwner::to_string() const {
  std::string text =
      fmt::format("{} host={} boot={} pid={} start={}", role, host, boot, pid, start_ticks);
  for (const auto& f : kOptionalFields) {
    if (const auto& v = this->*f.member) text += fmt::format(" {}={}", f.key, *v);
  }
  if (!node.empty()) text += fmt::format(" node={}", node);
  return text;
}

std::optional<LeaseOwner> LeaseOwner::parse(const std::string& text) {
  std::istringstream in(text);
  LeaseOwner owner;
  if (!(in >> owner.role) || owner.role.find('=') != std::string::npos) return std::nullopt;
  std::string item;
  while (in >> item) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || !set_field(owner, item.substr(0, eq), item.substr(eq + 1))) {
      return std::nullopt;
    }
  }
  if (owner.host.empty() || owner.pid <= 0) return std::nullopt;
  return owner;
}

LeaseOwner this_process_owner(const std::string& role, const EnvLookup& env) {
  LeaseOwner owner;
  owner.role = role;
  owner.host = host_name();
  owner.boot = boot_id();
  owner.pid = static_cast<long long>(getpid());
  owner.start_ticks = process_start_ticks(owner.pid).value_or(0);
  const auto number = [&](const char* name) -> std::optional<long long> {
    const auto value = env(name);
    return value ? parse_int(*value) : std::nullopt;
  };
  owner.slurm_job = number("SLURM_JOB_ID");
  if (owner.slurm_job) {
    owner.slurm_restart = number("SLURM_RESTART_COUNT").value_or(0);
    owner.slurm_step = number("SLURM_STEP_ID");
  }
  owner.node = env("SLURMD_NODENAME").value_or(owner.host);
  return owner;
}

std::optional<std::string> holder_gone(const LeaseOwner& holder, const LeaseOwner& self) {
  if (holder.slurm_job && holder.slurm_job == self.slurm_job &&
      holder.slurm_restart.value_or(0) < self.slurm_restart.value_or(0)) {
    return fmt::format("Slurm job {} was requeued (restart {} held it, this is restart {})",
                       *holder.slurm_job, holder.slurm_restart.value_or(0),
                       self.slurm_restart.value_or(0));
  }
  if (holder.host != self.host || holder.boot.empty() || holder.boot != self.boot) {
    return std::nullopt;  // another machine (or another boot): only the lease expiry tells
  }
  if (holder.pid == self.pid && holder.start_ticks == self.start_ticks) return std::nullopt;
  const auto started = process_start_ticks(holder.pid);
  if (!started) return fmt::format("process {} on {} is gone", holder.pid, holder.host);
  if (*started != holder.start_ticks) {
    return fmt::format("process {} on {} is gone (its pid now belongs to another process)",
                       holder.pid, holder.host);
  }
  return std::nullopt;
}

LeaseSweep reclaim_dead_leases(store::Store& db, const LeaseOwner& self, store::RunFilter scope) {
  LeaseSweep result;
  const double now = store::unix_now();
  result.reclaimed = db.expire_leases(now);
  scope.status = store::kStatusRunning;
  const std::string me = self.to_string();
  for (const auto& run : db.list_runs(scope)) {
    if (!run.lease_owner || *run.lease_owner == me) continue;
    const auto holder = LeaseOwner::parse(*run.lease_owner);
    const auto why = holder ? holder_gone(*holder, self) : std::nullopt;
    if (why && db.release_point(run.id, *run.lease_owner)) {
      db.add_event(0, "lease_reclaimed",
                   fmt::format("run {}: lease of '{}' taken back at once: {}", run.id,
                               *run.lease_owner, *why));
      ++result.reclaimed;
      continue;
    }
    result.live.push_back(
        {run.id, run.plan.point, *run.lease_owner, run.lease_expires.value_or(now) - now});
  }
  return result;
}

std::vector<LiveLease> live_leases(store::Store& db, const std::string& self,
                                   store::RunFilter scope, double now) {
  scope.status = store::kStatusRunning;
  std::vector<LiveLease> live;
  for (const auto& run : db.list_runs(scope)) {
    if (!run.lease_owner || *run.lease_owner == self || run.lease_expires.value_or(0) < now) {
      continue;
    }
    live.push_back({run.id, run.plan.point, *run.lease_owner, *run.lease_expires - now});
  }
  return live;
}

std::string describe_owner(const std::string& owner_text) {
  const auto owner = LeaseOwner::parse(owner_text);
  if (!owner) return owner_text;
  const std::string process = fmt::format("{} pid {} on {}", owner->role, owner->pid, owner->host);
  if (!owner->slurm_job) return process;
  return fmt::format("Slurm job {}{} (restart {}) on {}, {}", *owner->slurm_job,
                     owner->slurm_step ? fmt::format(" step {}", *owner->slurm_step) : "",
                     owner->slurm_restart.value_or(0), owner->node, process);
}

std::string describe_live_lease(const LiveLease& lease) {
  return fmt::format("run {} (point {}) held by {}, lease expires in {:.0f}s", lease.run_id,
                     lease.point, describe_owner(lease.owner), std::max(0.0, lease.expires_in));
}

}  // namespace ss::runner
