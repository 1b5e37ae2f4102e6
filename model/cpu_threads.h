// Thread count of the CPU backend (OpenMP loops and OpenBLAS, which is the OpenMP
// build here and so follows the same setting). Invariant: the trainer decides,
// the model never changes it. With several ranks per machine, give each rank
// cores / ranks_on_node threads: OpenMP teams that outnumber the free cores spin
// at every barrier (measured: a tp test took 3 s instead of 20 ms).
#pragma once

namespace ss::model {

// Sets the threads used by later CPU-backend calls from this thread; n >= 1.
void cpu_set_threads(int n);
// The threads the next CPU-backend call from this thread would use.
int cpu_threads();

}  // namespace ss::model
