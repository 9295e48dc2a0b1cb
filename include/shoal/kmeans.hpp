#pragma once
/// @file
/// @brief k-means: Lloyd's algorithm with k-means++, k-means|| or random initialisation, sample
/// weights, and Euclidean or cosine (spherical) distance, on the CPU or a CUDA device.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "shoal/context.hpp"
#include "shoal/distance.hpp"
#include "shoal/matrix.hpp"

namespace shoal::kmeans {

enum class Init {
  KMeansPlusPlus,  ///< greedy k-means++ (Arthur & Vassilvitskii 2007), 2 + ⌊ln k⌋ trials per step, as scikit-learn
  KMeansParallel,  ///< k-means|| (Bahmani et al. 2012): 5 rounds sampling 2k points each, then weighted k-means++
  Random,          ///< k distinct rows, drawn with probability proportional to their weights
  Given,           ///< Params::initial_centroids
};

/// "kmeans++", "kmeans-par", "random" or "given".
[[nodiscard]] std::string_view to_string(Init init);

struct Params {
  /// Number of clusters, 1 ≤ k ≤ n.
  index_t k = 8;
  Init init = Init::KMeansPlusPlus;
  /// `[k × d]` starting centroids for Init::Given; must outlive the call.
  MatrixView<const float> initial_centroids{};
  /// Runs from different seeds; the one with the lowest inertia is returned. Init::Given runs once.
  int n_init = 1;
  /// Lloyd iterations at most.
  int max_iter = 300;
  /// Convergence: stop when the squared centre shift summed over clusters is at most
  /// tol · mean per-feature variance of X, as scikit-learn. Any run also stops when no label
  /// changes.
  double tol = 1e-4;
  Metric metric = Metric::L2;
  /// Seed of the initialisation; unset means Context::seed().
  std::optional<std::uint64_t> seed;
};

/// One Lloyd iteration: assignment to the current centroids, then their update.
struct IterationStats {
  double inertia = 0.0;       ///< Σ w‖x − c‖² of the assignment made in this iteration
  double center_shift = 0.0;  ///< Σ‖c_new − c_old‖² of the update
  index_t labels_changed = 0; ///< points whose label differs from the previous iteration
  double seconds = 0.0;
};

struct Result {
  Matrix<float> centroids;            ///< `[k × d]` (unit rows for the cosine metric)
  std::vector<std::int32_t> labels;   ///< `[n]`, each in [0, k)
  /// Σᵢ wᵢ‖xᵢ − c_{labels[i]}‖² computed directly in double. For cosine, on unit rows.
  double inertia = 0.0;
  int n_iter = 0;                     ///< Lloyd iterations of the returned run
  bool converged = false;             ///< stopped by tol or unchanged labels, not by max_iter
  std::vector<IterationStats> iterations;  ///< of the returned run
  int best_run = 0;                   ///< which of the n_init runs was returned
  Backend backend = Backend::Cpu;     ///< where it ran
  double setup_seconds = 0.0;         ///< checks, scaling, and (CUDA) the upload of X to the device
  double init_seconds = 0.0;          ///< initialisation, all runs
  double lloyd_seconds = 0.0;         ///< Lloyd iterations, all runs
};

/// Clusters the rows of X.
/// @param[in] ctx     backend, threads, default seed, memory budget, progress ("init", "lloyd")
/// @param[in] X       `[n × d]` finite data
/// @param[in] params  see Params; every default is written there
/// @param[in] weights `[n]` non-negative sample weights with a positive sum, or empty for all ones
/// @returns centroids, labels, inertia and per-iteration statistics. The same seed gives the
///          same result on a backend; ties go to the lowest centroid index.
/// @throws InvalidArgument for k < 1, k > n, non-finite data, bad weights, an initial centroid
///         matrix of the wrong shape, zero rows under the cosine metric, or data with fewer than
///         k distinct points
/// @throws OutOfMemory / DeviceError from the CUDA backend
///
/// Complexity: O(n·k·d) per iteration; CPU memory O(n + k·d) beyond X (O(n·d) more for cosine).
/// @code
/// shoal::Context ctx;
/// shoal::kmeans::Params params;
/// params.k = 10;
/// const shoal::kmeans::Result fit = shoal::kmeans::fit(ctx, X, params);
/// const auto labels = shoal::kmeans::predict(ctx, fit.centroids, Y);
/// @endcode
[[nodiscard]] Result fit(const Context& ctx, MatrixView<const float> X, const Params& params,
                         std::span<const float> weights = {});

/// Index of the nearest centroid of every row of X (ties to the lowest index).
/// @param[in] centroids `[k × d]`, from fit
/// @throws InvalidArgument when X has a different d, or is not finite
[[nodiscard]] std::vector<std::int32_t> predict(const Context& ctx, MatrixView<const float> centroids,
                                                MatrixView<const float> X, Metric metric = Metric::L2);

/// `[n × k]` distances from every row of X to every centroid: Euclidean for L2, 1 − cos for
/// cosine.
[[nodiscard]] Matrix<float> transform(const Context& ctx, MatrixView<const float> centroids,
                                      MatrixView<const float> X, Metric metric = Metric::L2);

/// Device memory, in bytes, that fit needs to keep X resident on a GPU; with less it streams X
/// in batches and needs only the centroid-sized part.
[[nodiscard]] std::size_t estimate_device_memory(index_t n, index_t d, const Params& params);

}  // namespace shoal::kmeans
