#include "distance/distance.hpp"

#include <algorithm>
#include <cmath>

#include "core/blas.hpp"
#include "core/check.hpp"

namespace shoal::detail {

template <class T>
void row_sq_norms(MatrixView<const T> X, std::span<T> norms) {
  SHOAL_ASSERT(static_cast<index_t>(norms.size()) == X.rows());
  for (index_t i = 0; i < X.rows(); ++i) {
    const T* x = X.row(i);
    double sum = 0.0;
    for (index_t j = 0; j < X.cols(); ++j) sum += static_cast<double>(x[j]) * x[j];
    norms[i] = static_cast<T>(sum);
  }
}

template <class T>
void sq_l2_tile(MatrixView<const T> X, const T* x_norms, MatrixView<const T> Y, const T* y_norms,
                T* out, index_t ld) {
  SHOAL_ASSERT(X.cols() == Y.cols() && ld >= Y.rows());
  if (X.rows() == 0 || Y.rows() == 0) return;
  gemm_abt(X.rows(), Y.rows(), X.cols(), T(-2), X.data(), X.stride(), Y.data(), Y.stride(), T(0),
           out, ld);
  for (index_t i = 0; i < X.rows(); ++i) {
    T* row = out + i * ld;
    const T xn = x_norms[i];
    for (index_t j = 0; j < Y.rows(); ++j) row[j] = std::max(T(0), row[j] + xn + y_norms[j]);
  }
}

template void row_sq_norms<float>(MatrixView<const float>, std::span<float>);
template void row_sq_norms<double>(MatrixView<const double>, std::span<double>);
template void sq_l2_tile<float>(MatrixView<const float>, const float*, MatrixView<const float>,
                                const float*, float*, index_t);
template void sq_l2_tile<double>(MatrixView<const double>, const double*, MatrixView<const double>,
                                 const double*, double*, index_t);

Matrix<float> unit_rows(MatrixView<const float> X, const char* what) {
  Matrix<float> unit(X.rows(), X.cols());
  for (index_t i = 0; i < X.rows(); ++i) {
    const float* row = X.row(i);
    double norm = 0.0;
    for (index_t j = 0; j < X.cols(); ++j) norm += static_cast<double>(row[j]) * row[j];
    SHOAL_EXPECTS(norm > 0.0, what, " row ", i, " is all zeros, which has no cosine distance");
    const double scale = 1.0 / std::sqrt(norm);
    for (index_t j = 0; j < X.cols(); ++j) unit(i, j) = static_cast<float>(row[j] * scale);
  }
  return unit;
}

Matrix<float> pairwise_sq_l2_cpu(const Context& ctx, MatrixView<const float> X,
                                 MatrixView<const float> Y) {
  SHOAL_EXPECTS(X.cols() == Y.cols(), "pairwise distances need equal dimensions, got ", X.cols(),
                " and ", Y.cols());
  Matrix<float> out(X.rows(), Y.rows());
  std::vector<float> x_norms(X.rows()), y_norms(Y.rows());
  row_sq_norms<float>(X, x_norms);
  row_sq_norms<float>(Y, y_norms);
  constexpr index_t kRowsPerTile = 256;
  const index_t tiles = (X.rows() + kRowsPerTile - 1) / kRowsPerTile;
#pragma omp parallel for schedule(dynamic) num_threads(ctx.threads())
  for (index_t t = 0; t < tiles; ++t) {
    const index_t begin = t * kRowsPerTile, end = std::min(X.rows(), begin + kRowsPerTile);
    sq_l2_tile<float>(X.row_range(begin, end), x_norms.data() + begin, Y, y_norms.data(),
                      out.row(begin), Y.rows());
  }
  return out;
}

Matrix<float> pairwise_sq_l2(const Context& ctx, MatrixView<const float> X,
                             MatrixView<const float> Y) {
  const double flops = 2.0 * static_cast<double>(X.rows()) * static_cast<double>(Y.rows()) *
                       static_cast<double>(X.cols());
#ifdef SHOAL_WITH_CUDA
  if (ctx.backend_for(flops) == Backend::Cuda) return pairwise_sq_l2_cuda(ctx, X, Y);
#else
  (void)flops;
#endif
  return pairwise_sq_l2_cpu(ctx, X, Y);
}

}  // namespace shoal::detail
