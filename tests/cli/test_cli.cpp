// The `shoal` command: its outputs, its round trips, and its exit codes for bad arguments.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "shoal/io.hpp"
#include "shoal/system.hpp"
#include "support/test_support.hpp"

namespace shoal {
namespace {

using test::run_shoal;

std::string quote(const std::filesystem::path& path) { return std::string("'").append(path.string()).append("'"); }

TEST(Cli, VersionAndInfo) {
  const test::CommandResult v = run_shoal("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, "shoal " + version() + "\n");
  const test::CommandResult info = run_shoal("info");
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("CUDA backend"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("CPU kernels: "), std::string::npos) << info.out;
  EXPECT_TRUE(info.out.find("devices: ") != std::string::npos || info.out.find("device 0: ") != std::string::npos)
      << info.out;
}

TEST(Cli, HelpExitsZero) {
  const test::CommandResult help = run_shoal("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("generate"), std::string::npos);
}

TEST(Cli, GenerateDescribeEvaluateRoundTrip) {
  test::TempDir dir;
  const auto X = dir / "X.npy", y = dir / "y.npy";
  const test::CommandResult generate =
      run_shoal("generate blobs --n 600 --d 3 --centers 4 --std 0.5 --seed 7 -o " + quote(X) + " --labels " + quote(y));
  ASSERT_EQ(generate.exit_code, 0) << generate.err;

  const test::CommandResult describe = run_shoal("describe " + quote(X));
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_NE(describe.out.find("shape       600 x 3"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("npy, float32"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("non-finite  0 values"), std::string::npos) << describe.out;

  const test::CommandResult evaluate =
      run_shoal("evaluate --labels " + quote(y) + " --truth " + quote(y) + " --data " + quote(X));
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.err;
  const auto scores = nlohmann::json::parse(evaluate.out);
  EXPECT_EQ(scores["n"], 600);
  EXPECT_DOUBLE_EQ(scores["ari"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(scores["nmi"].get<double>(), 1.0);
  EXPECT_GT(scores["silhouette"].get<double>(), 0.5);
  EXPECT_GT(scores["calinski_harabasz"].get<double>(), 100.0);
  EXPECT_LT(scores["davies_bouldin"].get<double>(), 1.0);
}

TEST(Cli, GenerateIsReproducibleInEveryFormat) {
  test::TempDir dir;
  for (const char* name : {"a.npy", "b.npy", "c.csv"}) {
    ASSERT_EQ(run_shoal("generate blobs --n 50 --seed 3 -o " + quote(dir / name)).exit_code, 0);
  }
  EXPECT_EQ(test::read_file(dir / "a.npy"), test::read_file(dir / "b.npy"));
  EXPECT_EQ(io::read_matrix(dir / "a.npy").values(), io::read_matrix(dir / "c.csv").values());
}

TEST(Cli, DescribeCountsNonFiniteValues) {
  test::TempDir dir;
  test::write_file(dir / "n.csv", "a,b\n1,nan\n3,4\ninf,2\n");
  const test::CommandResult describe = run_shoal("describe " + quote(dir / "n.csv"));
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_NE(describe.out.find("non-finite  2 values"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("header      yes"), std::string::npos) << describe.out;
}

TEST(Cli, EvaluateMatchesScikitLearnOnNumpyFiles) {
  const std::filesystem::path fixtures = std::filesystem::path(SHOAL_TEST_SOURCE_DIR) / "cli" / "fixtures";
  const auto expected = nlohmann::json::parse(test::read_file(fixtures / "expected.json"));
  const test::CommandResult result = run_shoal("evaluate --labels " + quote(fixtures / "predicted_int64.npy") +
                                               " --truth " + quote(fixtures / "truth_int32.npy"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto scores = nlohmann::json::parse(result.out);
  EXPECT_NEAR(scores["ari"].get<double>(), expected["ari"].get<double>(), 1e-6);
  EXPECT_NEAR(scores["nmi"].get<double>(), expected["nmi"].get<double>(), 1e-6);
}

TEST(Cli, CudaWithoutDeviceExitsThree) {
  if (test::cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  test::TempDir dir;
  test::write_file(dir / "l.txt", "0\n1\n0\n1\n");
  test::write_file(dir / "x.txt", "0\n1\n0.1\n1.1\n");
  const test::CommandResult result = run_shoal("evaluate --labels " + quote(dir / "l.txt") + " --truth " +
                                               quote(dir / "l.txt") + " --data " + quote(dir / "x.txt") +
                                               " --device cuda");
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.err.find("device error"), std::string::npos) << result.err;
}

// {dir} is a scratch directory holding good inputs.
const test::BadCommand kBadArguments[] = {
    {"no_subcommand", "", "subcommand"},
    {"unknown_subcommand", "frobnicate", "unknown command 'frobnicate'"},
    {"unknown_option", "info --colour", "--colour"},
    {"describe_without_input", "describe", "INPUT"},
    {"generate_without_kind", "generate", "subcommand"},
    {"blobs_without_output", "generate blobs --n 10", "--output"},
    {"blobs_n_not_a_number", "generate blobs --n abc -o {dir}/x.npy", "--n"},
    {"blobs_n_zero", "generate blobs --n 0 -o {dir}/x.npy", "n = 0 must be at least 1"},
    {"blobs_more_centers_than_points", "generate blobs --n 5 --centers 6 -o {dir}/x.npy", "centers = 6"},
    {"blobs_negative_std", "generate blobs --std -1 -o {dir}/x.npy", "std = -1"},
    {"blobs_negative_seed", "generate blobs --seed -5 -o {dir}/x.npy", "--seed"},
    {"blobs_empty_centre_box", "generate blobs --center-low 1 --center-high 1 -o {dir}/x.npy", "centre box [1, 1)"},
    {"blobs_unknown_output_type", "generate blobs -o {dir}/x.bin", "unsupported extension '.bin'"},
    {"blobs_output_dir_missing", "generate blobs -o {dir}/missing/x.npy", "cannot write"},
    {"evaluate_without_truth", "evaluate --labels {dir}/l.txt", "--truth"},
    {"evaluate_length_mismatch", "evaluate --labels {dir}/l.txt --truth {dir}/short.txt", "differ in length"},
    {"evaluate_bad_device", "evaluate --labels {dir}/l.txt --truth {dir}/l.txt --data {dir}/x.txt --device gpu",
     "--device"},
    {"evaluate_negative_threads",
     "evaluate --labels {dir}/l.txt --truth {dir}/l.txt --data {dir}/x.txt --threads -1", "--threads"},
    {"evaluate_data_rows_mismatch", "evaluate --labels {dir}/l.txt --truth {dir}/l.txt --data {dir}/short.txt",
     "there are 4 labels for 2 points"},
    {"evaluate_single_cluster_data", "evaluate --labels {dir}/one.txt --truth {dir}/one.txt --data {dir}/x.txt",
     "distinct labels"},
    {"evaluate_missing_labels", "evaluate --labels {dir}/nothing.npy --truth {dir}/l.txt", "cannot open"},
};

class CliBadArguments : public ::testing::TestWithParam<test::BadCommand> {};

TEST_P(CliBadArguments, ExitTwoWithOneLine) {
  test::TempDir dir;
  test::write_file(dir / "l.txt", "0\n1\n0\n1\n");
  test::write_file(dir / "one.txt", "0\n0\n0\n0\n");
  test::write_file(dir / "short.txt", "0\n1\n");
  test::write_file(dir / "x.txt", "0\n1\n0.1\n1.1\n");
  (void)test::expect_refused(dir, "", GetParam());
  EXPECT_TRUE(std::filesystem::exists(dir / "l.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "x.npy")) << "a failed command left an output behind";
}

INSTANTIATE_TEST_SUITE_P(Table, CliBadArguments, ::testing::ValuesIn(kBadArguments),
                         [](const ::testing::TestParamInfo<test::BadCommand>& row) { return row.param.name; });

}  // namespace
}  // namespace shoal
