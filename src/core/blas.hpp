#pragma once
// The BLAS calls shoal makes, typed for float and double.

#include <cblas.h>

#include "shoal/matrix.hpp"

namespace shoal::detail {

/// Row-major C[m × n] = alpha · A[m × k] · B[n × k]ᵀ + beta · C.
inline void gemm_abt(index_t m, index_t n, index_t k, float alpha, const float* A, index_t lda,
                     const float* B, index_t ldb, float beta, float* C, index_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, A, static_cast<blasint>(lda),
              B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

inline void gemm_abt(index_t m, index_t n, index_t k, double alpha, const double* A, index_t lda,
                     const double* B, index_t ldb, double beta, double* C, index_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, A, static_cast<blasint>(lda),
              B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

}  // namespace shoal::detail
