// The device Borůvka rounds (kernels/hdbscan/boruvka.cuh), their own source run on the host
// (support/cuda_on_host.hpp): they must find the host's exact spanning tree edge for edge, ties
// included, and what their searches leave for later rounds must be true. This checks the kernels' logic, indexing
// and atomics on every machine, CI included; how nvcc compiles them and the device's memory
// model only a GPU can check (HdbscanCuda.SpanningTreeEqualsCpu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <vector>

#include "support/cuda_on_host.hpp"  // first: the kernel source needs it
#include "kernels/hdbscan/boruvka.cuh"

#include "hdbscan/mst.hpp"
#include "hdbscan/mst_data.hpp"
#include "distance/distance.hpp"
#include "neighbors/knn.hpp"

namespace shoal::kernels::hdbscan {
namespace {

/// Runs boruvka_rounds' kernels on the host, one block at a time, and calls `check` after each
/// kernel with that kernel.
class HostRunner {
 public:
  using Check = std::function<void(const void* kernel)>;
  explicit HostRunner(Check check) : check_(std::move(check)) {}

  template <class... Params, class... Args>
  void each(void (*kernel)(Params...), std::int64_t, const Args&... args) {
    // One block of a few threads strides over every item, its atomics contended.
    gridDim.x = 1;
    blockIdx.x = 0;
    run_block_on_host(4, [&] { kernel(args...); });
    check_(reinterpret_cast<const void*>(kernel));
  }
  template <class... Params, class... Args>
  void grid(void (*kernel)(Params...), unsigned blocks, unsigned threads, const Args&... args) {
    gridDim.x = blocks;
    for (unsigned b = 0; b < blocks; ++b) {
      blockIdx.x = b;
      run_block_on_host(threads, [&] { kernel(args...); });
    }
    check_(reinterpret_cast<const void*>(kernel));
  }
  int read(const int* counter) const { return *counter; }
  void clear(int* counter) const { *counter = 0; }

 private:
  Check check_;
};

/// Which rounds: exact_mst's (with the lists, from single points), the same without lists, or
/// approximate_mst's joins (without lists, from the components of the kNN graph's own MST).
enum class Rounds { Exact, NoLists, Joins };

struct Case {
  const char* why;
  std::function<Matrix<float>()> data;
  index_t min_samples;
  double alpha;
  index_t chunk;          // points per chunk, at most chunk_points(d): smaller ones make more boxes
  bool certified = true;  // false: the lists vouch for nothing (radius 0), so most points search
  Rounds rounds = Rounds::Exact;
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.why; }

/// X repeated `copies` times (copy r of row i is row r·n + i): exact duplicates, whose edges
/// all weigh 0 and tie.
Matrix<float> repeated(const Matrix<float>& X, index_t copies) {
  Matrix<float> out(X.rows() * copies, X.cols());
  for (index_t i = 0; i < out.rows(); ++i) std::copy_n(X.row(i % X.rows()), X.cols(), out.row(i));
  return out;
}

class BoruvkaOnHost : public ::testing::TestWithParam<Case> {};

TEST_P(BoruvkaOnHost, FindsTheHostTree) {
  const Case& c = GetParam();
  const Matrix<float> X = c.data();
  const index_t n = X.rows(), d = X.cols();
  const Context ctx(Backend::Cpu);
  const index_t k = std::min(n - 1, std::max<index_t>(c.min_samples, 10));
  neighbors::detail::Neighbors knn = neighbors::detail::search(ctx, X, k, {});
  if (!c.certified) std::fill(knn.radius.begin(), knn.radius.end(), 0.0);
  const std::vector<double> core = shoal::hdbscan::detail::core_distances(knn, c.min_samples);
  const shoal::hdbscan::detail::Reachability reach(ctx, X, knn, knn.distances, core, c.alpha);
  const shoal::hdbscan::SpanningTree expected = c.rounds == Rounds::Joins
                                                    ? shoal::hdbscan::detail::approximate_mst(ctx, reach).tree
                                                    : shoal::hdbscan::detail::exact_mst(ctx, reach).tree;

  // The device's arrays, as boruvka_cuda sets them up, in host memory.
  ASSERT_LE(c.chunk, chunk_points(static_cast<int>(d)));
  const shoal::hdbscan::detail::ChunkedPoints points = shoal::hdbscan::detail::chunked_points(ctx, reach, c.chunk);
  const auto N = static_cast<std::size_t>(n), C = static_cast<std::size_t>(points.chunks());
  std::vector<std::int32_t> component(N), component_at(N), chunk_component(C), next(N);
  std::vector<Edge> proposal(N), known(N), edges(N);
  // Every point its own component, or (joins) Kruskal on the listed edges first, as
  // approximate_mst does; those edges are the tree's too.
  for (index_t p = 0; p < n; ++p) component[p] = static_cast<std::int32_t>(p);
  const auto root = [&](std::int32_t p) {
    while (component[p] != p) p = component[p] = component[component[p]];
    return p;
  };
  std::vector<Edge> kruskal;
  if (c.rounds == Rounds::Joins) {
    std::vector<Edge> listed;
    for (index_t p = 0; p < n; ++p) {
      for (index_t j = 0; j < k; ++j) {
        listed.push_back(make_edge(reach.listed_weight(p, j), p, knn.indices[p * k + j]));
      }
    }
    std::sort(listed.begin(), listed.end());
    for (const Edge& edge : listed) {
      const std::int32_t ra = root(edge.a), rb = root(edge.b);
      if (ra == rb) continue;
      component[std::max(ra, rb)] = std::min(ra, rb);
      kruskal.push_back(edge);
    }
    for (index_t p = 0; p < n; ++p) component[p] = root(static_cast<std::int32_t>(p));
  }
  std::vector<double> floor(N), lower(N, 0.0);
  std::vector<unsigned char> searching(N), list_inside(N, 0);
  std::vector<unsigned long long> best_weight(N), best_pair(N);
  std::vector<int> counters(kCounters, 0);
  Arrays a;
  a.n = n;
  a.d = static_cast<int>(d);
  a.k = c.rounds == Rounds::Exact ? static_cast<int>(k) : 0;
  a.alpha = c.alpha;
  a.chunk = static_cast<int>(c.chunk);
  a.chunks = points.chunks();
  a.order = points.order.data();
  a.X = points.X.data();
  a.core_at = points.core.data();
  a.core = core.data();
  a.indices = knn.indices.data();
  a.listed = reach.listed.data();
  a.radius = knn.radius.data();
  a.low = points.low.data();
  a.high = points.high.data();
  a.least_core = points.least_core.data();
  a.component = component.data();
  a.component_at = component_at.data();
  a.chunk_component = chunk_component.data();
  a.next = next.data();
  a.proposal = proposal.data();
  a.floor = floor.data();
  a.searching = searching.data();
  a.known = known.data();
  a.lower = lower.data();
  a.list_inside = list_inside.data();
  a.best_weight = best_weight.data();
  a.best_pair = best_pair.data();
  a.edges = edges.data();
  a.counters = counters.data();

  // What the searches leave for later rounds must hold: a known edge is the point's lightest
  // out of its component, and `lower` is at most that edge's weight.
  const auto lightest_out = [&](index_t p) {
    Edge best;
    for (index_t q = 0; q < n; ++q) {
      if (component[q] == component[p]) continue;
      const double distance = std::sqrt(shoal::detail::exact_sq_distance(X.row(p), X.row(q), d));
      const Edge edge = make_edge(std::max({core[p], core[q], distance / c.alpha}), p, q);
      if (edge < best) best = edge;
    }
    return best;
  };
  index_t known_checked = 0;
  const auto check = [&](const void* kernel) {
    if (kernel != reinterpret_cast<const void*>(search_kernel)) return;
    for (index_t p = 0; p < n; ++p) {
      const Edge exact = lightest_out(p);
      ASSERT_LE(lower[p], exact.weight) << "point " << p;
      if (known[p].a < 0) continue;
      ++known_checked;
      ASSERT_EQ(std::tie(known[p].weight, known[p].a, known[p].b), std::tie(exact.weight, exact.a, exact.b))
          << "point " << p << " knows an edge that is not its lightest out";
    }
  };
  HostRunner run(check);
  const auto components = n - static_cast<index_t>(kruskal.size());
  ASSERT_GT(components, 1) << "the premise: Kruskal on the lists leaves components to join";
  const RoundsOutcome outcome = boruvka_rounds(run, a, components);
  ASSERT_EQ(outcome.edges, components - 1);
  EXPECT_GT(outcome.searches, 0) << "no round searched";
  EXPECT_GT(known_checked, 0);
  edges.resize(static_cast<std::size_t>(outcome.edges));
  edges.insert(edges.end(), kruskal.begin(), kruskal.end());
  std::sort(edges.begin(), edges.end());
  ASSERT_EQ(expected.weight.size(), edges.size());
  for (std::size_t e = 0; e < edges.size(); ++e) {
    ASSERT_EQ(edges[e].a, expected.u[e]) << "edge " << e;
    ASSERT_EQ(edges[e].b, expected.v[e]) << "edge " << e;
    ASSERT_EQ(edges[e].weight, expected.weight[e]) << "edge " << e;  // the same bits
  }
  // Every point's component is the one root.
  EXPECT_TRUE(std::all_of(component.begin(), component.end(), [&](std::int32_t r) { return r == component[0]; }));
}

using shoal::hdbscan::blobs_of;
INSTANTIATE_TEST_SUITE_P(
    Cases, BoruvkaOnHost,
    ::testing::Values(
        Case{"2-d blobs, chunks of 256",
             [] { return blobs_of({.n = 1500, .d = 2, .centers = 8, .std = 0.5, .seed = 8}); }, 5, 1.0, 256},
        Case{"16-d blobs", [] { return blobs_of({.n = 1200, .d = 16, .centers = 6, .std = 1.5, .seed = 7}); }, 10, 1.0,
             32},
        Case{"alpha 1.5, 5-d", [] { return blobs_of({.n = 1000, .d = 5, .centers = 10, .std = 1.0, .seed = 9}); }, 8,
             1.5, 16},
        Case{"single linkage", [] { return blobs_of({.n = 1000, .d = 3, .centers = 12, .std = 0.7, .seed = 10}); }, 1,
             1.0, 32},
        Case{"concentric rings", [] { return shoal::hdbscan::rings({1.0, 1.5, 2.0, 3.0}, 300); }, 5, 1.0, 32},
        Case{"integers on a line, ties", [] { return shoal::hdbscan::integer_runs(10, 100); }, 4, 1.0, 16},
        Case{"integer blobs, ties",
             [] { return shoal::hdbscan::rounded_blobs({.n = 1000, .d = 3, .centers = 10, .std = 3.0, .seed = 11}); },
             4, 1.0, 32},
        Case{"duplicates, 20 of each point",
             [] { return repeated(blobs_of({.n = 50, .d = 3, .centers = 3, .std = 1.0, .seed = 12}), 20); }, 5, 1.0,
             32},
        Case{"37-d: chunks of 110 (a full stage) and a ragged last partial sum",
             [] { return blobs_of({.n = 600, .d = 37, .centers = 4, .std = 2.0, .seed = 13}); }, 5, 1.0, 110},
        Case{"uncertified lists, 4-d",
             [] { return blobs_of({.n = 800, .d = 4, .centers = 8, .std = 1.0, .seed = 14}); }, 3, 1.0, 32, false},
        Case{"uncertified lists, integer blobs",
             [] { return shoal::hdbscan::rounded_blobs({.n = 800, .d = 2, .centers = 6, .std = 4.0, .seed = 15}); }, 2,
             1.0, 16, false},
        Case{"no lists, alpha 1.3",
             [] { return blobs_of({.n = 700, .d = 6, .centers = 5, .std = 1.0, .seed = 16}); }, 4, 1.3, 32, true,
             Rounds::NoLists},
        Case{"the approximate mode's joins, from the kNN graph's components",
             [] { return blobs_of({.n = 1500, .d = 8, .centers = 12, .std = 1.0, .seed = 17}); }, 5, 1.0, 32, true,
             Rounds::Joins},
        Case{"joins of integers on a line, ties", [] { return shoal::hdbscan::integer_runs(8, 100); }, 4, 1.0, 16,
             true, Rounds::Joins},
        Case{"two points", [] { return Matrix<float>(2, 3, {0.0f, 1.0f, 2.0f, 3.0f, 5.0f, 8.0f}); }, 1, 1.0, 256, false,
             Rounds::NoLists},
        Case{"five points, one chunk", [] { return Matrix<float>(5, 1, {0.0f, 1.0f, 3.0f, 7.0f, 15.0f}); }, 2, 1.0, 256,
             false}),
    [](const ::testing::TestParamInfo<Case>& row) { return "case" + std::to_string(row.index); });

}  // namespace
}  // namespace shoal::kernels::hdbscan
