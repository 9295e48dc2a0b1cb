#pragma once
/// @file
/// @brief Clustering quality scores, each equal to scikit-learn's to 1e-6.
///
/// Every label value is a cluster, noise (−1) included, as in scikit-learn. Scores that need
/// the data use Euclidean distances computed in double precision.

#include <cstdint>
#include <span>

#include "shoal/context.hpp"
#include "shoal/matrix.hpp"

namespace shoal::metrics {

/// Adjusted Rand index of two labelings of the same points (1 = identical partitions,
/// about 0 = chance). Exact integer pair counts, as `sklearn.metrics.adjusted_rand_score`.
/// @throws InvalidArgument when the lengths differ or are zero
[[nodiscard]] double adjusted_rand_index(std::span<const std::int32_t> truth,
                                         std::span<const std::int32_t> predicted);

/// Normalized mutual information with the arithmetic mean of the entropies as normalizer,
/// as `sklearn.metrics.normalized_mutual_info_score` (its default).
[[nodiscard]] double normalized_mutual_info(std::span<const std::int32_t> truth,
                                            std::span<const std::int32_t> predicted);

struct SilhouetteOptions {
  /// Points scored exactly up to this many; beyond it, a seeded random sample of this size is
  /// scored against itself, as `silhouette_score(sample_size=…)` does. 0 means always exact.
  index_t sample_size = 20'000;
  std::uint64_t seed = 0;
};

/// Mean silhouette coefficient, `sklearn.metrics.silhouette_score`: O(n²·d) on the CPU threads
/// of `ctx`. Points in single-point clusters score 0.
/// @throws InvalidArgument unless 2 ≤ number of labels ≤ n − 1, or on a length mismatch
[[nodiscard]] double silhouette_score(const Context& ctx, MatrixView<const float> X,
                                      std::span<const std::int32_t> labels,
                                      const SilhouetteOptions& options = {});

/// Davies–Bouldin index (lower is better), `sklearn.metrics.davies_bouldin_score`.
[[nodiscard]] double davies_bouldin_score(MatrixView<const float> X,
                                          std::span<const std::int32_t> labels);

/// Calinski–Harabasz index (higher is better), `sklearn.metrics.calinski_harabasz_score`.
[[nodiscard]] double calinski_harabasz_score(MatrixView<const float> X,
                                             std::span<const std::int32_t> labels);

/// Σᵢ wᵢ·‖xᵢ − c_{labels[i]}‖², in double, computed directly from the differences.
/// @param[in] centroids `[k × d]`; every label must lie in [0, k)
/// @param[in] weights   `[n]` sample weights, or empty for all ones
[[nodiscard]] double inertia(MatrixView<const float> X, std::span<const std::int32_t> labels,
                             MatrixView<const float> centroids,
                             std::span<const float> weights = {});

}  // namespace shoal::metrics
