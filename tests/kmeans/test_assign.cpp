// The nearest-centroid assignment against a double-precision brute force on close calls, and the
// bf16 dot-product kernel against its rounding bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/random.hpp"
#include "core/simd.hpp"
#include "kmeans/assign_cpu.hpp"
#include "kmeans/dot_bf16.hpp"

namespace shoal::kmeans::detail {
namespace {

double sq_distance(const Matrix<float>& X, index_t i, const Matrix<float>& C, index_t j) {
  double sum = 0.0;
  for (index_t t = 0; t < X.cols(); ++t) sum += std::pow(static_cast<double>(X(i, t)) - C(j, t), 2);
  return sum;
}

struct Shape {
  index_t n, d, k;
  double offset;  // added to every coordinate
};

/// Centroids, and rows near the midpoints of pairs of them (many within rounding of a tie), a
/// few exactly at integer midpoints (exact ties), at an offset from the origin.
std::pair<Matrix<float>, Matrix<float>> close_calls(const Shape& s, std::uint64_t seed) {
  shoal::detail::Rng rng(seed);
  Matrix<float> C(s.k, s.d), X(s.n, s.d);
  for (index_t j = 0; j < s.k; ++j) {
    for (index_t t = 0; t < s.d; ++t) C(j, t) = static_cast<float>(s.offset + std::round(8.0 * rng.uniform()));
  }
  for (index_t i = 0; i < s.n; ++i) {
    const auto a = static_cast<index_t>(rng.uniform() * static_cast<double>(s.k));
    const auto b = static_cast<index_t>(rng.uniform() * static_cast<double>(s.k));
    const double jitter = i % 4 == 0 ? 0.0 : std::ldexp(rng.uniform() - 0.5, -static_cast<int>(i % 24));
    for (index_t t = 0; t < s.d; ++t) {
      X(i, t) = static_cast<float>(0.5 * (static_cast<double>(C(a, t)) + C(b, t)) + jitter * (t % 3 == 0 ? 1 : -1));
    }
  }
  return {std::move(X), std::move(C)};
}

class AssignNearest : public ::testing::TestWithParam<Shape> {};

TEST_P(AssignNearest, EqualsDoubleBruteForceAndBoundsTheSecondNearest) {
  const auto [X, C] = close_calls(GetParam(), 5);
  std::vector<float> norms(X.rows());
  const Matrix<float> origin(1, X.cols());
  for (index_t i = 0; i < X.rows(); ++i) norms[i] = static_cast<float>(sq_distance(X, i, origin, 0));
  std::vector<std::int32_t> labels(X.rows(), -1);
  std::vector<double> distances(X.rows()), second(X.rows());
  const Context ctx(Backend::Cpu);
  (void)assign_nearest_cpu(ctx, X, norms.data(), C, labels.data(), distances.data(), second.data());
  for (index_t i = 0; i < X.rows(); ++i) {
    index_t best = 0;
    double runner_up = std::numeric_limits<double>::infinity();
    for (index_t j = 1; j < C.rows(); ++j) {
      const double dist = sq_distance(X, i, C, j);
      if (dist < sq_distance(X, i, C, best)) {
        runner_up = sq_distance(X, i, C, best);
        best = j;
      } else {
        runner_up = std::min(runner_up, dist);
      }
    }
    ASSERT_EQ(labels[i], best) << "row " << i;
    EXPECT_DOUBLE_EQ(distances[i], sq_distance(X, i, C, best)) << "row " << i;
    // Up to double rounding, which the bound tests' own slack covers.
    EXPECT_LE(second[i], std::sqrt(runner_up) * (1.0 + 1e-12)) << "row " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AssignNearest,
                         ::testing::Values(Shape{300, 1, 2, 0.0}, Shape{300, 2, 1, 0.0}, Shape{500, 7, 31, 0.0},
                                           Shape{500, 33, 33, 1000.0}, Shape{500, 64, 70, -3.0e4},
                                           Shape{300, 100, 5, 0.5}));

TEST(Bf16Dot, RoundingStaysWithinItsBound) {
  if (!shoal::detail::kHasAvx512Bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  shoal::detail::Rng rng(9);
  for (const index_t d : {1, 2, 3, 17, 64, 301}) {
    const index_t n = 29, k = 45;
    Matrix<float> X(n, d), C(k, d);
    std::vector<float> shift(d);
    // Mantissas just past a bf16 halfway point round as far as they can; subnormals flush.
    const auto value = [&](index_t at) {
      const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
      if (at % 7 == 0) return static_cast<float>(sign * std::ldexp(1.0 + 1.0 / 256 + 1.0 / 65536, static_cast<int>(at % 5)));
      if (at % 11 == 0) return static_cast<float>(sign * 1e-40);
      return static_cast<float>(sign * 10.0 * rng.uniform());
    };
    for (index_t t = 0; t < d; ++t) shift[t] = static_cast<float>(rng.uniform());
    for (index_t i = 0; i < n; ++i) {
      for (index_t t = 0; t < d; ++t) X(i, t) = value(i * d + t) + shift[t];
    }
    for (index_t j = 0; j < k; ++j) {
      for (index_t t = 0; t < d; ++t) C(j, t) = value(j * d + t + 3) + shift[t];
    }
    Bf16Rows rows;
    std::vector<float> norms(n);
    rows.pack(X.data(), d, n, d, shift.data(), norms.data());
    const Bf16Centroids centroids(C, shift);
    // Scores with ties: the added term takes few values, and rows repeat.
    std::vector<float> add(k);
    for (index_t j = 0; j < k; ++j) add[j] = static_cast<float>(j % 3);
    std::vector<float> tile(rows.rows() * k), first(rows.rows()), second(rows.rows());
    std::vector<std::int32_t> index(rows.rows());
    bf16_scores(rows, centroids, add.data(), tile.data(), k, {first.data(), second.data(), index.data()});
    const auto centred_norm = [&](const Matrix<float>& M, index_t row) {
      double sum = 0.0;
      for (index_t t = 0; t < d; ++t) sum += std::pow(static_cast<double>(M(row, t)) - shift[t], 2);
      return sum;
    };
    for (index_t i = 0; i < n; ++i) {
      const double x_norm = centred_norm(X, i);
      EXPECT_NEAR(norms[i], x_norm, 1e-5 * x_norm);
      for (index_t j = 0; j < k; ++j) {
        const double c_norm = centred_norm(C, j);
        double dot = 0.0;
        for (index_t t = 0; t < d; ++t) dot += (static_cast<double>(X(i, t)) - shift[t]) * (static_cast<double>(C(j, t)) - shift[t]);
        const double bound = bf16_dot_error(d) * std::sqrt(x_norm * c_norm) +
                             bf16_flush_error(d, std::sqrt(std::max(x_norm, c_norm)));
        EXPECT_LE(std::abs(-0.5 * (tile[i * k + j] - add[j]) - dot), bound)
            << "d " << d << " row " << i << " centroid " << j;
      }
      // The best two found in registers are those of the written scores.
      const float* scores = tile.data() + i * k;
      const auto lowest = std::min_element(scores, scores + k);
      EXPECT_EQ(first[i], *lowest);
      EXPECT_EQ(index[i], lowest - scores);
      float runner_up = std::numeric_limits<float>::infinity();
      for (index_t j = 0; j < k; ++j) {
        if (j != lowest - scores) runner_up = std::min(runner_up, scores[j]);
      }
      EXPECT_EQ(second[i], runner_up) << "d " << d << " row " << i;
    }
  }
}

}  // namespace
}  // namespace shoal::kmeans::detail
