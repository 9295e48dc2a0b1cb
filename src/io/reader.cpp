#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/check.hpp"
#include "io/formats.hpp"
#include "shoal/io.hpp"

namespace shoal::io {

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

namespace detail {

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

void fail(const std::filesystem::path& path, const std::string& what) {
  throw IoError(quoted(path) + ": " + what);
}

std::int32_t checked_label(const std::filesystem::path& path, double value, std::size_t index) {
  if (!(value >= INT32_MIN && value <= INT32_MAX) || value != std::trunc(value)) {
    fail(path, concat("label ", value, " at index ", index, " is not an int32 integer"));
  }
  return static_cast<std::int32_t>(value);
}

namespace {

enum class Format { Npy, Fvecs, Text };

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// The format of a file: `.fvecs` by its extension, `.npy` by its magic bytes, and delimited
/// text (plain or gzip) otherwise, so that names such as `x.labels0.gz` read as text. Common
/// binary containers get a clear refusal instead of a parse error.
Format format_of(const std::filesystem::path& path) {
  const std::string extension = lower(path.extension().string());
  if (extension == ".fvecs") return Format::Fvecs;
  for (const char* container : {".npz", ".h5", ".hdf5", ".parquet", ".pkl", ".pickle", ".mat", ".feather", ".zip"}) {
    if (extension == container) {
      fail(path, concat("unsupported file type '", extension, "' (expected .npy, .fvecs, or delimited text, optionally .gz)"));
    }
  }
  if (extension == ".gz" && lower(path.stem().extension().string()) == ".npy") {
    fail(path, "compressed .npy is not supported; decompress it first");
  }
  char magic[6] = {};
  if (std::FILE* file = std::fopen(path.c_str(), "rb")) {
    const std::size_t got = std::fread(magic, 1, sizeof magic, file);
    std::fclose(file);
    if (got == sizeof magic && std::memcmp(magic, "\x93NUMPY", sizeof magic) == 0) return Format::Npy;
  }
  return extension == ".npy" ? Format::Npy : Format::Text;
}

/// Counts non-finite values and rejects, drops or keeps the rows that hold them.
void apply_non_finite_policy(const std::filesystem::path& path, Matrix<float>& matrix,
                             NonFinite policy, ReadInfo& info) {
  const index_t rows = matrix.rows(), cols = matrix.cols();
  index_t kept = 0;
  for (index_t i = 0; i < rows; ++i) {
    const float* row = matrix.row(i);
    const index_t bad = std::count_if(row, row + cols, [](float v) { return !std::isfinite(v); });
    info.non_finite_values += bad;
    if (bad > 0 && policy == NonFinite::Reject) {
      const index_t column = std::find_if(row, row + cols, [](float v) { return !std::isfinite(v); }) - row;
      throw InvalidArgument(concat(quoted(path), ": row ", i, " (0-based) holds a non-finite value (",
                                   row[column], " in column ", column, ")"));
    }
    if (bad > 0 && policy == NonFinite::Drop) {
      ++info.dropped_rows;
      continue;
    }
    if (kept != i) std::memmove(matrix.row(kept), row, sizeof(float) * static_cast<std::size_t>(cols));
    ++kept;
  }
  if (kept == rows) return;
  if (kept == 0) {
    throw InvalidArgument(concat(quoted(path), ": all ", rows, " rows hold non-finite values"));
  }
  std::vector<float> values = std::move(matrix).release();
  values.resize(static_cast<std::size_t>(kept * cols));  // shrinks in place, no copy
  matrix = Matrix<float>(kept, cols, std::move(values));
}

}  // namespace
}  // namespace detail

Matrix<float> read_matrix(const std::filesystem::path& path, const ReadOptions& options,
                          ReadInfo* info) {
  ReadInfo found;
  Matrix<float> matrix;
  switch (detail::format_of(path)) {
    case detail::Format::Npy: matrix = detail::read_npy_matrix(path, found); break;
    case detail::Format::Fvecs: matrix = detail::read_fvecs(path, found); break;
    case detail::Format::Text: matrix = detail::read_text_matrix(path, found); break;
  }
  detail::apply_non_finite_policy(path, matrix, options.non_finite, found);
  if (info != nullptr) *info = found;
  return matrix;
}

std::vector<std::int32_t> read_labels(const std::filesystem::path& path) {
  switch (detail::format_of(path)) {
    case detail::Format::Npy: return detail::read_npy_labels(path);
    case detail::Format::Text: return detail::read_text_labels(path);
    case detail::Format::Fvecs: break;
  }
  detail::fail(path, "labels cannot be read from .fvecs (use .npy or text)");
}

}  // namespace shoal::io
