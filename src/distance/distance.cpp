#include "distance/distance.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/blas.hpp"
#include "core/check.hpp"
#include "core/simd.hpp"

namespace shoal::detail {

namespace {

/// ‖x − c‖² in double with eight partial sums (element j into sum j mod 8), combined in a
/// fixed tree, so the AVX-512 version below sums in the same order, and so does the GPU's
/// (kernels/hdbscan/boruvka.cuh). This file builds without fused multiply-adds, so every
/// version gives the same bits on every machine.
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

/// out[lanes] = max(0, x_norm + y_norms − 2·dot), one row of sq_l2_few_avx512.
__attribute__((target("avx512f"))) inline void finish_few(float* out, __mmask16 lanes, float x_norm, __m512 y_norms,
                                                          __m512 dot) {
  const __m512 sum = _mm512_fmadd_ps(dot, _mm512_set1_ps(-2.0f), _mm512_add_ps(_mm512_set1_ps(x_norm), y_norms));
  _mm512_mask_storeu_ps(out, lanes, _mm512_max_ps(sum, _mm512_setzero_ps()));
}

/// sq_l2_tile for Y of at most 16 rows, without a GEMM: a GEMM packs the whole of X for so
/// few columns, which costs more than the products. Y's columns sit in the lanes of one
/// register; eight rows of X run at once, each dimension broadcast against it.
__attribute__((target("avx512f"))) void sq_l2_few_avx512(MatrixView<const float> X, const float* x_norms,
                                                         MatrixView<const float> Y, const float* y_norms, float* out,
                                                         index_t ld) {
  constexpr index_t kRows = 8;
  const index_t d = X.cols(), m = Y.rows();
  const __mmask16 lanes = first_lanes(m);
  std::vector<float> columns(static_cast<std::size_t>(d * 16), 0.0f);  // Y transposed
  for (index_t t = 0; t < m; ++t) {
    for (index_t j = 0; j < d; ++j) columns[j * 16 + t] = Y(t, j);
  }
  const __m512 y_norm = _mm512_maskz_loadu_ps(lanes, y_norms);
  index_t i = 0;
  for (; i + kRows <= X.rows(); i += kRows) {
    __m512 acc[kRows];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (index_t j = 0; j < d; ++j) {
      const __m512 column = _mm512_loadu_ps(columns.data() + j * 16);
#pragma GCC unroll 8
      for (index_t r = 0; r < kRows; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(X(i + r, j)), column, acc[r]);
    }
    for (index_t r = 0; r < kRows; ++r) finish_few(out + (i + r) * ld, lanes, x_norms[i + r], y_norm, acc[r]);
  }
  for (; i < X.rows(); ++i) {
    __m512 acc = _mm512_setzero_ps();
    for (index_t j = 0; j < d; ++j) {
      acc = _mm512_fmadd_ps(_mm512_set1_ps(X(i, j)), _mm512_loadu_ps(columns.data() + j * 16), acc);
    }
    finish_few(out + i * ld, lanes, x_norms[i], y_norm, acc);
  }
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
  if constexpr (std::is_same_v<T, float>) {
    if (kHasAvx512 && Y.rows() <= 16) return sq_l2_few_avx512(X, x_norms, Y, y_norms, out, ld);
  }
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
