#include "hdbscan/mst.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <functional>
#include <optional>
#include <tuple>
#include <span>
#include <utility>

#include "core/blas.hpp"
#include "core/check.hpp"
#include "core/parallel_sort.hpp"
#include "core/prefetch.hpp"
#include "distance/distance.hpp"
#include "neighbors/kdtree.hpp"

namespace shoal::hdbscan::detail {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr float kFloatInfinity = std::numeric_limits<float>::infinity();

/// How many points ahead the passes over the kNN lists prefetch (at 2,000,000 points: 4 and 16
/// alike, 0.32 -> 0.19 s a round).
constexpr index_t kProposalsAhead = 4;

/// A pass over the kNN lists reads values[q] of the listed points q, which lie scattered through
/// memory: this fetches those of the point kProposalsAhead after p while p's are read.
template <class T>
void prefetch_listed(const neighbors::detail::Neighbors& knn, index_t p, const T* values) {
  if (const index_t ahead = p + kProposalsAhead; ahead < knn.n) {
    for (index_t j = 0; j < knn.k; ++j) __builtin_prefetch(values + knn.indices[ahead * knn.k + j]);
  }
}

class UnionFind {
 public:
  explicit UnionFind(index_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), index_t{0}); }
  index_t find(index_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  /// Every element's root, in one pass that also compresses every path: a parent always has
  /// a smaller index than its child (see unite), so it is settled before the child.
  void roots(std::vector<index_t>& out) {
    const auto n = static_cast<index_t>(parent_.size());
    out.resize(parent_.size());
    for (index_t x = 0; x < n; ++x) {
      shoal::detail::prefetch_ahead(out.data(), x, n, [&](index_t ahead) { return parent_[ahead]; });
      const index_t up = parent_[x];
      out[x] = parent_[x] = up == x ? up : out[up];
    }
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
    const index_t n = reach_.X.rows();
    for (index_t at = 0; at < n; ++at) {
      shoal::detail::prefetch_ahead(component.data(), at, n, [&](index_t ahead) { return tree_.point_at(ahead); });
      component_at_[at] = component[tree_.point_at(at)];
    }
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
      tree_.push_children(stack, leaf, node);
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

/// ⟨x − mu, u⟩, in four independent sums (one would wait on each add).
double centred_dot(const float* x, const double* mu, const double* u, index_t d) {
  double sums[4] = {0.0, 0.0, 0.0, 0.0};
  index_t j = 0;
  for (; j + 4 <= d; j += 4) {
    for (index_t t = 0; t < 4; ++t) sums[t] += (x[j + t] - mu[j + t]) * u[j + t];
  }
  for (; j < d; ++j) sums[0] += (x[j] - mu[j]) * u[j];
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

/// Fixed groups of points, "pieces" (the components of the round that took them), and what bounds
/// the distances between two pieces: for p in P, q in Q and u the unit vector from P's centroid
/// μ_P toward Q's μ_Q at distance L, d(p, q) ≥ ⟨q − p, u⟩ = L − ⟨p − μ_P, u⟩ − ⟨q − μ_Q, −u⟩: the
/// distance between the centroids less how far p reaches toward Q and q toward P. Few points of a
/// compact cluster reach far toward another, so the lightest edge between two such pieces is
/// found by sweeping the few that do, farthest-reaching first (a bichromatic closest pair),
/// instead of every point of a cluster searching the tree for an edge out: the costly Borůvka
/// rounds are those in which whole clusters join.
class Pieces {
 public:
  /// Pieces are taken, where the options allow sweeps in X's dimension, when the components are
  /// at most this many (the pair tables hold count² entries) and at most kMaxWork / d
  /// (measuring them costs n · count · d), ...
  static constexpr index_t kMaxCount = 512;
  static constexpr index_t kMaxWork = 8192;
  /// ... hold this many points on average (sweeps pay off for clusters, not for the small
  /// components that the tree's searches join cheaply), ...
  static constexpr index_t kMinAverageSize = 256;

  /// ... and at least one point in 64 may have to search the tree (`candidates` counts them;
  /// called only when the other conditions hold): rounds with fewer are cheap.
  template <class CountCandidates>
  [[nodiscard]] static bool worth_taking(MatrixView<const float> X, const MstOptions& options, std::size_t components,
                                         CountCandidates&& candidates) {
    const auto c = static_cast<index_t>(components);
    return X.cols() >= options.sweep_min_dimensions && c <= kMaxCount && c * X.cols() <= kMaxWork &&
           c * kMinAverageSize <= X.rows() && candidates() * 64 >= X.rows();
  }

  struct Scratch {
    std::vector<double> direction;
    std::vector<std::pair<double, index_t>> from, to;  // (reach, place in members_), farthest first
  };

  /// The pieces are the groups members[starts[g] .. starts[g + 1]).
  Pieces(const Context& ctx, MatrixView<const float> X, const std::vector<double>& core,
         const std::vector<index_t>& members, const std::vector<index_t>& starts)
      : count_(static_cast<index_t>(starts.size()) - 1), d_(X.cols()), members_(members),
        // Left uninitialised: the copy below writes every entry, on every thread; zeroing them
        // first, on one, made taking the pieces 0.63 instead of 0.49 s at 2,000,000 points.
        rows_(new float[members.size() * static_cast<std::size_t>(X.cols())]), core_(new double[members.size()]),
        begin_(starts),
        centroid_(static_cast<std::size_t>(count_ * d_), 0.0), radius_(count_, 0.0),
        length_(static_cast<std::size_t>(count_ * count_)),
        reach_toward_(static_cast<std::size_t>(count_ * count_), -kInfinity) {
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (index_t at = 0; at < static_cast<index_t>(members_.size()); ++at) {
      std::copy_n(X.row(members_[at]), d_, rows_.get() + at * d_);
      core_[at] = core[members_[at]];
    }
#pragma omp parallel for schedule(dynamic) num_threads(ctx.threads())
    for (index_t g = 0; g < count_; ++g) {
      double* mu = centroid_.data() + g * d_;
      for (index_t at = begin_[g]; at < begin_[g + 1]; ++at) {
        for (index_t j = 0; j < d_; ++j) mu[j] += coordinates(at)[j];
      }
      for (index_t j = 0; j < d_; ++j) mu[j] /= static_cast<double>(size(g));
    }
    measure_reach(ctx);
  }

  [[nodiscard]] index_t count() const { return count_; }
  /// A member of piece g: all of them lie in one component.
  [[nodiscard]] index_t member(index_t g) const { return members_[begin_[g]]; }

  /// Lower bound of the distance between any point of a and any point of b.
  [[nodiscard]] double floor(index_t a, index_t b) const {
    return length_[a * count_ + b] - reach_toward_[a * count_ + b] - reach_toward_[b * count_ + a] - margin(a, b);
  }

  /// Lowers `best` to the lightest edge between pieces a and b, if lighter. Returns false, with
  /// `best` lowered only by edges it did find, when the projections leave more than a few
  /// pairs per point in doubt: the pieces are not compact enough for a sweep.
  bool sweep(index_t a, index_t b, const Reachability& reach, std::size_t budget_per_point, Edge& best,
             Scratch& scratch) const {
    const double length = length_[a * count_ + b], slack = margin(a, b);
    if (!(length > 0.0)) return false;
    auto& [u, from, to] = scratch;
    u.resize(d_);
    direction(a, b, u.data());
    const auto reaching = [&](index_t g, double sign, double other_reach,
                              std::vector<std::pair<double, index_t>>& out) {
      // Points of g that could end an edge lighter than best: reach toward the other piece
      // long enough, and a core distance below best.
      out.clear();
      const double* mu = centroid_.data() + g * d_;
      for (index_t at = begin_[g]; at < begin_[g + 1]; ++at) {
        if (core_[at] > best.weight) continue;
        const double along = sign * centred_dot(coordinates(at), mu, u.data(), d_);
        if (length - along - other_reach - slack <= best.weight * reach.alpha) out.emplace_back(along, at);
      }
      std::sort(out.begin(), out.end(), std::greater<>());
    };
    reaching(a, 1.0, reach_toward_[b * count_ + a], from);
    reaching(b, -1.0, reach_toward_[a * count_ + b], to);
    std::size_t budget = budget_per_point * static_cast<std::size_t>(size(a) + size(b));
    for (const auto& [reach_p, p] : from) {
      if (to.empty() || length - reach_p - to.front().first - slack > best.weight * reach.alpha) break;
      for (const auto& [reach_q, q] : to) {
        if (length - reach_p - reach_q - slack > best.weight * reach.alpha) break;
        if (std::max(core_[p], core_[q]) > best.weight) continue;
        if (budget-- == 0) return false;
        const double distance = std::sqrt(shoal::detail::exact_sq_distance(coordinates(p), coordinates(q), d_));
        const double weight = std::max({core_[p], core_[q], distance / reach.alpha});
        best = std::min(best, make_edge(weight, members_[p], members_[q]));
      }
    }
    return true;
  }

 private:
  [[nodiscard]] index_t size(index_t g) const { return begin_[g + 1] - begin_[g]; }
  /// The coordinates of members_[at].
  [[nodiscard]] const float* coordinates(index_t at) const { return rows_.get() + at * d_; }

  /// The unit vector from a's centroid toward b's. It is exactly the negative of b's toward a's:
  /// the difference, the norm and the quotients round alike.
  double direction(index_t a, index_t b, double* u) const {
    double sum = 0.0;
    for (index_t j = 0; j < d_; ++j) {
      u[j] = centroid_[b * d_ + j] - centroid_[a * d_ + j];
      sum += u[j] * u[j];
    }
    const double length = std::sqrt(sum);
    for (index_t j = 0; j < d_; ++j) u[j] = length > 0.0 ? u[j] / length : 0.0;
    return length;
  }

  /// The rounding of the projections is a few units in the last place of the norms involved; a
  /// billionth of them covers it many times over.
  [[nodiscard]] double margin(index_t a, index_t b) const {
    return 1e-9 * (length_[a * count_ + b] + radius_[a] + radius_[b]);
  }

  /// length_, radius_ and reach_toward_: every point's reach toward every other piece, as one
  /// float product per block of points (centred) by the piece's directions. Each reach is then
  /// raised past the product's rounding: in float, ⟨p − μ, u⟩ (inputs rounded once, d terms)
  /// is off by at most (d + 3)·2⁻²⁴·‖p − μ‖, and ‖p − μ‖ ≤ the piece's radius (in double).
  void measure_reach(const Context& ctx) {
    constexpr index_t kBlock = 256;
    std::vector<std::array<index_t, 3>> blocks;  // piece, first, last
    for (index_t g = 0; g < count_; ++g) {
      for (index_t at = begin_[g]; at < begin_[g + 1]; at += kBlock) {
        blocks.push_back({g, at, std::min(at + kBlock, begin_[g + 1])});
      }
    }
    for (index_t g = 0; g < count_; ++g) {
      std::vector<double> u(d_);
      for (index_t h = 0; h < count_; ++h) length_[g * count_ + h] = direction(g, h, u.data());
    }
#pragma omp parallel num_threads(ctx.threads())
    {
      std::vector<double> u(d_), widest(count_, 0.0);
      std::vector<float> U(static_cast<std::size_t>(count_ * d_)), block(static_cast<std::size_t>(kBlock * d_)),
          along(static_cast<std::size_t>(kBlock * count_)),
          toward(static_cast<std::size_t>(count_ * count_), -kFloatInfinity);
      index_t directions_of = -1;
#pragma omp for schedule(dynamic)
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto [g, first, last] = blocks[i];
        if (g != directions_of) {
          for (index_t h = 0; h < count_; ++h) {
            direction(g, h, u.data());
            std::copy(u.begin(), u.end(), U.begin() + h * d_);
          }
          directions_of = g;
        }
        const index_t m = last - first;
        for (index_t row = 0; row < m; ++row) {
          const float* x = coordinates(first + row);
          double sum = 0.0;
          for (index_t j = 0; j < d_; ++j) {
            const double centred = x[j] - centroid_[g * d_ + j];
            block[row * d_ + j] = static_cast<float>(centred);
            sum += centred * centred;
          }
          widest[g] = std::max(widest[g], std::sqrt(sum));
        }
        shoal::detail::gemm_abt(m, count_, d_, 1.0f, block.data(), d_, U.data(), d_, 0.0f, along.data(), count_);
        for (index_t row = 0; row < m; ++row) {
          for (index_t h = 0; h < count_; ++h) {
            toward[g * count_ + h] = std::max(toward[g * count_ + h], along[row * count_ + h]);
          }
        }
      }
#pragma omp critical
      {
        for (std::size_t i = 0; i < toward.size(); ++i) {
          reach_toward_[i] = std::max(reach_toward_[i], static_cast<double>(toward[i]));
        }
        for (index_t g = 0; g < count_; ++g) radius_[g] = std::max(radius_[g], widest[g]);
      }
    }
    const double rounding = static_cast<double>(d_ + 3) * std::ldexp(1.0, -23);  // twice the bound above
    for (index_t g = 0; g < count_; ++g) {
      for (index_t h = 0; h < count_; ++h) reach_toward_[g * count_ + h] += rounding * radius_[g];
    }
  }

  index_t count_, d_;
  std::vector<index_t> members_;       // the points, grouped by piece
  // Their coordinates and core distances in the same order: a sweep reads a piece's members
  // in turn, which rows scattered through X would make a cache miss each.
  std::unique_ptr<float[]> rows_;
  std::unique_ptr<double[]> core_;
  std::vector<index_t> begin_;         // piece g is members_[begin_[g] .. begin_[g + 1])
  std::vector<double> centroid_;       // [count × d]
  std::vector<double> radius_;         // the farthest member from the centroid
  std::vector<double> length_;         // [count × count] distances between centroids
  std::vector<double> reach_toward_;   // [a × count + b]: max over p in a of ⟨p − μ_a, u_ab⟩
};

/// Each component's lightest edge out, by sweeping pairs of pieces (one of the component's, one
/// of another's), nearest pairs first, until the next pair's floor passes the best edge found.
/// Lowers chosen[r]; clears search[r] unless component r's sweeps gave up.
void sweep_components(const Context& ctx, const Pieces& pieces, const Reachability& reach,
                      const std::vector<index_t>& owner, std::size_t budget, std::vector<Edge>& chosen,
                      std::vector<char>& search, MstOutcome& outcome) {
  const auto components = static_cast<index_t>(chosen.size());
  index_t sweeps = 0, given_up = 0;
#pragma omp parallel num_threads(ctx.threads()) reduction(+ : sweeps, given_up)
  {
    std::vector<std::tuple<double, index_t, index_t>> pairs;
    Pieces::Scratch scratch;
#pragma omp for schedule(dynamic, 8)
    for (index_t r = 0; r < components; ++r) {
      pairs.clear();
      const double reach_limit = chosen[r].weight * reach.alpha;  // pairs beyond cannot lower it
      for (index_t a = 0; a < pieces.count(); ++a) {
        if (owner[a] != r) continue;
        for (index_t b = 0; b < pieces.count(); ++b) {
          const double floor = pieces.floor(a, b);
          if (owner[b] != r && floor <= reach_limit) pairs.emplace_back(floor, a, b);
        }
      }
      std::sort(pairs.begin(), pairs.end());
      search[r] = 0;
      for (const auto& [floor, a, b] : pairs) {
        if (floor > chosen[r].weight * reach.alpha) break;
        ++sweeps;
        if (!pieces.sweep(a, b, reach, budget, chosen[r], scratch)) {
          ++given_up;
          search[r] = 1;
          break;
        }
      }
    }
  }
  outcome.pair_sweeps += sweeps;
  outcome.sweeps_given_up += given_up;
}

/// The kd-tree the kNN search built over the points, or a new one.
std::shared_ptr<const neighbors::detail::KdTree> kdtree_of(const Context& ctx, const Reachability& reach) {
  if (reach.knn.kdtree) return reach.knn.kdtree;
  return std::make_shared<const neighbors::detail::KdTree>(reach.X, ctx.threads());
}

/// Borůvka rounds from the components of `joined` (which already holds `edges`) until one
/// component remains. With `use_lists`, kNN lists propose (and may certify) edges first.
void boruvka(const Context& ctx, const Reachability& reach, const MstOptions& options, bool use_lists,
             UnionFind& joined, std::vector<Edge>& edges, MstOutcome& outcome) {
  const index_t n = reach.X.rows(), k = reach.knn.k;
  const std::shared_ptr<const neighbors::detail::KdTree> own = kdtree_of(ctx, reach);
  const neighbors::detail::KdTree& kdtree = *own;
  ReachSearch tree(kdtree, reach);
  std::vector<index_t> component(n), members(n), slot(n), starts, batch_leaf, batch_start, batch_points;
  std::vector<Edge> proposal(n);
  // Whether a point's list lies in its own component: it then proposes nothing, now or later.
  std::vector<char> list_inside(n, 0);
  std::vector<char> searching_at;  // by tree position: the point searches this round
  std::vector<double> reach_floor(n);  // lower bound on the edges of p that its proposal may not cover
  // What earlier searches learnt, still true as components grow: a point's lightest edge out of
  // its component (exact while its far end stays outside), or a lower bound on it.
  std::vector<Edge> known(n);
  std::vector<double> lower(n, 0.0);
  index_t searches = 0;
  std::optional<Pieces> pieces;
  for (;;) {
    joined.roots(component);
    // Each component's slot, in the order of its root (its smallest point, so met first), and
    // the members of each slot in index order (a counting sort over the slots, not the points).
    std::vector<index_t> roots;
    for (index_t p = 0; p < n; ++p) {
      if (component[p] == p) {
        slot[p] = static_cast<index_t>(roots.size());
        roots.push_back(p);
      }
    }
    if (roots.size() <= 1) break;
    const auto prefetch_slot = [&](index_t p) {
      shoal::detail::prefetch_ahead(slot.data(), p, n, [&](index_t ahead) { return component[ahead]; });
    };
    starts.assign(roots.size() + 1, 0);
    for (index_t p = 0; p < n; ++p) {
      prefetch_slot(p);
      ++starts[slot[component[p]] + 1];
    }
    std::partial_sum(starts.begin(), starts.end(), starts.begin());
    std::vector<index_t> next(starts.begin(), starts.end() - 1);
    for (index_t p = 0; p < n; ++p) {
      prefetch_slot(p);
      members[next[slot[component[p]]]++] = p;
    }
    tree.refresh(component);

#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (index_t p = 0; p < n; ++p) {
      if (known[p].valid() && component[known[p].a] != component[known[p].b]) {
        proposal[p] = known[p];  // the far end is still outside: still p's lightest edge out
        reach_floor[p] = kInfinity;
        continue;
      }
      // The far end joined: that edge was p's lightest out, and p's edges out only become
      // fewer, so none weighs less.
      if (known[p].valid()) lower[p] = std::max(lower[p], known[p].weight);
      known[p] = Edge{};
      Edge best;
      if (use_lists && list_inside[p] == 0) {
        prefetch_listed(reach.knn, p, component.data());
        for (index_t j = 0; j < k; ++j) {
          const index_t q = reach.knn.indices[p * k + j];
          if (component[q] == component[p]) continue;
          best = std::min(best, make_edge(reach.listed_weight(p, j), p, q));
        }
        list_inside[p] = best.valid() ? 0 : 1;
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
      for (index_t at = starts[r]; at < starts[r + 1]; ++at) chosen[r] = std::min(chosen[r], proposal[members[at]]);
    }
    // Once pieces are taken, sweeps find the components' lightest edges out; only components
    // whose sweeps gave up search the tree below.
    std::vector<char> search(roots.size(), 1);
    if (!pieces && Pieces::worth_taking(reach.X, options, roots.size(), [&] {
          index_t candidates = 0;  // points that may have to search
          for (index_t p = 0; p < n; ++p) candidates += reach_floor[p] <= chosen[slot[component[p]]].weight;
          return candidates;
        })) {
      pieces.emplace(ctx, reach.X, reach.core, members, starts);
    }
    if (pieces) {
      std::vector<index_t> owner(pieces->count());
      for (index_t g = 0; g < pieces->count(); ++g) owner[g] = slot[component[pieces->member(g)]];
      sweep_components(ctx, *pieces, reach, owner, options.sweep_budget, chosen, search, outcome);
    }
    for (std::size_t r = 0; r < roots.size(); ++r) bound[r].store(chosen[r].weight, std::memory_order_relaxed);
    std::array<std::mutex, 64> locks;  // component r's best is guarded by locks[r % 64]
    // The points that may still beat their component's best, marked by tree position in a pass
    // over the points in index order (by tree position, every floor would be read at random).
    searching_at.assign(n, 0);
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (index_t p = 0; p < n; ++p) {
      if (reach_floor[p] == kInfinity) continue;  // most points: certified, no component to look up
      const index_t r = slot[component[p]];
      if (search[r] && reach_floor[p] <= chosen[r].weight) searching_at[kdtree.position_of(p)] = 1;
    }
    // Leaves near a border first: their edges tighten the bounds that prune the others. The
    // points of a leaf that must search do so together.
    for (const bool border : {true, false}) {
      batch_leaf.clear();
      batch_start.assign(1, 0);
      batch_points.clear();
      for (const index_t leaf : tree.leaves()) {
        if (tree.near_border(leaf) != border) continue;
        const auto& node = kdtree.nodes()[leaf];
        for (index_t at = node.begin; at < node.end; ++at) {
          if (searching_at[at] != 0) batch_points.push_back(kdtree.point_at(at));
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
  outcome.exact_searches += searches;
}

/// Exact duplicates whose core distance is 0 join at weight 0, as a star from the lowest index
/// (the tree the (weight, min, max) order picks), before any search: every one of them ties
/// with every other, which no search can prune. An exact list's first entry at distance 0 is
/// the lowest-index duplicate, and weighs 0 when p's core distance is 0 (duplicates have the
/// same core distance).
void join_duplicates(const Reachability& reach, UnionFind& joined, std::vector<Edge>& edges) {
  const index_t k = reach.knn.k;
  for (index_t p = 0; p < reach.X.rows(); ++p) {
    const index_t first = reach.knn.indices[p * k];
    if (reach.core[p] == 0.0 && reach.listed_weight(p, 0) == 0.0 && first < p && joined.unite(first, p)) {
      edges.push_back(make_edge(0.0, first, p));
    }
  }
}

/// boruvka's rounds on the device, where the lists came from one and its kernels take X's
/// width; false, having done nothing, otherwise.
bool boruvka_on_device(const Context& ctx, const Reachability& reach, bool use_lists, UnionFind& joined,
                       std::vector<Edge>& edges, MstOutcome& outcome) {
#ifdef SHOAL_WITH_CUDA
  if (reach.knn.backend != Backend::Cuda) return false;
  std::vector<index_t> component;
  joined.roots(component);
  const std::optional<index_t> searches = boruvka_cuda(ctx, reach, use_lists, component, edges);
  if (!searches) return false;
  outcome.exact_searches += *searches;
  return true;
#else
  static_cast<void>(ctx), static_cast<void>(reach), static_cast<void>(use_lists), static_cast<void>(joined),
      static_cast<void>(edges), static_cast<void>(outcome);
  return false;
#endif
}

SpanningTree sorted_tree(const Context& ctx, std::vector<Edge>& edges) {
  shoal::detail::parallel_sort(edges, ctx.threads(), std::less<>());
  SpanningTree tree;
  for (const Edge& edge : edges) {
    tree.u.push_back(edge.a);
    tree.v.push_back(edge.b);
    tree.weight.push_back(edge.weight);
  }
  return tree;
}

}  // namespace

std::vector<double> core_distances(const neighbors::detail::Neighbors& knn, index_t min_samples) {
  std::vector<double> core(static_cast<std::size_t>(knn.n));
  for (index_t p = 0; p < knn.n; ++p) core[p] = knn.distances[p * knn.k + min_samples - 1];
  return core;
}

Reachability::Reachability(const Context& ctx, MatrixView<const float> points,
                           const neighbors::detail::Neighbors& lists, std::vector<double> distances,
                           const std::vector<double>& core_distances, double reach_alpha)
    : X(points), knn(lists), core(core_distances), alpha(reach_alpha), listed(std::move(distances)) {
  const index_t n = X.rows(), k = knn.k;
  SHOAL_ASSERT(static_cast<index_t>(listed.size()) == n * k, "the lists hold ", listed.size(), " distances, not ",
               n * k);
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
  for (index_t p = 0; p < n; ++p) {
    prefetch_listed(knn, p, core.data());
    for (index_t j = 0; j < k; ++j) {
      const index_t slot = p * k + j;
      listed[slot] = std::max({core[p], core[knn.indices[slot]], listed[slot] / alpha});
    }
  }
}

ChunkedPoints chunked_points(const Context& ctx, const Reachability& reach, index_t chunk) {
  const index_t n = reach.X.rows(), d = reach.X.cols(), chunks = (n + chunk - 1) / chunk;
  const std::shared_ptr<const neighbors::detail::KdTree> tree = kdtree_of(ctx, reach);
  ChunkedPoints out;
  out.order.resize(n);
  out.X.resize(static_cast<std::size_t>(n * d));
  out.core.resize(n);
  out.low.resize(static_cast<std::size_t>(chunks * d));
  out.high.resize(static_cast<std::size_t>(chunks * d));
  out.least_core.resize(chunks);
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
  for (index_t c = 0; c < chunks; ++c) {
    float* low = out.low.data() + c * d;
    float* high = out.high.data() + c * d;
    std::fill_n(low, d, std::numeric_limits<float>::infinity());
    std::fill_n(high, d, -std::numeric_limits<float>::infinity());
    out.least_core[c] = kInfinity;
    for (index_t at = c * chunk; at < std::min(n, (c + 1) * chunk); ++at) {
      const index_t p = tree->point_at(at);
      out.order[at] = static_cast<std::int32_t>(p);
      out.core[at] = reach.core[p];
      out.least_core[c] = std::min(out.least_core[c], reach.core[p]);
      const float* x = reach.X.row(p);
      std::copy_n(x, d, out.X.data() + at * d);
      for (index_t j = 0; j < d; ++j) {
        low[j] = std::min(low[j], x[j]);
        high[j] = std::max(high[j], x[j]);
      }
    }
  }
  return out;
}

MstOutcome exact_mst(const Context& ctx, const Reachability& reach, const MstOptions& options) {
  UnionFind joined(reach.X.rows());
  std::vector<Edge> edges;
  edges.reserve(reach.X.rows());
  const neighbors::Index index = reach.knn.index;
  if (index == neighbors::Index::KdTree || index == neighbors::Index::Flat) join_duplicates(reach, joined, edges);
  MstOutcome outcome;
  if (!boruvka_on_device(ctx, reach, true, joined, edges, outcome)) {
    boruvka(ctx, reach, options, true, joined, edges, outcome);
  }
  outcome.tree = sorted_tree(ctx, edges);
  return outcome;
}

MstOutcome approximate_mst(const Context& ctx, const Reachability& reach, const MstOptions& options) {
  const index_t n = reach.X.rows(), k = reach.knn.k;
  std::vector<Edge> graph;
  graph.reserve(static_cast<std::size_t>(n * k));
  for (index_t p = 0; p < n; ++p) {
    for (index_t j = 0; j < k; ++j) {
      graph.push_back(make_edge(reach.listed_weight(p, j), p, reach.knn.indices[p * k + j]));
    }
  }
  shoal::detail::parallel_sort(graph, ctx.threads(), std::less<>());
  UnionFind joined(n);
  std::vector<Edge> edges;
  edges.reserve(n);
  for (const Edge& edge : graph) {
    if (joined.unite(edge.a, edge.b)) edges.push_back(edge);
  }
  MstOutcome outcome;
  if (!boruvka_on_device(ctx, reach, false, joined, edges, outcome)) {
    boruvka(ctx, reach, options, false, joined, edges, outcome);
  }
  outcome.tree = sorted_tree(ctx, edges);
  return outcome;
}

}  // namespace shoal::hdbscan::detail
