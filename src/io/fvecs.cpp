// .fvecs (the TEXMEX/FAISS vector format): each row is an int32 dimension followed by that many
// float32 values, all little-endian.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/check.hpp"
#include "io/formats.hpp"

namespace shoal::io::detail {

Matrix<float> read_fvecs(const std::filesystem::path& path, ReadInfo& info) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot open: " + ec.message());
  if (size == 0) fail(path, "file is empty");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));

  std::int32_t dim = 0;
  if (size < 4 || std::fread(&dim, 4, 1, file.get()) != 1) fail(path, "truncated at byte offset 0");
  if (dim <= 0 || dim > (1 << 24)) fail(path, concat("row 0 declares dimension ", dim, " (byte offset 0)"));
  const std::uintmax_t row_bytes = 4 + 4 * static_cast<std::uintmax_t>(dim);
  if (size % row_bytes != 0) {
    fail(path, concat("truncated: ", size, " bytes is not a whole number of ", row_bytes,
                      "-byte rows of dimension ", dim));
  }
  const index_t rows = static_cast<index_t>(size / row_bytes);
  Matrix<float> matrix(rows, dim);
  for (index_t i = 0; i < rows; ++i) {
    if (i > 0) {
      std::int32_t row_dim = 0;
      if (std::fread(&row_dim, 4, 1, file.get()) != 1) fail(path, concat("read failed at byte offset ", i * row_bytes));
      if (row_dim != dim) {
        fail(path, concat("row ", i, " declares dimension ", row_dim, " at byte offset ", i * row_bytes,
                          ", expected ", dim));
      }
    }
    if (std::fread(matrix.row(i), 4, static_cast<std::size_t>(dim), file.get()) != static_cast<std::size_t>(dim)) {
      fail(path, concat("read failed at byte offset ", i * row_bytes + 4));
    }
  }
  info.format = "fvecs";
  info.dtype = DType::Float32;
  return matrix;
}

}  // namespace shoal::io::detail
