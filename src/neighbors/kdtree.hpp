#pragma once
// A kd-tree for exact searches in low dimensions: the kNN graph, and the "nearest point of
// another component" searches of the HDBSCAN spanning tree. Points are stored in tree order
// and transposed (dimension-major), so that a leaf's distances to a query are computed in
// float, sixteen or eight points at a time. Float distances only prune and rank; every
// result that matters is measured again in double, with the float rounding accounted for.

#include <cstdint>
#include <utility>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::neighbors::detail {

class KdTree {
 public:
  /// Most points in a leaf: one bit each in a 64-bit mask.
  static constexpr index_t kLeafSize = 64;

  /// Builds the tree on `threads` threads (the same tree for any count).
  explicit KdTree(MatrixView<const float> X, int threads = 1);

  /// Scratch of a depth-first search: (node, its squared box distance) still to visit.
  using Stack = std::vector<std::pair<index_t, float>>;

  /// The `count` smallest float squared distances from row `query` (itself included), in
  /// increasing order as (distance, tree position) pairs. Points left out have a float squared
  /// distance at least the last one's.
  void nearest(index_t query, index_t count, std::vector<std::pair<float, std::int32_t>>& out, Stack& stack,
               std::vector<float>& scratch) const;

  /// `nearest` for every point of a leaf at once (the queries share one traversal, pruned by
  /// the distance between bounding boxes, and far from the leaf by each query's distance to a
  /// node's box): out[i] receives the list of the leaf's i-th point.
  void nearest_for_leaf(index_t leaf, index_t count, std::vector<std::vector<std::pair<float, std::int32_t>>>& out,
                        Stack& stack, std::vector<float>& scratch) const;

  /// Relative bound of float squared distances computed here: the exact value is at least the
  /// float one times (1 − float_error()).
  [[nodiscard]] double float_error() const { return float_error_; }

  // The structure, for searches with their own pruning rules (the HDBSCAN spanning tree).
  struct Node {
    index_t begin = 0, end = 0;     ///< points [begin, end) in tree order
    index_t left = -1, right = -1;  ///< children, −1 for a leaf
  };
  [[nodiscard]] const std::vector<Node>& nodes() const { return nodes_; }
  [[nodiscard]] index_t point_at(index_t position) const { return order_[position]; }
  [[nodiscard]] index_t position_of(index_t point) const { return position_[point]; }
  /// Copies the coordinates of the point at a tree position into out[0 .. d), from the tree's
  /// own copy: a point just met in a leaf is still in cache there, unlike its row of X.
  void copy_point(index_t position, float* out) const;
  /// Pushes a node's children onto a depth-first stack with their distances, the nearer on top
  /// so that it is searched first.
  static void push_children(Stack& stack, const Node& node, float left_distance, float right_distance);
  /// The same with each child's distance the float lower bound of the squared distance between
  /// its bounding box and node `from`'s.
  void push_children(Stack& stack, index_t from, const Node& node) const;
  /// Float lower bound of the squared distance from x to the node's bounding box.
  [[nodiscard]] float box_sq_distance(const float* x, index_t node) const;
  /// box_sq_distance from each point of a leaf to a node, into out[0 .. end − begin).
  void leaf_box_sq_distances(index_t leaf, index_t node, float* out) const;
  /// Float squared distances from x to the points of a leaf, into out[0 .. end − begin); bit i
  /// of the result is set when out[i] < limit. A leaf holds at most 64 points.
  std::uint64_t leaf_sq_distances(const float* x, index_t node, float* out, float limit) const;
  /// The same for two points x and y at once (one pass over the leaf): their masks, in order.
  std::pair<std::uint64_t, std::uint64_t> leaf_sq_distances(const float* x, const float* y, index_t node, float* out_x,
                                                            float* out_y, float limit_x, float limit_y) const;

 private:
  /// Nodes in preorder (a node, its left subtree, its right) with their boxes.
  struct Subtree {
    std::vector<Node> nodes;
    std::vector<float> low, high;
  };
  /// Room for moving points, by tree position (subtrees use disjoint ranges).
  struct BuildScratch {
    std::vector<float> values;
    std::vector<index_t> order, destination;
  };
  /// Appends the subtree over tree positions [begin, end) to `tree`.
  void build(Subtree& tree, BuildScratch& scratch, index_t begin, index_t end);
  /// Reorders positions [begin, end) so that those left of the split along `dimension` (whose
  /// extent is [low, high]) come first; returns where the others begin.
  index_t split(BuildScratch& scratch, index_t begin, index_t end, index_t dimension, float low, float high);

  MatrixView<const float> X_;
  index_t d_;
  std::vector<index_t> order_;     // tree position → point
  std::vector<index_t> position_;  // point → tree position
  std::vector<float> columns_;     // [d × n] the points in tree order, dimension-major
  std::vector<Node> nodes_;
  std::vector<float> low_, high_;  // [nodes × d] bounding boxes
  double float_error_;
};

}  // namespace shoal::neighbors::detail
