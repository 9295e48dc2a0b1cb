#include "hdbscan/mst.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <span>

#include "core/check.hpp"
#include "distance/distance.hpp"
#include "neighbors/kdtree.hpp"

namespace shoal::hdbscan::detail {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr float kFloatInfinity = std::numeric_limits<float>::infinity();

/// A candidate edge, ordered by (weight, smaller endpoint, larger endpoint): the total order
/// that makes the MST unique and the result independent of search order.
struct Edge {
  double weight = kInfinity;
  std::int32_t a = -1;  // smaller endpoint
  std::int32_t b = -1;  // larger endpoint
  [[nodiscard]] bool valid() const { return a >= 0; }
  friend bool operator<(const Edge& x, const Edge& y) {
    if (x.weight != y.weight) return x.weight < y.weight;
    if (x.a != y.a) return x.a < y.a;
    return x.b < y.b;
  }
};

Edge make_edge(double weight, index_t p, index_t q) {
  return {weight, static_cast<std::int32_t>(std::min(p, q)), static_cast<std::int32_t>(std::max(p, q))};
}

class UnionFind {
 public:
  explicit UnionFind(index_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), index_t{0}); }
  index_t find(index_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  /// Joins the two sets; the smaller root becomes the root, so roots do not depend on order.
  bool unite(index_t x, index_t y) {
    x = find(x);
    y = find(y);
    if (x == y) return false;
    if (y < x) std::swap(x, y);
    parent_[y] = x;
    return true;
  }

 private:
  std::vector<index_t> parent_;
};

/// "The lightest edge from p to another component" on the kd-tree, for the points of a leaf at
/// once: subtrees wholly in p's component are skipped, and subtrees (or points) whose lower
/// bound — the larger of the core distances and the float box (or point) distance shrunk past
/// its rounding — exceeds the best edge so far are pruned. Candidates that survive are weighed
/// exactly, in double.
class ReachSearch {
 public:
  ReachSearch(const neighbors::detail::KdTree& tree, const Reachability& reach)
      : tree_(tree), reach_(reach), shrink_(1.0 - 2.0 * tree.float_error()),
        node_component_(tree.nodes().size(), -1), node_min_core_(tree.nodes().size()),
        core_at_(reach.X.rows()), component_at_(reach.X.rows()) {
    for (index_t at = 0; at < reach.X.rows(); ++at) core_at_[at] = reach.core[tree.point_at(at)];
    const auto& nodes = tree.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].left < 0) leaves_.push_back(static_cast<index_t>(i));
    }
    for (std::size_t i = nodes.size(); i-- > 0;) {  // children come after their parent
      const auto& node = nodes[i];
      node_min_core_[i] = node.left < 0 ? *std::min_element(core_at_.begin() + node.begin, core_at_.begin() + node.end)
                                        : std::min(node_min_core_[node.left], node_min_core_[node.right]);
    }
  }

  /// Marks, before a round, the nodes whose points all lie in one component.
  void refresh(const std::vector<index_t>& component) {
    for (index_t at = 0; at < reach_.X.rows(); ++at) component_at_[at] = component[tree_.point_at(at)];
    const auto& nodes = tree_.nodes();
    for (std::size_t i = nodes.size(); i-- > 0;) {
      const auto& node = nodes[i];
      if (node.left < 0) {
        const auto first = component_at_.begin() + node.begin, last = component_at_.begin() + node.end;
        node_component_[i] = std::all_of(first, last, [&](index_t c) { return c == *first; }) ? *first : -1;
      } else {
        const index_t left = node_component_[node.left];
        node_component_[i] = left == node_component_[node.right] ? left : -1;
      }
    }
  }

  /// The leaves, and whether a leaf also holds points of other components: its points are near
  /// a border, where the lightest edges out of a component are found.
  [[nodiscard]] const std::vector<index_t>& leaves() const { return leaves_; }
  [[nodiscard]] bool near_border(index_t leaf) const { return node_component_[leaf] < 0; }

  /// Lowers best[i] to the lightest edge from points[i] to a point of another component, if
  /// lighter, for points of one leaf. They share one traversal, pruned by the distance between
  /// bounding boxes against the heaviest of their bests; each then prunes a leaf on its own.
  void search_leaf(index_t leaf, std::span<const index_t> points, std::span<Edge> best,
                   neighbors::detail::KdTree::Stack& stack, std::vector<float>& scratch) const {
    const index_t leaf_component = node_component_[leaf];  // −1 when the points' components differ
    double lowest_core = kInfinity;
    for (const index_t p : points) lowest_core = std::min(lowest_core, reach_.core[p]);
    const auto heaviest = [&] {
      double weight = 0.0;
      for (const Edge& edge : best) weight = std::max(weight, edge.weight);
      return weight;
    };
    double bound = heaviest();
    scratch.resize(neighbors::detail::KdTree::kLeafSize);
    std::array<float, neighbors::detail::KdTree::kLeafSize> boxes;  // by position in the leaf
    const index_t first = tree_.nodes()[leaf].begin;
    const auto& nodes = tree_.nodes();
    stack.clear();
    stack.emplace_back(0, 0.0f);
    while (!stack.empty()) {
      const auto [id, box] = stack.back();
      stack.pop_back();
      if (leaf_component >= 0 && node_component_[id] == leaf_component) continue;
      if (std::max(lowest_core, node_min_core_[id]) > bound || too_far(box, bound)) continue;
      const auto& node = nodes[id];
      if (node.left < 0) {
        tree_.leaf_box_sq_distances(leaf, id, boxes.data());
        for (std::size_t i = 0; i < points.size(); ++i) {
          scan_leaf(points[i], id, boxes[tree_.position_of(points[i]) - first], best[i], scratch);
        }
        bound = heaviest();
        continue;
      }
      neighbors::detail::KdTree::push_children(stack, node, tree_.box_box_sq_distance(leaf, node.left),
                                               tree_.box_box_sq_distance(leaf, node.right));
    }
  }

 private:
  /// A float squared distance s can give an edge lighter than w only if s·shrink ≤ (w·alpha)²;
  /// comparing squares keeps square roots off the hot path.
  [[nodiscard]] bool too_far(float sq_distance, double weight) const {
    const double reach = weight * reach_.alpha;
    return static_cast<double>(sq_distance) * shrink_ > reach * reach;
  }

  /// Lowers `best` to the lightest edge from p to a point of the leaf `id` in another component;
  /// `box` is p's box distance to the leaf.
  void scan_leaf(index_t p, index_t id, float box, Edge& best, std::vector<float>& scratch) const {
    const index_t own = component_at_[tree_.position_of(p)];
    const double core_p = reach_.core[p];
    if (node_component_[id] == own || std::max(core_p, node_min_core_[id]) > best.weight || too_far(box, best.weight)) {
      return;
    }
    const float* x = reach_.X.row(p);
    // The bits keep every point that too_far keeps at the bound as it was (it only falls), the
    // float limit rounded up past the double comparison's rounding.
    const double reach = best.weight * reach_.alpha, widest = reach * reach / shrink_ * (1.0 + 1e-9);
    const float limit = widest < std::numeric_limits<float>::max()
                            ? std::nextafter(static_cast<float>(widest), kFloatInfinity)
                            : kFloatInfinity;
    const index_t begin = tree_.nodes()[id].begin;
    for (std::uint64_t near = tree_.leaf_sq_distances(x, id, scratch.data(), limit); near != 0; near &= near - 1) {
      const index_t i = std::countr_zero(near), at = begin + i;
      if (component_at_[at] == own || std::max(core_p, core_at_[at]) > best.weight || too_far(scratch[i], best.weight)) {
        continue;
      }
      const index_t q = tree_.point_at(at);
      const double weight =
          std::max({core_p, core_at_[at],
                    std::sqrt(shoal::detail::exact_sq_distance(x, reach_.X.row(q), reach_.X.cols())) / reach_.alpha});
      best = std::min(best, make_edge(weight, p, q));
    }
  }

  const neighbors::detail::KdTree& tree_;
  const Reachability& reach_;
  double shrink_;
  std::vector<index_t> node_component_;  // the one component of all a node's points, or −1
  std::vector<double> node_min_core_;
  std::vector<double> core_at_;          // by tree position
  std::vector<index_t> component_at_;    // by tree position
  std::vector<index_t> leaves_;
};

/// Borůvka rounds from the components of `joined` (which already holds `edges`) until one
/// component remains. With `use_lists`, kNN lists propose (and may certify) edges first.
index_t boruvka(const Context& ctx, const Reachability& reach, UnionFind& joined, std::vector<Edge>& edges,
                bool use_lists) {
  const index_t n = reach.X.rows(), k = reach.knn.k;
  const neighbors::detail::KdTree kdtree(reach.X);
  ReachSearch tree(kdtree, reach);
  std::vector<index_t> component(n), members(n), starts, slot(n), batch_leaf, batch_start, batch_points;
  std::vector<Edge> proposal(n);
  std::vector<double> reach_floor(n);  // lower bound on the edges of p that its proposal may not cover
  // What earlier searches learnt, still true as components grow: a point's lightest edge out of
  // its component (exact while its far end stays outside), or a lower bound on it.
  std::vector<Edge> known(n);
  std::vector<double> lower(n, 0.0);
  index_t searches = 0;
  for (;;) {
    for (index_t p = 0; p < n; ++p) component[p] = joined.find(p);
    // Members of each component, grouped by root, in index order (a counting sort).
    starts.assign(n + 1, 0);
    for (index_t p = 0; p < n; ++p) ++starts[component[p] + 1];
    std::partial_sum(starts.begin(), starts.end(), starts.begin());
    std::vector<index_t> next(starts.begin(), starts.end() - 1);
    for (index_t p = 0; p < n; ++p) members[next[component[p]]++] = p;
    std::vector<index_t> roots;
    for (index_t c = 0; c < n; ++c) {
      if (starts[c + 1] > starts[c]) roots.push_back(c);
    }
    if (roots.size() <= 1) break;
    tree.refresh(component);

#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (index_t p = 0; p < n; ++p) {
      if (known[p].valid() && component[known[p].a] != component[known[p].b]) {
        proposal[p] = known[p];  // the far end is still outside: still p's lightest edge out
        reach_floor[p] = kInfinity;
        continue;
      }
      known[p] = Edge{};
      Edge best;
      if (use_lists) {
        for (index_t j = 0; j < k; ++j) {
          const index_t q = reach.knn.indices[p * k + j];
          if (component[q] == component[p]) continue;
          best = std::min(best, make_edge(reach.listed_weight(p, j), p, q));
        }
      }
      proposal[p] = best;
      // Unlisted points are at least radius away; a proposal strictly below that is certified.
      const double floor = std::max({reach.core[p], (use_lists ? reach.knn.radius[p] : 0.0) / reach.alpha, lower[p]});
      reach_floor[p] = best.valid() && best.weight < floor ? kInfinity : floor;
    }

    // Each component's lightest edge out: the best proposal of its members, lowered by exact
    // searches. The searches of one component run on all threads (late rounds have a few
    // huge components), sharing the component's best as the bound that prunes them; the
    // minimum they reach does not depend on their order, only the count of searches does.
    std::vector<Edge> chosen(roots.size());
    std::vector<std::atomic<double>> bound(roots.size());  // chosen[r].weight, read without a lock
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (std::size_t r = 0; r < roots.size(); ++r) {
      const index_t c = roots[r];
      slot[c] = static_cast<index_t>(r);
      for (index_t at = starts[c]; at < starts[c + 1]; ++at) chosen[r] = std::min(chosen[r], proposal[members[at]]);
      bound[r].store(chosen[r].weight, std::memory_order_relaxed);
    }
    std::array<std::mutex, 64> locks;  // component r's best is guarded by locks[r % 64]
    // Leaves near a border first: their edges tighten the bounds that prune the others. The
    // points of a leaf that may still beat their component's best search together.
    for (const bool border : {true, false}) {
      batch_leaf.clear();
      batch_start.assign(1, 0);
      batch_points.clear();
      for (const index_t leaf : tree.leaves()) {
        if (tree.near_border(leaf) != border) continue;
        const auto& node = kdtree.nodes()[leaf];
        for (index_t at = node.begin; at < node.end; ++at) {
          const index_t p = kdtree.point_at(at);
          if (reach_floor[p] <= chosen[slot[component[p]]].weight) batch_points.push_back(p);
        }
        if (static_cast<std::size_t>(batch_start.back()) < batch_points.size()) {
          batch_leaf.push_back(leaf);
          batch_start.push_back(static_cast<index_t>(batch_points.size()));
        }
      }
#pragma omp parallel num_threads(ctx.threads()) reduction(+ : searches)
      {
        neighbors::detail::KdTree::Stack stack;
        std::vector<float> scratch;
        std::vector<index_t> points;
        std::vector<Edge> start, mine;
#pragma omp for schedule(dynamic, 4)
        for (std::size_t b = 0; b < batch_leaf.size(); ++b) {
          points.clear();
          start.clear();
          for (index_t t = batch_start[b]; t < batch_start[b + 1]; ++t) {
            const index_t p = batch_points[t], r = slot[component[p]];
            if (reach_floor[p] > bound[r].load(std::memory_order_relaxed)) continue;
            const std::lock_guard<std::mutex> lock(locks[r % locks.size()]);
            points.push_back(p);
            start.push_back(chosen[r]);
          }
          // Searching below the component's best finds a point's own lightest edge, if lighter.
          mine = start;
          tree.search_leaf(batch_leaf[b], points, mine, stack, scratch);
          searches += static_cast<index_t>(points.size());
          for (std::size_t i = 0; i < points.size(); ++i) {
            const index_t p = points[i], r = slot[component[p]];
            if (mine[i] < start[i]) {
              known[p] = mine[i];
              const std::lock_guard<std::mutex> lock(locks[r % locks.size()]);
              if (mine[i] < chosen[r]) {
                chosen[r] = mine[i];
                bound[r].store(mine[i].weight, std::memory_order_relaxed);
              }
            } else {
              lower[p] = std::max(lower[p], start[i].weight);
            }
          }
        }
      }
    }
    for (const Edge& edge : chosen) {
      SHOAL_ASSERT(edge.valid(), "a component found no edge out");
      if (joined.unite(edge.a, edge.b)) edges.push_back(edge);
    }
  }
  return searches;
}

/// Exact duplicates whose core distance is 0 join at weight 0, as a star from the lowest index
/// (the tree the (weight, min, max) order picks), before any search: every one of them ties
/// with every other, which no search can prune. An exact list's first entry at distance 0 is
/// the lowest-index duplicate.
void join_duplicates(const Reachability& reach, UnionFind& joined, std::vector<Edge>& edges) {
  const index_t k = reach.knn.k;
  for (index_t p = 0; p < reach.X.rows(); ++p) {
    const index_t first = reach.knn.indices[p * k];
    if (reach.core[p] == 0.0 && reach.knn.distances[p * k] == 0.0 && first < p && joined.unite(first, p)) {
      edges.push_back(make_edge(0.0, first, p));
    }
  }
}

SpanningTree sorted_tree(std::vector<Edge>& edges) {
  std::sort(edges.begin(), edges.end());
  SpanningTree tree;
  for (const Edge& edge : edges) {
    tree.u.push_back(edge.a);
    tree.v.push_back(edge.b);
    tree.weight.push_back(edge.weight);
  }
  return tree;
}

}  // namespace

MstOutcome exact_mst(const Context& ctx, const Reachability& reach) {
  UnionFind joined(reach.X.rows());
  std::vector<Edge> edges;
  edges.reserve(reach.X.rows());
  const neighbors::Index index = reach.knn.index;
  if (index == neighbors::Index::KdTree || index == neighbors::Index::Flat) join_duplicates(reach, joined, edges);
  MstOutcome outcome;
  outcome.exact_searches = boruvka(ctx, reach, joined, edges, true);
  outcome.tree = sorted_tree(edges);
  return outcome;
}

MstOutcome approximate_mst(const Context& ctx, const Reachability& reach) {
  const index_t n = reach.X.rows(), k = reach.knn.k;
  std::vector<Edge> graph;
  graph.reserve(static_cast<std::size_t>(n * k));
  for (index_t p = 0; p < n; ++p) {
    for (index_t j = 0; j < k; ++j) {
      graph.push_back(make_edge(reach.listed_weight(p, j), p, reach.knn.indices[p * k + j]));
    }
  }
  std::sort(graph.begin(), graph.end());
  UnionFind joined(n);
  std::vector<Edge> edges;
  edges.reserve(n);
  for (const Edge& edge : graph) {
    if (joined.unite(edge.a, edge.b)) edges.push_back(edge);
  }
  MstOutcome outcome;
  outcome.exact_searches = boruvka(ctx, reach, joined, edges, false);
  outcome.tree = sorted_tree(edges);
  return outcome;
}

}  // namespace shoal::hdbscan::detail
