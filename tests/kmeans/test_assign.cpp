// The nearest-centroid assignment against a double-precision brute force on close calls, on
// every scoring path the CPU has, and the low-precision kernels against their rounding bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/random.hpp"
#include "core/simd.hpp"
#include "kmeans/assign_cpu.hpp"
#include "kmeans/low_precision.hpp"

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

bool has(Scoring scoring) {
  switch (scoring) {
    case Scoring::Bf16:
      return shoal::detail::kHasAvx512Bf16;
    case Scoring::Int8:
      return shoal::detail::kHasAvx512Vnni;
    default:
      return true;
  }
}

class AssignNearest : public ::testing::TestWithParam<std::tuple<Shape, Scoring>> {};

TEST_P(AssignNearest, EqualsDoubleBruteForceAndBoundsTheSecondNearest) {
  const auto [shape, scoring] = GetParam();
  if (!has(scoring)) GTEST_SKIP() << "this CPU lacks the path's instructions";
  const auto [X, C] = close_calls(shape, 5);
  std::vector<float> norms(X.rows());
  const Matrix<float> origin(1, X.cols());
  for (index_t i = 0; i < X.rows(); ++i) norms[i] = static_cast<float>(sq_distance(X, i, origin, 0));
  std::vector<std::int32_t> labels(X.rows(), -1);
  std::vector<double> distances(X.rows()), second(X.rows());
  const Context ctx(Backend::Cpu);
  (void)assign_nearest_cpu(ctx, X, norms.data(), C, labels.data(), distances.data(), second.data(), scoring);
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
    // Summed in another order than this test's, so equal up to double rounding over d terms.
    const double exact = sq_distance(X, i, C, best);
    EXPECT_NEAR(distances[i], exact, 1e-12 * exact) << "row " << i;
    // Up to double rounding, which the bound tests' own slack covers.
    EXPECT_LE(second[i], std::sqrt(runner_up) * (1.0 + 1e-12)) << "row " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AssignNearest,
                         ::testing::Combine(::testing::Values(Shape{300, 1, 2, 0.0}, Shape{300, 2, 1, 0.0},
                                                              Shape{500, 7, 31, 0.0}, Shape{500, 33, 33, 1000.0},
                                                              Shape{500, 64, 70, -3.0e4}, Shape{300, 100, 5, 0.5},
                                                              Shape{7, 3, 2, 0.0}, Shape{40, 700, 9, 1.0}),
                                            ::testing::Values(Scoring::Auto, Scoring::Float, Scoring::Bf16,
                                                              Scoring::Int8)));

class LowPrecisionKernel : public ::testing::TestWithParam<Precision> {
 protected:
  void SetUp() override {
    if (!has(GetParam() == Precision::Bf16 ? Scoring::Bf16 : Scoring::Int8)) {
      GTEST_SKIP() << "this CPU lacks the kernel's instructions";
    }
  }

  /// Every score add[j] − 2·x·c_j of X against C within its rounding bound of float64, and
  /// the best two that the kernel keeps equal to those of the scores it writes.
  static void expect_within_bounds(Precision precision, const Matrix<float>& X, const Matrix<float>& C,
                                   const std::vector<float>& shift, const std::vector<float>& add) {
    const index_t n = X.rows(), k = C.rows(), d = X.cols();
    LowPrecisionRows rows;
    std::vector<float> norms(n);
    std::vector<Int8Side> sides(n);
    rows.pack(precision, X.data(), d, n, d, shift.data(), norms.data(), sides.data());
    const LowPrecisionCentroids centroids(precision, C, shift);
    std::vector<float> tile(rows.rows() * k), first(rows.rows()), second(rows.rows());
    std::vector<std::int32_t> index(rows.rows());
    low_precision_scores(rows, centroids, add.data(), tile.data(), k, {first.data(), second.data(), index.data()});
    const auto centred = [&](const Matrix<float>& M, index_t row) {
      double sq = 0.0, largest = 0.0;
      Int8Side side;
      for (index_t t = 0; t < d; ++t) {
        const double diff = std::fabs(static_cast<double>(M(row, t) - shift[t]));
        sq += diff * diff;
        side.l1 += diff;
        largest = std::max(largest, diff);
      }
      side.step = static_cast<float>(largest) / 127.0f;
      return std::pair{sq, side};
    };
    for (index_t i = 0; i < n; ++i) {
      const auto [x_norm, x_side] = centred(X, i);
      EXPECT_NEAR(norms[i], x_norm, 1e-5 * x_norm + 1e-30);  // float underflows below that
      for (index_t j = 0; j < k; ++j) {
        const auto [c_norm, c_side] = centred(C, j);
        double dot = 0.0;
        for (index_t t = 0; t < d; ++t) {
          dot += (static_cast<double>(X(i, t)) - shift[t]) * (static_cast<double>(C(j, t)) - shift[t]);
        }
        const double product = std::sqrt(x_norm * c_norm);
        // The dot product's bound, doubled, and the epilogue's rounding, as the assignment
        // bounds them.
        double bound = 0.0;
        if (precision == Precision::Bf16) {
          bound = 2.0 * (bf16_dot_error(d) * product + bf16_flush_error(d, std::sqrt(std::max(x_norm, c_norm)))) +
                  (add[j] + 2.0 * product) * 0x1p-24;
        } else {
          const double widened = (std::sqrt(x_norm) + std::sqrt(static_cast<double>(d)) * x_side.step) *
                                 (std::sqrt(c_norm) + std::sqrt(static_cast<double>(d)) * c_side.step);
          bound = 2.0 * int8_dot_error(sides[i], c_side, product, d) + (2.0 * widened + add[j]) * 0x1p-20;
        }
        EXPECT_LE(std::abs(tile[i * k + j] - (add[j] - 2.0 * dot)), bound)
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
};

TEST_P(LowPrecisionKernel, RoundingStaysWithinItsBoundAndTheBestTwoAreTheScores) {
  shoal::detail::Rng rng(9);
  for (const index_t d : {1, 2, 3, 5, 17, 64, 301}) {
    const index_t n = 29, k = 45;
    Matrix<float> X(n, d), C(k, d);
    std::vector<float> shift(d);
    // Mantissas just past a bf16 halfway point round as far as they can; subnormals flush;
    // one large value per row makes the int8 steps coarse.
    const auto value = [&](index_t at) {
      const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
      if (at % 7 == 0) {
        return static_cast<float>(sign * std::ldexp(1.0 + 1.0 / 256 + 1.0 / 65536, static_cast<int>(at % 5)));
      }
      if (at % 11 == 0) return static_cast<float>(sign * 1e-40);
      if (at % 13 == 0) return static_cast<float>(sign * 100.0);
      return static_cast<float>(sign * 10.0 * rng.uniform());
    };
    for (index_t t = 0; t < d; ++t) shift[t] = static_cast<float>(rng.uniform());
    for (index_t i = 0; i < n; ++i) {
      for (index_t t = 0; t < d; ++t) X(i, t) = value(i * d + t) + shift[t];
    }
    for (index_t j = 0; j < k; ++j) {
      for (index_t t = 0; t < d; ++t) C(j, t) = value(j * d + t + 3) + shift[t];
    }
    // Scores with ties: the added term takes few values.
    std::vector<float> add(k);
    for (index_t j = 0; j < k; ++j) add[j] = static_cast<float>(j % 3);
    expect_within_bounds(GetParam(), X, C, shift, add);
  }
}

TEST_P(LowPrecisionKernel, RowsOfTinyValuesKeepTheirBound) {
  // Rows near the shift: all subnormal, all tiny but normal, zero, and tiny beside large.
  const index_t d = 20;
  Matrix<float> X(4, d), C(7, d);
  for (index_t t = 0; t < d; ++t) {
    X(0, t) = (t % 2 == 0 ? 1.0f : -1.0f) * 1e-39f;
    X(1, t) = 1e-30f * static_cast<float>(t + 1);
    X(2, t) = 0.0f;
    X(3, t) = t == 0 ? 1.0f : 1e-39f;
  }
  shoal::detail::Rng rng(4);
  for (index_t j = 0; j < C.rows(); ++j) {
    for (index_t t = 0; t < d; ++t) C(j, t) = static_cast<float>(rng.uniform() - 0.5);
  }
  // No added term, whose rounding would hide the dot products' errors.
  expect_within_bounds(GetParam(), X, C, std::vector<float>(d, 0.0f), std::vector<float>(C.rows(), 0.0f));
}

INSTANTIATE_TEST_SUITE_P(Precisions, LowPrecisionKernel, ::testing::Values(Precision::Bf16, Precision::Int8));

}  // namespace
}  // namespace shoal::kmeans::detail
