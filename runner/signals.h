// SIGUSR1 / SIGTERM handling for `scalesweep run` without signal handlers or mutable globals.
//
// A StopSignalWatcher blocks the watched signals in the calling thread (so in every thread
// created after it, MPI's progress threads included: construct it BEFORE MPI_Init) and starts a
// thread that waits for them with sigtimedwait(). A received signal is stored in an atomic the
// object owns; the scheduler loop polls stop_signal(). Nothing runs in signal-handler context, so
// no async-signal-safety rules apply. The previous mask is restored on destruction.
// Why these signals: Slurm's `--signal=B:USR1@120` and preemption send SIGUSR1; scancel and
// `mpirun` on SIGTERM send SIGTERM. The exit code after a stop is ss::kExitRequeue (3).
#pragma once

#include <signal.h>

#include <atomic>
#include <thread>

namespace ss::runner {

class StopSignalWatcher {
 public:
  StopSignalWatcher();
  ~StopSignalWatcher();
  StopSignalWatcher(const StopSignalWatcher&) = delete;
  StopSignalWatcher& operator=(const StopSignalWatcher&) = delete;

  // The first watched signal received (SIGUSR1 or SIGTERM), 0 while none arrived.
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
