#pragma once
// The file formats behind shoal/io.hpp. Each reader fills a matrix or a label vector and
// reports what it found; reader.cpp picks one by extension and applies the non-finite policy.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "shoal/io.hpp"

namespace shoal::io::detail {

using shoal::detail::concat;

/// "'path'" for messages.
[[nodiscard]] std::string quoted(const std::filesystem::path& path);

/// Throws IoError "<path>: <what>".
[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what);

/// `value` as a label; throws IoError naming `index` unless it is an integer within int32.
[[nodiscard]] std::int32_t checked_label(const std::filesystem::path& path, double value,
                                         std::size_t index);

// .npy (npy.cpp)
[[nodiscard]] Matrix<float> read_npy_matrix(const std::filesystem::path& path, ReadInfo& info);
[[nodiscard]] std::vector<std::int32_t> read_npy_labels(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, DType dtype, index_t rows, index_t cols,
               bool one_dimensional, const void* data);

// .fvecs (fvecs.cpp)
[[nodiscard]] Matrix<float> read_fvecs(const std::filesystem::path& path, ReadInfo& info);

// delimited text, plain or gzip (text.cpp)
[[nodiscard]] Matrix<float> read_text_matrix(const std::filesystem::path& path, ReadInfo& info);
[[nodiscard]] std::vector<std::int32_t> read_text_labels(const std::filesystem::path& path);

/// Writes a file under a temporary name beside `path` and renames it into place on commit();
/// a writer destroyed without commit() removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, std::size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  std::FILE* file_ = nullptr;
};

}  // namespace shoal::io::detail
