// float instantiations of the distance kernels and their launchers.
#include "core/cuda_resources.cuh"
#include "kernels/distance/sq_l2.cuh"
#include "kernels/distance/sq_l2.hpp"

namespace shoal::kernels {

void row_sq_norms(const float* X, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                  float* norms, cudaStream_t stream) {
  if (rows == 0) return;
  constexpr unsigned kBlock = 256;
  row_sq_norms_kernel<float><<<detail::grid_for(static_cast<std::size_t>(rows) * 32, kBlock), kBlock, 0,
                               stream>>>(X, rows, cols, ld, norms);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

void gemm_minus_two_xyt(cublasHandle_t cublas, const float* X, std::int64_t ldx, std::int64_t m, const float* Y,
                        std::int64_t ldy, std::int64_t n, std::int64_t d, float* D, std::int64_t ldd,
                        GemmPrecision precision) {
  if (m == 0 || n == 0) return;
  // Row-major D = X·Yᵀ is column-major Dᵀ = Y·Xᵀ: with column-major views Yc [d × n] and
  // Xc [d × m] of the same memory, Dᵀ = Ycᵀ·Xc.
  const float alpha = -2.0f, beta = 0.0f;
  const int rows = static_cast<int>(n), cols = static_cast<int>(m), inner = static_cast<int>(d);
  if (precision == GemmPrecision::Fp32) {
    SHOAL_CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, rows, cols, inner, &alpha, Y,
                                   static_cast<int>(ldy), X, static_cast<int>(ldx), &beta, D, static_cast<int>(ldd)));
    return;
  }
  SHOAL_CUBLAS_CHECK(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, rows, cols, inner, &alpha, Y, CUDA_R_32F,
                                  static_cast<int>(ldy), X, CUDA_R_32F, static_cast<int>(ldx), &beta, D, CUDA_R_32F,
                                  static_cast<int>(ldd), CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
}

void sq_l2_tile(cublasHandle_t cublas, cudaStream_t stream, const float* X, std::int64_t ldx,
                const float* x_norms, std::int64_t m, const float* Y, std::int64_t ldy,
                const float* y_norms, std::int64_t n, std::int64_t d, float* D, std::int64_t ldd) {
  if (m == 0 || n == 0) return;
  gemm_minus_two_xyt(cublas, X, ldx, m, Y, ldy, n, d, D, ldd);
  constexpr unsigned kBlock = 256;
  add_norms_kernel<float><<<detail::grid_for(static_cast<std::size_t>(m * n), kBlock), kBlock, 0,
                            stream>>>(D, m, n, ldd, x_norms, y_norms);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace shoal::kernels
