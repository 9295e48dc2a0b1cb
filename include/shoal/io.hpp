#pragma once
/// @file
/// @brief Reading and writing matrices and label vectors.
///
/// Readers: `.npy` (float32, float64, int32, int64; C order; 1-D or 2-D), `.fvecs`, and
/// delimited text `.csv`, `.tsv`, `.txt`, `.data` (comma, tab, semicolon or blank separated;
/// a non-numeric first line is taken as a header; lines starting with `#` are skipped), each
/// text format optionally gzip-compressed (`.gz`, or detected from its first bytes). A file is
/// read once, straight into the returned matrix.
///
/// Writers go to a temporary file beside the target and rename it into place, so a failed
/// write never leaves a half-written file under the target name.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::io {

/// Element types of `.npy` files.
enum class DType { Float32, Float64, Int32, Int64 };

/// "float32", "float64", "int32" or "int64".
[[nodiscard]] std::string to_string(DType dtype);

/// What a reader does with rows holding NaN or ±Inf.
enum class NonFinite {
  Reject,  ///< throw InvalidArgument naming the first such row (default)
  Drop,    ///< leave such rows out; ReadInfo::dropped_rows counts them
  Keep,    ///< keep them (for inspection, as `shoal describe` does)
};

struct ReadOptions {
  NonFinite non_finite = NonFinite::Reject;
};

/// What a reader found, besides the data.
struct ReadInfo {
  std::string format;               ///< "npy", "fvecs" or "text"
  DType dtype = DType::Float32;     ///< element type stored in the file (text: float64)
  bool compressed = false;          ///< the file was gzip-compressed
  bool header = false;              ///< text: the first line was a header
  index_t dropped_rows = 0;         ///< rows left out under NonFinite::Drop
  index_t non_finite_values = 0;    ///< NaN/±Inf values seen (all of them under Keep)
};

/// Reads a matrix, converting it to float32.
/// @param[in]  path    file to read; the format comes from its extension
/// @param[in]  options what to do with non-finite values
/// @param[out] info    if not null, what the file held
/// @returns `[n × d]` matrix; a 1-D `.npy` array gives `[n × 1]`
/// @throws IoError naming the file and the line or byte offset, for a missing, empty,
///         truncated or malformed file
/// @throws InvalidArgument for non-finite values under NonFinite::Reject, naming the first row
[[nodiscard]] Matrix<float> read_matrix(const std::filesystem::path& path,
                                        const ReadOptions& options = {},
                                        ReadInfo* info = nullptr);

/// Reads cluster labels: a 1-D (or `[n × 1]`) integer `.npy` array, or a text file with one
/// integer per line (`.gz` allowed).
/// @throws IoError for malformed files, non-integer values or values outside int32
[[nodiscard]] std::vector<std::int32_t> read_labels(const std::filesystem::path& path);

/// Writes a float32 matrix: `.npy`, or text by extension (`.csv` comma, `.tsv` tab, `.txt`
/// blank separated) with the shortest decimal form that reads back to the same float.
/// @throws InvalidArgument for another extension; IoError when the file cannot be written
void write_matrix(const std::filesystem::path& path, MatrixView<const float> matrix);

/// Writes labels as a 1-D `.npy` array of the same integer type, or as text (`.csv`, `.tsv`,
/// `.txt`), one label per line.
void write_labels(const std::filesystem::path& path, std::span<const std::int32_t> labels);
void write_labels(const std::filesystem::path& path, std::span<const std::int64_t> labels);

/// Writes `text` as the whole content of the file, atomically (as every writer here).
void write_text(const std::filesystem::path& path, std::string_view text);

}  // namespace shoal::io
