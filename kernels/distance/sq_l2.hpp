#pragma once
// Host-side launchers of the distance kernels (sq_l2_float.cu). All work goes on `stream`.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/distance/gemm_rounding.hpp"

namespace shoal::kernels {

/// norms[i] = ‖X_i‖² for device X `[rows × cols]`, leading dimension `ld`.
void row_sq_norms(const float* X, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                  float* norms, cudaStream_t stream);

/// Device tile D `[m × n]` (leading dimension ldd) = −2·X·Yᵀ for X `[m × d]` and Y `[n × d]`,
/// by cuBLAS in `precision` (gemm_rounding bounds its entries). `cublas` must be bound to `stream`.
void gemm_minus_two_xyt(cublasHandle_t cublas, const float* X, std::int64_t ldx, std::int64_t m, const float* Y,
                        std::int64_t ldy, std::int64_t n, std::int64_t d, float* D, std::int64_t ldd,
                        GemmPrecision precision = GemmPrecision::Fp32);

/// Device tile D `[m × n]` (leading dimension ldd) of squared distances between the rows of
/// X `[m × d]` and Y `[n × d]`, given their norms: cuBLAS SGEMM for −2·X·Yᵀ, then the norms.
/// `cublas` must be bound to `stream`.
void sq_l2_tile(cublasHandle_t cublas, cudaStream_t stream, const float* X, std::int64_t ldx,
                const float* x_norms, std::int64_t m, const float* Y, std::int64_t ldy,
                const float* y_norms, std::int64_t n, std::int64_t d, float* D, std::int64_t ldd);

}  // namespace shoal::kernels
