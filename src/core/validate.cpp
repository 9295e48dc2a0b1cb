#include "core/validate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.hpp"
#include "core/conditioning.hpp"

namespace shoal::detail {

void check_data(const Context& ctx, MatrixView<const float> X, const char* what) {
  SHOAL_EXPECTS(X.rows() > 0 && X.cols() > 0, what, " is empty (", X.rows(), " x ", X.cols(), ")");
  index_t first_bad = std::numeric_limits<index_t>::max();
#pragma omp parallel for num_threads(ctx.threads()) reduction(min : first_bad)
  for (index_t i = 0; i < X.rows(); ++i) {
    const float* row = X.row(i);
    if (!std::all_of(row, row + X.cols(), [](float v) { return std::isfinite(v); })) first_bad = std::min(first_bad, i);
  }
  SHOAL_EXPECTS(first_bad == std::numeric_limits<index_t>::max(), what, " row ", first_bad,
                " holds a non-finite value (NaN or Inf)");
}

void check_distance_range(MatrixView<const float> X, const char* what) {
  const double limit = 1e18 / std::sqrt(static_cast<double>(X.cols()));
  const double largest = largest_magnitude(X);
  SHOAL_EXPECTS(largest < limit, what, " has coordinates as large as ", largest,
                "; squared distances in float overflow at this size (the limit is 1e18 / sqrt(d) = ", limit,
                "): scale the data down");
}

void check_weights(std::span<const float> weights, index_t n) {
  if (weights.empty()) return;
  SHOAL_EXPECTS(static_cast<index_t>(weights.size()) == n, "there are ", weights.size(), " sample weights for ", n,
                " points");
  double sum = 0.0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    SHOAL_EXPECTS(std::isfinite(weights[i]) && weights[i] >= 0.0f, "sample weight ", i, " is ", weights[i],
                  " (weights must be finite and non-negative)");
    sum += weights[i];
  }
  SHOAL_EXPECTS(sum > 0.0, "all sample weights are zero");
}

}  // namespace shoal::detail
