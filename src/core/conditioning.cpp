#include "core/conditioning.hpp"

#include <algorithm>
#include <cmath>

namespace shoal::detail {

std::vector<float> column_means(MatrixView<const float> X) {
  std::vector<double> sum(static_cast<std::size_t>(X.cols()), 0.0);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols(); ++j) sum[j] += X(i, j);
  }
  std::vector<float> mean(sum.size());
  for (std::size_t j = 0; j < sum.size(); ++j) mean[j] = static_cast<float>(sum[j] / static_cast<double>(X.rows()));
  return mean;
}

float largest_magnitude(MatrixView<const float> X, std::span<const float> shift) {
  float largest = 0.0f;
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols(); ++j) {
      largest = std::max(largest, std::fabs(X(i, j) - (shift.empty() ? 0.0f : shift[j])));
    }
  }
  return largest;
}

Matrix<float> shifted_scaled(MatrixView<const float> X, std::span<const float> shift, int exponent) {
  Matrix<float> out(X.rows(), X.cols());
  // The float difference times 2^exponent, exact in double, then rounded once: what ldexp
  // gives, without a call per value.
  const double scale = std::ldexp(1.0, exponent);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols(); ++j) {
      out(i, j) = static_cast<float>(static_cast<double>(X(i, j) - (shift.empty() ? 0.0f : shift[j])) * scale);
    }
  }
  return out;
}

}  // namespace shoal::detail
