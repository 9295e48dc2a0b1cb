#pragma once
// Data on which spanning trees are hard to get exactly right: compact and curved clusters,
// and integer coordinates whose equal distances leave ties to the (weight, min, max) order.
// Shared by the host's and the device's spanning-tree tests.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "core/random.hpp"
#include "shoal/datasets.hpp"
#include "shoal/matrix.hpp"

namespace shoal::hdbscan {

inline Matrix<float> blobs_of(datasets::BlobsParams params) { return datasets::make_blobs(params).X; }

/// Points on circles of the given radii around the origin, `per` points each: the pieces are
/// curved arcs, not compact, and the projections bound them poorly.
inline Matrix<float> rings(std::vector<double> radii, index_t per) {
  Matrix<float> X(static_cast<index_t>(radii.size()) * per, 2);
  shoal::detail::Rng rng(3, 0);
  for (std::size_t c = 0; c < radii.size(); ++c) {
    for (index_t i = 0; i < per; ++i) {
      const double angle = 2 * std::numbers::pi * rng.uniform(), r = radii[c] * (1 + 0.02 * rng.normal());
      X(static_cast<index_t>(c) * per + i, 0) = static_cast<float>(r * std::cos(angle));
      X(static_cast<index_t>(c) * per + i, 1) = static_cast<float>(r * std::sin(angle));
    }
  }
  return X;
}

/// Blobs rounded to integers: many equal distances, so ties decide the tree.
inline Matrix<float> rounded_blobs(datasets::BlobsParams params) {
  Matrix<float> X = datasets::make_blobs(params).X;
  for (index_t i = 0; i < X.rows() * X.cols(); ++i) X.data()[i] = std::round(X.data()[i]);
  return X;
}

/// Integers on a line in `groups` runs of `per` points drawn from 300 values each, 1,000 apart:
/// projections are exact in one dimension, so the sweeps' bounds are tight, and duplicates at
/// the ends of runs make edges of equal weight that only the (weight, min, max) order separates.
inline Matrix<float> integer_runs(index_t groups, index_t per) {
  Matrix<float> X(groups * per, 1);
  shoal::detail::Rng rng(6, 0);
  for (index_t i = 0; i < groups * per; ++i) {
    X(i, 0) = static_cast<float>(1000 * static_cast<std::int64_t>(rng.uniform_index(groups)) +
                                 static_cast<std::int64_t>(rng.uniform_index(300)));
  }
  return X;
}

}  // namespace shoal::hdbscan
