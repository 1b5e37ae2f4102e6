// Includes model/pointwise.h with SS_HD = __host__ __device__, for .cu files only.
// Invariant: it must be the first include of pointwise.h in the translation unit
// (pointwise.h has #pragma once); if a host-only copy came first, nvcc rejects
// the kernels' calls to host functions, so the mistake cannot pass silently.
#pragma once

#ifndef __CUDACC__
#error "model/cuda/pointwise_device.h is for CUDA translation units only"
#endif
#ifdef SS_HD
#error "model/pointwise.h was included before model/cuda/pointwise_device.h"
#endif
#define SS_HD __host__ __device__
#include "model/pointwise.h"
