#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include "core/check.hpp"
#include "io/formats.hpp"
#include "shoal/io.hpp"

namespace shoal::io {
namespace detail {

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  const std::filesystem::path directory = path_.has_parent_path() ? path_.parent_path() : ".";
  std::string name = (directory / ("." + path_.filename().string() + ".tmp-XXXXXX")).string();
  const int descriptor = ::mkstemp(name.data());
  if (descriptor < 0) fail(path_, std::string("cannot write: ") + std::strerror(errno));
  temp_ = name;
  file_ = ::fdopen(descriptor, "wb");
  if (file_ == nullptr) {
    ::close(descriptor);
    std::filesystem::remove(temp_);
    fail(path_, std::string("cannot write: ") + std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!temp_.empty()) {
    std::error_code ignored;  // best effort: we are already failing
    std::filesystem::remove(temp_, ignored);
  }
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_) != bytes) {
    fail(path_, std::string("write failed: ") + std::strerror(errno));
  }
}

void AtomicFile::commit() {
  std::FILE* file = std::exchange(file_, nullptr);
  // mkstemp creates 0600; give the file the usual permissions a plain fopen would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(::fileno(file), 0666 & ~mask);
  if (std::fflush(file) != 0 || std::fclose(file) != 0) {
    fail(path_, std::string("write failed: ") + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temp_, path_, ec);
  if (ec) fail(path_, "cannot replace: " + ec.message());
  temp_.clear();
}

namespace {

enum class OutputKind { Npy, Csv, Tsv, Txt };

OutputKind output_kind(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".npy") return OutputKind::Npy;
  if (extension == ".csv") return OutputKind::Csv;
  if (extension == ".tsv") return OutputKind::Tsv;
  if (extension == ".txt") return OutputKind::Txt;
  throw InvalidArgument(concat("cannot write ", quoted(path), ": unsupported extension '", extension,
                               "' (expected .npy, .csv, .tsv or .txt)"));
}

char delimiter_of(OutputKind kind) { return kind == OutputKind::Csv ? ',' : kind == OutputKind::Tsv ? '\t' : ' '; }

/// Writes rows of text built by `format_row(i, out)`, a buffer at a time.
template <class FormatRow>
void write_text(const std::filesystem::path& path, index_t rows, FormatRow&& format_row) {
  AtomicFile file(path);
  std::string buffer;
  for (index_t i = 0; i < rows; ++i) {
    format_row(i, buffer);
    buffer.push_back('\n');
    if (buffer.size() > (1 << 20)) {
      file.write(buffer);
      buffer.clear();
    }
  }
  file.write(buffer);
  file.commit();
}

template <class T>
void append_number(std::string& out, T value) {
  char digits[32];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  SHOAL_ASSERT(ec == std::errc());
  out.append(digits, end);
}

template <class Label>
void write_labels_as(const std::filesystem::path& path, std::span<const Label> labels, DType dtype) {
  if (output_kind(path) == OutputKind::Npy) {
    write_npy(path, dtype, static_cast<index_t>(labels.size()), 1, true, labels.data());
    return;
  }
  write_text(path, static_cast<index_t>(labels.size()),
             [&](index_t i, std::string& out) { append_number(out, labels[i]); });
}

}  // namespace
}  // namespace detail

void write_matrix(const std::filesystem::path& path, MatrixView<const float> matrix) {
  const detail::OutputKind kind = detail::output_kind(path);
  if (kind == detail::OutputKind::Npy) {
    if (matrix.contiguous()) {
      detail::write_npy(path, DType::Float32, matrix.rows(), matrix.cols(), false, matrix.data());
      return;
    }
    std::vector<float> packed;
    packed.reserve(static_cast<std::size_t>(matrix.rows() * matrix.cols()));
    for (index_t i = 0; i < matrix.rows(); ++i) packed.insert(packed.end(), matrix.row(i), matrix.row(i) + matrix.cols());
    detail::write_npy(path, DType::Float32, matrix.rows(), matrix.cols(), false, packed.data());
    return;
  }
  const char delimiter = detail::delimiter_of(kind);
  detail::write_text(path, matrix.rows(), [&](index_t i, std::string& out) {
    for (index_t j = 0; j < matrix.cols(); ++j) {
      if (j > 0) out.push_back(delimiter);
      detail::append_number(out, matrix(i, j));
    }
  });
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  detail::AtomicFile file(path);
  file.write(text);
  file.commit();
}

void write_labels(const std::filesystem::path& path, std::span<const std::int32_t> labels) {
  detail::write_labels_as(path, labels, DType::Int32);
}

void write_labels(const std::filesystem::path& path, std::span<const std::int64_t> labels) {
  detail::write_labels_as(path, labels, DType::Int64);
}

}  // namespace shoal::io
