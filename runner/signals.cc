// The sigtimedwait() thread behind StopSignalWatcher (see signals.h for why no handler is used).
#include "runner/signals.h"

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

namespace ss::runner {

StopSignalWatcher::StopSignalWatcher() {
  sigemptyset(&watched_);
  sigaddset(&watched_, SIGUSR1);
  sigaddset(&watched_, SIGTERM);
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

}  // namespace ss::runner
