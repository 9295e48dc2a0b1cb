#pragma once
/// @file
/// @brief HDBSCAN over a kNN graph (the "pHDBSCAN" idea): hierarchical density-based
/// clustering whose neighbour search runs through FAISS, a kd-tree or GPU distance tiles, with
/// an exact mutual-reachability minimum spanning tree by default.
///
/// The conventions are those of the `hdbscan` package (McInnes, Healy & Astels), so that the
/// labels agree with `hdbscan.HDBSCAN(min_cluster_size, min_samples, approx_min_span_tree=False)`
/// up to the numbering of the clusters:
/// - the core distance of a point is its distance to its min_samples-th nearest neighbour, the
///   point itself not counted (duplicates of it are counted);
/// - mutual reachability is max(core(a), core(b), d(a, b) / alpha);
/// - λ = 1 / distance, and λ = ∞ for distance 0 (duplicate points);
/// - noise is labelled −1.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "shoal/context.hpp"
#include "shoal/distance.hpp"
#include "shoal/matrix.hpp"
#include "shoal/neighbors.hpp"

namespace shoal::hdbscan {

/// How flat clusters are chosen from the condensed tree.
enum class Selection {
  Eom,   ///< excess of mass: the most stable clusters (default)
  Leaf,  ///< the leaves of the condensed tree
};

/// "eom" or "leaf".
[[nodiscard]] std::string_view to_string(Selection selection);

struct Params {
  /// Smallest group the condensed tree keeps as a cluster, 2 ≤ min_cluster_size ≤ n.
  index_t min_cluster_size = 5;
  /// Neighbours that define a point's core distance, 1 ≤ min_samples ≤ n − 1; unset means
  /// min_cluster_size.
  std::optional<index_t> min_samples;
  /// Clusters split below this distance are merged back (0: off), as the hdbscan package.
  double cluster_selection_epsilon = 0.0;
  Selection method = Selection::Eom;
  /// Let EOM (or an epsilon search) return the root as a single cluster.
  bool allow_single_cluster = false;
  /// EOM never selects a cluster of more points than this (0: no limit).
  index_t max_cluster_size = 0;
  /// Distances are divided by alpha in mutual reachability (> 0).
  double alpha = 1.0;
  Metric metric = Metric::L2;
  /// Exact MST (default): Borůvka, each point's lightest edge out of its component taken from
  /// its kNN list when the list certifies it, from an exact search otherwise. Approximate: the
  /// MST of the kNN graph, its components then joined by their lightest connecting edges.
  bool approximate = false;
  /// Neighbours kept per point for the MST; 0 means max(min_samples, 10). More neighbours
  /// certify more edges from the lists, at the price of a longer search.
  index_t neighbors = 0;
  neighbors::IndexParams knn;
};

/// The condensed tree, as the hdbscan package's `condensed_tree_`: one row per edge from a
/// cluster to a child cluster or point. Points are 0..n−1, clusters n, n+1, … (n is the root).
struct CondensedTree {
  std::vector<std::int64_t> parent;
  std::vector<std::int64_t> child;
  std::vector<double> lambda;        ///< 1 / distance at which the child left the parent
  std::vector<std::int64_t> size;    ///< points in the child
};

/// The minimum spanning tree of mutual reachability, n − 1 edges sorted by weight (ties by
/// the smaller, then the larger endpoint).
struct SpanningTree {
  std::vector<std::int32_t> u;
  std::vector<std::int32_t> v;
  std::vector<double> weight;
};

/// Seconds per stage.
struct StageSeconds {
  double knn = 0.0;
  double core = 0.0;
  double mst = 0.0;
  double condense = 0.0;
  double select = 0.0;
};

struct Result {
  std::vector<std::int32_t> labels;        ///< `[n]` cluster of each point, −1 for noise
  std::vector<double> probabilities;       ///< `[n]` membership strength in [0, 1] (0 for noise)
  std::vector<double> outlier_scores;      ///< `[n]` GLOSH scores in [0, 1]
  std::vector<double> persistence;         ///< `[clusters]` stability / (size · max λ), as `cluster_persistence_`
  index_t clusters = 0;
  CondensedTree condensed_tree;
  SpanningTree spanning_tree;
  Backend backend = Backend::Cpu;
  neighbors::Index knn_index = neighbors::Index::Auto;  ///< the neighbour search that ran
  index_t neighbors = 0;                  ///< neighbours per point in the kNN graph
  /// Exact searches beyond the kNN lists that the MST needed. With several threads the count
  /// varies a little from run to run (searches tighten each other's bounds in the order they
  /// finish); the tree does not.
  index_t exact_searches = 0;
  /// Pairs of point groups whose lightest edge the MST found by a sweep instead, in the rounds
  /// where whole clusters join (see docs/hdbscan.md).
  index_t pair_sweeps = 0;
  StageSeconds seconds;
};

/// Clusters the rows of X.
/// @param[in] X `[n × d]` finite data
/// @throws InvalidArgument for min_cluster_size < 2 or > n, min_samples < 1 or > n − 1,
///         alpha ≤ 0, a negative epsilon or max_cluster_size, non-finite data
/// @code
/// shoal::hdbscan::Params params;
/// params.min_cluster_size = 50;
/// const shoal::hdbscan::Result result = shoal::hdbscan::fit(ctx, X, params);
/// @endcode
[[nodiscard]] Result fit(const Context& ctx, MatrixView<const float> X, const Params& params);

}  // namespace shoal::hdbscan
