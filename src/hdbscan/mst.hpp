#pragma once
// The minimum spanning tree of mutual reachability on the CPU.

#include <algorithm>
#include <vector>

#include "neighbors/knn.hpp"
#include "shoal/hdbscan.hpp"

namespace shoal::hdbscan::detail {

/// What the spanning tree is built from: the points, their neighbour lists with certified
/// radii, core distances and alpha.
struct Reachability {
  MatrixView<const float> X;
  const neighbors::detail::Neighbors& knn;
  const std::vector<double>& core;
  double alpha = 1.0;

  /// Mutual reachability of p and its j-th listed neighbour: max(core(p), core(q), d/alpha).
  [[nodiscard]] double listed_weight(index_t p, index_t j) const {
    const index_t slot = p * knn.k + j;
    return std::max({core[p], core[knn.indices[slot]], knn.distances[slot] / alpha});
  }
};

struct MstOutcome {
  SpanningTree tree;        ///< sorted by (weight, smaller endpoint, larger endpoint)
  index_t exact_searches = 0;
};

/// Exact MST by Borůvka. Each round, every point's lightest edge out of its component comes
/// from its kNN list when the list certifies it (lighter than any unlisted point could be,
/// given the list's certified radius); the other points that could still beat their
/// component's best edge search beyond their list, on a kd-tree that skips subtrees lying
/// wholly in the point's own component. Ties go to the smaller (weight, min, max).
[[nodiscard]] MstOutcome exact_mst(const Context& ctx, const Reachability& reach);

/// Approximate MST: Kruskal on the kNN edges, then the remaining components joined by their
/// lightest connecting edges (exact Borůvka rounds over components).
[[nodiscard]] MstOutcome approximate_mst(const Context& ctx, const Reachability& reach);

}  // namespace shoal::hdbscan::detail
