// The malformed-input corpus: each file must give a clear error from the library (the right
// exception, a message naming the problem) and exit code 2 with one line from the CLI — and
// never a crash, which the asan preset checks under ASan and UBSan.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "shoal/io.hpp"
#include "support/test_support.hpp"

namespace shoal::io {
namespace {

using test::npy;
using test::npy_with_dict;
using test::raw;

// A valid gzip stream of "1,2\n3,4\n" (gzip -n), to truncate and corrupt.
const std::string kGzip("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x33\xd4\x31\xe2\x32\xd6\x31\xe1"
                        "\x02\x00\x47\x93\x6c\xaf\x08\x00\x00\x00",
                        28);

enum class Reader { Matrix, Labels };
enum class Expect { Io, Invalid };

struct Malformed {
  const char* name;      // file name; the extension picks the reader
  std::string content;   // bytes; "<dir>" makes a directory, "<none>" makes nothing
  Reader reader;
  Expect error;
  const char* message;   // must appear in the error
};

std::ostream& operator<<(std::ostream& out, const Malformed& m) { return out << m.name; }

const Malformed kCorpus[] = {
    // .npy
    {"empty.npy", "", Reader::Matrix, Expect::Io, "file is empty"},
    {"bad_magic.npy", "hello, world\n", Reader::Matrix, Expect::Io, "not a .npy file"},
    {"short_magic.npy", "\x93NUM", Reader::Matrix, Expect::Io, "not a .npy file"},
    {"truncated_header.npy", std::string("\x93NUMPY\x01\x00\xc8\x00{'descr'", 17), Reader::Matrix, Expect::Io,
     "truncated .npy header"},
    {"truncated_data.npy", npy("<f4", "(10, 3)", raw<float>({1, 2})), Reader::Matrix, Expect::Io,
     "truncated: the header promises 120 bytes"},
    {"big_endian.npy", npy(">f4", "(1, 1)", raw<float>({1})), Reader::Matrix, Expect::Io, "unsupported dtype '>f4'"},
    {"float16.npy", npy("<f2", "(2,)", "\0\0\0\0"), Reader::Matrix, Expect::Io, "unsupported dtype '<f2'"},
    {"unicode.npy", npy("<U3", "(1,)", std::string(12, 'a')), Reader::Matrix, Expect::Io, "unsupported dtype '<U3'"},
    {"fortran.npy", npy("<f4", "(2, 2)", raw<float>({1, 2, 3, 4}), "True"), Reader::Matrix, Expect::Io,
     "Fortran-order"},
    {"three_dims.npy", npy("<f4", "(1, 1, 1)", raw<float>({1})), Reader::Matrix, Expect::Io, "3 dimensions"},
    {"scalar.npy", npy("<f4", "()", raw<float>({1})), Reader::Matrix, Expect::Io, "0 dimensions"},
    {"no_shape.npy", npy_with_dict("{'descr': '<f4', 'fortran_order': False}", raw<float>({1})), Reader::Matrix,
     Expect::Io, "bad .npy header (needs descr, fortran_order and shape)"},
    {"negative_shape.npy", npy("<f4", "(-2, 3)", ""), Reader::Matrix, Expect::Io, "bad .npy header: shape"},
    {"version9.npy", std::string("\x93NUMPY\x09\x00\x00\x00", 10), Reader::Matrix, Expect::Io,
     "unsupported .npy format version 9"},
    {"empty_array.npy", npy("<f4", "(0, 3)", ""), Reader::Matrix, Expect::Io, "holds no data"},
    {"promises_too_much.npy", npy("<f4", "(5000000000, 3)", raw<float>({1, 2, 3})), Reader::Matrix, Expect::Io,
     "truncated: the header promises 60000000000 bytes"},
    {"huge_shape.npy", npy("<f8", "(9223372036854775807, 9223372036854775807)", ""), Reader::Matrix, Expect::Io,
     "too large"},
    {"nan_row.npy", npy("<f4", "(2, 2)", raw<float>({1, 2, 3, NAN})), Reader::Matrix, Expect::Invalid,
     "row 1 (0-based) holds a non-finite value"},
    // delimited text
    {"empty.csv", "", Reader::Matrix, Expect::Io, "file is empty"},
    {"blank.txt", "\n  \n\t\n", Reader::Matrix, Expect::Io, "holds no data"},
    {"header_only.csv", "x,y\n", Reader::Matrix, Expect::Io, "has a header but no data lines"},
    {"ragged.csv", "1,2\n3\n", Reader::Matrix, Expect::Io, "line 2 has 1 fields, expected 2"},
    {"non_numeric.csv", "1,2\n3,abc\n", Reader::Matrix, Expect::Io, "line 2, field 2: 'abc' is not a number"},
    {"empty_field.csv", "1,2\n1,,2\n", Reader::Matrix, Expect::Io, "line 2 has 3 fields"},
    {"trailing_junk.tsv", "1\t2\n3\t4x\n", Reader::Matrix, Expect::Io, "'4x' is not a number"},
    {"empty_cell.csv", "1,2,3\n1,,3\n", Reader::Matrix, Expect::Io, "line 2, field 2: empty field"},
    {"empty_first_cell.csv", "1,,2\n3,4,5\n", Reader::Matrix, Expect::Io, "line 1, field 2: empty field"},
    {"binary.data", std::string("1 2\n\x01\x02 \xff\n", 9), Reader::Matrix, Expect::Io, "line 2, field 1: '?\?' is not a number"},
    {"inf_row.txt", "1 2\n-inf 3\n", Reader::Matrix, Expect::Invalid, "row 1 (0-based)"},
    {"corrupt.csv.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!garbage!", 26), Reader::Matrix,
     Expect::Io, "corrupt or truncated compressed data"},
    {"truncated.csv.gz", kGzip.substr(0, 16), Reader::Matrix, Expect::Io, "corrupt or truncated compressed data"},
    // .fvecs
    {"truncated.fvecs", raw<std::int32_t>({4}) + raw<float>({1, 2}), Reader::Matrix, Expect::Io, "truncated"},
    {"bad_dim.fvecs", raw<std::int32_t>({-3}) + raw<float>({1, 2}), Reader::Matrix, Expect::Io,
     "row 0 declares dimension -3"},
    {"mixed_dim.fvecs", raw<std::int32_t>({2}) + raw<float>({1, 2}) + raw<std::int32_t>({3}) + raw<float>({1, 2}),
     Reader::Matrix, Expect::Io, "row 1 declares dimension 3"},
    {"tiny.fvecs", "ab", Reader::Matrix, Expect::Io, "truncated at byte offset 0"},
    // names and kinds of file
    {"archive.npz", "PK\x03\x04", Reader::Matrix, Expect::Io, "unsupported file type '.npz'"},
    {"data.npy.gz", kGzip, Reader::Matrix, Expect::Io, "compressed .npy is not supported"},
    {"missing.npy", "<none>", Reader::Matrix, Expect::Io, "cannot open"},
    {"missing.csv", "<none>", Reader::Matrix, Expect::Io, "no such file"},
    {"folder.csv", "<dir>", Reader::Matrix, Expect::Io, "not a regular file"},
    // labels
    {"fractional_labels.npy", npy("<f8", "(2,)", raw<double>({1.0, 1.5})), Reader::Labels, Expect::Io,
     "label 1.5 at index 1 is not an int32 integer"},
    {"wide_labels.npy", npy("<i8", "(2,)", raw<std::int64_t>({1, 1ll << 40})), Reader::Labels, Expect::Io,
     "is not an int32 integer"},
    {"matrix_labels.npy", npy("<i8", "(2, 2)", raw<std::int64_t>({1, 2, 3, 4})), Reader::Labels, Expect::Io,
     "labels must be a vector"},
    {"two_column_labels.txt", "1 2\n3 4\n", Reader::Labels, Expect::Io, "labels need one value per line"},
    {"nan_labels.txt", "1\nnan\n", Reader::Labels, Expect::Io, "label nan at index 1"},
};

class MalformedInput : public ::testing::TestWithParam<Malformed> {
 protected:
  std::filesystem::path create(const test::TempDir& dir) const {
    const Malformed& m = GetParam();
    const std::filesystem::path path = dir / m.name;
    if (m.content == "<dir>") std::filesystem::create_directory(path);
    else if (m.content != "<none>") test::write_file(path, m.content);
    return path;
  }
};

TEST_P(MalformedInput, LibraryThrowsAClearError) {
  const Malformed& m = GetParam();
  test::TempDir dir;
  const std::filesystem::path path = create(dir);
  const std::function<void()> read = [&] {
    if (m.reader == Reader::Matrix) (void)read_matrix(path);
    else (void)read_labels(path);
  };
  try {
    read();
    FAIL() << "no error for " << m.name;
  } catch (const IoError& e) {
    EXPECT_EQ(m.error, Expect::Io) << e.what();
    EXPECT_NE(std::string(e.what()).find(m.message), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(m.name), std::string::npos) << "the message names the file: " << e.what();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(m.error, Expect::Invalid) << e.what();
    EXPECT_NE(std::string(e.what()).find(m.message), std::string::npos) << e.what();
  }
}

TEST_P(MalformedInput, CliExitsWithCodeTwoAndOneLine) {
  const Malformed& m = GetParam();
  test::TempDir dir;
  const std::filesystem::path path = create(dir);
  test::write_file(dir / "truth.txt", "0\n1\n");
  test::write_file(dir / "points.txt", "0 0\n1 1\n");
  // describe keeps non-finite values to count them, so those go through evaluate --data.
  const std::string arguments =
      m.reader == Reader::Labels
          ? "evaluate --labels '" + path.string() + "' --truth '" + (dir / "truth.txt").string() + "'"
      : m.error == Expect::Invalid
          ? "evaluate --labels '" + (dir / "truth.txt").string() + "' --truth '" + (dir / "truth.txt").string() +
                "' --data '" + path.string() + "'"
          : "describe '" + path.string() + "'";
  const test::CommandResult result = test::run_shoal(arguments);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(m.message), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedInput, ::testing::ValuesIn(kCorpus),
                         [](const ::testing::TestParamInfo<Malformed>& row) {
                           std::string name = row.param.name;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace shoal::io
