#include "distance/distance.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/blas.hpp"
#include "core/check.hpp"
#include "core/simd.hpp"

namespace shoal::detail {

namespace {

/// ‖x − c‖² in double with eight partial sums (element j into sum j mod 8), combined in a
/// fixed tree, so the AVX-512 version below sums in the same order. (Where the compiler fuses
/// multiply-adds the last bits can differ between CPUs; on one machine they never vary.)
double exact_sq_distance_portable(const float* x, const float* c, index_t d) {
  double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (index_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(x[j]) - c[j];
    partial[j % 8] += diff * diff;
  }
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

SHOAL_AVX512_BEGIN
/// The same sums on AVX-512: lane l of one register holds partial sum l.
__attribute__((target("avx512f"))) double exact_sq_distance_avx512(const float* x, const float* c, index_t d) {
  __m512d acc = _mm512_setzero_pd();
  index_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m512d diff = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + j)), _mm512_cvtps_pd(_mm256_loadu_ps(c + j)));
    acc = _mm512_add_pd(acc, _mm512_mul_pd(diff, diff));
  }
  if (j < d) {
    const auto tail = static_cast<__mmask16>((1u << (d - j)) - 1u);
    const __m512d diff = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(tail, x + j))),
                                       _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(tail, c + j))));
    acc = _mm512_add_pd(acc, _mm512_mul_pd(diff, diff));
  }
  alignas(64) double partial[8];
  _mm512_store_pd(partial, acc);
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}
SHOAL_AVX512_END

}  // namespace

double exact_sq_distance(const float* x, const float* c, index_t d) {
  return kHasAvx512 ? exact_sq_distance_avx512(x, c, d) : exact_sq_distance_portable(x, c, d);
}

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
