// `shoal kmeans` and `shoal demo`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "shoal/datasets.hpp"
#include "shoal/io.hpp"
#include "shoal/kmeans.hpp"
#include "shoal/metrics.hpp"
#include "support/test_support.hpp"

namespace shoal {
namespace {

using test::run_shoal;

std::string quote(const std::filesystem::path& path) { return std::string("'").append(path.string()).append("'"); }

class CliKMeans : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs_ = datasets::make_blobs({.n = 3000, .d = 5, .centers = 4, .std = 1.0, .seed = 21});
    io::write_matrix(dir_ / "X.npy", blobs_.X);
    io::write_labels(dir_ / "truth.npy", std::span<const std::int32_t>(blobs_.labels));
  }
  test::TempDir dir_;
  datasets::Blobs blobs_;
};

TEST_F(CliKMeans, WritesLabelsCentroidsAndReport) {
  const test::CommandResult result =
      run_shoal("kmeans " + quote(dir_ / "X.npy") + " --k 4 --seed 3 --labels " + quote(dir_ / "labels.npy") +
                " --centroids " + quote(dir_ / "C.csv") + " --report " + quote(dir_ / "report.json"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::int32_t> labels = io::read_labels(dir_ / "labels.npy");
  EXPECT_GT(metrics::adjusted_rand_index(blobs_.labels, labels), 0.99);
  const Matrix<float> centroids = io::read_matrix(dir_ / "C.csv");
  EXPECT_EQ(centroids.rows(), 4);
  EXPECT_EQ(centroids.cols(), 5);
  const auto report = nlohmann::json::parse(test::read_file(dir_ / "report.json"));
  EXPECT_EQ(report["n"], 3000);
  EXPECT_EQ(report["d"], 5);
  EXPECT_EQ(report["k"], 4);
  EXPECT_EQ(report["backend"], "cpu");
  EXPECT_TRUE(report["converged"].get<bool>());
  EXPECT_GT(report["n_iter"].get<int>(), 0);
  EXPECT_NEAR(report["inertia"].get<double>(), metrics::inertia(blobs_.X, labels, centroids), 1e-3);
  for (const char* phase : {"load", "setup", "init", "iterations", "write", "total"}) {
    EXPECT_GE(report["seconds"][phase].get<double>(), 0.0) << phase;
  }
  EXPECT_EQ(report["iterations"].size(), report["n_iter"].get<std::size_t>());
}

TEST_F(CliKMeans, GivenInitRunsExactlyTheLloydIterations) {
  const Matrix<float> initial(4, 5, std::vector<float>(blobs_.X.values().begin(), blobs_.X.values().begin() + 20));
  io::write_matrix(dir_ / "init.npy", initial);
  for (const int iterations : {1, 3}) {
    const test::CommandResult result =
        run_shoal("kmeans " + quote(dir_ / "X.npy") + " --k 4 --init " + quote(dir_ / "init.npy") +
                  " --n-init 1 --tol 0 --max-iter " + std::to_string(iterations) + " --labels " +
                  quote(dir_ / "labels.npy") + " --report " + quote(dir_ / "report.json"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    kmeans::Params params;
    params.k = 4;
    params.init = kmeans::Init::Given;
    params.initial_centroids = initial;
    params.max_iter = iterations;
    params.tol = 0.0;
    const kmeans::Result expected = kmeans::fit(Context(Backend::Cpu), blobs_.X, params);
    EXPECT_EQ(io::read_labels(dir_ / "labels.npy"), expected.labels);
    const auto report = nlohmann::json::parse(test::read_file(dir_ / "report.json"));
    EXPECT_EQ(report["n_iter"], expected.n_iter);
    EXPECT_EQ(report["init"], "given");
  }
}

TEST_F(CliKMeans, WeightsAndCosineAreAccepted) {
  io::write_matrix(dir_ / "w.npy", Matrix<float>(3000, 1, std::vector<float>(3000, 2.0f)));
  const test::CommandResult result = run_shoal("kmeans " + quote(dir_ / "X.npy") + " --k 4 --metric cosine --weights " +
                                               quote(dir_ / "w.npy") + " --labels " + quote(dir_ / "l.txt"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(io::read_labels(dir_ / "l.txt").size(), 3000u);
}

TEST(CliDemo, PrintsASummaryWithAri) {
  const test::CommandResult result = run_shoal("demo --quiet");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("ARI"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("iterations"), std::string::npos) << result.out;
}

// Arguments after "kmeans {dir}/X.npy"; {dir} is the scratch directory
const test::BadCommand kBad[] = {
    {"k_zero", "--k 0 --labels {dir}/l.npy", "k = 0 must be at least 1"},
    {"k_above_n", "--k 4000 --labels {dir}/l.npy", "exceeds the number of points"},
    {"k_missing", "--labels {dir}/l.npy", "--k"},
    {"labels_missing", "--k 3", "--labels"},
    {"max_iter_zero", "--k 3 --max-iter 0 --labels {dir}/l.npy", "max_iter = 0"},
    {"negative_tol", "--k 3 --tol -1 --labels {dir}/l.npy", "tol = -1"},
    {"n_init_zero", "--k 3 --n-init 0 --labels {dir}/l.npy", "n_init = 0"},
    {"unknown_init", "--k 3 --init kmeans+ --labels {dir}/l.npy", "--init 'kmeans+'"},
    {"init_wrong_shape", "--k 3 --init {dir}/init_2x5.npy --labels {dir}/l.npy", "initial centroids are 2 x 5"},
    {"init_non_finite", "--k 2 --init {dir}/init_nan.csv --labels {dir}/l.npy", "non-finite"},
    {"bad_metric", "--k 3 --metric manhattan --labels {dir}/l.npy", "--metric"},
    {"weights_all_zero", "--k 3 --weights {dir}/w_zero.npy --labels {dir}/l.npy", "all sample weights are zero"},
    {"weights_negative", "--k 3 --weights {dir}/w_negative.npy --labels {dir}/l.npy", "sample weight 0 is -1"},
    {"weights_wrong_length", "--k 3 --weights {dir}/w_short.npy --labels {dir}/l.npy", "expected one per point"},
    {"labels_bad_extension", "--k 3 --labels {dir}/l.bin", "unsupported extension"},
    {"bad_device", "--k 3 --device tpu --labels {dir}/l.npy", "--device"},
};

class CliKMeansBadInput : public ::testing::TestWithParam<test::BadCommand> {};

TEST_P(CliKMeansBadInput, ExitsTwoWithOneLine) {
  test::TempDir dir;
  const datasets::Blobs blobs = datasets::make_blobs({.n = 100, .d = 5, .centers = 3, .seed = 2});
  io::write_matrix(dir / "X.npy", blobs.X);
  io::write_matrix(dir / "init_2x5.npy", Matrix<float>(2, 5));
  test::write_file(dir / "init_nan.csv", "1,2,3,4,5\nnan,1,1,1,1\n");
  io::write_matrix(dir / "w_zero.npy", Matrix<float>(100, 1));
  Matrix<float> negative(100, 1, std::vector<float>(100, 1.0f));
  negative(0, 0) = -1.0f;
  io::write_matrix(dir / "w_negative.npy", negative);
  io::write_matrix(dir / "w_short.npy", Matrix<float>(99, 1, std::vector<float>(99, 1.0f)));
  (void)test::expect_refused(dir, "kmeans {dir}/X.npy ", GetParam());
  EXPECT_FALSE(std::filesystem::exists(dir / "l.npy"));
}

INSTANTIATE_TEST_SUITE_P(Table, CliKMeansBadInput, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<test::BadCommand>& row) { return row.param.name; });

TEST(CliKMeansBadInput, NonFiniteRowsExitTwo) {
  test::TempDir dir;
  test::write_file(dir / "X.csv", "1,2\n3,4\ninf,5\n6,7\n");
  const test::CommandResult result = run_shoal("kmeans " + quote(dir / "X.csv") + " --k 2 --labels " + quote(dir / "l.npy"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("row 2 (0-based)"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace shoal
