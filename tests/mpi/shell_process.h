// Child processes for the mpirun tests: a `/bin/sh -c` command started without waiting (so a
// test can signal or kill it mid-run) and its exit status in shell convention.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

extern char** environ;

namespace ss::test {

// Starts `/bin/sh -c cmd`; returns its pid, or -1 if it could not be started.
inline pid_t spawn_shell(const std::string& cmd) {
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return -1;
  }
  return pid;
}

// Waits for `pid`: its exit code, 128 + the signal if a signal ended it, -1 if not our child.
inline int wait_exit(pid_t pid) {
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace ss::test
