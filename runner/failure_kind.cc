// Failure classification and its wording (see failure_kind.h).
#include "runner/failure_kind.h"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace ss::runner {
namespace {

// A text in a failure's message that marks its kind, and the cause it names.
struct Cause {
  std::string text;
  std::string_view cause;
};

// The one classification table. System-call failures end in strerror's text (io::throw_errno,
// the checkpoint writer); SQLite's and the allocators' messages are their own.
const std::vector<Cause>& transient_causes() {
  static const std::vector<Cause> causes = {
      {std::strerror(ENOSPC), "no space left on device (ENOSPC)"},
      {std::strerror(EDQUOT), "disk quota exceeded (EDQUOT)"},
      {"database or disk is full", "disk full (SQLITE_FULL)"},
      {std::strerror(EIO), "I/O error (EIO)"},
      {"disk I/O error", "I/O error (SQLITE_IOERR)"},
      {std::strerror(ENOMEM), "out of memory (ENOMEM)"},
      {"std::bad_alloc", "out of memory (std::bad_alloc)"},
      {"out of memory", "out of memory"},
      {std::strerror(EAGAIN), "resource temporarily unavailable (EAGAIN)"},
      {std::strerror(EINTR), "interrupted system call (EINTR)"},
  };
  return causes;
}

// The failures that are the job's place, not the point (job_ending_cause).
const std::vector<Cause>& job_ending_causes() {
  static const std::vector<Cause> causes = {
      {std::strerror(EACCES), "permission denied (EACCES)"},
      {std::strerror(EROFS), "read-only file system (EROFS)"},
  };
  return causes;
}

// The cause of the first row of `table` whose text `error` contains.
std::optional<std::string_view> find_cause(const std::vector<Cause>& table,
                                           std::string_view error) {
  for (const Cause& c : table) {
    if (error.find(c.text) != std::string_view::npos) return c.cause;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> job_ending_cause(std::string_view error) {
  return find_cause(job_ending_causes(), error);
}

std::optional<std::string_view> transient_cause(std::string_view error) {
  return find_cause(transient_causes(), error);
}

store::RetryPolicy retry_policy(const ScheduleSpec& schedule) {
  return {schedule.max_attempts, schedule.max_transient_failures, schedule.retry_backoff_seconds,
          schedule.retry_backoff_max_seconds};
}

std::string utc_time_text(double t) {
  std::tm tm{};
  const std::time_t seconds = static_cast<std::time_t>(t);
  ::gmtime_r(&seconds, &tm);
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", tm);
}

std::string describe_failure(const store::RunRecord& run,
                             const std::optional<store::RetryPolicy>& policy, double now) {
  const auto of = [&](std::int64_t limit) {
    return policy ? fmt::format(" of {}", limit) : std::string();
  };
  if (!run.error_transient) return "not classified (recorded before schema v4)";
  if (!*run.error_transient) {
    const std::int64_t tries = run.attempts - run.transient_failures;
    return fmt::format("deterministic, try {}{}", tries, of(policy ? policy->max_attempts : 0));
  }
  const auto cause = transient_cause(run.error.value_or(""));
  std::string text =
      fmt::format("transient ({}), transient failure {}{}", cause.value_or("transient"),
                  run.transient_failures, of(policy ? policy->max_transient_failures : 0));
  if (run.status == store::kStatusPending && run.retry_after) {
    text += fmt::format(", retry at {} (in {:.0f}s)", utc_time_text(*run.retry_after),
                        std::max(0.0, *run.retry_after - now));
  }
  return text;
}

}  // namespace ss::runner
