// Which failures of a point are transient (worth waiting for: the node or its file system may
// recover) and which are deterministic (the same input fails the same way again), and how each
// is retried. Invariant: the two tables of failure_kind.cc (transient_causes, job_ending_causes)
// are the ONE place that classifies a failure; the retry rule is store::mark_failed with
// retry_policy()'s policy.
//
// Transient: no space left (ENOSPC, EDQUOT, SQLITE_FULL), an I/O error (EIO, SQLITE_IOERR), out
// of memory (ENOMEM, std::bad_alloc, a GPU's "out of memory"), EAGAIN and EINTR. Job-ending (not
// the point's failure at all, in a worker of `run`): EACCES, EROFS. Everything else is
// deterministic: bad data, a corrupt checkpoint, a config error, a bug. NaN/Inf is not a failure
// at all (status `diverged`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runner/config.h"
#include "store/records.h"

namespace ss::runner {

// The transient cause a failure's message names ("no space left on device (ENOSPC)"), or
// nullopt when the failure is deterministic. The message is what the failing rank caught
// (exception what(), which for system calls ends in strerror's text).
std::optional<std::string_view> transient_cause(std::string_view error);

// The cause, when a failure is the job's place rather than the point (permission denied, a
// read-only file system: a checkpoint directory or shard whose permissions changed mid-run),
// else nullopt. Every point would fail the same way and use up its tries in seconds; the job
// ends instead (exit 1, the points released), and runs again once the place is fixed.
std::optional<std::string_view> job_ending_cause(std::string_view error);

// The [schedule] retry keys of a sweep as the store's policy.
store::RetryPolicy retry_policy(const ScheduleSpec& schedule);

// Unix time `t` as "2026-12-02 01:23:45 UTC".
std::string utc_time_text(double t);

// A failure for people: "transient (no space left on device (ENOSPC)), transient failure 2 of
// 10, retry at 2026-12-02 01:23:45 UTC (in 29s)" or "deterministic, try 2 of 3". `policy` may
// be nullopt when the sweep's config cannot be read (the "of N" parts are left out).
std::string describe_failure(const store::RunRecord& run,
                             const std::optional<store::RetryPolicy>& policy, double now);

}  // namespace ss::runner
