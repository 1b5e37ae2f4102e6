/* An LD_PRELOAD library for the signal faults test: its constructor sends SIGUSR1 to its own
 * process, i.e. a stop signal in a rank's first instants, before main() and before MPI_Init.
 * Invariant: it does nothing else. */
#include <signal.h>
#include <unistd.h>

__attribute__((constructor)) static void signal_self_at_start(void) {
  kill(getpid(), SIGUSR1);
}
