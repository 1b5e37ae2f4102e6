// Error types shared by every folder. Invariant: library code throws, only a
// program's main() decides the exit code (InputError -> 2, anything else -> 1).
#pragma once

#include <stdexcept>
#include <string>

namespace ss {

// Exit code for bad user input (config, data, store of another version, corrupt
// checkpoint): one clear line, nothing written.
inline constexpr int kExitBadInput = 2;
// Exit code of `scalesweep run` after SIGUSR1/SIGTERM: state saved, requeue me.
inline constexpr int kExitRequeue = 3;
// Exit code of `scalesweep run` when a worker group hung (sent nothing for --hang-seconds):
// its point was released (pending), the others checkpointed; end what is left of the job and
// run the same command again.
inline constexpr int kExitHung = 4;

// Bad input from the user. what() is one line: what, where, how to fix.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ss
