// CPU implementations of the GEMM-based layers: linear (matmul) and causal
// attention. Invariant: every linear layer's matrix product goes through BLAS
// (blas_gemm.h); attention is OpenMP over (batch, head): heads of up to
// kAttDirectMaxHead (32) run the direct kernels of attention_rows.cc (exactly the
// causal entries, no BLAS call), larger heads run GEMMs per block of query rows, only
// on the causal (lower) blocks, with OpenBLAS (OpenMP build) single-threaded inside
// those parallel regions.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "model/attention.h"
#include "model/cpu/attention_rows.h"
#include "model/cpu/blas_gemm.h"
#include "model/cpu/softmax_rows.h"
#include "model/matmul.h"
#include "model/pointwise.h"

namespace ss::model::cpu {

// out rows start as base[n] + bias (each may be null) and the GEMM accumulates onto
// them (beta = 1): one pass writes the rows instead of OpenBLAS zeroing them (beta = 0)
// and a second pass adding the bias (and a third adding a residual).
template <typename T>
void fill_rows(T* out, const T* base, const T* bias, int N, int OC) {
#pragma omp parallel for
  for (int n = 0; n < N; ++n) {
    T* row = out + static_cast<std::size_t>(n) * OC;
    const T* b = base != nullptr ? base + static_cast<std::size_t>(n) * OC : nullptr;
    if (b != nullptr && bias != nullptr) {
      for (int o = 0; o < OC; ++o) row[o] = b[o] + bias[o];
    } else if (b != nullptr) {
      for (int o = 0; o < OC; ++o) row[o] = b[o];
    } else {
      for (int o = 0; o < OC; ++o) row[o] = bias[o];
    }
  }
}

template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C, int OC) {
  if (bias != nullptr) fill_rows<T>(out, nullptr, bias, N, OC);
  gemm_rm(false, true, N, OC, C, T(1), inp, C, weight, C, bias != nullptr ? T(1) : T(0), out, OC);
}

template <typename T>
void matmul_residual_forward(T* out, const T* inp, const T* weight, const T* bias,
                             const T* residual, int N, int C, int OC) {
  fill_rows<T>(out, residual, bias, N, OC);
  gemm_rm(false, true, N, OC, C, T(1), inp, C, weight, C, T(1), out, OC);
}

template <typename T>
void bias_add_forward(T* out, const T* bias, int N, int OC) {
#pragma omp parallel for
  for (int n = 0; n < N; ++n) {
    T* row = out + static_cast<std::size_t>(n) * OC;
    for (int o = 0; o < OC; ++o) row[o] += bias[o];
  }
}

template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int C, int OC) {
  // dinp[N,C] += dout[N,OC] . weight[OC,C]
  if (dinp != nullptr) gemm_rm(false, false, N, C, OC, T(1), dout, OC, weight, C, T(1), dinp, C);
  // dweight[OC,C] += dout^T[OC,N] . inp[N,C]
  if (dweight != nullptr) {
    gemm_rm(true, false, OC, C, N, T(1), dout, OC, inp, C, T(1), dweight, C);
  }
  if (dbias != nullptr) {
    // Column sums, walked row by row over blocks of columns: contiguous reads
    // (the strided column walk was 5% of a training step).
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

template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int B, int T_, int C, int NH) {
  const int hs = C / NH;
  const int C3 = 3 * C;
  const T scale = T(1) / std::sqrt(T(hs));
  if (hs <= kAttDirectMaxHead) {
#pragma omp parallel
    {
      T* work = thread_scratch<T>(attention_head_work(T_));
#pragma omp for collapse(2)
      for (int b = 0; b < B; ++b) {
        for (int h = 0; h < NH; ++h) {
          const T* q = qkv + static_cast<std::size_t>(b) * T_ * C3 + h * hs;
          attention_head_forward(out + static_cast<std::size_t>(b) * T_ * C + h * hs,
                                 att + (static_cast<std::size_t>(b) * NH + h) * T_ * T_, q, q + C,
                                 q + 2 * C, T_, hs, C3, C, scale, work);
        }
      }
    }
    return;
  }
#pragma omp parallel for collapse(2)
  for (int b = 0; b < B; ++b) {
    for (int h = 0; h < NH; ++h) {
      const T* q = qkv + static_cast<std::size_t>(b) * T_ * C3 + h * hs;
      const T* k = q + C;
      const T* v = q + 2 * C;
      T* a = att + (static_cast<std::size_t>(b) * NH + h) * T_ * T_;
      T* o = out + static_cast<std::size_t>(b) * T_ * C + h * hs;
      for (int t0 = 0; t0 < T_; t0 += kAttBlock) {
        const int rows = std::min(kAttBlock, T_ - t0), n = t0 + rows;
        T* ab = a + static_cast<std::size_t>(t0) * T_;
        // ab[rows, n] = q[t0.., :] . k[0..n, :]^T; the block's upper triangle is
        // computed and then masked (one GEMM is faster than `rows` small ones).
        gemm_rm(false, true, rows, n, hs, T(1), q + static_cast<std::size_t>(t0) * C3, C3, k, C3,
                T(0), ab, T_);
        softmax_rows_causal(ab, t0, rows, T_, T_, scale);
        gemm_rm(false, false, rows, hs, n, T(1), ab, T_, v, C3, T(0),
                o + static_cast<std::size_t>(t0) * C, C);
      }
    }
  }
}

template <typename T>
void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att, int B,
                        int T_, int C, int NH) {
  const int hs = C / NH;
  const int C3 = 3 * C;
  const T scale = T(1) / std::sqrt(T(hs));
  if (hs <= kAttDirectMaxHead) {
#pragma omp parallel
    {
      T* work = thread_scratch<T>(attention_head_work(T_));
#pragma omp for collapse(2)
      for (int b = 0; b < B; ++b) {
        for (int h = 0; h < NH; ++h) {
          const std::size_t qoff = static_cast<std::size_t>(b) * T_ * C3 + h * hs;
          T* dq = dqkv + qoff;
          attention_head_backward(
              dq, dq + C, dq + 2 * C, dout + static_cast<std::size_t>(b) * T_ * C + h * hs,
              qkv + qoff, qkv + qoff + C, qkv + qoff + 2 * C,
              att + (static_cast<std::size_t>(b) * NH + h) * T_ * T_, T_, hs, C3, C, scale, work);
        }
      }
    }
    return;
  }
#pragma omp parallel for collapse(2)
  for (int b = 0; b < B; ++b) {
    for (int h = 0; h < NH; ++h) {
      const std::size_t qoff = static_cast<std::size_t>(b) * T_ * C3 + h * hs;
      const T* q = qkv + qoff;
      const T* k = q + C;
      const T* v = q + 2 * C;
      T* dq = dqkv + qoff;
      T* dk = dq + C;
      T* dv = dq + 2 * C;
      const T* a = att + (static_cast<std::size_t>(b) * NH + h) * T_ * T_;
      T* da = scratch + (static_cast<std::size_t>(b) * NH + h) * T_ * T_;
      const T* dy = dout + static_cast<std::size_t>(b) * T_ * C + h * hs;
      for (int t0 = 0; t0 < T_; t0 += kAttBlock) {
        const int rows = std::min(kAttBlock, T_ - t0), n = t0 + rows;
        const std::size_t r0 = static_cast<std::size_t>(t0) * T_;
        const T* dyb = dy + static_cast<std::size_t>(t0) * C;
        // da = dy . v^T ; dv += a^T . dy
        gemm_rm(false, true, rows, n, hs, T(1), dyb, C, v, C3, T(0), da + r0, T_);
        gemm_rm(true, false, n, hs, rows, T(1), a + r0, T_, dyb, C, T(1), dv, C3);
        // Softmax backward in place; masked entries (a == 0) get no gradient.
        softmax_rows_causal_backward(da + r0, a + r0, t0, rows, n, T_, scale);
        // dq += dpre . k ; dk += dpre^T . q
        gemm_rm(false, false, rows, hs, n, T(1), da + r0, T_, k, C3, T(1),
                dq + static_cast<std::size_t>(t0) * C3, C3);
        gemm_rm(true, false, n, hs, rows, T(1), da + r0, T_, q + static_cast<std::size_t>(t0) * C3,
                C3, T(1), dk, C3);
      }
    }
  }
}

#define SS_INSTANTIATE(T)                                                                        \
  template void matmul_forward<T>(T*, const T*, const T*, const T*, int, int, int);              \
  template void matmul_backward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, int);     \
  template void bias_add_forward<T>(T*, const T*, int, int);                                     \
  template void matmul_residual_forward<T>(T*, const T*, const T*, const T*, const T*, int, int, \
                                           int);                                                 \
  template void attention_forward<T>(T*, T*, const T*, int, int, int, int);                      \
  template void attention_backward<T>(T*, T*, const T*, const T*, const T*, int, int, int, int);

SS_INSTANTIATE(float)
SS_INSTANTIATE(double)
#undef SS_INSTANTIATE

}  // namespace ss::model::cpu
