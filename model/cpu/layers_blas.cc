// CPU implementations of the GEMM-based layers: linear (matmul) and causal
// attention. Invariant: every linear layer's matrix product goes through BLAS
// (blas_gemm.h), as single-threaded calls on row slices taken by the OpenMP threads
// (see row_slices), with the MLP's GELU (forward and backward) as an epilogue on each
// slice's rows right after its GEMM; attention is OpenMP over (batch, head): heads of up to
// kAttDirectMaxHead (32) run the direct kernels of attention_rows.cc (exactly the
// causal entries, no BLAS call), larger heads run GEMMs per block of query rows, only
// on the causal (lower) blocks, with OpenBLAS (OpenMP build) single-threaded inside
// those parallel regions.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include <omp.h>

#include "model/attention.h"
#include "model/cpu/attention_rows.h"
#include "model/cpu/blas_gemm.h"
#include "model/cpu/softmax_rows.h"
#include "model/gelu.h"
#include "model/matmul.h"
#include "model/pointwise.h"

namespace ss::model::cpu {

// The linear layers' GEMMs run as row slices: with a team of n >= 2 threads, each GEMM (and
// the backward's two independent ones, the input and the weight gradient, together) is cut
// into kSlicesPerThread * n slices of rows, taken by the threads from a dynamic loop, each
// slice one single-threaded BLAS call (OpenBLAS runs one thread inside a parallel region).
// OpenBLAS's own threading of a GEMM made its threads wait for each other's packed panels
// (sched_yield loops), at every panel: on a shared machine one descheduled thread stalled
// both; here a thread only ever waits at the loop's end, and a stalled thread's remaining
// slices go to the other. Slices never split a GEMM's K sum; only OpenBLAS's last bits
// depend on a slice's row count (its edge kernels). The slicing depends only on the shape
// and the thread count, never on which thread takes a slice, so a fixed thread count gives
// identical bits every time (as OpenBLAS's own threading did; docs/ARCHITECTURE.md).
// One thread: one whole call, as before.
constexpr int kSlicesPerThread = 4;
constexpr int kMinSliceRows = 32;

// Slices of [0, rows) for the current team size, at most per_thread per thread; 1 when the
// work is not worth cutting.
inline int row_slices(int rows, int per_thread = kSlicesPerThread) {
  const int t = omp_get_max_threads();
  return t < 2 ? 1 : std::max(1, std::min(t * per_thread, rows / kMinSliceRows));
}

// Slice s of [0, rows) cut into `slices`: [first, second).
inline std::pair<int, int> slice(int rows, int s, int slices) {
  const auto r = static_cast<long long>(rows);
  return {static_cast<int>(r * s / slices), static_cast<int>(r * (s + 1) / slices)};
}

// f(task) for task in [0, tasks): a dynamic OpenMP loop, or a plain call when one task.
template <typename F>
void run_tasks(int tasks, F&& f) {
  if (tasks == 1) {
    f(0);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 0; k < tasks; ++k) f(k);
}

// out rows [n0, n1) start as base[n] + bias (each may be null) and the GEMM accumulates
// onto them (beta = 1): one pass writes the rows instead of OpenBLAS zeroing them (beta =
// 0) and a second pass adding the bias (and a third adding a residual).
template <typename T>
void fill_rows(T* out, const T* base, const T* bias, int n0, int n1, int OC) {
  for (int n = n0; n < n1; ++n) {
    T* row = out + static_cast<std::size_t>(n) * OC;
    const T* b = base != nullptr ? base + static_cast<std::size_t>(n) * OC : nullptr;
    if (b != nullptr && bias != nullptr) {
      for (int o = 0; o < OC; ++o) row[o] = b[o] + bias[o];
    } else if (b != nullptr) {
      for (int o = 0; o < OC; ++o) row[o] = b[o];
    } else if (bias != nullptr) {
      for (int o = 0; o < OC; ++o) row[o] = bias[o];
    }
  }
}

// out = base + bias + inp . weight^T over row slices (base, bias may be null); with gelu_out,
// also gelu_out = gelu(out), each slice's rows right after its GEMM, while they are in cache.
template <typename T>
void forward_rows(T* out, const T* inp, const T* weight, const T* bias, const T* base, int N, int C,
                  int OC, T* gelu_out = nullptr) {
  const bool prefill = base != nullptr || bias != nullptr;
  const int slices = row_slices(N);
  run_tasks(slices, [&](int s) {
    const auto [n0, n1] = slice(N, s, slices);
    if (n1 <= n0) return;
    fill_rows(out, base, bias, n0, n1, OC);
    gemm_rm(false, true, n1 - n0, OC, C, T(1), inp + static_cast<std::size_t>(n0) * C, C, weight, C,
            prefill ? T(1) : T(0), out + static_cast<std::size_t>(n0) * OC, OC);
    if (gelu_out != nullptr) {
      const std::size_t o = static_cast<std::size_t>(n0) * OC;
      gelu_forward_serial(gelu_out + o, out + o, static_cast<std::size_t>(n1 - n0) * OC);
    }
  });
}

template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C, int OC) {
  forward_rows<T>(out, inp, weight, bias, nullptr, N, C, OC);
}

template <typename T>
void matmul_gelu_forward(T* pre, T* out, const T* inp, const T* weight, const T* bias, int N,
                         int C, int OC) {
  forward_rows<T>(pre, inp, weight, bias, nullptr, N, C, OC, out);
}

template <typename T>
void matmul_residual_forward(T* out, const T* inp, const T* weight, const T* bias,
                             const T* residual, int N, int C, int OC) {
  forward_rows<T>(out, inp, weight, bias, residual, N, C, OC);
}

template <typename T>
void bias_add_forward(T* out, const T* bias, int N, int OC) {
#pragma omp parallel for
  for (int n = 0; n < N; ++n) {
    T* row = out + static_cast<std::size_t>(n) * OC;
    for (int o = 0; o < OC; ++o) row[o] += bias[o];
  }
}

// dinp[N,C] = dout[N,OC] . weight[OC,C] (written, beta = 0; with pre, then times
// gelu'(pre) on each slice's rows while they are in cache) and dweight[OC,C] +=
// dout^T[OC,N] . inp[N,C] (either may be null), as row slices of each in one task loop.
// Every dweight slice packs all of inp (its K = N side), so dweight gets one slice per
// thread, and its slices, the larger tasks, come first in the loop; dinp slices (each
// packing only the small weight) fill in. With 8 dweight slices per 2 threads the backward
// GEMMs took 2.2-2.5x the forward's time at L6 d256 (AVX-512 kernels), with 2 slices
// 1.9-2.0x (the FLOP ratio: 2).
template <typename T>
void matmul_backward_gemms(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, int N,
                           int C, int OC, const T* pre) {
  const int sw = dweight != nullptr ? row_slices(OC, 1) : 0;
  const int si = dinp != nullptr ? row_slices(N) : 0;
  run_tasks(sw + si, [&](int k) {
    if (k < sw) {
      const auto [o0, o1] = slice(OC, k, sw);
      if (o1 <= o0) return;
      gemm_rm(true, false, o1 - o0, C, N, T(1), dout + o0, OC, inp, C, T(1),
              dweight + static_cast<std::size_t>(o0) * C, C);
    } else {
      const auto [n0, n1] = slice(N, k - sw, si);
      if (n1 <= n0) return;
      gemm_rm(false, false, n1 - n0, C, OC, T(1), dout + static_cast<std::size_t>(n0) * OC, OC,
              weight, C, T(0), dinp + static_cast<std::size_t>(n0) * C, C);
      if (pre != nullptr) {
        const std::size_t o = static_cast<std::size_t>(n0) * C;
        gelu_backward_serial(dinp + o, pre + o, dinp + o, static_cast<std::size_t>(n1 - n0) * C);
      }
    }
  });
}

// dbias[OC] += column sums of dout[N,OC], walked row by row over blocks of columns:
// contiguous reads (the strided column walk was 5% of a training step).
template <typename T>
void bias_backward(T* dbias, const T* dout, int N, int OC) {
  constexpr int kBlock = 64;
#pragma omp parallel for
  for (int o0 = 0; o0 < OC; o0 += kBlock) {
    const int o1 = o0 + kBlock < OC ? o0 + kBlock : OC;
    T sums[kBlock] = {};
    for (int n = 0; n < N; ++n) {
      const T* row = dout + static_cast<std::size_t>(n) * OC;
      for (int o = o0; o < o1; ++o) sums[o - o0] += row[o];
    }
    for (int o = o0; o < o1; ++o) dbias[o] += sums[o - o0];
  }
}

// The linear layer's whole backward (the GEMMs, then dbias when asked), with the GELU
// epilogue on dinp when pre is given: matmul_backward and matmul_backward_dgelu.
template <typename T>
void backward_rows(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                   const T* pre, int N, int C, int OC) {
  matmul_backward_gemms(dinp, dweight, dout, inp, weight, N, C, OC, pre);
  if (dbias != nullptr) bias_backward(dbias, dout, N, OC);
}

template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int C, int OC) {
  backward_rows<T>(dinp, dweight, dbias, dout, inp, weight, nullptr, N, C, OC);
}

template <typename T>
void matmul_backward_dgelu(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                           const T* weight, const T* pre, int N, int C, int OC) {
  backward_rows(dinp, dweight, dbias, dout, inp, weight, pre, N, C, OC);
}

// This thread's scratch of at least n elements, kept between calls (OpenMP's threads
// persist): a fresh vector per call cost an allocation, a zeroing pass and page faults.
template <typename T>
T* thread_scratch(std::size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Query rows per block of the causal attention GEMMs: block i of queries needs only
// keys [0, (i+1)*kAttBlock), so at n_ctx 256 the GEMMs do 10/16 of the full square.
constexpr int kAttBlock = 64;

// f(b, h, work) for every (batch, head) pair, OpenMP over the pairs, handed out one at a
// time (dynamic, as the GEMMs' row slices: a descheduled thread's remaining heads go to
// the others; a head's result never depends on its thread); work is this thread's scratch
// of work_size elements (the direct kernels' padded copies; 0 for the BLAS path).
template <typename T, typename F>
void for_each_head(int B, int NH, std::size_t work_size, F&& f) {
#pragma omp parallel
  {
    T* work = thread_scratch<T>(work_size);
#pragma omp for collapse(2) schedule(dynamic)
    for (int b = 0; b < B; ++b) {
      for (int h = 0; h < NH; ++h) f(b, h, work);
    }
  }
}

// One head's causal attention as GEMMs per block of query rows (heads over
// kAttDirectMaxHead); q, k, v rows C3 apart, out rows C apart, a: its T_ x T_ probabilities.
template <typename T>
void head_forward_blas(T* o, T* a, const T* q, const T* k, const T* v, int T_, int hs, int C,
                       T scale) {
  const int C3 = 3 * C;
  for (int t0 = 0; t0 < T_; t0 += kAttBlock) {
    const int rows = std::min(kAttBlock, T_ - t0), n = t0 + rows;
    T* ab = a + static_cast<std::size_t>(t0) * T_;
    // ab[rows, n] = q[t0.., :] . k[0..n, :]^T; the block's upper triangle is
    // computed and then masked (one GEMM is faster than `rows` small ones).
    gemm_rm(false, true, rows, n, hs, T(1), q + static_cast<std::size_t>(t0) * C3, C3, k, C3, T(0),
            ab, T_);
    softmax_rows_causal(ab, t0, rows, T_, T_, scale);
    gemm_rm(false, false, rows, hs, n, T(1), ab, T_, v, C3, T(0),
            o + static_cast<std::size_t>(t0) * C, C);
  }
}

template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int B, int T_, int C, int NH) {
  const int hs = C / NH;
  const int C3 = 3 * C;
  const T scale = T(1) / std::sqrt(T(hs));
  const bool direct = hs <= kAttDirectMaxHead;
  for_each_head<T>(B, NH, direct ? attention_head_work(T_) : 0, [&](int b, int h, T* work) {
    const T* q = qkv + static_cast<std::size_t>(b) * T_ * C3 + h * hs;
    T* o = out + static_cast<std::size_t>(b) * T_ * C + h * hs;
    T* a = att + (static_cast<std::size_t>(b) * NH + h) * T_ * T_;
    if (direct) {
      attention_head_forward(o, a, q, q + C, q + 2 * C, T_, hs, C3, C, scale, work);
    } else {
      head_forward_blas(o, a, q, q + C, q + 2 * C, T_, hs, C, scale);
    }
  });
}

// One head's attention backward as GEMMs per block of query rows (heads over
// kAttDirectMaxHead), writing dq, dk, dv (rows C3 apart); da: T_ x T_ scratch. The blocks
// run last first: the last block's keys are all T_ rows, so its dk, dv GEMMs write them
// (beta = 0) and the earlier blocks add to their prefixes; each dq block has one writer.
template <typename T>
void head_backward_blas(T* dq, T* dk, T* dv, T* da, const T* dy, const T* q, const T* k, const T* v,
                        const T* a, int T_, int hs, int C, T scale) {
  const int C3 = 3 * C;
  const int last = (T_ - 1) / kAttBlock * kAttBlock;
  for (int t0 = last; t0 >= 0; t0 -= kAttBlock) {
    const int rows = std::min(kAttBlock, T_ - t0), n = t0 + rows;
    const T beta_kv = t0 == last ? T(0) : T(1);
    const std::size_t r0 = static_cast<std::size_t>(t0) * T_;
    const T* dyb = dy + static_cast<std::size_t>(t0) * C;
    // da = dy . v^T ; dv += a^T . dy (= on the first, i.e. last, block)
    gemm_rm(false, true, rows, n, hs, T(1), dyb, C, v, C3, T(0), da + r0, T_);
    gemm_rm(true, false, n, hs, rows, T(1), a + r0, T_, dyb, C, beta_kv, dv, C3);
    // Softmax backward in place; masked entries (a == 0) get no gradient.
    softmax_rows_causal_backward(da + r0, a + r0, t0, rows, n, T_, scale);
    // dq = dpre . k ; dk += dpre^T . q
    gemm_rm(false, false, rows, hs, n, T(1), da + r0, T_, k, C3, T(0),
            dq + static_cast<std::size_t>(t0) * C3, C3);
    gemm_rm(true, false, n, hs, rows, T(1), da + r0, T_, q + static_cast<std::size_t>(t0) * C3, C3,
            beta_kv, dk, C3);
  }
}

template <typename T>
void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att, int B,
                        int T_, int C, int NH) {
  const int hs = C / NH;
  const int C3 = 3 * C;
  const T scale = T(1) / std::sqrt(T(hs));
  const bool direct = hs <= kAttDirectMaxHead;
  for_each_head<T>(B, NH, direct ? attention_head_work(T_) : 0, [&](int b, int h, T* work) {
    const std::size_t qoff = static_cast<std::size_t>(b) * T_ * C3 + h * hs;
    const std::size_t aoff = (static_cast<std::size_t>(b) * NH + h) * T_ * T_;
    const T* q = qkv + qoff;
    T* dq = dqkv + qoff;
    const T* dy = dout + static_cast<std::size_t>(b) * T_ * C + h * hs;
    if (direct) {
      attention_head_backward(dq, dq + C, dq + 2 * C, dy, q, q + C, q + 2 * C, att + aoff, T_, hs,
                              C3, C, scale, work);
    } else {
      head_backward_blas(dq, dq + C, dq + 2 * C, scratch + aoff, dy, q, q + C, q + 2 * C,
                         att + aoff, T_, hs, C, scale);
    }
  });
}

#define SS_INSTANTIATE(T)                                                                        \
  template void matmul_forward<T>(T*, const T*, const T*, const T*, int, int, int);              \
  template void matmul_backward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, int);     \
  template void bias_add_forward<T>(T*, const T*, int, int);                                     \
  template void matmul_gelu_forward<T>(T*, T*, const T*, const T*, const T*, int, int, int);     \
  template void matmul_backward_dgelu<T>(T*, T*, T*, const T*, const T*, const T*, const T*, int, \
                                         int, int);                                              \
  template void matmul_residual_forward<T>(T*, const T*, const T*, const T*, const T*, int, int, \
                                           int);                                                 \
  template void attention_forward<T>(T*, T*, const T*, int, int, int, int);                      \
  template void attention_backward<T>(T*, T*, const T*, const T*, const T*, int, int, int, int);

SS_INSTANTIATE(float)
SS_INSTANTIATE(double)
#undef SS_INSTANTIATE

}  // namespace ss::model::cpu
