// Public entry of HDBSCAN: validation, the kNN graph, core distances, the spanning tree, and
// the shared hierarchy code (hierarchy.cpp).
#include "shoal/hdbscan.hpp"

#include <cmath>

#include "core/check.hpp"
#include "core/stopwatch.hpp"
#include "core/validate.hpp"
#include "distance/distance.hpp"
#include "hdbscan/hierarchy.hpp"
#include "hdbscan/mst.hpp"
#include "neighbors/knn.hpp"

namespace shoal::hdbscan {

std::string_view to_string(Selection selection) {
  return selection == Selection::Eom ? "eom" : "leaf";
}

namespace {

void validate(const Context& ctx, MatrixView<const float> X, const Params& params) {
  shoal::detail::check_data(ctx, X, "the data");
  if (params.metric == Metric::L2) shoal::detail::check_distance_range(X, "the data");  // cosine: unit rows
  const index_t n = X.rows();
  SHOAL_EXPECTS(params.min_cluster_size >= 2, "min_cluster_size = ", params.min_cluster_size, " must be at least 2");
  SHOAL_EXPECTS(params.min_cluster_size <= n, "min_cluster_size = ", params.min_cluster_size,
                " exceeds the number of points n = ", n);
  const index_t min_samples = params.min_samples.value_or(params.min_cluster_size);
  SHOAL_EXPECTS(min_samples >= 1 && min_samples <= n - 1, "min_samples = ", min_samples,
                params.min_samples ? "" : " (by default min_cluster_size)", " must be between 1 and n - 1 = ", n - 1);
  SHOAL_EXPECTS(std::isfinite(params.cluster_selection_epsilon) && params.cluster_selection_epsilon >= 0.0,
                "cluster_selection_epsilon = ", params.cluster_selection_epsilon, " must be finite and >= 0");
  SHOAL_EXPECTS(std::isfinite(params.alpha) && params.alpha > 0.0, "alpha = ", params.alpha, " must be positive");
  SHOAL_EXPECTS(params.max_cluster_size >= 0, "max_cluster_size = ", params.max_cluster_size, " is negative");
  SHOAL_EXPECTS(params.neighbors >= 0, "neighbors = ", params.neighbors, " is negative");
}

}  // namespace

Result fit(const Context& ctx, MatrixView<const float> X, const Params& params) {
  validate(ctx, X, params);
  const index_t n = X.rows();
  const index_t min_samples = params.min_samples.value_or(params.min_cluster_size);
  // The list must reach the min_samples-th neighbour; a longer one certifies more MST edges
  // (on blobs, beyond 10 it only lengthens the search: docs/hdbscan.md).
  const index_t k = std::min(n - 1, std::max(min_samples, params.neighbors > 0 ? params.neighbors : index_t{10}));
  const Matrix<float> unit = params.metric == Metric::Cosine ? shoal::detail::unit_rows(X, "data") : Matrix<float>();
  const MatrixView<const float> data = params.metric == Metric::Cosine ? unit.view() : X;

  Result result;
  shoal::detail::Stopwatch stage;
  ctx.report_progress("knn", 0.0);
  neighbors::detail::Neighbors knn = neighbors::detail::search(ctx, data, k, params.knn);
  result.seconds.knn = stage.lap();
  result.knn_index = knn.index;
  result.neighbors = k;
  result.backend = knn.backend;

  const std::vector<double> core = detail::core_distances(knn, min_samples);
  result.seconds.core = stage.lap();

  ctx.report_progress("mst", 0.0);
  // The lists' distances become their weights, in place: the spanning tree reads no other.
  const detail::Reachability reach(ctx, data, knn, std::move(knn.distances), core, params.alpha);
  detail::MstOutcome mst = params.approximate ? detail::approximate_mst(ctx, reach) : detail::exact_mst(ctx, reach);
  result.exact_searches = mst.exact_searches;
  result.pair_sweeps = mst.pair_sweeps;
  result.seconds.mst = stage.lap();

  ctx.report_progress("condense", 0.0);
  result.condensed_tree = detail::condense(detail::single_linkage(mst.tree, n), params.min_cluster_size);
  result.spanning_tree = std::move(mst.tree);
  result.seconds.condense = stage.lap();

  detail::Flat flat = detail::select_clusters(result.condensed_tree, n, params);
  result.labels = std::move(flat.labels);
  result.probabilities = std::move(flat.probabilities);
  result.outlier_scores = std::move(flat.outlier_scores);
  result.persistence = std::move(flat.persistence);
  result.clusters = flat.clusters;
  result.seconds.select = stage.lap();
  ctx.report_progress("select", 1.0);
  return result;
}

}  // namespace shoal::hdbscan
