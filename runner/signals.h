// SIGUSR1 / SIGTERM / SIGINT / SIGHUP handling for `scalesweep run` and `train` without signal
// handlers or mutable globals.
//
// A StopSignalWatcher blocks the watched signals in the calling thread (so in every thread
// created after it, MPI's progress threads included: construct it BEFORE MPI_Init) and starts a
// thread that waits for them with sigtimedwait(). A received signal is stored in an atomic the
// object owns; the scheduler loop polls stop_signal(). Nothing runs in signal-handler context, so
// no async-signal-safety rules apply. The previous mask is restored on destruction.
// Why these signals: Slurm's `--signal=B:USR1@120` and preemption send SIGUSR1 (Open MPI's
// mpirun forwards SIGUSR1 to the ranks, not SIGTERM/SIGINT: scripts/sweep-mpirun turns those
// into SIGUSR1); scancel sends SIGTERM; Ctrl-C SIGINT; a closed terminal SIGHUP. The exit code
// after a stop is ss::kExitRequeue (3). In `run` and `train` the mask is already set by a
// .preinit_array function (signals.cc) before the first library constructor, so a signal in a
// rank's first instants is not fatal either (docs/reliability.md § Signals).
#pragma once

#include <signal.h>

#include <atomic>
#include <thread>

namespace ss::runner {

// SIGUSR1, SIGTERM, SIGINT and SIGHUP: the signals that ask for "checkpoint and exit 3".
sigset_t stop_signal_set();

// SIGBUS, the one fault a user can cause from outside: a memory-mapped token shard truncated or
// replaced in place while the process reads it (the kernel has no page to give). Nothing can be
// recovered there, so the handler writes one line saying that and what to do (write(2), async-
// signal-safe) and ends the process with exit 1. Under `run` mpirun then ends the job; the
// point's lease, held by a dead process, is reclaimed at once by the next run, which resumes
// from the newest checkpoint. Without it the rank died of the signal with no line of ours.
void install_bus_error_line();

class StopSignalWatcher {
 public:
  StopSignalWatcher();
  ~StopSignalWatcher();
  StopSignalWatcher(const StopSignalWatcher&) = delete;
  StopSignalWatcher& operator=(const StopSignalWatcher&) = delete;

  // The first watched signal received (one of stop_signal_set()), 0 while none arrived.
  int stop_signal() const { return received_.load(std::memory_order_acquire); }
  bool stop_requested() const { return stop_signal() != 0; }

 private:
  void wait_loop();

  sigset_t watched_{};
  sigset_t previous_mask_{};
  std::atomic<int> received_{0};
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

}  // namespace ss::runner
