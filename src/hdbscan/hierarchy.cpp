#include "hdbscan/hierarchy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/check.hpp"
#include "core/prefetch.hpp"

namespace shoal::hdbscan::detail {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// λ = 1 / distance, ∞ at distance 0 (duplicate points), as the hdbscan package.
double lambda_of(double distance) { return distance > 0.0 ? 1.0 / distance : kInfinity; }

/// Nodes of the single-linkage subtree under `root` in breadth-first order, left before
/// right (hdbscan's bfs_from_hierarchy).
void bfs(const std::vector<Merge>& merges, index_t n, std::int64_t root, std::vector<std::int64_t>& out) {
  out.clear();
  out.push_back(root);
  for (std::size_t at = 0; at < out.size(); ++at) {
    if (out[at] >= n) {
      const Merge& merge = merges[out[at] - n];
      out.push_back(merge.left);
      out.push_back(merge.right);
      // The children's merges lie anywhere in the tree: fetch them before their turn.
      if (merge.left >= n) __builtin_prefetch(&merges[merge.left - n]);
      if (merge.right >= n) __builtin_prefetch(&merges[merge.right - n]);
    }
  }
}

/// single_linkage with dendrogram nodes (points 0 .. n − 1, then merges) of type Node. The
/// sets of points joined so far are a union-find by size over the points, whose roots name the
/// dendrogram node their set forms: its finds stay a jump or two long, where a union-find over
/// the dendrogram's own nodes (whose shape is given) climbs chains of merges.
template <class Node>
std::vector<Merge> link(const SpanningTree& tree, index_t n) {
  struct Set {
    Node up;    // the parent point, or the set's size negated at a root
    Node node;  // at a root: the set's dendrogram node
  };
  std::vector<Set> sets(static_cast<std::size_t>(n));
  for (index_t p = 0; p < n; ++p) sets[p] = {Node{-1}, static_cast<Node>(p)};
  const auto find = [&](Node x) {
    Node root = x;
    while (sets[root].up >= 0) root = sets[root].up;
    while (sets[x].up >= 0 && sets[x].up != root) x = std::exchange(sets[x].up, root);
    return root;
  };
  std::vector<Merge> merges;
  merges.reserve(static_cast<std::size_t>(n - 1));
  auto next = static_cast<Node>(n);
  const auto edges = static_cast<index_t>(tree.u.size());
  for (index_t e = 0; e < edges; ++e) {
    // The sets of the edges' endpoints lie anywhere: fetch those of the edge 8 ahead.
    shoal::detail::prefetch_ahead<8>(sets.data(), e, edges, [&](index_t ahead) { return tree.u[ahead]; });
    shoal::detail::prefetch_ahead<8>(sets.data(), e, edges, [&](index_t ahead) { return tree.v[ahead]; });
    Node a = find(static_cast<Node>(tree.u[e])), b = find(static_cast<Node>(tree.v[e]));
    const Node size = static_cast<Node>(-(sets[a].up + sets[b].up));
    merges.push_back({sets[a].node, sets[b].node, tree.weight[e], size});
    if (sets[a].up > sets[b].up) std::swap(a, b);  // a: the larger set, which stays the root
    sets[b].up = a;
    sets[a] = {static_cast<Node>(-size), next++};
  }
  return merges;
}

}  // namespace

std::vector<Merge> single_linkage(const SpanningTree& tree, index_t n) {
  SHOAL_ASSERT(static_cast<index_t>(tree.u.size()) == n - 1, "a spanning tree of ", n, " points has ", tree.u.size(),
               " edges");
  // 32-bit nodes up to 2^30 points halve the array that every find jumps through at random.
  return n < (index_t{1} << 30) ? link<std::int32_t>(tree, n) : link<std::int64_t>(tree, n);
}

CondensedTree condense(const std::vector<Merge>& merges, index_t min_cluster_size) {
  const index_t n = static_cast<index_t>(merges.size()) + 1;
  CondensedTree tree;
  if (n < 2) return tree;
  // A row per point, and two per split, each of whose sides holds min_cluster_size points.
  const auto rows = static_cast<std::size_t>(n + 2 * (n / min_cluster_size));
  tree.parent.reserve(rows);
  tree.child.reserve(rows);
  tree.lambda.reserve(rows);
  tree.size.reserve(rows);
  std::vector<std::int64_t> subtree;
  const auto emit = [&](std::int64_t parent, std::int64_t child, double lambda, std::int64_t size) {
    tree.parent.push_back(parent);
    tree.child.push_back(child);
    tree.lambda.push_back(lambda);
    tree.size.push_back(size);
  };
  // Every point under `node` leaves the cluster at λ.
  const auto fall_out = [&](std::int64_t node, std::int64_t cluster, double lambda) {
    bfs(merges, n, node, subtree);
    for (const std::int64_t sub : subtree) {
      if (sub < n) emit(cluster, sub, lambda, 1);
    }
  };
  // The reference walks the whole tree breadth-first and skips the nodes inside subtrees that
  // fell out. The nodes it keeps are the root and the merges of at least min_cluster_size
  // points (their ancestors are as large): walked breadth-first alone, with their cluster
  // labels, they come in the same order, and the small subtrees are walked once, not twice.
  const auto size_of = [&](std::int64_t node) { return node >= n ? merges[node - n].size : std::int64_t{1}; };
  std::vector<std::pair<std::int64_t, std::int64_t>> kept{{2 * (n - 1), n}};  // (node, its cluster)
  std::int64_t next_label = n + 1;
  for (std::size_t at = 0; at < kept.size(); ++at) {
    // The merges of kept nodes lie anywhere, and the walk down one cluster's chain would wait on
    // each in turn; the queue holds the next of every chain at this depth. Fetch the merge 16
    // ahead, and the children of the one 8 ahead (its own merge has arrived by then).
    const auto queued = [&](std::size_t ahead) {
      return ahead < kept.size() ? &merges[kept[ahead].first - n] : nullptr;
    };
    if (const Merge* far = queued(at + 16)) __builtin_prefetch(far);
    if (const Merge* near = queued(at + 8)) {
      if (near->left >= n) __builtin_prefetch(&merges[near->left - n]);
      if (near->right >= n) __builtin_prefetch(&merges[near->right - n]);
    }
    const auto [node, cluster] = kept[at];
    const Merge& merge = merges[node - n];
    const double lambda = lambda_of(merge.distance);
    const std::int64_t left_count = size_of(merge.left), right_count = size_of(merge.right);
    const bool left_big = left_count >= min_cluster_size, right_big = right_count >= min_cluster_size;
    if (left_big && right_big) {
      kept.emplace_back(merge.left, next_label++);
      emit(cluster, kept.back().second, lambda, left_count);
      kept.emplace_back(merge.right, next_label++);
      emit(cluster, kept.back().second, lambda, right_count);
    } else if (!left_big && !right_big) {
      fall_out(merge.left, cluster, lambda);
      fall_out(merge.right, cluster, lambda);
    } else if (!left_big) {
      fall_out(merge.left, cluster, lambda);
      kept.emplace_back(merge.right, cluster);
    } else {
      fall_out(merge.right, cluster, lambda);
      kept.emplace_back(merge.left, cluster);
    }
  }
  return tree;
}

Flat select_clusters(const CondensedTree& tree, index_t n, const Params& params) {
  const std::int64_t root = n;
  const auto rows = static_cast<index_t>(tree.parent.size());
  const std::int64_t last = std::max(*std::max_element(tree.parent.begin(), tree.parent.end()),
                                     *std::max_element(tree.child.begin(), tree.child.end()));
  const index_t clusters = std::max<std::int64_t>(last, root) - root + 1;  // ids root .. root + clusters − 1
  const auto id = [&](std::int64_t cluster) { return static_cast<std::size_t>(cluster - root); };

  // Stability (compute_stability): Σ (λ − birth) · size over each cluster's rows, in row order.
  std::vector<double> birth(clusters, 0.0), stability(clusters, 0.0), death(clusters, 0.0);
  std::vector<std::int64_t> cluster_size(clusters, 0), parent_of(clusters, -1);
  std::vector<std::vector<std::int64_t>> children(clusters);  // cluster children in row order
  double max_lambda = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    max_lambda = std::max(max_lambda, tree.lambda[r]);
    death[id(tree.parent[r])] = std::max(death[id(tree.parent[r])], tree.lambda[r]);
    if (tree.child[r] >= root) {
      birth[id(tree.child[r])] = tree.lambda[r];
      cluster_size[id(tree.child[r])] = tree.size[r];
      parent_of[id(tree.child[r])] = tree.parent[r];
      children[id(tree.parent[r])].push_back(tree.child[r]);
    }
  }
  birth[0] = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    stability[id(tree.parent[r])] += (tree.lambda[r] - birth[id(tree.parent[r])]) * static_cast<double>(tree.size[r]);
  }
  const bool has_cluster_tree = clusters > 1;
  // The distance at which a cluster (never the root) split off its parent.
  const auto eps_of = [&](std::int64_t cluster) { return 1.0 / birth[id(cluster)]; };
  const auto descendants = [&](std::int64_t from, auto&& visit) {
    std::vector<std::int64_t> queue = {from};
    for (std::size_t at = 0; at < queue.size(); ++at) {
      if (queue[at] != from) visit(queue[at]);
      for (const std::int64_t child : children[id(queue[at])]) queue.push_back(child);
    }
  };

  // Candidates: every cluster but the root, unless a single cluster is allowed.
  std::vector<char> selected(clusters, 0);
  const std::int64_t first_candidate = params.allow_single_cluster ? root : root + 1;
  for (std::int64_t c = first_candidate; c < root + clusters; ++c) selected[id(c)] = 1;
  const index_t max_size = params.max_cluster_size > 0 ? params.max_cluster_size : n + 1;
  if (params.allow_single_cluster) {
    for (const std::int64_t child : children[0]) cluster_size[0] += cluster_size[id(child)];
  }

  // ε-search (hdbscan's _epsilon_search_fast): a cluster born below ε is replaced by its
  // nearest ancestor born above ε (the root only when a single cluster is allowed). Leaves go
  // in increasing id, the order in which the reference's Python set of small integer ids
  // usually yields them; order matters only when one leaf's walk stops below another's.
  const auto epsilon_search = [&](const std::vector<std::int64_t>& leaves) {
    const double epsilon = params.cluster_selection_epsilon;
    std::vector<char> chosen(clusters, 0), processed(clusters, 0);
    for (const std::int64_t leaf : leaves) {
      if (eps_of(leaf) >= epsilon) {
        chosen[id(leaf)] = 1;
        continue;
      }
      if (processed[id(leaf)]) continue;
      std::int64_t at = leaf;
      for (;;) {
        const std::int64_t parent = parent_of[id(at)];
        if (parent == root) {
          at = params.allow_single_cluster ? parent : at;
          break;
        }
        if (eps_of(parent) > epsilon) {
          at = parent;
          break;
        }
        at = parent;
      }
      chosen[id(at)] = 1;
      descendants(at, [&](std::int64_t sub) { processed[id(sub)] = 1; });
    }
    return chosen;
  };

  if (params.method == Selection::Eom) {
    for (std::int64_t c = root + clusters - 1; c >= first_candidate; --c) {
      // The reference sums the children's stabilities in single precision.
      float subtree = 0.0f;
      for (const std::int64_t child : children[id(c)]) subtree = static_cast<float>(subtree + stability[id(child)]);
      if (subtree > stability[id(c)] || cluster_size[id(c)] > max_size) {
        selected[id(c)] = 0;
        stability[id(c)] = subtree;
      } else {
        descendants(c, [&](std::int64_t sub) { selected[id(sub)] = 0; });
      }
    }
    if (params.cluster_selection_epsilon != 0.0 && has_cluster_tree) {
      std::vector<std::int64_t> eom;
      for (std::int64_t c = root; c < root + clusters; ++c) {
        if (selected[id(c)]) eom.push_back(c);
      }
      if (eom.size() == 1 && eom[0] == root) {
        if (!params.allow_single_cluster) selected.assign(clusters, 0);
      } else {
        selected = epsilon_search(eom);
      }
    }
  } else {
    std::vector<std::int64_t> leaves;
    if (has_cluster_tree) {
      for (std::int64_t c = root; c < root + clusters; ++c) {
        if (children[id(c)].empty()) leaves.push_back(c);
      }
    }
    // With no leaves the reference selects nothing (it marks the root, then clears it).
    selected = params.cluster_selection_epsilon != 0.0 ? epsilon_search(leaves) : std::vector<char>(clusters, 0);
    if (params.cluster_selection_epsilon == 0.0) {
      for (const std::int64_t leaf : leaves) selected[id(leaf)] = 1;
    }
  }

  // Labels: the nearest selected ancestor of the cluster a point fell out of (do_labelling).
  Flat flat;
  std::vector<std::int32_t> label_of(clusters, -1);
  for (std::int64_t c = root; c < root + clusters; ++c) {
    if (selected[id(c)]) label_of[id(c)] = static_cast<std::int32_t>(flat.clusters++);
  }
  std::vector<std::int32_t> owner(clusters, -1);  // label index of the nearest selected ancestor
  for (std::int64_t c = root; c < root + clusters; ++c) {  // parents have smaller ids
    owner[id(c)] = selected[id(c)] ? label_of[id(c)] : (c == root ? -1 : owner[id(parent_of[id(c)])]);
  }
  std::vector<std::int64_t> cluster_of_label(flat.clusters);
  for (std::int64_t c = root; c < root + clusters; ++c) {
    if (selected[id(c)]) cluster_of_label[label_of[id(c)]] = c;
  }
  const bool single_root = flat.clusters == 1 && selected[0];
  // Where each point fell out: the rows name points in no order, so they are gathered once,
  // into one array (beyond the cache every scattered write is a miss of its own), and the
  // passes below read them in point order.
  struct Fall {
    double lambda = 0.0;
    std::int64_t parent = -1;  // −1: no row (the point's values stay at their defaults)
  };
  std::vector<Fall> fell(static_cast<std::size_t>(n));
  for (index_t r = 0; r < rows; ++r) {
    if (r + 16 < rows && tree.child[r + 16] < root) __builtin_prefetch(&fell[tree.child[r + 16]], 1);
    if (tree.child[r] < root) fell[tree.child[r]] = {tree.lambda[r], tree.parent[r]};
  }
  flat.labels.assign(n, -1);
  for (index_t point = 0; point < n; ++point) {
    const auto [lambda, parent] = fell[point];
    if (parent < 0) continue;
    std::int32_t label = owner[id(parent)];
    if (label >= 0 && cluster_of_label[label] == root) {
      // The root as the single cluster keeps only points that stayed to its densest level.
      const bool kept = params.cluster_selection_epsilon != 0.0 ? lambda >= 1.0 / params.cluster_selection_epsilon
                                                                : lambda >= death[0];
      label = single_root && kept ? label : -1;
    }
    flat.labels[point] = label;
  }

  // Probabilities: λ of leaving, relative to the densest direct child of the selected cluster.
  flat.probabilities.assign(n, 0.0);
  for (index_t point = 0; point < n; ++point) {
    if (flat.labels[point] < 0) continue;
    const double densest = death[id(cluster_of_label[flat.labels[point]])], lambda = fell[point].lambda;
    flat.probabilities[point] = densest == 0.0 || !std::isfinite(lambda) ? 1.0 : std::min(lambda, densest) / densest;
  }

  // GLOSH: λ of leaving, relative to the densest point anywhere below the point's cluster. Below
  // a cluster of exact duplicates that is λ = ∞, and the score its limit, 1 (the package's
  // formula gives NaN).
  std::vector<double> deepest = death;
  for (std::int64_t c = root + clusters - 1; c > root; --c) {
    deepest[id(parent_of[id(c)])] = std::max(deepest[id(parent_of[id(c)])], deepest[id(c)]);
  }
  flat.outlier_scores.assign(n, 0.0);
  for (index_t point = 0; point < n; ++point) {
    const double densest = deepest[id(fell[point].parent < 0 ? root : fell[point].parent)], lambda = fell[point].lambda;
    double score = 0.0;
    if (densest != 0.0 && std::isfinite(lambda)) {
      score = std::isinf(densest) ? 1.0 : (densest - lambda) / densest;
    }
    flat.outlier_scores[point] = score;
  }

  // Persistence (get_stability_scores): stability / (size · max λ), 1 when undefined.
  std::vector<index_t> sizes(flat.clusters, 0);
  for (const std::int32_t label : flat.labels) {
    if (label >= 0) ++sizes[label];
  }
  flat.persistence.resize(flat.clusters);
  for (index_t label = 0; label < flat.clusters; ++label) {
    flat.persistence[label] = std::isinf(max_lambda) || max_lambda == 0.0 || sizes[label] == 0
                                  ? 1.0
                                  : stability[id(cluster_of_label[label])] / (static_cast<double>(sizes[label]) * max_lambda);
  }
  return flat;
}

}  // namespace shoal::hdbscan::detail
