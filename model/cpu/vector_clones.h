// SS_VECTOR_CLONES: compile a function for AVX-512 (x86-64-v4), AVX2+FMA (x86-64-v3)
// and the baseline, and pick one when the library loads (GCC target_clones, an
// ifunc), so the vector loops of gelu.cc and softmax_rows.cc use 8 or 16 lanes and
// glibc's matching vector expf where the CPU has them, and the binary still runs
// on any x86-64. Invariant: only on functions of the -ffast-math files (their
// results depend on the lanes; on one machine they are always the same). Other
// compilers and architectures get the plain function.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SS_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SS_VECTOR_CLONES
#endif
