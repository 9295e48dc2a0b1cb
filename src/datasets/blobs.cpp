// Compiled with -ffp-contract=off, like core/random.cpp, so the points are machine-independent.
#include <cmath>
#include <limits>
#include <numeric>

#include "core/check.hpp"
#include "core/random.hpp"
#include "shoal/datasets.hpp"

namespace shoal::datasets {

Blobs make_blobs(const BlobsParams& params) {
  SHOAL_EXPECTS(params.n >= 1, "n = ", params.n, " must be at least 1");
  SHOAL_EXPECTS(params.d >= 1, "d = ", params.d, " must be at least 1");
  SHOAL_EXPECTS(params.centers >= 1 && params.centers <= params.n, "centers = ", params.centers,
                " must be between 1 and n = ", params.n);
  SHOAL_EXPECTS(std::isfinite(params.std) && params.std >= 0, "std = ", params.std,
                " must be finite and non-negative");
  SHOAL_EXPECTS(std::isfinite(params.center_low) && std::isfinite(params.center_high) &&
                    params.center_low < params.center_high,
                "the centre box [", params.center_low, ", ", params.center_high, ") is empty");
  // Coordinates stay within float: the centres, plus 40 standard deviations (far beyond any draw).
  const double reach = std::max(std::fabs(params.center_low), std::fabs(params.center_high)) + 40.0 * params.std;
  SHOAL_EXPECTS(reach < std::numeric_limits<float>::max(), "centres up to ",
                std::max(std::fabs(params.center_low), std::fabs(params.center_high)), " and std = ", params.std,
                " give coordinates beyond float's range");
  const index_t n = params.n, d = params.d, k = params.centers;
  // Separate streams for centres, noise and order, so changing n leaves the centres alone.
  detail::Rng center_rng(params.seed, 0), noise_rng(params.seed, 1), order_rng(params.seed, 2);

  Blobs blobs{Matrix<float>(n, d), std::vector<std::int32_t>(static_cast<std::size_t>(n)), Matrix<float>(k, d)};
  std::vector<double> centers(static_cast<std::size_t>(k * d));
  for (index_t i = 0; i < k * d; ++i) {
    centers[i] = params.center_low + (params.center_high - params.center_low) * center_rng.uniform();
    blobs.centers.data()[i] = static_cast<float>(centers[i]);
  }

  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  for (index_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[order_rng.uniform_index(static_cast<std::uint64_t>(i + 1))]);
  }
  index_t point = 0;
  for (index_t c = 0; c < k; ++c) {
    const index_t size = n / k + (c < n % k ? 1 : 0);
    for (index_t p = 0; p < size; ++p, ++point) {
      const index_t row = order[point];
      for (index_t j = 0; j < d; ++j) {
        blobs.X(row, j) = static_cast<float>(centers[c * d + j] + params.std * noise_rng.normal());
      }
      blobs.labels[row] = static_cast<std::int32_t>(c);
    }
  }
  return blobs;
}

}  // namespace shoal::datasets
