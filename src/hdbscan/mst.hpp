#pragma once
// The minimum spanning tree of mutual reachability on the CPU.

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "hdbscan/edge.hpp"
#include "neighbors/knn.hpp"
#include "shoal/hdbscan.hpp"

namespace shoal::hdbscan::detail {

/// Core distances: each point's distance to its min_samples-th listed neighbour (the point
/// itself not counted; the hdbscan package's convention).
[[nodiscard]] std::vector<double> core_distances(const neighbors::detail::Neighbors& knn, index_t min_samples);

/// What the spanning tree is built from: the points, their neighbour lists with certified
/// radii, core distances and alpha, and the lists' mutual reachability weighed once.
struct Reachability {
  /// `distances` are the lists' distances, turned into their weights in place: pass
  /// std::move(lists.distances) where they are not needed after (fit), else a copy.
  Reachability(const Context& ctx, MatrixView<const float> points, const neighbors::detail::Neighbors& lists,
               std::vector<double> distances, const std::vector<double>& core_distances, double reach_alpha);

  MatrixView<const float> X;
  const neighbors::detail::Neighbors& knn;
  const std::vector<double>& core;
  double alpha = 1.0;
  /// [n × k] mutual reachability of each point and its j-th listed neighbour q:
  /// max(core(p), core(q), d/alpha). Every Borůvka round reads them, and core(q) lies
  /// scattered through memory. The spanning tree reads no distance of `knn` but these.
  std::vector<double> listed;

  [[nodiscard]] double listed_weight(index_t p, index_t j) const { return listed[p * knn.k + j]; }
};

struct MstOutcome {
  SpanningTree tree;         ///< sorted by (weight, smaller endpoint, larger endpoint)
  index_t exact_searches = 0;  ///< points that searched the tree for their lightest edge out
  index_t pair_sweeps = 0;     ///< pairs of pieces swept for the lightest edge between them
  index_t sweeps_given_up = 0;  ///< of which ended in a tree search: the pieces were not compact
};

/// How the rounds in which large components join find their edges. The defaults are the fast
/// choice; the others let tests compare the ways.
struct MstOptions {
  /// Sweeps are used from this many dimensions: in fewer, the tree's searches are as fast or
  /// faster (docs/hdbscan.md). kNoSweeps leaves every edge to the searches.
  index_t sweep_min_dimensions = 5;
  std::size_t sweep_budget = 2;  ///< distances per point of a pair before its sweep gives up
};
inline constexpr index_t kNoSweeps = std::numeric_limits<index_t>::max();

/// Exact MST by Borůvka. Each round, every point's lightest edge out of its component comes
/// from its kNN list when the list certifies it (lighter than any unlisted point could be,
/// given the list's certified radius); the other points that could still beat their
/// component's best edge search beyond their list, on a kd-tree that skips subtrees lying
/// wholly in the point's own component. Once the components are few and large (whole clusters
/// joining), they are kept as fixed pieces, and the lightest edge between two pieces is found by
/// sweeping the points that reach toward each other, bounded by projection on the line between
/// the pieces' centroids. Ties go to the smaller (weight, min, max). Where the lists came from the
/// CUDA device, the rounds run there (boruvka_cuda) and find the same tree; so do the joining
/// rounds of approximate_mst.
[[nodiscard]] MstOutcome exact_mst(const Context& ctx, const Reachability& reach, const MstOptions& options = {});

/// The points in a kd-tree's order, which keeps near points together, cut into chunks of
/// `chunk` consecutive positions with their bounding boxes: what the device's rounds search
/// (kernels/hdbscan/boruvka.cuh), skipping the chunks beyond a point's reach.
struct ChunkedPoints {
  std::vector<std::int32_t> order;  ///< [n] the point at each position
  std::vector<float> X;             ///< [n × d] coordinates, by position
  std::vector<double> core;         ///< [n] core distances, by position
  std::vector<float> low, high;     ///< [chunks × d] each chunk's bounding box
  std::vector<double> least_core;   ///< [chunks] each chunk's least core distance
  [[nodiscard]] index_t chunks() const { return static_cast<index_t>(least_core.size()); }
};
[[nodiscard]] ChunkedPoints chunked_points(const Context& ctx, const Reachability& reach, index_t chunk);

/// Defined only in CUDA builds: the Borůvka rounds of exact_mst (with `use_lists`) or of
/// approximate_mst's joins (without) on the device, searching chunked points in place of the
/// kd-tree's searches and the sweeps (kernels/hdbscan/boruvka.cuh), from the components
/// `component` (each point's root; a root is its own) until one remains. Appends the edges it
/// finds to `edges`, and returns the searches; returns nothing, having done nothing,
/// where the points have more dimensions than its kernels stage or the rounds' arrays exceed
/// the device memory the context allows (the host's rounds then find the same tree).
[[nodiscard]] std::optional<index_t> boruvka_cuda(const Context& ctx, const Reachability& reach, bool use_lists,
                                                  const std::vector<index_t>& component, std::vector<Edge>& edges);

/// Approximate MST: Kruskal on the kNN edges, then the remaining components joined by their
/// lightest connecting edges (exact Borůvka rounds over components).
[[nodiscard]] MstOutcome approximate_mst(const Context& ctx, const Reachability& reach,
                                         const MstOptions& options = {});

}  // namespace shoal::hdbscan::detail
