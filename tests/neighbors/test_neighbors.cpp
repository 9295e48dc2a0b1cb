// kNN graphs against brute force, for every index.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "distance/distance.hpp"
#include "neighbors/kdtree.hpp"
#include "neighbors/knn.hpp"
#include "shoal/datasets.hpp"
#include "shoal/error.hpp"
#include "shoal/neighbors.hpp"
#include "support/test_support.hpp"

namespace shoal::neighbors {
namespace {

/// Exact neighbours by brute force in double: sorted by (distance, index), self excluded.
std::vector<std::vector<std::pair<double, std::int32_t>>> brute(const Matrix<float>& X, index_t k) {
  std::vector<std::vector<std::pair<double, std::int32_t>>> out(X.rows());
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.rows(); ++j) {
      if (j != i) out[i].emplace_back(std::sqrt(shoal::detail::exact_sq_distance(X.row(i), X.row(j), X.cols())), static_cast<std::int32_t>(j));
    }
    std::sort(out[i].begin(), out[i].end());
    out[i].resize(k);
  }
  return out;
}

struct Case {
  const char* why;
  datasets::BlobsParams data;
  index_t k;
  Index index;
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.why; }

class ExactKnn : public ::testing::TestWithParam<Case> {};

TEST_P(ExactKnn, EqualsBruteForce) {
  const Case& c = GetParam();
  const datasets::Blobs blobs = datasets::make_blobs(c.data);
  const KnnGraph graph = knn_graph(Context(Backend::Cpu), blobs.X, c.k, Metric::L2, {.index = c.index});
  const auto expected = brute(blobs.X, c.k);
  for (index_t i = 0; i < blobs.X.rows(); ++i) {
    for (index_t j = 0; j < c.k; ++j) {
      ASSERT_EQ(graph.indices(i, j), expected[i][j].second) << "point " << i << ", neighbour " << j;
      ASSERT_FLOAT_EQ(graph.distances(i, j), static_cast<float>(expected[i][j].first));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ExactKnn,
                         ::testing::Values(Case{"kd-tree 2-d", {.n = 500, .d = 2, .centers = 3, .seed = 1}, 10, Index::KdTree},
                                           Case{"kd-tree 12-d", {.n = 400, .d = 12, .centers = 4, .seed = 2}, 7, Index::KdTree},
                                           Case{"flat 40-d", {.n = 300, .d = 40, .centers = 3, .std = 3.0, .seed = 3}, 12, Index::Flat},
                                           Case{"k = n - 1", {.n = 30, .d = 3, .centers = 2, .seed = 4}, 29, Index::Auto},
                                           // Far from the origin the expanded form ‖x‖² + ‖y‖² − 2x·y
                                           // that FAISS ranks by loses the distances to rounding.
                                           Case{"flat far from the origin",
                                                {.n = 400, .d = 20, .centers = 4, .std = 2.0, .center_low = 1e5,
                                                 .center_high = 1e5 + 40, .seed = 8},
                                                10,
                                                Index::Flat}),
                         [](const ::testing::TestParamInfo<Case>& row) { return "case" + std::to_string(row.index); });

TEST(Knn, DuplicatesAreNeighboursAtZero) {
  const Matrix<float> X(4, 1, {2, 2, 2, 5});
  const KnnGraph graph = knn_graph(Context(Backend::Cpu), X, 2);
  EXPECT_EQ(graph.indices(0, 0), 1);
  EXPECT_EQ(graph.indices(0, 1), 2);
  EXPECT_EQ(graph.distances(0, 1), 0.0f);
  EXPECT_EQ(graph.indices(3, 0), 0);  // a tie among 0, 1, 2 goes to the lowest index
}

TEST(Knn, ManyIdenticalPointsKeepLeavesSmall) {
  // Once, more than a leaf's worth of equal points made one oversized kd-tree leaf.
  Matrix<float> X(300, 3);
  for (index_t i = 0; i < 300; ++i) {
    for (index_t j = 0; j < 3; ++j) X(i, j) = i < 290 ? 1.0f : static_cast<float>(i + j);
  }
  const auto expected = brute(X, 4);
  for (const Index index : {Index::KdTree, Index::Flat}) {  // each point has 289 tied neighbours
    const KnnGraph graph = knn_graph(Context(Backend::Cpu), X, 4, Metric::L2, {.index = index});
    for (index_t i = 0; i < X.rows(); ++i) {
      for (index_t j = 0; j < 4; ++j) ASSERT_EQ(graph.indices(i, j), expected[i][j].second) << i << ", " << j;
    }
  }
}

TEST(Knn, RowsDifferingOnlyInTheSignOfZeroAreDuplicates) {
  // −0 equals +0, so these rows are one run of duplicates whatever their zeros' signs.
  Matrix<float> X(300, 3);
  for (index_t i = 0; i < 300; ++i) {
    X(i, 0) = i % 3 == 0 ? -0.0f : 0.0f;
    X(i, 1) = i % 2 == 0 ? -0.0f : 0.0f;
    X(i, 2) = i < 280 ? 1.0f : static_cast<float>(i);
  }
  const auto expected = brute(X, 5);
  for (const Index index : {Index::KdTree, Index::Flat}) {
    const KnnGraph graph = knn_graph(Context(Backend::Cpu), X, 5, Metric::L2, {.index = index});
    for (index_t i = 0; i < X.rows(); ++i) {
      for (index_t j = 0; j < 5; ++j) ASSERT_EQ(graph.indices(i, j), expected[i][j].second) << i << ", " << j;
    }
  }
}

TEST(KdTree, SplitsBetweenBlobsNotThroughThem) {
  // 3,000 points near the origin and 1,000 near x = 100: the median split would cut the large
  // blob; the split at the empty stretch between them puts each blob in one subtree.
  std::mt19937 random(3);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  Matrix<float> X(4000, 4);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols(); ++j) X(i, j) = unit(random) + (j == 0 && i >= 3000 ? 100.0f : 0.0f);
  }
  const detail::KdTree tree(X);
  const auto& left = tree.nodes()[static_cast<std::size_t>(tree.nodes()[0].left)];
  ASSERT_EQ(left.end - left.begin, 3000);
  for (index_t at = left.begin; at < left.end; ++at) ASSERT_LT(tree.point_at(at), 3000) << at;
}

TEST(KdTree, AsFewLeavesAsTheirSizeAllowsEvenlyFilled) {
  // Without gaps every split is at the order statistic that leaves ⌈m / 64⌉ leaves below.
  std::mt19937 random(5);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  Matrix<float> X(10000, 3);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols(); ++j) X(i, j) = unit(random);
  }
  const detail::KdTree tree(X);
  index_t leaves = 0;
  for (const auto& node : tree.nodes()) {
    if (node.left >= 0) continue;
    ++leaves;
    ASSERT_GE(node.end - node.begin, 10000 / 157) << "leaf " << leaves;
    ASSERT_LE(node.end - node.begin, detail::KdTree::kLeafSize) << "leaf " << leaves;
  }
  ASSERT_EQ(leaves, 157);
}

TEST(KdTree, SameTreeOnAnyNumberOfThreads) {
  // Large enough for the build to split into tasks, whose subtrees are appended in order.
  const datasets::Blobs blobs = datasets::make_blobs({.n = 150000, .d = 5, .centers = 6, .std = 2.0, .seed = 8});
  const detail::KdTree one(blobs.X, 1), four(blobs.X, 4);
  ASSERT_EQ(one.nodes().size(), four.nodes().size());
  const std::vector<float> far(5, 100.0f);  // outside every box: its distance to a box depends on all of it
  for (std::size_t i = 0; i < one.nodes().size(); ++i) {
    const auto &a = one.nodes()[i], &b = four.nodes()[i];
    ASSERT_TRUE(a.begin == b.begin && a.end == b.end && a.left == b.left && a.right == b.right) << "node " << i;
    const auto node = static_cast<index_t>(i);
    ASSERT_EQ(one.box_sq_distance(far.data(), node), four.box_sq_distance(far.data(), node)) << "node " << i;
  }
  for (index_t at = 0; at < blobs.X.rows(); ++at) ASSERT_EQ(one.point_at(at), four.point_at(at)) << at;
}

TEST(Knn, RadiusBoundsEveryUnlistedPoint) {
  const datasets::Blobs blobs = datasets::make_blobs({.n = 400, .d = 20, .centers = 4, .std = 2.0, .seed = 5});
  for (const Index index : {Index::KdTree, Index::Flat}) {
    const detail::Neighbors found = detail::search(Context(Backend::Cpu), blobs.X, 6, {.index = index});
    for (index_t i = 0; i < blobs.X.rows(); ++i) {
      for (index_t j = 0; j < blobs.X.rows(); ++j) {
        const bool listed = j == i || std::find(found.indices.begin() + i * 6, found.indices.begin() + (i + 1) * 6, j) !=
                                          found.indices.begin() + (i + 1) * 6;
        if (!listed) {
          ASSERT_GE(std::sqrt(shoal::detail::exact_sq_distance(blobs.X.row(i), blobs.X.row(j), 20)), found.radius[i]);
        }
      }
      ASSERT_GE(found.radius[i], found.distances[i * 6 + 5] * (1 - 1e-3)) << "a useful radius";
    }
  }
}

TEST(Knn, ApproximateIndexesFindMostNeighbours) {
  const datasets::Blobs blobs = datasets::make_blobs({.n = 3000, .d = 16, .centers = 10, .std = 1.0, .seed = 6});
  const auto expected = brute(blobs.X, 10);
  for (const Index index : {Index::Hnsw, Index::Ivf}) {
    const KnnGraph graph = knn_graph(Context(Backend::Cpu), blobs.X, 10, Metric::L2, {.index = index});
    EXPECT_EQ(graph.index, index);
    index_t hits = 0;
    for (index_t i = 0; i < blobs.X.rows(); ++i) {
      for (index_t j = 0; j < 10; ++j) {
        for (index_t e = 0; e < 10; ++e) hits += graph.indices(i, j) == expected[i][e].second;
      }
    }
    EXPECT_GT(static_cast<double>(hits) / (3000.0 * 10), 0.9) << to_string(index);
  }
}

TEST(Knn, CosineUsesUnitRows) {
  const Matrix<float> X(3, 2, {1, 0, 10, 1, 0, 5});
  const KnnGraph graph = knn_graph(Context(Backend::Cpu), X, 1, Metric::Cosine);
  EXPECT_EQ(graph.indices(0, 0), 1);  // (1, 0) and (10, 1) point almost the same way
  EXPECT_EQ(graph.indices(2, 0), 1);
}

TEST(Knn, BadInputIsRejected) {
  const Matrix<float> X(5, 2);
  EXPECT_THROW((void)knn_graph(Context(Backend::Cpu), X, 0), InvalidArgument);
  EXPECT_THROW((void)knn_graph(Context(Backend::Cpu), X, 5), InvalidArgument);
  EXPECT_THROW((void)parse_index("annoy"), InvalidArgument);
}

TEST(KnnCuda, EqualsBruteForceInEveryWidth) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
  // The fused kernel up to 64 dimensions (its 16, 32 and 64 wide forms), the tiled path above;
  // and fewer points than the lists hold.
  struct Shape {
    index_t n, d, k;
  };
  for (const Shape shape : {Shape{700, 3, 10}, Shape{700, 16, 10}, Shape{700, 24, 10}, Shape{700, 48, 10},
                            Shape{700, 100, 10}, Shape{6, 5, 4}}) {
    const datasets::Blobs blobs =
        datasets::make_blobs({.n = shape.n, .d = shape.d, .centers = 4, .std = 2.0, .seed = 11});
    const KnnGraph graph = knn_graph(Context(Backend::Cuda), blobs.X, shape.k);
    const auto expected = brute(blobs.X, shape.k);
    for (index_t i = 0; i < shape.n; ++i) {
      for (index_t j = 0; j < shape.k; ++j) {
        ASSERT_EQ(graph.indices(i, j), expected[i][j].second) << "d = " << shape.d << ", point " << i << ", neighbour " << j;
      }
    }
  }
}

TEST(KnnCuda, AgreesWithCpu) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
  const datasets::Blobs blobs = datasets::make_blobs({.n = 20000, .d = 24, .centers = 10, .std = 2.0, .seed = 7});
  const KnnGraph cpu = knn_graph(Context(Backend::Cpu), blobs.X, 15, Metric::L2, {.index = Index::Flat});
  const KnnGraph gpu = knn_graph(Context(Backend::Cuda), blobs.X, 15);
  index_t same = 0;
  for (index_t i = 0; i < cpu.indices.rows() * 15; ++i) same += cpu.indices.data()[i] == gpu.indices.data()[i];
  EXPECT_GT(static_cast<double>(same) / (20000.0 * 15), 0.999);
}

}  // namespace
}  // namespace shoal::neighbors
