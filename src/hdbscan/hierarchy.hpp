#pragma once
// From a minimum spanning tree to flat clusters, on the host for both backends: the
// single-linkage tree, the condensed tree, stabilities, EOM or leaf selection, labels,
// membership probabilities, GLOSH outlier scores and cluster persistence. Every step follows
// the hdbscan package (hdbscan/_hdbscan_linkage.pyx, _hdbscan_tree.pyx), including its
// floating-point choices, so that the same tree gives the same clusters.

#include <cstdint>
#include <vector>

#include "shoal/hdbscan.hpp"

namespace shoal::hdbscan::detail {

/// One merge of the single-linkage tree (scipy's format): the two merged nodes (points
/// 0..n−1, merges n, n+1, …), the distance, and the size of the merged node.
struct Merge {
  std::int64_t left;
  std::int64_t right;
  double distance;
  std::int64_t size;
};

/// The single-linkage tree of a spanning tree whose edges are sorted by weight. Equal weights
/// are common (an edge weighs a core distance whenever that dominates), and their order shapes
/// the binary tree, so it is fixed: (weight, smaller endpoint, larger endpoint). The hdbscan
/// package orders them by numpy's unstable sort, so its own result can change with the order
/// of the rows (docs/hdbscan.md).
[[nodiscard]] std::vector<Merge> single_linkage(const SpanningTree& tree, index_t n);

/// Runt pruning of the single-linkage tree at min_cluster_size (hdbscan's condense_tree).
[[nodiscard]] CondensedTree condense(const std::vector<Merge>& merges, index_t min_cluster_size);

/// Labels, probabilities, outlier scores and persistence of the selected clusters.
struct Flat {
  std::vector<std::int32_t> labels;
  std::vector<double> probabilities;
  std::vector<double> outlier_scores;
  std::vector<double> persistence;
  index_t clusters = 0;
};

/// Stabilities, selection (EOM or leaf, epsilon, single cluster, size limit) and the flat
/// outputs, as hdbscan's compute_stability, get_clusters and outlier_scores.
[[nodiscard]] Flat select_clusters(const CondensedTree& tree, index_t n, const Params& params);

}  // namespace shoal::hdbscan::detail
