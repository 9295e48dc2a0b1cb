// NumPy .npy files, format versions 1.0–3.0:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "core/check.hpp"
#include "io/formats.hpp"

namespace shoal::io::detail {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct NpyHeader {
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;
};

std::size_t dtype_size(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Int32 ? 4 : 8;
}

/// The text after `'key':` in the header dict, or nullopt.
std::optional<std::string_view> dict_value(std::string_view dict, std::string_view key) {
  for (const char quote : {'\'', '"'}) {
    const std::string pattern = std::string(1, quote) + std::string(key) + quote;
    const std::size_t at = dict.find(pattern);
    if (at == std::string_view::npos) continue;
    std::size_t pos = at + pattern.size();
    while (pos < dict.size() && (dict[pos] == ' ' || dict[pos] == ':')) ++pos;
    return dict.substr(pos);
  }
  return std::nullopt;
}

NpyHeader parse_header(const std::filesystem::path& path, std::FILE* file) {
  std::array<unsigned char, 12> prefix{};  // magic, version, and a 2-byte (v1) or 4-byte length
  const std::size_t got = std::fread(prefix.data(), 1, 8, file);
  if (got == 0) fail(path, "file is empty");
  if (got < 8 || std::memcmp(prefix.data(), kMagic, kMagicSize) != 0) {
    fail(path, "not a .npy file (bad magic bytes at offset 0)");
  }
  const int major = prefix[6];
  std::size_t header_length = 0;
  std::size_t length_bytes = major == 1 ? 2 : 4;
  if (major < 1 || major > 3) fail(path, concat("unsupported .npy format version ", major, ".", int(prefix[7])));
  if (std::fread(prefix.data() + 8, 1, length_bytes, file) != length_bytes) {
    fail(path, "truncated .npy header at byte offset 8");
  }
  for (std::size_t b = 0; b < length_bytes; ++b) header_length |= std::size_t{prefix[8 + b]} << (8 * b);
  if (header_length > (std::size_t{1} << 20)) fail(path, concat("implausible .npy header length ", header_length));
  std::string dict(header_length, '\0');
  if (std::fread(dict.data(), 1, header_length, file) != header_length) {
    fail(path, concat("truncated .npy header: ", header_length, " bytes promised at byte offset ",
                      8 + length_bytes));
  }

  NpyHeader header;
  header.data_offset = 8 + length_bytes + header_length;
  const auto descr = dict_value(dict, "descr");
  const auto fortran = dict_value(dict, "fortran_order");
  const auto shape = dict_value(dict, "shape");
  if (!descr || !fortran || !shape) fail(path, "bad .npy header (needs descr, fortran_order and shape): " + dict);

  // descr: a quoted string such as '<f4'. '|' and '=' occur for single-byte types only.
  const char quote = descr->empty() ? '\0' : descr->front();
  const std::size_t close = descr->find(quote, 1);
  if ((quote != '\'' && quote != '"') || close == std::string_view::npos) {
    fail(path, "bad .npy header: descr is not a string");
  }
  const std::string_view type = descr->substr(1, close - 1);
  if (type == "<f4") header.dtype = DType::Float32;
  else if (type == "<f8") header.dtype = DType::Float64;
  else if (type == "<i4") header.dtype = DType::Int32;
  else if (type == "<i8") header.dtype = DType::Int64;
  else fail(path, concat("unsupported dtype '", type, "' (supported: little-endian float32, float64, int32, int64)"));

  if (fortran->starts_with("True")) fail(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
  if (!fortran->starts_with("False")) fail(path, "bad .npy header: fortran_order is neither True nor False");

  // shape: a tuple of non-negative integers, e.g. (3, 4) or (5,) or ().
  if (shape->empty() || shape->front() != '(') fail(path, "bad .npy header: shape is not a tuple");
  const std::size_t end = shape->find(')');
  if (end == std::string_view::npos) fail(path, "bad .npy header: unterminated shape tuple");
  std::string_view dims = shape->substr(1, end - 1);
  while (!dims.empty()) {
    const std::size_t first = dims.find_first_not_of(" ,L");
    if (first == std::string_view::npos) break;
    dims.remove_prefix(first);
    std::int64_t value = -1;
    const auto [ptr, ec] = std::from_chars(dims.data(), dims.data() + dims.size(), value);
    if (ec != std::errc() || value < 0) fail(path, "bad .npy header: shape holds '" + std::string(dims) + "'");
    header.shape.push_back(value);
    dims.remove_prefix(static_cast<std::size_t>(ptr - dims.data()));
  }
  if (header.shape.empty() || header.shape.size() > 2) {
    fail(path, concat("arrays of ", header.shape.size(), " dimensions are not supported (need 1 or 2)"));
  }
  return header;
}

File open_for_reading(const std::filesystem::path& path) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));
  return file;
}

/// Reads `count` elements of the header's dtype and hands them, converted to Out, to
/// `sink(const Out* values, std::size_t count, std::size_t first_index)` in chunks.
template <class Out, class Sink>
void read_elements(const std::filesystem::path& path, std::FILE* file, const NpyHeader& header,
                   std::size_t count, Sink&& sink) {
  const std::size_t element = dtype_size(header.dtype);
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<unsigned char> raw(std::min(count, kChunk) * element);
  std::vector<Out> converted(std::min(count, kChunk));
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(kChunk, count - done);
    if (std::fread(raw.data(), element, n, file) != n) {
      fail(path, concat("read failed at byte offset ", header.data_offset + done * element));
    }
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char* p = raw.data() + i * element;
      switch (header.dtype) {
        case DType::Float32: { float v; std::memcpy(&v, p, 4); converted[i] = static_cast<Out>(v); break; }
        case DType::Float64: { double v; std::memcpy(&v, p, 8); converted[i] = static_cast<Out>(v); break; }
        case DType::Int32: { std::int32_t v; std::memcpy(&v, p, 4); converted[i] = static_cast<Out>(v); break; }
        case DType::Int64: { std::int64_t v; std::memcpy(&v, p, 8); converted[i] = static_cast<Out>(v); break; }
      }
    }
    sink(converted.data(), n, done);
    done += n;
  }
}

/// The number of elements the header promises, once the file is known to hold them (checked
/// before anything is allocated for them).
std::size_t element_count(const std::filesystem::path& path, const NpyHeader& header) {
  std::size_t count = 1;
  for (const std::int64_t dim : header.shape) {
    if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / 16 / static_cast<std::size_t>(dim)) {
      fail(path, "shape is too large");
    }
    count *= static_cast<std::size_t>(dim);
  }
  const std::size_t element = dtype_size(header.dtype);
  const std::uintmax_t file_size = std::filesystem::file_size(path);
  if (file_size < header.data_offset + static_cast<std::uintmax_t>(count) * element) {
    fail(path, concat("truncated: the header promises ", count * element, " bytes of data from byte offset ",
                      header.data_offset, ", the file ends at byte ", file_size));
  }
  return count;
}

}  // namespace

Matrix<float> read_npy_matrix(const std::filesystem::path& path, ReadInfo& info) {
  File file = open_for_reading(path);
  const NpyHeader header = parse_header(path, file.get());
  info.format = "npy";
  info.dtype = header.dtype;
  const index_t rows = header.shape[0];
  const index_t cols = header.shape.size() == 2 ? header.shape[1] : 1;
  const std::size_t count = element_count(path, header);
  if (count == 0) fail(path, concat("holds no data (shape ", rows, " x ", cols, ")"));
  Matrix<float> matrix(rows, cols);
  float* out = matrix.data();
  read_elements<float>(path, file.get(), header, count, [&](const float* values, std::size_t n, std::size_t first) {
    std::copy_n(values, n, out + first);
  });
  return matrix;
}

std::vector<std::int32_t> read_npy_labels(const std::filesystem::path& path) {
  File file = open_for_reading(path);
  const NpyHeader header = parse_header(path, file.get());
  if (header.shape.size() == 2 && header.shape[1] != 1) {
    fail(path, concat("labels must be a vector, not a ", header.shape[0], " x ", header.shape[1], " matrix"));
  }
  const std::size_t count = element_count(path, header);
  if (count == 0) fail(path, "holds no labels");
  std::vector<std::int32_t> labels(count);
  read_elements<double>(path, file.get(), header, count, [&](const double* values, std::size_t n, std::size_t first) {
    for (std::size_t i = 0; i < n; ++i) labels[first + i] = checked_label(path, values[i], first + i);
  });
  return labels;
}

void write_npy(const std::filesystem::path& path, DType dtype, index_t rows, index_t cols,
               bool one_dimensional, const void* data) {
  const char* descr = dtype == DType::Float32 ? "<f4" : dtype == DType::Float64 ? "<f8"
                    : dtype == DType::Int32   ? "<i4" : "<i8";
  std::string dict = concat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", rows,
                            one_dimensional ? concat(",") : concat(", ", cols), "), }");
  // Pad with spaces so the data starts on a 64-byte boundary, ending the header with '\n'.
  const std::size_t unpadded = kMagicSize + 2 + 2 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  SHOAL_ASSERT(dict.size() < 65536);
  const unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                      static_cast<unsigned char>(dict.size() & 0xff),
                                      static_cast<unsigned char>(dict.size() >> 8)};
  AtomicFile file(path);
  file.write(preamble, sizeof preamble);
  file.write(dict);
  file.write(data, static_cast<std::size_t>(rows * cols) * dtype_size(dtype));
  file.commit();
}

}  // namespace shoal::io::detail
