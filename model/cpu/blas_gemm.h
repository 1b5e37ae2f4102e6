// Row-major GEMM overloads for float and double over OpenBLAS's cblas, so the
// templated CPU layers run in fp32 for training and in fp64 for gradient checks.
// Invariant: C = alpha * op(A) . op(B) + beta * C, all row-major.
#pragma once

#include <cblas.h>

namespace ss::model::cpu {

inline void gemm_rm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

inline void gemm_rm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A,
                    int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ss::model::cpu
