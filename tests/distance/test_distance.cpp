// Distance tiles against a direct double-precision computation, exact distances to the bit,
// and the CUDA path against the CPU path (skipped without a device).
#include <gtest/gtest.h>

#include <cmath>

#include "core/random.hpp"
#include "distance/distance.hpp"
#include "support/test_support.hpp"

namespace shoal::detail {
namespace {

// Expanded-form float32 distances lose about 1e-6 of ‖x‖² + ‖y‖² to cancellation.
constexpr double kF32MaxRelErr = 1e-5;

Matrix<float> random_matrix(std::uint64_t seed, index_t rows, index_t cols, double offset = 0.0) {
  Rng rng(seed);
  Matrix<float> m(rows, cols);
  for (index_t i = 0; i < rows * cols; ++i) m.data()[i] = static_cast<float>(rng.normal() + offset);
  return m;
}

double direct_sq_distance(const float* x, const float* y, index_t d) {
  double sum = 0.0;
  for (index_t j = 0; j < d; ++j) sum += std::pow(static_cast<double>(x[j]) - y[j], 2);
  return sum;
}

void expect_matches_direct(const Matrix<float>& D, const Matrix<float>& X, const Matrix<float>& Y) {
  ASSERT_EQ(D.rows(), X.rows());
  ASSERT_EQ(D.cols(), Y.rows());
  std::vector<float> xn(X.rows()), yn(Y.rows());
  row_sq_norms<float>(X, xn);
  row_sq_norms<float>(Y, yn);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < Y.rows(); ++j) {
      const double expected = direct_sq_distance(X.row(i), Y.row(j), X.cols());
      ASSERT_NEAR(D(i, j), expected, kF32MaxRelErr * (xn[i] + yn[j]) + 1e-6) << i << "," << j;
      ASSERT_GE(D(i, j), 0.0f);
    }
  }
}

// exact_sq_distance promises one rounding of every operation, in one order, on every CPU (the
// GPU's spanning tree repeats it to the bit): element j into partial sum j mod 8, the partials
// added in a fixed tree. This file, like the library's, builds with -ffp-contract=off.
TEST(ExactSqDistance, SameBitsOnEveryMachine) {
  // Coordinates of far apart scales: their differences need more than half a double's bits, so
  // their squares round, and a fused multiply-add would round differently.
  Matrix<float> X = random_matrix(17, 2, 67);
  for (index_t j = 0; j < X.cols(); ++j) {
    X(0, j) *= 1000.0f;
    X(1, j) *= 0.001f;
  }
  for (index_t d = 1; d <= X.cols(); ++d) {
    double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (index_t j = 0; j < d; ++j) {
      const double diff = static_cast<double>(X(0, j)) - X(1, j);
      partial[j % 8] += diff * diff;
    }
    const double expected =
        ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
    EXPECT_EQ(exact_sq_distance(X.row(0), X.row(1), d), expected) << "d = " << d;
  }
}

struct Shape {
  index_t m, n, d;
  const char* why;
};

class PairwiseCpu : public ::testing::TestWithParam<Shape> {};

TEST_P(PairwiseCpu, MatchesDirectComputation) {
  const Shape s = GetParam();
  const Matrix<float> X = random_matrix(1, s.m, s.d, 3.0), Y = random_matrix(2, s.n, s.d, 3.0);
  expect_matches_direct(pairwise_sq_l2_cpu(Context(Backend::Cpu), X, Y), X, Y);
}

INSTANTIATE_TEST_SUITE_P(Shapes, PairwiseCpu,
                         ::testing::Values(Shape{1, 1, 1, "single point"},
                                           Shape{300, 7, 5, "rows span two tiles"},
                                           Shape{513, 129, 33, "ragged last tile"},
                                           Shape{10, 10, 300, "wide rows"}));

TEST(Pairwise, IdenticalPointsGiveZeroNotNegative) {
  const Matrix<float> X(2, 3, {1e3f, 2e3f, 3e3f, 1e3f, 2e3f, 3e3f});
  const Matrix<float> D = pairwise_sq_l2_cpu(Context(Backend::Cpu), X, X);
  EXPECT_EQ(D(0, 1), 0.0f);
  EXPECT_EQ(D(1, 1), 0.0f);
}

TEST(Pairwise, RejectsMismatchedDimensions) {
  const Matrix<float> X(2, 3), Y(2, 4);
  EXPECT_THROW((void)pairwise_sq_l2(Context(Backend::Cpu), X, Y), InvalidArgument);
}

TEST(PairwiseCuda, AgreesWithCpu) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
#ifdef SHOAL_WITH_CUDA
  Context gpu(Backend::Cuda);
  for (const Shape s : {Shape{1, 1, 1, "single point"}, Shape{1000, 300, 64, "one tile"},
                        Shape{4097, 1025, 17, "odd sizes"}}) {
    const Matrix<float> X = random_matrix(3, s.m, s.d, 1.0), Y = random_matrix(4, s.n, s.d, 1.0);
    expect_matches_direct(pairwise_sq_l2_cuda(gpu, X, Y), X, Y);
  }
#endif
}

TEST(PairwiseCuda, TinyBudgetStreamsRowTiles) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
#ifdef SHOAL_WITH_CUDA
  Context gpu(Backend::Cuda);
  const Matrix<float> X = random_matrix(5, 3000, 16), Y = random_matrix(6, 200, 16);
  gpu.set_memory_budget(64 << 10);  // a few dozen rows per tile
  expect_matches_direct(pairwise_sq_l2_cuda(gpu, X, Y), X, Y);
  gpu.set_memory_budget(1 << 10);  // not even Y fits
  EXPECT_THROW((void)pairwise_sq_l2_cuda(gpu, X, Y), OutOfMemory);
#endif
}

}  // namespace
}  // namespace shoal::detail
