#pragma once
/// @file
/// @brief Synthetic data sets, identical for the same parameters and seed on every machine.

#include <cstdint>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::datasets {

struct BlobsParams {
  index_t n = 1000;            ///< points
  index_t d = 2;               ///< dimensions
  index_t centers = 3;         ///< Gaussian blobs
  double std = 1.0;            ///< standard deviation of every blob
  double center_low = -10.0;   ///< centres are uniform in [center_low, center_high)^d
  double center_high = 10.0;
  std::uint64_t seed = 0;
};

struct Blobs {
  Matrix<float> X;                   ///< `[n × d]` points in random order
  std::vector<std::int32_t> labels;  ///< `[n]` index of each point's blob
  Matrix<float> centers;             ///< `[centers × d]`
};

/// Isotropic Gaussian blobs, as `sklearn.datasets.make_blobs`: blob sizes differ by at most
/// one. The numbers come from shoal's counter-based generator and IEEE-exact arithmetic, so
/// the output is bit-identical across machines and builds.
/// @throws InvalidArgument for n < 1, d < 1, centers < 1, centers > n, std < 0 or an empty box
[[nodiscard]] Blobs make_blobs(const BlobsParams& params);

}  // namespace shoal::datasets
