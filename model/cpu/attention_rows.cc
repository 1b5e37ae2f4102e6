// Direct causal attention kernels for small heads (declared in attention_rows.h).
// Invariant: this file holds only these loops, because it is compiled with
// -ffast-math (as gelu.cc and softmax_rows.cc: the softmax's exp is glibc's vector
// expf, and the dot products and sums are reassociated into vector lanes) and
// cloned per vector width (vector_clones.h); the results depend on the vector
// width, never on the thread count (each head is computed by one thread). Layout
// of the per-thread work buffer: a head's k (forward) or v (backward) transposed
// into rows of Tp (T_ rounded up to kLanes, zero-padded) so that score rows are
// kLanes-wide register blocks, and the other operand and the dk/dv accumulators
// as rows padded to HP (16 or 32) columns so that every row update is whole vectors.
#include "model/cpu/attention_rows.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "model/cpu/vector_clones.h"
#include "model/pointwise.h"

namespace ss::model::cpu {
namespace {

// 64 bytes of T as one GCC vector (one AVX-512 register; two AVX2 or four SSE ones in
// the other clones): local accumulators stay in registers, which the compiler did
// not do for `omp simd` loops over local arrays (perf: a store-forwarding chain
// through the stack was half of the backward kernel).
template <typename T>
struct Lanes {
  typedef T vec __attribute__((vector_size(64)));
  static constexpr int kN = 64 / static_cast<int>(sizeof(T));
};
template <typename T>
using Vec = typename Lanes<T>::vec;

template <typename T>
[[gnu::always_inline]] inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
[[gnu::always_inline]] inline void store(T* p, Vec<T> v) {
  std::memcpy(p, &v, sizeof v);
}

constexpr int kLanes = 16;  // score columns per register block (1 float or 2 double vectors)

int padded(int T_) {
  return (T_ + kLanes - 1) / kLanes * kLanes;
}

// rows[r][0..HP) = src row r (ld apart) for r < n, zero beyond hs.
template <int HP, typename T>
[[gnu::always_inline]] inline void pad_rows(T* rows, const T* src, int n, int hs, int ld) {
  std::fill(rows, rows + static_cast<std::size_t>(n) * HP, T(0));
  for (int r = 0; r < n; ++r) {
    std::memcpy(rows + static_cast<std::size_t>(r) * HP, src + static_cast<std::size_t>(r) * ld,
                sizeof(T) * hs);
  }
}

// cols[d][j] = src[j][d] for d < hs, j < n (rows Tp apart), zero for j in [n, Tp). Reads
// src row by row (the column walk down src was 9% of the backward kernel).
template <typename T>
[[gnu::always_inline]] inline void transpose_cols(T* cols, const T* src, int n, int hs, int ld,
                                                  int Tp) {
  for (int j = 0; j < n; ++j) {
    const T* row = src + static_cast<std::size_t>(j) * ld;
    for (int d = 0; d < hs; ++d) cols[static_cast<std::size_t>(d) * Tp + j] = row[d];
  }
  for (int d = 0; d < hs; ++d) {
    std::fill(cols + static_cast<std::size_t>(d) * Tp + n,
              cols + static_cast<std::size_t>(d + 1) * Tp, T(0));
  }
}

// Query rows computed together: their score, value and gradient loops share each
// load of k, v (or dk, dv) and run kR independent accumulator chains.
constexpr int kR = 4;

// out[r][j] = sum_{d < hs} x[r][d] * cols[d][j] for r < kR, j < n rounded up to kLanes
// (entries past a row's own length are garbage the caller ignores or overwrites).
template <typename T>
[[gnu::always_inline]] inline void rows_times_cols(T* const out[kR],
                                                   const T (*x)[kAttDirectMaxHead], const T* cols,
                                                   int n, int hs, int Tp) {
  constexpr int L = Lanes<T>::kN, NV = kLanes / L;
  for (int j0 = 0; j0 < n; j0 += kLanes) {
    Vec<T> acc[kR][NV] = {};
    for (int d = 0; d < hs; ++d) {
      const T* c = cols + static_cast<std::size_t>(d) * Tp + j0;
      Vec<T> cv[NV];
      for (int u = 0; u < NV; ++u) cv[u] = load(c + u * L);
      for (int r = 0; r < kR; ++r) {
        for (int u = 0; u < NV; ++u) acc[r][u] += x[r][d] * cv[u];
      }
    }
    for (int r = 0; r < kR; ++r) {
      for (int u = 0; u < NV; ++u) store(out[r] + j0 + u * L, acc[r][u]);
    }
  }
}

// acc[r] = sum_{j < n} w[r][j] * rows[j] (rows HP apart) for r < kR, as whole vectors.
template <int HP, typename T>
[[gnu::always_inline]] inline void weighted_rows(Vec<T> (*acc)[HP / Lanes<T>::kN],
                                                 const T* const w[kR], const T* rows, int n) {
  constexpr int L = Lanes<T>::kN, NV = HP / L;
  for (int r = 0; r < kR; ++r) {
    for (int u = 0; u < NV; ++u) acc[r][u] = Vec<T>{};
  }
  for (int j = 0; j < n; ++j) {
    Vec<T> rv[NV];
    for (int u = 0; u < NV; ++u) rv[u] = load(rows + static_cast<std::size_t>(j) * HP + u * L);
    for (int r = 0; r < kR; ++r) {
      for (int u = 0; u < NV; ++u) acc[r][u] += w[r][j] * rv[u];
    }
  }
}

// rows[j] += sum_r w[r][j] * x[r] for j < n (rows HP apart, x[r] padded to HP).
template <int HP, typename T>
[[gnu::always_inline]] inline void add_outer(T* rows, const T* const w[kR],
                                             const T (*x)[kAttDirectMaxHead], int n) {
  constexpr int L = Lanes<T>::kN, NV = HP / L;
  Vec<T> xv[kR][NV];
  for (int r = 0; r < kR; ++r) {
    for (int u = 0; u < NV; ++u) xv[r][u] = load(x[r] + u * L);
  }
  for (int j = 0; j < n; ++j) {
    T* row = rows + static_cast<std::size_t>(j) * HP;
    for (int u = 0; u < NV; ++u) {
      Vec<T> a = load(row + u * L);
      for (int r = 0; r < kR; ++r) a += w[r][j] * xv[r][u];
      store(row + u * L, a);
    }
  }
}

// x[r] = row (i0 + r) of src padded with zeros to kAttDirectMaxHead; zero rows past T_.
template <typename T>
[[gnu::always_inline]] inline void gather_rows(T (*x)[kAttDirectMaxHead], const T* src, int i0,
                                               int nr, int hs, int ld) {
  std::fill(&x[0][0], &x[0][0] + kR * kAttDirectMaxHead, T(0));
  for (int r = 0; r < nr; ++r) {
    std::memcpy(x[r], src + static_cast<std::size_t>(i0 + r) * ld, sizeof(T) * hs);
  }
}

template <int HP, typename T>
SS_VECTOR_CLONES void head_forward(T* out, T* att, const T* q, const T* k, const T* v, int T_,
                                   int hs, int ld, int ld_out, T scale, T* work) {
  constexpr int NV = HP / Lanes<T>::kN;
  const int Tp = padded(T_);
  T* kt = work;                                    // hs x Tp
  T* vp = kt + static_cast<std::size_t>(HP) * Tp;  // T_ x HP
  T* srow[kR];                                     // kR x Tp score rows
  for (int r = 0; r < kR; ++r) srow[r] = vp + static_cast<std::size_t>(T_) * HP + r * Tp;
  transpose_cols(kt, k, T_, hs, ld, Tp);
  pad_rows<HP>(vp, v, T_, hs, ld);
  for (int i0 = 0; i0 < T_; i0 += kR) {
    const int nr = std::min(kR, T_ - i0), nmax = i0 + nr;
    T x[kR][kAttDirectMaxHead];
    gather_rows(x, q, i0, nr, hs, ld);
    rows_times_cols(srow, x, kt, nmax, hs, Tp);
    for (int r = 0; r < kR; ++r) {
      if (r < nr) {
        softmax_row_masked(srow[r], i0 + r + 1, nmax, scale);  // zero past the row's own keys
      } else {
        std::fill(srow[r], srow[r] + nmax, T(0));
      }
    }
    Vec<T> o[kR][NV];
    weighted_rows<HP>(o, srow, vp, nmax);
    for (int r = 0; r < nr; ++r) {
      T* a = att + static_cast<std::size_t>(i0 + r) * T_;
      std::memcpy(a, srow[r], sizeof(T) * nmax);
      std::fill(a + nmax, a + T_, T(0));
      T tmp[HP];
      for (int u = 0; u < NV; ++u) store(tmp + u * Lanes<T>::kN, o[r][u]);
      std::memcpy(out + static_cast<std::size_t>(i0 + r) * ld_out, tmp, sizeof(T) * hs);
    }
  }
}

template <int HP, typename T>
SS_VECTOR_CLONES void head_backward(T* dq, T* dk, T* dv, const T* dy, const T* q, const T* k,
                                    const T* v, const T* att, int T_, int hs, int ld, int ld_dy,
                                    T scale, T* work) {
  constexpr int NV = HP / Lanes<T>::kN;
  const int Tp = padded(T_);
  const std::size_t rows = static_cast<std::size_t>(T_) * HP;
  T* vt = work;                                    // hs x Tp
  T* kp = vt + static_cast<std::size_t>(HP) * Tp;  // T_ x HP
  T* dkp = kp + rows;                              // T_ x HP, accumulated
  T* dvp = dkp + rows;                             // T_ x HP, accumulated
  T* drow[kR];                                     // kR x Tp score-gradient rows
  for (int r = 0; r < kR; ++r) drow[r] = dvp + rows + static_cast<std::size_t>(r) * Tp;
  T* zeros = drow[kR - 1] + Tp;  // Tp zeros: the probabilities of rows past T_
  transpose_cols(vt, v, T_, hs, ld, Tp);
  pad_rows<HP>(kp, k, T_, hs, ld);
  std::fill(dkp, dkp + 2 * rows, T(0));
  std::fill(zeros, zeros + Tp, T(0));
  for (int i0 = 0; i0 < T_; i0 += kR) {
    const int nr = std::min(kR, T_ - i0), nmax = i0 + nr;
    T dys[kR][kAttDirectMaxHead], qs[kR][kAttDirectMaxHead];
    gather_rows(dys, dy, i0, nr, hs, ld_dy);
    gather_rows(qs, q, i0, nr, hs, ld);
    const T* p[kR];
    for (int r = 0; r < kR; ++r)
      p[r] = r < nr ? att + static_cast<std::size_t>(i0 + r) * T_ : zeros;
    rows_times_cols(drow, dys, vt, nmax, hs, Tp);  // d p = dy . v^T
    add_outer<HP>(dvp, p, dys, nmax);              // dv += p^T . dy
    for (int r = 0; r < kR; ++r) {
      // d scores (pre-softmax, scaled), zero past the row's own keys (and for rows past T_).
      softmax_row_backward(drow[r], p[r], r < nr ? i0 + r + 1 : 0, nmax, scale);
    }
    Vec<T> acc[kR][NV];
    weighted_rows<HP>(acc, drow, kp, nmax);  // dq += ds . k
    add_outer<HP>(dkp, drow, qs, nmax);      // dk += ds^T . q
    for (int r = 0; r < nr; ++r) {
      T tmp[HP];
      for (int u = 0; u < NV; ++u) store(tmp + u * Lanes<T>::kN, acc[r][u]);
      T* dqi = dq + static_cast<std::size_t>(i0 + r) * ld;
      std::memcpy(dqi, tmp, sizeof(T) * hs);
    }
  }
  for (int j = 0; j < T_; ++j) {
    const std::size_t o = static_cast<std::size_t>(j) * ld;
    std::memcpy(dk + o, dkp + static_cast<std::size_t>(j) * HP, sizeof(T) * hs);
    std::memcpy(dv + o, dvp + static_cast<std::size_t>(j) * HP, sizeof(T) * hs);
  }
}

}  // namespace

std::size_t attention_head_work(int T_) {
  const std::size_t Tp = padded(T_);
  // The backward's: v transposed, k, dk and dv padded, kR score rows and a row of zeros.
  return kAttDirectMaxHead * (Tp + 3 * static_cast<std::size_t>(T_)) + (kR + 1) * Tp;
}

template <typename T>
void attention_head_forward(T* out, T* att, const T* q, const T* k, const T* v, int T_, int hs,
                            int ld, int ld_out, T scale, T* work) {
  if (hs <= 16) {
    head_forward<16>(out, att, q, k, v, T_, hs, ld, ld_out, scale, work);
  } else {
    head_forward<kAttDirectMaxHead>(out, att, q, k, v, T_, hs, ld, ld_out, scale, work);
  }
}

template <typename T>
void attention_head_backward(T* dq, T* dk, T* dv, const T* dy, const T* q, const T* k, const T* v,
                             const T* att, int T_, int hs, int ld, int ld_dy, T scale, T* work) {
  if (hs <= 16) {
    head_backward<16>(dq, dk, dv, dy, q, k, v, att, T_, hs, ld, ld_dy, scale, work);
  } else {
    head_backward<kAttDirectMaxHead>(dq, dk, dv, dy, q, k, v, att, T_, hs, ld, ld_dy, scale, work);
  }
}

#define SS_INSTANTIATE(T)                                                                      \
  template void attention_head_forward<T>(T*, T*, const T*, const T*, const T*, int, int, int, \
                                          int, T, T*);                                         \
  template void attention_head_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, \
                                           const T*, int, int, int, int, T, T*);

SS_INSTANTIATE(float)
SS_INSTANTIATE(double)
#undef SS_INSTANTIATE

}  // namespace ss::model::cpu
