// Child processes for the tests that run real binaries: a shell command run to the end with its
// stdout captured, or started without waiting (so a test can signal or kill it mid-run) and
// waited for later. Exit status in shell convention: the exit code, 128 + the signal if a signal
// ended it, -1 if it could not be started or waited for.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

extern char** environ;

namespace ss::testing {

inline int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

struct CommandResult {
  int rc = -1;
  std::string out;  // stdout (add 2>&1 to the command for stderr too)
};

// Runs `/bin/sh -c cmd` to the end.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult result;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return result;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe.get())) > 0) result.out.append(buf, n);
  result.rc = exit_status(pclose(pipe.release()));
  return result;
}

// Starts `/bin/sh -c cmd`; returns its pid, or -1 if it could not be started.
inline pid_t spawn_shell(const std::string& cmd) {
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return -1;
  }
  return pid;
}

// Waits for `pid` (a child of this process).
inline int wait_exit(pid_t pid) {
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return exit_status(status);
}

}  // namespace ss::testing
