#include "kmeans/lloyd.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.hpp"
#include "core/stopwatch.hpp"

namespace shoal::kmeans::detail {
namespace {

/// scikit-learn's _relocate_empty_clusters: each empty cluster takes one of the points
/// farthest from their centres, whose weight moves from its old cluster to the empty one.
void relocate_empty_clusters(LloydEngine& engine, MatrixView<const float> X, std::span<const float> weights,
                             AssignOutput& out, index_t k) {
  std::vector<index_t> empty;
  for (index_t c = 0; c < k; ++c) {
    if (out.weights[c] <= 0.0) empty.push_back(c);
  }
  if (empty.empty()) return;
  const index_t d = X.cols();
  // A few spare candidates, for points that cannot move (alone in their cluster, or weightless).
  const auto wanted = std::min<index_t>(X.rows(), 2 * static_cast<index_t>(empty.size()) + 16);
  const std::vector<index_t> far = engine.farthest(wanted);
  const std::span<const std::int32_t> labels = engine.labels();
  std::size_t next = 0;
  for (const index_t to : empty) {
    for (; next < far.size(); ++next) {
      const index_t point = far[next], from = labels[point];
      const double w = weights.empty() ? 1.0 : weights[point];
      if (w <= 0.0 || out.weights[from] <= w) continue;
      for (index_t j = 0; j < d; ++j) {
        out.sums[from * d + j] -= w * X(point, j);
        out.sums[to * d + j] = w * X(point, j);
      }
      out.weights[from] -= w;
      out.weights[to] = w;
      ++next;
      break;
    }
  }
}

}  // namespace

std::vector<index_t> farthest_points(std::span<const double> distances, index_t count) {
  std::vector<index_t> order(distances.size());
  std::iota(order.begin(), order.end(), index_t{0});
  count = std::min<index_t>(count, static_cast<index_t>(order.size()));
  std::partial_sort(order.begin(), order.begin() + count, order.end(), [&](index_t a, index_t b) {
    return distances[a] != distances[b] ? distances[a] > distances[b] : a < b;
  });
  order.resize(count);
  return order;
}

RunOutcome run_lloyd(const Context& ctx, LloydEngine& engine, MatrixView<const float> X,
                     std::span<const float> weights, Matrix<float>& centroids, const Params& params,
                     double tolerance) {
  const index_t k = centroids.rows(), d = centroids.cols();
  RunOutcome outcome;
  AssignOutput out;
  engine.reset_labels();
  bool strict = false;
  for (int iteration = 0; iteration < params.max_iter; ++iteration) {
    const shoal::detail::Stopwatch clock;
    engine.assign(centroids, true, out);
    relocate_empty_clusters(engine, X, weights, out, k);

    double shift = 0.0;
    for (index_t c = 0; c < k; ++c) {
      if (out.weights[c] <= 0.0) continue;  // still empty (fewer distinct points than k): keep
      float* centroid = centroids.row(c);
      double norm = 0.0;
      for (index_t j = 0; j < d; ++j) {
        const double mean = out.sums[c * d + j] / out.weights[c];
        norm += mean * mean;
      }
      // Spherical k-means projects the mean back to the sphere; a zero mean keeps its centre.
      const bool project = params.metric == Metric::Cosine;
      if (project && norm == 0.0) continue;
      const double scale = project ? 1.0 / std::sqrt(norm) : 1.0;
      for (index_t j = 0; j < d; ++j) {
        const auto updated = static_cast<float>(out.sums[c * d + j] / out.weights[c] * scale);
        const double moved = static_cast<double>(updated) - centroid[j];
        shift += moved * moved;
        centroid[j] = updated;
      }
    }
    outcome.iterations.push_back({out.inertia, shift, out.changed, clock.seconds()});
    outcome.n_iter = iteration + 1;
    ctx.report_progress("lloyd", static_cast<double>(iteration + 1) / params.max_iter);
    if (out.changed == 0) {
      strict = true;
      break;
    }
    if (shift <= tolerance) break;
  }
  outcome.converged = strict || (!outcome.iterations.empty() && outcome.iterations.back().center_shift <= tolerance);
  if (strict) {
    outcome.inertia = engine.inertia(centroids);
  } else {
    // Labels that match the final centres, as scikit-learn's last E-step.
    engine.assign(centroids, false, out);
    outcome.inertia = out.inertia;
  }
  return outcome;
}

}  // namespace shoal::kmeans::detail
