// The one failure classification (runner/failure_kind.h) on the texts the failing code really
// produces: io::throw_errno after a real write to /dev/full (ENOSPC), std::bad_alloc's what(),
// SQLite's own message for SQLITE_FULL / SQLITE_IOERR; deterministic ones (a missing file, a
// permission, bad data) stay deterministic. And the wording `status` and `run` print.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "model/io/posix_file.h"
#include "runner/failure_kind.h"

namespace ss::runner {
namespace {

// What io::throw_errno says for `err` (set as errno) about `path`.
std::string errno_text(int err, const char* path) {
  try {
    errno = err;
    io::throw_errno("write", path, __FILE__, __LINE__);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(FailureKind, ARealFullDeviceIsTransient) {
  const int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "no /dev/full here";
  const char byte = 'x';
  const bool failed = ::write(fd, &byte, 1) < 0;
  const int err = errno;
  ::close(fd);
  ASSERT_TRUE(failed);
  ASSERT_EQ(err, ENOSPC);
  EXPECT_EQ(transient_cause(errno_text(err, "/dev/full")), "no space left on device (ENOSPC)");
}

TEST(FailureKind, TransientCauses) {
  EXPECT_EQ(transient_cause(errno_text(EIO, "ckpt/x.ckpt")), "I/O error (EIO)");
  EXPECT_EQ(transient_cause(errno_text(EDQUOT, "ckpt/x.ckpt")), "disk quota exceeded (EDQUOT)");
  EXPECT_EQ(transient_cause(errno_text(ENOMEM, "ckpt/x.ckpt")), "out of memory (ENOMEM)");
  EXPECT_EQ(transient_cause(errno_text(EAGAIN, "x")), "resource temporarily unavailable (EAGAIN)");
  EXPECT_EQ(transient_cause(errno_text(EINTR, "x")), "interrupted system call (EINTR)");
  EXPECT_EQ(transient_cause(std::string("run 3 failed: ") + std::bad_alloc().what()),
            "out of memory (std::bad_alloc)");
  EXPECT_EQ(transient_cause(std::string("store s.db: ") + sqlite3_errstr(SQLITE_FULL)),
            "disk full (SQLITE_FULL)");
  EXPECT_EQ(transient_cause(std::string("store s.db: ") + sqlite3_errstr(SQLITE_IOERR)),
            "I/O error (SQLITE_IOERR)");
  EXPECT_EQ(transient_cause("cudaMalloc: cudaErrorMemoryAllocation (out of memory)"),
            "out of memory");
}

TEST(FailureKind, DeterministicFailures) {
  EXPECT_FALSE(transient_cause(errno_text(ENOENT, "data/train.bin")));
  EXPECT_FALSE(transient_cause(errno_text(EACCES, "ckpt")));
  EXPECT_FALSE(transient_cause(errno_text(EROFS, "ckpt")));
  EXPECT_FALSE(transient_cause("shard train.bin: token 300 at 17 >= vocab 256"));
  EXPECT_FALSE(transient_cause("checkpoint ckpt/a/step-10.ckpt: checksum mismatch"));
  EXPECT_FALSE(transient_cause(""));
}

// The place, not the point: permission denied and a read-only file system end the job (a
// worker hands them to rank 0 as fatal), whatever file they name; others do not.
TEST(FailureKind, JobEndingCauses) {
  EXPECT_EQ(job_ending_cause(errno_text(EACCES, "ckpt/a/step-10.ckpt")),
            "permission denied (EACCES)");
  EXPECT_EQ(job_ending_cause(errno_text(EROFS, "ckpt/a/step-10.ckpt")),
            "read-only file system (EROFS)");
  EXPECT_FALSE(job_ending_cause(errno_text(ENOSPC, "ckpt/a")));
  EXPECT_FALSE(job_ending_cause(errno_text(ENOENT, "data/train.bin")));
  EXPECT_FALSE(job_ending_cause("shard train.bin: token 300 at 17 >= vocab 256"));
}

store::RunRecord failed_run(bool transient, std::int64_t attempts, std::int64_t transients) {
  store::RunRecord r;
  r.status = store::kStatusFailed;
  r.attempts = attempts;
  r.transient_failures = transients;
  r.error = transient ? errno_text(ENOSPC, "ckpt/x") : "token 300 >= vocab 256";
  r.error_transient = transient;
  return r;
}

TEST(FailureKind, DescribeFailure) {
  const store::RetryPolicy policy{.max_attempts = 3, .max_transient_failures = 10};
  EXPECT_EQ(describe_failure(failed_run(false, 4, 1), policy, 0), "deterministic, try 3 of 3");
  EXPECT_EQ(describe_failure(failed_run(false, 4, 1), std::nullopt, 0), "deterministic, try 3");
  EXPECT_EQ(describe_failure(failed_run(true, 10, 10), policy, 0),
            "transient (no space left on device (ENOSPC)), transient failure 10 of 10");
  store::RunRecord waiting = failed_run(true, 2, 2);
  waiting.status = store::kStatusPending;
  waiting.retry_after = 1764638625.0;  // 2025-12-02 01:23:45 UTC
  EXPECT_EQ(describe_failure(waiting, policy, 1764638600.0),
            "transient (no space left on device (ENOSPC)), transient failure 2 of 10, retry at "
            "2025-12-02 01:23:45 UTC (in 25s)");
  store::RunRecord old = failed_run(false, 3, 0);
  old.error_transient = std::nullopt;  // an error recorded before schema v4
  EXPECT_EQ(describe_failure(old, policy, 0), "not classified (recorded before schema v4)");
}

}  // namespace
}  // namespace ss::runner
