// `shoal hdbscan`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "shoal/datasets.hpp"
#include "shoal/hdbscan.hpp"
#include "shoal/io.hpp"
#include "shoal/metrics.hpp"
#include "support/test_support.hpp"

namespace shoal {
namespace {

using test::run_shoal;

std::string quote(const std::filesystem::path& path) { return std::string("'").append(path.string()).append("'"); }

TEST(CliHdbscan, WritesEveryOutputAndAReport) {
  test::TempDir dir;
  const datasets::Blobs blobs = datasets::make_blobs({.n = 2000, .d = 3, .centers = 4, .std = 0.5, .seed = 31});
  io::write_matrix(dir / "X.npy", blobs.X);
  const test::CommandResult result =
      run_shoal("hdbscan " + quote(dir / "X.npy") + " --min-cluster-size 20 --min-samples 5 --labels " +
                quote(dir / "labels.npy") + " --probabilities " + quote(dir / "p.npy") + " --outlier-scores " +
                quote(dir / "o.npy") + " --tree " + quote(dir / "tree.csv") + " --mst " + quote(dir / "mst.csv") +
                " --report " + quote(dir / "report.json"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::int32_t> labels = io::read_labels(dir / "labels.npy");
  const hdbscan::Result direct = hdbscan::fit(Context(Backend::Cpu), blobs.X, {.min_cluster_size = 20, .min_samples = 5});
  EXPECT_EQ(labels, direct.labels);
  EXPECT_EQ(io::read_matrix(dir / "p.npy").rows(), 2000);
  EXPECT_EQ(io::read_matrix(dir / "o.npy").rows(), 2000);
  const Matrix<float> mst = io::read_matrix(dir / "mst.csv");
  EXPECT_EQ(mst.rows(), 1999);
  EXPECT_EQ(mst.cols(), 3);
  EXPECT_EQ(io::read_matrix(dir / "tree.csv").rows(), static_cast<index_t>(direct.condensed_tree.parent.size()));
  const auto report = nlohmann::json::parse(test::read_file(dir / "report.json"));
  EXPECT_EQ(report["n"], 2000);
  EXPECT_EQ(report["clusters"], direct.clusters);
  EXPECT_EQ(report["knn_index"], "kdtree");
  EXPECT_GE(report["noise_fraction"].get<double>(), 0.0);
  EXPECT_GE(report["exact_searches"].get<int>(), 0);
  EXPECT_GE(report["pair_sweeps"].get<int>(), 0);
  for (const char* stage : {"knn", "core", "mst", "condense", "select", "total"}) {
    EXPECT_GE(report["seconds"][stage].get<double>(), 0.0) << stage;
  }
}

TEST(CliHdbscan, OptionsReachTheLibrary) {
  test::TempDir dir;
  const datasets::Blobs blobs = datasets::make_blobs({.n = 1500, .d = 20, .centers = 3, .std = 1.0, .seed = 32});
  io::write_matrix(dir / "X.npy", blobs.X);
  const test::CommandResult result =
      run_shoal("hdbscan " + quote(dir / "X.npy") + " --min-cluster-size 25 --method leaf --knn-index flat --approximate "
                "--metric cosine --allow-single-cluster --epsilon 0.01 --max-cluster-size 900 --labels " +
                quote(dir / "l.txt") + " --report " + quote(dir / "r.json"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = nlohmann::json::parse(test::read_file(dir / "r.json"));
  EXPECT_EQ(report["method"], "leaf");
  EXPECT_EQ(report["knn_index"], "flat");
  EXPECT_EQ(report["metric"], "cosine");
  EXPECT_TRUE(report["approximate"].get<bool>());
  EXPECT_EQ(io::read_labels(dir / "l.txt").size(), 1500u);
}

// Arguments after "hdbscan {dir}/X.npy"
const test::BadCommand kBad[] = {
    {"min_cluster_size_missing", "--labels {dir}/l.npy", "--min-cluster-size"},
    {"min_cluster_size_one", "--min-cluster-size 1 --labels {dir}/l.npy", "min_cluster_size = 1 must be at least 2"},
    {"min_cluster_size_above_n", "--min-cluster-size 101 --labels {dir}/l.npy", "exceeds the number of points"},
    {"min_samples_too_large", "--min-cluster-size 5 --min-samples 100 --labels {dir}/l.npy", "min_samples = 100"},
    {"min_samples_zero", "--min-cluster-size 5 --min-samples 0 --labels {dir}/l.npy", "min_samples = 0"},
    {"negative_epsilon", "--min-cluster-size 5 --epsilon -1 --labels {dir}/l.npy", "cluster_selection_epsilon = -1"},
    {"zero_alpha", "--min-cluster-size 5 --alpha 0 --labels {dir}/l.npy", "alpha = 0"},
    {"bad_method", "--min-cluster-size 5 --method dbscan --labels {dir}/l.npy", "--method"},
    {"bad_index", "--min-cluster-size 5 --knn-index annoy --labels {dir}/l.npy", "--knn-index"},
    {"negative_max_cluster_size", "--min-cluster-size 5 --max-cluster-size -3 --labels {dir}/l.npy", "max_cluster_size = -3"},
};

class CliHdbscanBadInput : public ::testing::TestWithParam<test::BadCommand> {};

TEST_P(CliHdbscanBadInput, ExitsTwoWithOneLine) {
  test::TempDir dir;
  io::write_matrix(dir / "X.npy", datasets::make_blobs({.n = 100, .d = 2, .centers = 2, .seed = 3}).X);
  (void)test::expect_refused(dir, "hdbscan {dir}/X.npy ", GetParam());
  EXPECT_FALSE(std::filesystem::exists(dir / "l.npy"));
}

INSTANTIATE_TEST_SUITE_P(Table, CliHdbscanBadInput, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<test::BadCommand>& row) { return row.param.name; });

TEST(CliHdbscanBadInput, NonFiniteRowsExitTwo) {
  test::TempDir dir;
  test::write_file(dir / "X.txt", "1 2\n3 nan\n5 6\n7 8\n");
  const test::CommandResult result =
      run_shoal("hdbscan " + quote(dir / "X.txt") + " --min-cluster-size 2 --labels " + quote(dir / "l.npy"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("row 1 (0-based)"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace shoal
