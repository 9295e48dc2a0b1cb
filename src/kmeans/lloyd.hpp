#pragma once
// Lloyd's algorithm, split as the design asks: the host driver (convergence, empty clusters,
// centroid division, statistics) is shared, and a backend engine does the O(n·k·d) work —
// assigning every point and summing the points of every cluster.

#include <cstdint>
#include <span>
#include <vector>

#include "shoal/context.hpp"
#include "shoal/kmeans.hpp"
#include "shoal/matrix.hpp"

namespace shoal::kmeans::detail {

/// What one assignment pass reports.
struct AssignOutput {
  std::vector<double> sums;     ///< [k × d] weighted sums of each cluster's points (when accumulating)
  std::vector<double> weights;  ///< [k] total weight of each cluster (when accumulating)
  double inertia = 0.0;         ///< Σ w‖x − c_label‖², direct, in double
  index_t changed = 0;          ///< labels that differ from the previous pass
};

/// The backend side of Lloyd. The engine owns the labels of the points it was built on;
/// every method leaves the work finished (results on the host).
class LloydEngine {
 public:
  virtual ~LloydEngine() = default;
  /// Forgets the labels, so that the next pass counts every point as changed.
  virtual void reset_labels() = 0;
  /// Assigns every point to its nearest centroid (ties to the lowest index). With
  /// `accumulate`, also fills the per-cluster sums and weights.
  virtual void assign(MatrixView<const float> centroids, bool accumulate, AssignOutput& out) = 0;
  /// Σ w‖x − c_label‖² for the current labels and `centroids`, in double.
  [[nodiscard]] virtual double inertia(MatrixView<const float> centroids) = 0;
  /// The `count` points farthest from their centroid in the last pass, farthest first, ties
  /// to the lowest index.
  [[nodiscard]] virtual std::vector<index_t> farthest(index_t count) = 0;
  /// The current labels, on the host.
  [[nodiscard]] virtual std::span<const std::int32_t> labels() = 0;
};

/// One Lloyd run from `centroids` (updated in place), as scikit-learn's lloyd: stops when no
/// label changes (strict convergence), when the squared centre shift is at most `tolerance`,
/// or after max_iter passes; then re-assigns unless strictly converged. Empty clusters take
/// the points farthest from their centres.
struct RunOutcome {
  double inertia = 0.0;
  int n_iter = 0;
  bool converged = false;
  std::vector<IterationStats> iterations;
};
RunOutcome run_lloyd(const Context& ctx, LloydEngine& engine, MatrixView<const float> X,
                     std::span<const float> weights, Matrix<float>& centroids, const Params& params,
                     double tolerance);

/// Indices of the `count` largest distances, largest first, ties to the lowest index.
[[nodiscard]] std::vector<index_t> farthest_points(std::span<const double> distances, index_t count);

}  // namespace shoal::kmeans::detail
