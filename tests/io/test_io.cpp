// Round trips through every format, and what the readers report.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>

#include "shoal/io.hpp"
#include "support/test_support.hpp"

namespace shoal::io {
namespace {

using test::TempDir;

Matrix<float> sample_matrix() {
  return Matrix<float>(3, 2, {1.5f, -2.0f, 0.1f, 3e-8f, 123456.78f, -0.0f});
}

void expect_same(const Matrix<float>& a, const Matrix<float>& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  for (std::size_t i = 0; i < a.values().size(); ++i) EXPECT_EQ(a.values()[i], b.values()[i]) << i;
}

std::string gzip(const std::string& text) {
  uLongf size = compressBound(static_cast<uLong>(text.size())) + 32;
  std::string out(size, '\0');
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

using test::npy;
using test::raw;

TEST(Io, NpyRoundTripIsExact) {
  TempDir dir;
  write_matrix(dir / "m.npy", sample_matrix());
  ReadInfo info;
  expect_same(read_matrix(dir / "m.npy", {}, &info), sample_matrix());
  EXPECT_EQ(info.format, "npy");
  EXPECT_EQ(info.dtype, DType::Float32);
  // The header pads the data to a 64-byte boundary, as NumPy writes it.
  EXPECT_EQ((test::read_file(dir / "m.npy").size() - 3 * 2 * 4) % 64, 0u);
}

TEST(Io, TextRoundTripsAreExact) {
  TempDir dir;
  for (const char* name : {"m.csv", "m.tsv", "m.txt"}) {
    write_matrix(dir / name, sample_matrix());
    expect_same(read_matrix(dir / name), sample_matrix());
  }
  EXPECT_EQ(test::read_file(dir / "m.csv").substr(0, 9), "1.5,-2\n0.");
}

TEST(Io, ReadsEveryNpyDtypeAndOneDimensionalArrays) {
  TempDir dir;
  test::write_file(dir / "f8.npy", npy("<f8", "(2, 2)", raw<double>({1.25, 2.0, -3.0, 4.5})));
  test::write_file(dir / "i4.npy", npy("<i4", "(2, 2)", raw<std::int32_t>({1, 2, -3, 4})));
  test::write_file(dir / "i8.npy", npy("<i8", "(4,)", raw<std::int64_t>({7, 8, 9, 10})));
  ReadInfo info;
  const Matrix<float> f8 = read_matrix(dir / "f8.npy", {}, &info);
  EXPECT_EQ(info.dtype, DType::Float64);
  EXPECT_EQ(f8(1, 1), 4.5f);
  EXPECT_EQ(read_matrix(dir / "i4.npy")(1, 0), -3.0f);
  const Matrix<float> column = read_matrix(dir / "i8.npy");
  EXPECT_EQ(column.rows(), 4);
  EXPECT_EQ(column.cols(), 1);
  EXPECT_EQ(read_labels(dir / "i8.npy"), (std::vector<std::int32_t>{7, 8, 9, 10}));
}

TEST(Io, ReadsNpyFormatVersions2And3) {
  TempDir dir;
  for (const int version : {2, 3}) {
    const auto name = "v" + std::to_string(version) + ".npy";
    test::write_file(dir / name, npy("<f4", "(2, 2)", raw<float>({1, 2, 3, 4}), "False", version));
    const Matrix<float> X = read_matrix(dir / name);
    ASSERT_EQ(X.rows(), 2) << version;
    EXPECT_EQ(X(1, 0), 3.0f) << version;
  }
}

TEST(Io, TextSkipsAByteOrderMarkAndQuotesAndKeepsUnnamedHeaderColumns) {
  TempDir dir;
  test::write_file(dir / "bom.csv", "\xEF\xBB\xBF" "1,2\n3,4\n5,6\n");
  EXPECT_EQ(read_matrix(dir / "bom.csv").rows(), 3);
  test::write_file(dir / "quoted.csv", "\"x\",\"y\"\n\"1\",2\n3,\" 4 \"\n");
  const Matrix<float> quoted = read_matrix(dir / "quoted.csv");
  ASSERT_EQ(quoted.rows(), 2);
  EXPECT_EQ(quoted(1, 1), 4.0f);
  test::write_file(dir / "pandas.csv", ",x,y\n0,1.5,2\n1,3,4\n");  // an unnamed index column
  ReadInfo info;
  const Matrix<float> X = read_matrix(dir / "pandas.csv", {}, &info);
  EXPECT_TRUE(info.header);
  EXPECT_EQ(X.rows(), 2);
  EXPECT_EQ(X(0, 1), 1.5f);
}

TEST(Io, TextDetectsHeaderDelimiterCommentsAndGzip) {
  TempDir dir;
  const std::string text = "# written by hand\nx;y\n1;2\n\n3 ; 4\r\n+5;-6e-1\n";
  test::write_file(dir / "a.csv", text);
  test::write_file(dir / "a.csv.gz", gzip(text));
  test::write_file(dir / "a.data", "1 2\t 3\n4  5 6\n");
  for (const char* name : {"a.csv", "a.csv.gz"}) {
    ReadInfo info;
    const Matrix<float> m = read_matrix(dir / name, {}, &info);
    EXPECT_TRUE(info.header);
    EXPECT_EQ(info.compressed, std::string(name).ends_with(".gz"));
    ASSERT_EQ(m.rows(), 3);
    EXPECT_EQ(m(2, 0), 5.0f);
    EXPECT_EQ(m(2, 1), -0.6f);
  }
  const Matrix<float> blanks = read_matrix(dir / "a.data");
  EXPECT_EQ(blanks.cols(), 3);
  EXPECT_EQ(blanks(1, 2), 6.0f);
}

TEST(Io, Float64TextConvertsLikeNumpy) {
  // float32(float64("0.1")): parse in double, then round once to float.
  TempDir dir;
  test::write_file(dir / "p.txt", "0.1 0.30000000000000004\n");
  const Matrix<float> m = read_matrix(dir / "p.txt");
  EXPECT_EQ(m(0, 0), static_cast<float>(0.1));
  EXPECT_EQ(m(0, 1), static_cast<float>(0.30000000000000004));
}

TEST(Io, FvecsReads) {
  TempDir dir;
  std::string bytes = raw<std::int32_t>({2}) + raw<float>({1.0f, 2.0f}) + raw<std::int32_t>({2}) + raw<float>({3.0f, 4.0f});
  test::write_file(dir / "v.fvecs", bytes);
  const Matrix<float> m = read_matrix(dir / "v.fvecs");
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m(1, 1), 4.0f);
}

TEST(Io, NonFiniteRowsAreRejectedDroppedOrKept) {
  TempDir dir;
  test::write_file(dir / "n.csv", "1,2\n3,nan\n5,6\ninf,-inf\n");
  try {
    (void)read_matrix(dir / "n.csv");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 (0-based)"), std::string::npos) << e.what();
  }
  ReadInfo info;
  const Matrix<float> dropped = read_matrix(dir / "n.csv", {.non_finite = NonFinite::Drop}, &info);
  EXPECT_EQ(dropped.rows(), 2);
  EXPECT_EQ(dropped(1, 0), 5.0f);
  EXPECT_EQ(info.dropped_rows, 2);
  EXPECT_EQ(info.non_finite_values, 3);
  const Matrix<float> kept = read_matrix(dir / "n.csv", {.non_finite = NonFinite::Keep});
  EXPECT_EQ(kept.rows(), 4);
  EXPECT_TRUE(std::isnan(kept(1, 1)));
  test::write_file(dir / "all.csv", "nan\ninf\n");
  EXPECT_THROW((void)read_matrix(dir / "all.csv", {.non_finite = NonFinite::Drop}), InvalidArgument);
}

TEST(Io, LabelsRoundTripInBothWidths) {
  TempDir dir;
  const std::vector<std::int32_t> labels = {0, -1, 5, 2};
  const std::vector<std::int64_t> wide = {0, -1, 5, 2};
  write_labels(dir / "l32.npy", std::span<const std::int32_t>(labels));
  write_labels(dir / "l64.npy", std::span<const std::int64_t>(wide));
  write_labels(dir / "l.txt", std::span<const std::int32_t>(labels));
  EXPECT_EQ(read_labels(dir / "l32.npy"), labels);
  EXPECT_EQ(read_labels(dir / "l64.npy"), labels);
  EXPECT_EQ(read_labels(dir / "l.txt"), labels);
  EXPECT_NE(test::read_file(dir / "l64.npy").find("<i8"), std::string::npos);
}

TEST(Io, FailedWriteLeavesNoFileBehind) {
  TempDir dir;
  EXPECT_THROW(write_matrix(dir / "missing-dir" / "m.npy", sample_matrix()), IoError);
  EXPECT_THROW(write_matrix(dir / "m.bin", sample_matrix()), InvalidArgument);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  // Replacing an existing file goes through a rename: the old content is never half-overwritten.
  write_matrix(dir / "m.npy", sample_matrix());
  write_matrix(dir / "m.npy", Matrix<float>(1, 1, {9.0f}));
  EXPECT_EQ(read_matrix(dir / "m.npy")(0, 0), 9.0f);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(Io, ReadsTheBenchmarkSuite) {
  SHOAL_SKIP_WITHOUT_BENCHMARK_DATA();
  const test::LabelledData atom = test::load_benchmark("fcps", "atom");
  EXPECT_EQ(atom.X.rows(), 800);
  EXPECT_EQ(atom.X.cols(), 3);
  EXPECT_EQ(atom.labels.size(), 800u);
  EXPECT_EQ(atom.X(0, 0), static_cast<float>(-4.822490));
}

}  // namespace
}  // namespace shoal::io
