// The sigtimedwait() thread behind StopSignalWatcher (see signals.h for why no handler is used),
// and the stop signals' mask set from a `run`/`train` process's first instruction.
#include "runner/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ss::runner {

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGUSR1, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  return set;
}

namespace {

// Runs before the dynamic libraries' constructors and main() (glibc calls .preinit_array with
// argc, argv, envp): in `scalesweep run` and `scalesweep train` the stop signals are blocked from
// here on, so one that arrives while MPI starts stays pending for the watcher instead of ending
// the rank with 128 + signal. Other subcommands (status, plan, ...) keep the default actions.
void block_stop_signals_at_start(int argc, char** argv, char** /*envp*/) {
  if (argc < 2 || argv == nullptr || argv[1] == nullptr) return;
  const std::string_view command = argv[1];
  if (command != "run" && command != "train") return;
  const sigset_t set = stop_signal_set();
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

[[gnu::section(".preinit_array"),
  gnu::used]] void (*const kBlockAtStart)(int, char**, char**) = &block_stop_signals_at_start;

}  // namespace

StopSignalWatcher::StopSignalWatcher() : watched_(stop_signal_set()) {
  const int rc = pthread_sigmask(SIG_BLOCK, &watched_, &previous_mask_);
  if (rc != 0) {
    throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(rc));
  }
  thread_ = std::thread([this] { wait_loop(); });
}

StopSignalWatcher::~StopSignalWatcher() {
  quit_.store(true);
  thread_.join();
  // A signal that arrives between here and the restored mask stays pending and is then
  // delivered with its default action, which is what an unwatched process would do.
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void StopSignalWatcher::wait_loop() {
  // A 50 ms timeout bounds how long the destructor waits for this thread.
  const timespec timeout{0, 50'000'000};
  while (!quit_.load()) {
    const int sig = sigtimedwait(&watched_, nullptr, &timeout);
    if (sig > 0) {
      int expected = 0;
      received_.compare_exchange_strong(expected, sig, std::memory_order_acq_rel);
    }
    // sig < 0: EAGAIN (timeout) or EINTR; loop and check quit_.
  }
}

extern "C" void on_bus_error(int) {
  static constexpr char kLine[] =
      "scalesweep: error: bus error (SIGBUS) reading a memory-mapped file: a token shard was "
      "truncated or replaced while this process read it; restore the shard (or re-run `scalesweep "
      "prepare-data` into a new directory) and run the same command again: it resumes from the "
      "newest checkpoint\n";
  const ssize_t written = ::write(STDERR_FILENO, kLine, sizeof(kLine) - 1);
  static_cast<void>(written);
  ::_exit(1);
}

void install_bus_error_line() {
  struct sigaction action {};
  action.sa_handler = on_bus_error;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}

}  // namespace ss::runner
