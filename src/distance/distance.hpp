#pragma once
// Squared Euclidean distances by the expanded form ‖x‖² + ‖y‖² − 2·x·y, with the cross term
// from a BLAS (CPU) or cuBLAS (CUDA) GEMM. The tile functions are the building block that
// k-means assignment, kNN search and the metrics reuse; pairwise_sq_l2 is the whole matrix.

#include <span>

#include "shoal/context.hpp"
#include "shoal/matrix.hpp"

namespace shoal::detail {

/// ‖x_i‖² of every row, accumulated in double.
template <class T>
void row_sq_norms(MatrixView<const T> X, std::span<T> norms);

/// ‖x − c‖² of two float rows, in double, summed in a fixed order (the same on every run).
[[nodiscard]] double exact_sq_distance(const float* x, const float* c, index_t d);

/// One tile on the calling thread: `out[i·ld + j] = max(0, x_norms[i] + y_norms[j] − 2·x_i·y_j)`
/// for X `[m × d]` and Y `[n × d]`. With the OpenMP build of OpenBLAS the GEMM stays on the
/// calling thread, so callers run one tile per OpenMP thread.
template <class T>
void sq_l2_tile(MatrixView<const T> X, const T* x_norms, MatrixView<const T> Y, const T* y_norms,
                T* out, index_t ld);

/// A copy of X with every row scaled to unit Euclidean length, for the cosine metric.
/// @throws InvalidArgument naming the first zero row (cosine distance is undefined there)
[[nodiscard]] Matrix<float> unit_rows(MatrixView<const float> X, const char* what);

/// The full `[m × n]` matrix of squared distances on the backend `ctx` picks.
[[nodiscard]] Matrix<float> pairwise_sq_l2(const Context& ctx, MatrixView<const float> X,
                                           MatrixView<const float> Y);
[[nodiscard]] Matrix<float> pairwise_sq_l2_cpu(const Context& ctx, MatrixView<const float> X,
                                               MatrixView<const float> Y);
/// Defined only in CUDA builds; `pairwise_sq_l2` never calls it otherwise.
[[nodiscard]] Matrix<float> pairwise_sq_l2_cuda(const Context& ctx, MatrixView<const float> X,
                                                MatrixView<const float> Y);

}  // namespace shoal::detail
