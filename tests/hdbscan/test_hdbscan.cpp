// HDBSCAN: the spanning tree against a dense Prim's over mutual reachability, the hierarchy on
// hand-made cases, parity with the hdbscan package on the labelled suite and exact agreement
// where mutual reachability has no ties (reference/, from make_hdbscan_reference.py), bad input,
// and CUDA against CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "hdbscan/mst.hpp"
#include "hdbscan/mst_data.hpp"
#include "shoal/datasets.hpp"
#include "shoal/error.hpp"
#include "shoal/hdbscan.hpp"
#include "shoal/io.hpp"
#include "shoal/metrics.hpp"
#include "support/test_support.hpp"

namespace shoal::hdbscan {
namespace {

/// Core distances by brute force: the min_samples-th smallest distance to another point.
std::vector<double> brute_core(const Matrix<float>& X, index_t min_samples) {
  std::vector<double> core(X.rows());
  for (index_t i = 0; i < X.rows(); ++i) {
    std::vector<double> d;
    for (index_t j = 0; j < X.rows(); ++j) {
      if (j == i) continue;
      double s = 0;
      for (index_t c = 0; c < X.cols(); ++c) s += std::pow(double(X(i, c)) - X(j, c), 2);
      d.push_back(std::sqrt(s));
    }
    std::nth_element(d.begin(), d.begin() + (min_samples - 1), d.end());
    core[i] = d[min_samples - 1];
  }
  return core;
}

/// Total weight of the MST of mutual reachability by dense Prim's, O(n²).
double prim_total(const Matrix<float>& X, index_t min_samples, double alpha = 1.0) {
  const index_t n = X.rows();
  const std::vector<double> core = brute_core(X, min_samples);
  std::vector<double> best(n, std::numeric_limits<double>::infinity());
  std::vector<char> in(n, 0);
  double total = 0;
  index_t current = 0;
  for (index_t step = 1; step < n; ++step) {
    in[current] = 1;
    index_t next = -1;
    for (index_t j = 0; j < n; ++j) {
      if (in[j]) continue;
      double s = 0;
      for (index_t c = 0; c < X.cols(); ++c) s += std::pow(double(X(current, c)) - X(j, c), 2);
      best[j] = std::min(best[j], std::max({core[current], core[j], std::sqrt(s) / alpha}));
      if (next < 0 || best[j] < best[next]) next = j;
    }
    total += best[next];
    current = next;
  }
  return total;
}

struct MstCase {
  const char* why;
  datasets::BlobsParams data;
  index_t min_samples;
  neighbors::Index index;
  double alpha;
};

std::ostream& operator<<(std::ostream& out, const MstCase& c) { return out << c.why; }

class ExactMst : public ::testing::TestWithParam<MstCase> {};

TEST_P(ExactMst, TotalWeightEqualsDensePrim) {
  const MstCase& c = GetParam();
  const datasets::Blobs blobs = datasets::make_blobs(c.data);
  Params params;
  params.min_cluster_size = 5;
  params.min_samples = c.min_samples;
  params.alpha = c.alpha;
  params.knn.index = c.index;
  const Result result = fit(Context(Backend::Cpu), blobs.X, params);
  ASSERT_EQ(static_cast<index_t>(result.spanning_tree.weight.size()), blobs.X.rows() - 1);
  double total = 0;
  for (const double w : result.spanning_tree.weight) total += w;
  const double expected = prim_total(blobs.X, c.min_samples, c.alpha);
  EXPECT_NEAR(total, expected, 1e-9 * expected);
  EXPECT_TRUE(std::is_sorted(result.spanning_tree.weight.begin(), result.spanning_tree.weight.end()));

  params.approximate = true;
  const Result approximate = fit(Context(Backend::Cpu), blobs.X, params);
  double approximate_total = 0;
  for (const double w : approximate.spanning_tree.weight) approximate_total += w;
  EXPECT_GE(approximate_total, expected * (1 - 1e-12));  // a spanning tree, never lighter
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExactMst,
    ::testing::Values(
        MstCase{"kd-tree, 2-d blobs", {.n = 600, .d = 2, .centers = 4, .std = 1.0, .seed = 1}, 5, neighbors::Index::KdTree, 1.0},
        MstCase{"flat, 20-d", {.n = 400, .d = 20, .centers = 3, .std = 4.0, .seed = 2}, 3, neighbors::Index::Flat, 1.0},
        MstCase{"min_samples 1 (single linkage)", {.n = 300, .d = 3, .centers = 2, .std = 2.0, .seed = 3}, 1, neighbors::Index::KdTree, 1.0},
        MstCase{"alpha 1.5", {.n = 500, .d = 4, .centers = 5, .std = 1.5, .seed = 4}, 8, neighbors::Index::Auto, 1.5},
        MstCase{"hnsw lists: no certificates, every edge searched", {.n = 300, .d = 6, .centers = 3, .std = 1.0, .seed = 5}, 5, neighbors::Index::Hnsw, 1.0},
        MstCase{"2000 points", {.n = 2000, .d = 3, .centers = 6, .std = 0.8, .seed = 6}, 10, neighbors::Index::KdTree, 1.0}),
    [](const ::testing::TestParamInfo<MstCase>& row) { return "case" + std::to_string(row.index); });

/// The exact spanning tree of X found each way: kd-tree searches alone, sweeps of pieces in any
/// dimension, sweeps that give up on their first distance (so that every component falls back to
/// the tree), and the default options.
struct MstWays {
  detail::MstOutcome searches, sweeps, given_up, defaults;
};

MstWays mst_ways(const Matrix<float>& X, index_t min_samples, double alpha) {
  const Context ctx(Backend::Cpu);
  const index_t k = std::min(X.rows() - 1, std::max<index_t>(min_samples, 10));
  const neighbors::detail::Neighbors knn = neighbors::detail::search(ctx, X, k, {});
  const std::vector<double> core = detail::core_distances(knn, min_samples);
  const detail::Reachability reach(ctx, X, knn, knn.distances, core, alpha);
  return {detail::exact_mst(ctx, reach, {.sweep_min_dimensions = detail::kNoSweeps}),
          detail::exact_mst(ctx, reach, {.sweep_min_dimensions = 1}),
          detail::exact_mst(ctx, reach, {.sweep_min_dimensions = 1, .sweep_budget = 0}), detail::exact_mst(ctx, reach)};
}

void expect_same_tree(const SpanningTree& a, const SpanningTree& b, const char* which) {
  EXPECT_EQ(a.u, b.u) << which;
  EXPECT_EQ(a.v, b.v) << which;
  EXPECT_EQ(a.weight, b.weight) << which;
}

struct SweepCase {
  const char* why;
  std::function<Matrix<float>()> data;
  index_t min_samples;
  double alpha;
  bool prim;  // small enough for the dense oracle
};

std::ostream& operator<<(std::ostream& out, const SweepCase& c) { return out << c.why; }

class PieceSweeps : public ::testing::TestWithParam<SweepCase> {};

// The sweeps must find the very tree the searches find (the same edges, ties included), and,
// where they give up, the searches must take over without a trace.
TEST_P(PieceSweeps, FindTheTreeTheSearchesFind) {
  const SweepCase& c = GetParam();
  const Matrix<float> X = c.data();
  const MstWays ways = mst_ways(X, c.min_samples, c.alpha);
  EXPECT_EQ(ways.searches.pair_sweeps, 0);
  EXPECT_GT(ways.sweeps.pair_sweeps, 0) << "no round was left to the sweeps";
  EXPECT_GT(ways.given_up.sweeps_given_up, 0);
  expect_same_tree(ways.sweeps.tree, ways.searches.tree, "sweeps");
  expect_same_tree(ways.given_up.tree, ways.searches.tree, "sweeps given up");
  expect_same_tree(ways.defaults.tree, ways.searches.tree, "default options");
  if (X.cols() >= detail::MstOptions{}.sweep_min_dimensions) {
    EXPECT_GT(ways.defaults.pair_sweeps, 0);
  }
  if (c.prim) {
    double total = 0;
    for (const double w : ways.sweeps.tree.weight) total += w;
    const double expected = prim_total(X, c.min_samples, c.alpha);
    EXPECT_NEAR(total, expected, 1e-9 * expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PieceSweeps,
    ::testing::Values(
        SweepCase{"16-d blobs, 40 centres",
                  [] { return blobs_of({.n = 20000, .d = 16, .centers = 40, .std = 1.5, .seed = 7}); }, 10, 1.0, false},
        SweepCase{"2-d blobs", [] { return blobs_of({.n = 2000, .d = 2, .centers = 8, .std = 0.5, .seed = 8}); }, 5,
                  1.0, true},
        SweepCase{"alpha 1.5, 5-d",
                  [] { return blobs_of({.n = 2000, .d = 5, .centers = 10, .std = 1.0, .seed = 9}); }, 8, 1.5, true},
        SweepCase{"single linkage",
                  [] { return blobs_of({.n = 2000, .d = 3, .centers = 12, .std = 0.7, .seed = 10}); }, 1, 1.0, true},
        SweepCase{"concentric rings", [] { return rings({1.0, 1.5, 2.0, 3.0}, 500); }, 5, 1.0, true},
        SweepCase{"integers on a line, ties", [] { return integer_runs(20, 100); }, 4, 1.0, true},
        SweepCase{"integer blobs, ties",
                  [] { return rounded_blobs({.n = 2000, .d = 3, .centers = 10, .std = 3.0, .seed = 11}); }, 4, 1.0,
                  true}));

TEST(Hdbscan, DuplicatesJoinAsAStarFromTheirLowestIndex) {
  // 40 points, each repeated 10 times (copy r of point b is row r·40 + b): every copy's core
  // distance is 0, so copies join at weight 0 — the tree the (weight, min, max) order picks is
  // the star from the lowest index, row b.
  const datasets::Blobs base = datasets::make_blobs({.n = 40, .d = 3, .centers = 3, .std = 1.0, .seed = 9});
  Matrix<float> X(400, 3);
  for (index_t i = 0; i < 400; ++i) std::copy_n(base.X.row(i % 40), 3, X.row(i));
  for (const neighbors::Index index : {neighbors::Index::KdTree, neighbors::Index::Flat}) {
    Params params;
    params.min_cluster_size = 5;
    params.min_samples = 5;
    params.knn.index = index;
    const Result result = fit(Context(Backend::Cpu), X, params);
    double total = 0;
    index_t zero_edges = 0;
    for (std::size_t e = 0; e < result.spanning_tree.weight.size(); ++e) {
      total += result.spanning_tree.weight[e];
      if (result.spanning_tree.weight[e] != 0.0) continue;
      ++zero_edges;
      EXPECT_EQ(result.spanning_tree.u[e], result.spanning_tree.v[e] % 40) << "edge " << e;
    }
    EXPECT_EQ(zero_edges, 360);
    EXPECT_NEAR(total, prim_total(X, 5, 1.0), 1e-9 * total);
  }
}

Result fit_text(const std::vector<float>& values, index_t d, Params params) {
  const Matrix<float> X(static_cast<index_t>(values.size()) / d, d, values);
  return fit(Context(Backend::Cpu), X, params);
}

// Expected values below are the hdbscan package's (0.8.44) on the same input.
TEST(Hdbscan, IdenticalPointsAreAllNoise) {
  for (const index_t n : {20, 300}) {  // 300: more than one kd-tree leaf of equal points
    const Result result = fit_text(std::vector<float>(static_cast<std::size_t>(2 * n), 1.0f), 2, {.min_cluster_size = 5});
    for (index_t i = 0; i < n; ++i) {
      ASSERT_EQ(result.labels[i], -1) << n;
      ASSERT_EQ(result.probabilities[i], 0.0) << n;
      ASSERT_EQ(result.outlier_scores[i], 0.0) << n;
    }
    EXPECT_EQ(result.clusters, 0) << n;
  }
}

TEST(Hdbscan, OutlierScoresBelowDuplicateClustersAreOne) {
  // Two clusters of exact copies (λ = ∞) and two lone points: 1 − λ/∞ = 1, where the package's
  // formula (∞ − λ)/∞ gives NaN.
  const Result result = fit_text({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 10, 0, 10, 0, 10, 0, 10, 0, 10, 0, 5, 5, 20, 20},
                                 2, {.min_cluster_size = 3});
  for (index_t i = 0; i < 12; ++i) EXPECT_EQ(result.outlier_scores[i], 0.0) << i;
  EXPECT_EQ(result.outlier_scores[12], 1.0);
  EXPECT_EQ(result.outlier_scores[13], 1.0);
  EXPECT_EQ(result.probabilities[12], 0.0);
}

TEST(Hdbscan, DuplicateGroupsFormClustersAtInfiniteLambda) {
  const Result result = fit_text({0, 0, 0, 1, 1, 1, 5, 5, 5, 5}, 1, {.min_cluster_size = 3});
  EXPECT_EQ(result.clusters, 2);
  for (index_t i = 0; i < 6; ++i) EXPECT_EQ(result.labels[i], result.labels[0]);
  for (index_t i = 6; i < 10; ++i) EXPECT_EQ(result.labels[i], result.labels[6]);
  EXPECT_NE(result.labels[0], result.labels[6]);
  for (index_t i = 0; i < 10; ++i) {
    EXPECT_EQ(result.probabilities[i], 1.0);
    EXPECT_EQ(result.outlier_scores[i], 0.0);
  }
}

TEST(Hdbscan, TinyInputBehavesAsTheReference) {
  const Result result = fit_text({0, 1, 3}, 1, {.min_cluster_size = 2, .min_samples = 1});
  EXPECT_EQ(result.labels, (std::vector<std::int32_t>{-1, -1, -1}));
  EXPECT_DOUBLE_EQ(result.outlier_scores[2], 0.5);
}

TEST(Hdbscan, CoreDistanceCountsNeighboursNotThePoint) {
  // On a line 0, 1, 3, 6, 10 with min_samples 2: cores 3, 2, 3, 4, 7 (the second neighbour).
  const Result result = fit_text({0, 1, 3, 6, 10}, 1, {.min_cluster_size = 2, .min_samples = 2});
  std::vector<double> weights = result.spanning_tree.weight;
  EXPECT_EQ(weights, (std::vector<double>{3, 3, 4, 7}));
}

TEST(Hdbscan, SelectionOptionsBehave) {
  const datasets::Blobs blobs = datasets::make_blobs({.n = 3000, .d = 2, .centers = 6, .std = 0.3, .seed = 7});
  const Context ctx(Backend::Cpu);
  const Result eom = fit(ctx, blobs.X, {.min_cluster_size = 30});
  EXPECT_EQ(eom.clusters, 5);  // two of the six blobs overlap; the hdbscan package finds 5 too
  const Result leaf = fit(ctx, blobs.X, {.min_cluster_size = 30, .method = Selection::Leaf});
  EXPECT_GE(leaf.clusters, eom.clusters);  // leaves are at least as many as the EOM choice
  const Result merged = fit(ctx, blobs.X, {.min_cluster_size = 30, .cluster_selection_epsilon = 100.0});
  EXPECT_LE(merged.clusters, eom.clusters);
  const Result single = fit(ctx, blobs.X, {.min_cluster_size = 30, .cluster_selection_epsilon = 1e6, .allow_single_cluster = true});
  EXPECT_EQ(single.clusters, 1);
  const Result capped = fit(ctx, blobs.X, {.min_cluster_size = 30, .max_cluster_size = 400});
  std::vector<index_t> sizes(capped.clusters, 0);
  for (const std::int32_t label : capped.labels) {
    if (label >= 0) ++sizes[label];
  }
  for (const index_t size : sizes) EXPECT_LE(size, 600);  // clusters over the cap split (points may fall out)
  ASSERT_EQ(eom.persistence.size(), static_cast<std::size_t>(eom.clusters));
  for (const double p : eom.persistence) {
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
  }
}

TEST(Hdbscan, ReportsItsStages) {
  const datasets::Blobs blobs = datasets::make_blobs({.n = 1000, .d = 3, .centers = 3, .seed = 1});
  const Result result = fit(Context(Backend::Cpu), blobs.X, {.min_cluster_size = 20});
  EXPECT_EQ(result.knn_index, neighbors::Index::KdTree);
  EXPECT_EQ(result.neighbors, 20);  // max(min_samples, 10)
  EXPECT_EQ(result.backend, Backend::Cpu);
  EXPECT_GE(result.seconds.mst, 0.0);
  EXPECT_FALSE(result.condensed_tree.parent.empty());
}

TEST(Hdbscan, SameInputSameOutput) {
  const datasets::Blobs blobs = datasets::make_blobs({.n = 2000, .d = 4, .centers = 5, .std = 2.0, .seed = 9});
  Context one(Backend::Cpu), two(Backend::Cpu);
  one.set_threads(1);
  two.set_threads(2);
  const Result a = fit(one, blobs.X, {.min_cluster_size = 15}), b = fit(two, blobs.X, {.min_cluster_size = 15});
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.probabilities, b.probabilities);
  EXPECT_EQ(a.spanning_tree.u, b.spanning_tree.u);
}

// Borůvka's searches run on all threads at once, each bounded by what the others found so far,
// and its last rounds sweep the components' pieces on all threads: the tree must not depend on
// that order (only exact_searches may).
TEST(Hdbscan, SpanningTreeIndependentOfThreadsAndTiming) {
  const datasets::Blobs blobs = datasets::make_blobs({.n = 20000, .d = 8, .centers = 12, .std = 1.5, .seed = 4});
  const Params params{.min_cluster_size = 25, .min_samples = 5};
  Context one(Backend::Cpu);
  one.set_threads(1);
  const Result reference = fit(one, blobs.X, params);
  ASSERT_GT(reference.exact_searches, 0);
  ASSERT_GT(reference.pair_sweeps, 0);
  for (const int threads : {2, 4, 4}) {
    Context ctx(Backend::Cpu);
    ctx.set_threads(threads);
    const Result result = fit(ctx, blobs.X, params);
    EXPECT_EQ(result.spanning_tree.u, reference.spanning_tree.u) << threads << " threads";
    EXPECT_EQ(result.spanning_tree.v, reference.spanning_tree.v) << threads << " threads";
    EXPECT_EQ(result.spanning_tree.weight, reference.spanning_tree.weight) << threads << " threads";
    EXPECT_EQ(result.labels, reference.labels) << threads << " threads";
    EXPECT_EQ(result.outlier_scores, reference.outlier_scores) << threads << " threads";
  }
}

TEST(Hdbscan, BadInputIsRejected) {
  const Context ctx(Backend::Cpu);
  const Matrix<float> X(10, 2, std::vector<float>(20, 0.5f));
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 1}), InvalidArgument);
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 11}), InvalidArgument);
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 5, .min_samples = 10}), InvalidArgument);
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 5, .min_samples = 0}), InvalidArgument);
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 5, .cluster_selection_epsilon = -1.0}), InvalidArgument);
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 5, .alpha = 0.0}), InvalidArgument);
  EXPECT_THROW((void)fit(ctx, X, {.min_cluster_size = 5, .max_cluster_size = -1}), InvalidArgument);
  const Matrix<float> with_inf(3, 1, {1.0f, std::numeric_limits<float>::infinity(), 2.0f});
  EXPECT_THROW((void)fit(ctx, with_inf, {.min_cluster_size = 2}), InvalidArgument);
  const Matrix<float> zero_row(3, 2, {0, 0, 1, 1, 2, 2});
  EXPECT_THROW((void)fit(ctx, zero_row, {.min_cluster_size = 2, .metric = Metric::Cosine}), InvalidArgument);
  // Squared distances of such coordinates overflow float (once an internal assertion failed).
  const Matrix<float> huge(3, 1, {1e20f, -1e20f, 0.0f});
  EXPECT_THROW((void)fit(ctx, huge, {.min_cluster_size = 2}), InvalidArgument);
}

// Parity with the hdbscan package, min_cluster_size 15, on every labelled set with n ≤ 20,000.
struct Reference {
  std::vector<std::int32_t> labels;
  std::vector<double> probabilities, scores;
};

Reference read_reference(const std::filesystem::path& path) {
  const Matrix<float> table = io::read_matrix(path, {.non_finite = io::NonFinite::Keep});
  Reference r;
  for (index_t i = 0; i < table.rows(); ++i) {
    r.labels.push_back(static_cast<std::int32_t>(table(i, 0)));
    r.probabilities.push_back(table(i, 1));
    r.scores.push_back(table(i, 2));
  }
  return r;
}

std::vector<std::string> reference_sets() {
  std::vector<std::string> sets;
  std::ifstream index(std::filesystem::path(SHOAL_TEST_SOURCE_DIR) / "hdbscan" / "reference" / "index.txt");
  for (std::string line; std::getline(index, line);) {
    if (!line.empty() && line[0] != '#') sets.push_back(line);
  }
  return sets;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, MatchesTheHdbscanPackage) {
  SHOAL_SKIP_WITHOUT_BENCHMARK_DATA();
  std::istringstream line(GetParam());
  std::string set;
  int alternatives = 0;
  line >> set >> alternatives;
  const std::size_t cut = set.find('_');
  const test::LabelledData data = test::load_benchmark(set.substr(0, cut), set.substr(cut + 1));
  const Result result = fit(Context(Backend::Cpu), data.X, {.min_cluster_size = 15});

  // The package's result for the rows in their given order, or — on sets where it changes with
  // the order of the rows — the closest of its outcomes over other orders.
  const std::filesystem::path dir = std::filesystem::path(SHOAL_TEST_SOURCE_DIR) / "hdbscan" / "reference";
  Reference best = read_reference(dir / (set + ".csv.gz"));
  double best_ari = metrics::adjusted_rand_index(best.labels, result.labels);
  for (int a = 1; a <= alternatives; ++a) {
    Reference other = read_reference(dir / (set + ".alt" + std::to_string(a) + ".csv.gz"));
    const double ari = metrics::adjusted_rand_index(other.labels, result.labels);
    if (ari > best_ari) {
      best_ari = ari;
      best = std::move(other);
    }
  }
  EXPECT_GE(best_ari, 0.99);
  const auto n = static_cast<double>(result.labels.size());
  double probabilities_off = 0, scores_off = 0;
  for (std::size_t i = 0; i < result.labels.size(); ++i) {
    probabilities_off += std::abs(result.probabilities[i] - best.probabilities[i]) > 1e-4;
    scores_off += std::abs(result.outlier_scores[i] - best.scores[i]) > 1e-4;
  }
  // Points that join at a tied weight can sit on either side of a split: they alone differ.
  EXPECT_LE(probabilities_off / n, 0.02) << probabilities_off << " probabilities differ by more than 1e-4";
  EXPECT_LE(scores_off / n, 0.05) << scores_off << " GLOSH scores differ by more than 1e-4";
}

INSTANTIATE_TEST_SUITE_P(Suite, Parity, ::testing::ValuesIn(reference_sets()),
                         [](const ::testing::TestParamInfo<std::string>& row) {
                           return row.param.substr(0, row.param.find(' '));
                         });

// Where mutual reachability has no ties (min_samples = 1 on continuous data) nothing is left to
// convention: labels, probabilities and GLOSH scores equal the package's.
class TieFree : public ::testing::TestWithParam<std::string> {};

TEST_P(TieFree, EqualsTheHdbscanPackage) {
  const std::filesystem::path dir = std::filesystem::path(SHOAL_TEST_SOURCE_DIR) / "hdbscan" / "reference";
  const Matrix<float> X = io::read_matrix(dir / ("tiefree_" + GetParam() + ".npy"));
  const Reference reference = read_reference(dir / ("tiefree_" + GetParam() + ".csv.gz"));
  const Result result = fit(Context(Backend::Cpu), X, {.min_cluster_size = 15, .min_samples = 1});

  std::vector<double> weights = result.spanning_tree.weight;
  std::sort(weights.begin(), weights.end());
  ASSERT_EQ(std::adjacent_find(weights.begin(), weights.end()), weights.end()) << "the premise: no tied MST weights";
  ASSERT_EQ(result.labels.size(), reference.labels.size());
  std::map<std::int32_t, std::int32_t> ours_to_theirs, theirs_to_ours;
  for (std::size_t i = 0; i < result.labels.size(); ++i) {
    const std::int32_t ours = result.labels[i], theirs = reference.labels[i];
    ASSERT_EQ(ours < 0, theirs < 0) << "point " << i;
    EXPECT_EQ(ours_to_theirs.emplace(ours, theirs).first->second, theirs) << "point " << i;
    EXPECT_EQ(theirs_to_ours.emplace(theirs, ours).first->second, ours) << "point " << i;
    EXPECT_NEAR(result.probabilities[i], reference.probabilities[i], 1e-6) << "point " << i;
    EXPECT_NEAR(result.outlier_scores[i], reference.scores[i], 1e-6) << "point " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Synthetic, TieFree, ::testing::Values("blobs2d", "blobs5d", "moons"));

// CUDA against CPU (skipped without a device).
TEST(HdbscanCuda, AgreesWithCpu) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
  const datasets::Blobs blobs = datasets::make_blobs({.n = 20000, .d = 8, .centers = 10, .std = 1.0, .seed = 4});
  const Result cpu = fit(Context(Backend::Cpu), blobs.X, {.min_cluster_size = 25});
  const Result gpu = fit(Context(Backend::Cuda), blobs.X, {.min_cluster_size = 25});
  EXPECT_EQ(gpu.backend, Backend::Cuda);
  EXPECT_GE(metrics::adjusted_rand_index(cpu.labels, gpu.labels), 0.999);
  double cpu_total = 0, gpu_total = 0;
  for (const double w : cpu.spanning_tree.weight) cpu_total += w;
  for (const double w : gpu.spanning_tree.weight) gpu_total += w;
  EXPECT_NEAR(gpu_total, cpu_total, 1e-9 * cpu_total);
}

// The device's Borůvka rounds find the host's tree edge for edge, ties and alpha included, and
// so do its joins in the approximate mode, so the whole result is the same.
TEST(HdbscanCuda, SpanningTreeEqualsCpu) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
  const std::vector<std::pair<Matrix<float>, Params>> cases = {
      {blobs_of({.n = 30000, .d = 16, .centers = 20, .std = 1.5, .seed = 21}), {.min_cluster_size = 20}},
      {blobs_of({.n = 20000, .d = 2, .centers = 8, .std = 0.5, .seed = 22}), {.min_cluster_size = 15, .alpha = 1.5}},
      {rounded_blobs({.n = 20000, .d = 3, .centers = 10, .std = 3.0, .seed = 23}), {.min_cluster_size = 10}},
      {rings({1.0, 1.5, 2.0, 3.0}, 3000), {.min_cluster_size = 10, .min_samples = 1}},
      {blobs_of({.n = 30000, .d = 16, .centers = 20, .std = 1.5, .seed = 21}),
       {.min_cluster_size = 20, .approximate = true}},
  };
  for (const auto& [X, params] : cases) {
    const Result cpu = fit(Context(Backend::Cpu), X, params);
    const Result gpu = fit(Context(Backend::Cuda), X, params);
    ASSERT_EQ(gpu.backend, Backend::Cuda);
    expect_same_tree(gpu.spanning_tree, cpu.spanning_tree, "device rounds");
    EXPECT_EQ(gpu.labels, cpu.labels);
    EXPECT_EQ(gpu.outlier_scores, cpu.outlier_scores);
  }
}

}  // namespace
}  // namespace shoal::hdbscan
